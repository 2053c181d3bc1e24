/* spool ls: list tasks by state, agent, module. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "summary.h"

static void print_json(const spool_entry *e, json_t *task)
{
	json_t *o = json_pack("{s:s, s:s}", "id", e->id, "state",
			      spool_state_name(e->loc.state));
	const char *k;
	json_t *v;

	if (e->loc.state == SPOOL_STATE_CLAIMED)
		json_object_set_new(o, "agent", json_string(e->loc.agent));
	json_object_foreach(task, k, v)
		if (strcmp(k, "id") != 0)
			json_object_set(o, k, v);
	cmd_print_json(o);
	json_decref(o);
}

static void print_text(const spool_entry *e, const spool_summary *s)
{
	char where[128];

	spool_loc_format(where, sizeof(where), &e->loc);
	if (s->valid)
		printf("%-10s %-18s %-7s %s\n", e->id, where,
		       spool_priority_name(s->priority), s->title);
	else if (e->loc.state == SPOOL_STATE_QUARANTINE)
		printf("%-10s %-18s %-7s (refused: see quarantine/%s.json.reason)"
		       "\n", e->id, where, "-", e->id);
	else
		printf("%-10s %-18s %-7s (unreadable: run 'spool reconcile')\n",
		       e->id, where, "?");
}

static int cmp_entry(const void *a, const void *b)
{
	const spool_entry *x = a, *y = b;
	size_t lx = strlen(x->id), ly = strlen(y->id);

	if (x->loc.state != y->loc.state)
		return x->loc.state - y->loc.state;
	/* T-9 before T-10 */
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->id, y->id);
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
	spool_entry *list;
	spool_summary *sums = NULL;
	bool json = false;
	size_t n;
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
		default: return cmd_usage(self);
		}
	}
	if (optind != argc)
		return cmd_usage(self);
	if (agent && !spool_name_valid(agent))
		return cmd_error(self, "'%s' is not a valid agent name", agent);
	if (agent && state != SPOOL_STATE_NONE && state != SPOOL_STATE_CLAIMED)
		return EXIT_OK;	/* only claimed tasks belong to an agent */
	if ((rc = cmd_open(self, ctx)) != 0)
		return rc;
	if ((rc = spool_list(&list, &n, ctx->sp, state, agent)) < 0)
		return cmd_fail(self, rc);
	qsort(list, n, sizeof(*list), cmp_entry);
	if (json) {
		/* every field: each file is read */
		for (size_t i = 0; i < n; i++) {
			json_t *task = NULL;
			const char *m;
			if (spool_task_load(&task, ctx->sp, &list[i].loc,
					    list[i].id) < 0)
				spool_error_clear();	/* id and state only */
			m = spool_task_str(task, "module");
			if (!module || (m && strcmp(m, module) == 0))
				print_json(&list[i], task);
			json_decref(task);
		}
	} else if ((sums = calloc(n ? n : 1, sizeof(*sums))) &&
		   spool_summaries(sums, ctx->sp, list, n,
				   state == SPOOL_STATE_NONE && !agent) == 0) {
		for (size_t i = 0; i < n; i++)
			if (!module || strcmp(sums[i].module, module) == 0)
				print_text(&list[i], &sums[i]);
	} else {
		free(sums);
		free(list);
		return cmd_fail(self, SPOOL_ERROR);
	}
	free(sums);
	free(list);
	return EXIT_OK;
}

const struct cmd_entry cmd_ls_entry = {
	.name = "ls",
	.usage = "[--state S] [--agent A] [--module M] [--json]",
	.summary = "list tasks: id, state, priority, title",
	.help = "--json prints one object per line: the task's fields plus "
		"id, state and, when\nclaimed, agent.\n",
	.exec = cmd_ls_exec,
};
