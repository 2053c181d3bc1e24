/* spool ls: list tasks by state, agent, module. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "state.h"
#include "task.h"
#include "root.h"
#include "summary.h"
#include "task-files.h"
#include "cmd.h"

static void print_json(cmd_jlist *out, const spool_lsrow *r, json_t *task)
{
	json_t *o = json_pack("{s:s, s:s}", "id", r->id, "state",
			      spool_state_name(r->loc->state));
	const char *k;
	json_t *v;

	if (r->loc->state == SPOOL_STATE_CLAIMED)
		json_object_set_new(o, "agent", json_string(r->loc->agent));
	json_object_foreach(task, k, v)
		if (strcmp(k, "id") != 0)
			json_object_set(o, k, v);
	cmd_jlist_add(out, o);
	json_decref(o);
}

static char *put(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

/* s, then spaces up to width and one more, as printf's "%-Ns ". */
static char *pad(char *p, const char *s, size_t width)
{
	char *end = put(p, s);

	while ((size_t)(end - p) < width)
		*end++ = ' ';
	*end++ = ' ';
	return end;
}

/* One line: id, where, priority, title. */
static char *text_row(char *p, const spool_lsrow *r)
{
	p = pad(p, r->id, 10);
	p = pad(p, r->where, 18);
	if (r->title) {
		p = pad(p, spool_priority_name(r->priority), 7);
		p = put(p, r->title);
	} else if (r->loc->state == SPOOL_STATE_QUARANTINE) {
		p = pad(p, "-", 7);
		p += sprintf(p, "(refused: see quarantine/%s.json.reason)",
			     r->id);
	} else {
		p = pad(p, "?", 7);
		p = put(p, "(unreadable: run 'spool reconcile')");
	}
	*p++ = '\n';
	return p;
}

/* The whole listing in one buffer, written at once. */
static int print_text(const spool_listing *l, const char *module)
{
	const spool_lsrow *rows = spool_listing_rows(l);
	size_t n = spool_listing_count(l), cap = 1;
	char *buf, *p;

	for (size_t i = 0; i < n; i++)
		cap += 2 * SPOOL_ID_MAX + SPOOL_NAME_MAX + 96 +
		       (rows[i].title ? strlen(rows[i].title) : 0);
	if (!(p = buf = malloc(cap + 64)))
		return -1;
	/* A header for a person; a script reading a pipe gets rows only. */
	if (isatty(STDOUT_FILENO) && n) {
		p = pad(p, "ID", 10);
		p = pad(p, "STATE", 18);
		p = pad(p, "PRIO", 7);
		p = put(p, "TITLE\n");
	}
	for (size_t i = 0; i < n; i++)
		if (!module || strcmp(rows[i].module, module) == 0)
			p = text_row(p, &rows[i]);
	fwrite(buf, 1, (size_t)(p - buf), stdout);
	free(buf);
	return 0;
}

/* Every field: each file is read. */
static void print_all_json(spool *sp, const spool_listing *l,
			   const char *module)
{
	const spool_lsrow *rows = spool_listing_rows(l);
	cmd_jlist out = { 0 };

	for (size_t i = 0; i < spool_listing_count(l); i++) {
		json_t *task = NULL;
		const char *m;
		if (spool_task_load(&task, sp, rows[i].loc, rows[i].id) < 0)
			spool_error_clear();	/* id and state only */
		m = spool_task_str(task, "module");
		if (!module || (m && strcmp(m, module) == 0))
			print_json(&out, &rows[i], task);
		json_decref(task);
	}
	cmd_jlist_end(&out);
}

static int cmd_ls_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
		       int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "agent", required_argument, NULL, 'a' },
		{ "module", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	spool_state state = SPOOL_STATE_NONE;
	const char *agent = NULL, *module = NULL;
	spool_listing *l;
	bool json = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "s:a:m:jh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			state = spool_state_parse(optarg);
			if (state == SPOOL_STATE_NONE) {
				fprintf(stderr, "spool: ls: '%s' is not a state "
					"(new, blocked, ready, claimed, review,"
					" done, failed, cancelled, quarantine)"
					"\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'a': agent = optarg; break;
		case 'm': module = optarg; break;
		case 'j': json = true; break;
		case 'h': cmd_print_help(stdout, self); return EXIT_OK;
		default: return cmd_bad_option(self, argv);
		}
	}
	if (optind != argc)
		return cmd_usage(self);
	if (agent && !spool_name_valid(agent))
		return cmd_bad_value(self, "'%s' is not a valid agent name",
				     agent);
	if (agent && state != SPOOL_STATE_NONE &&
	    state != SPOOL_STATE_CLAIMED) {
		if (json)	/* only claimed tasks belong to an agent */
			printf("[]\n");
		return EXIT_OK;
	}
	if ((rc = cmd_open(self, ctx)) != 0)
		return rc;
	if ((rc = spool_listing_new(&l, ctx->sp, state, agent)) < 0)
		return cmd_fail(self, rc);
	if (json)
		print_all_json(ctx->sp, l, module);
	else if (print_text(l, module) < 0)
		rc = cmd_error(self, "out of memory");
	spool_listing_free(l);
	return rc;
}

const struct cmd_entry cmd_ls_entry = {
	.name = "ls",
	.usage = "[--state S] [--agent A] [--module M] [--json]",
	.summary = "list tasks: id, state, priority, title",
	.help = "--json prints one array with an object per task: the task's "
		"fields plus id,\nstate and, when claimed, agent; [] when "
		"there is none.\n",
	.exec = cmd_ls_exec,
};
