/* Helpers shared by the spool(1) subcommands: errors, exit codes, output. */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "state.h"
#include "root.h"
#include "ops.h"
#include "task-files.h"
#include "cmd.h"

int cmd_open(const struct cmd_entry *self, struct cmd_ctx *ctx)
{
	int rc;

	if (ctx->sp)
		return 0;
	rc = spool_open(&ctx->sp, ctx->dir);
	if (rc < 0)
		return cmd_fail(self, rc);
	return 0;
}

int cmd_fail(const struct cmd_entry *self, int rc)
{
	const char *msg = spool_error_message();

	fprintf(stderr, "spool: %s: %s\n", self->name,
		msg && *msg ? msg : "unknown error");
	switch (rc) {
	case SPOOL_ENOWORK:
		return EXIT_NOWORK;
	case SPOOL_ETIMEOUT:
		return EXIT_TIMEOUT;
	default:
		return EXIT_ERROR;
	}
}

int cmd_error(const struct cmd_entry *self, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "spool: %s: ", self->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_ERROR;
}

int cmd_usage(const struct cmd_entry *self)
{
	fprintf(stderr, "usage: spool %s %s\n", self->name, self->usage);
	fprintf(stderr, "Try 'spool help %s' for more.\n", self->name);
	return EXIT_USAGE;
}

void cmd_print_help(FILE *fp, const struct cmd_entry *self)
{
	fprintf(fp, "usage: spool %s %s\n\n%s\n", self->name, self->usage,
		self->summary);
	if (self->help)
		fprintf(fp, "\n%s", self->help);
}

const char *cmd_agent(const char *opt)
{
	const char *env;

	if (opt && *opt)
		return opt;
	env = getenv("SPOOL_AGENT");
	return env && *env ? env : NULL;
}

const char *cmd_actor(const char *opt)
{
	const char *a = cmd_agent(opt);

	if (a)
		return a;
	a = getenv("USER");
	return a && *a && spool_name_valid(a) ? a : "operator";
}

void cmd_print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		free(s);
	}
}

const struct cmd_entry *cmd_find(const char *name)
{
	for (size_t i = 0; cmd_table[i]; i++)
		if (strcmp(cmd_table[i]->name, name) == 0)
			return cmd_table[i];
	return NULL;
}

void cmd_print_place(const char *id, const spool_loc *loc, bool json)
{
	char where[128], path[256];

	spool_loc_format(where, sizeof(where), loc);
	spool_loc_path(path, sizeof(path), loc, id);
	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "id", id, "state",
				      spool_state_name(loc->state), "path",
				      path);
		if (loc->state == SPOOL_STATE_CLAIMED)
			json_object_set_new(o, "agent", json_string(loc->agent));
		cmd_print_json(o);
		json_decref(o);
	} else {
		printf("%s\n", path);
	}
}

int cmd_id_op(const struct cmd_entry *self, struct cmd_ctx *ctx, int argc,
	      char **argv, cmd_id_fn fn, const char *past)
{
	static const struct option opts[] = {
		{ "agent", required_argument, NULL, 'a' },
		{ "reason", required_argument, NULL, 'r' },
		{ "feedback", required_argument, NULL, 'f' },
		{ "to-ready", no_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	spool_op_opts o = { 0 };
	const char *agent = NULL;
	bool json = false;
	spool_loc loc;
	int c, rc;

	while ((c = getopt_long(argc, argv, "a:r:f:Rjh", opts, NULL)) != -1) {
		switch (c) {
		case 'a': agent = optarg; break;
		case 'r': o.reason = optarg; break;
		case 'f': o.feedback = optarg; break;
		case 'R': o.to_ready = true; break;
		case 'j': json = true; break;
		case 'h': cmd_print_help(stdout, self); return EXIT_OK;
		default: return cmd_usage(self);
		}
	}
	if (optind + 1 != argc)
		return cmd_usage(self);
	/* Only the options this command documents are accepted. */
	if ((o.reason && !strstr(self->usage, "--reason")) ||
	    (o.feedback && !strstr(self->usage, "--feedback")) ||
	    (o.to_ready && !strstr(self->usage, "--to-ready")))
		return cmd_usage(self);
	if ((rc = cmd_open(self, ctx)) != 0)
		return rc;
	o.actor = cmd_actor(agent);
	if ((rc = fn(ctx->sp, argv[optind], &o)) < 0)
		return cmd_fail(self, rc);
	if (spool_task_find(&loc, ctx->sp, argv[optind]) == 0) {
		if (json)
			cmd_print_place(argv[optind], &loc, true);
		else {
			char where[128];
			spool_loc_format(where, sizeof(where), &loc);
			printf("%s %s: now in %s\n", argv[optind], past, where);
		}
	}
	return EXIT_OK;
}
