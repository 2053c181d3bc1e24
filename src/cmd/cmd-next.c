/* spool next: which task an agent should take next, without taking it;
 * cmd_pick_op is shared with spool claim (cmd-claim.c). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "state.h"
#include "ops.h"
#include "shared.h"
#include "task-files.h"
#include "cmd.h"

static int claim_remote(const struct cmd_entry *self, struct cmd_ctx *ctx,
			const char *agent, bool json)
{
	json_t *rq = cmd_request(self, agent), *reply;
	const char *id;
	spool_loc loc;
	int rc;

	if (!rq)
		return cmd_error(self, "out of memory");
	if ((rc = cmd_call(self, ctx, rq, &reply)) != 0)
		return rc;
	id = json_string_value(json_object_get(reply, "id"));
	if (id && cmd_reply_place(&loc, reply))
		cmd_print_place(ctx->sp, id, &loc, json);
	json_decref(reply);
	return EXIT_OK;
}

int cmd_pick_op(const struct cmd_entry *self, struct cmd_ctx *ctx, int argc,
		char **argv, cmd_pick_fn fn)
{
	static const struct option opts[] = {
		{ "agent", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *agent = NULL;
	spool_entry e;
	bool json = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "a:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'a': agent = optarg; break;
		case 'j': json = true; break;
		case 'h': cmd_print_help(stdout, self); return EXIT_OK;
		default: return cmd_bad_option(self, argv);
		}
	}
	if (optind != argc)
		return cmd_usage(self);
	if ((rc = cmd_open(self, ctx)) != 0)
		return rc;
	/* In a shared spool the kernel says who the caller is. */
	if (spool_shared(ctx->sp)) {
		if (fn == spool_op_claim && cmd_remote(ctx))
			return claim_remote(self, ctx, agent, json);
		if ((rc = cmd_whoami(self, ctx, agent, &agent)) != 0)
			return rc;
	} else if (!(agent = cmd_agent(agent))) {
		fprintf(stderr, "spool: %s: say who you are with --agent NAME "
			"or SPOOL_AGENT\n", self->name);
		return EXIT_USAGE;
	}
	rc = fn(&e, ctx->sp, agent);
	if (rc == SPOOL_ENOWORK) {
		if (json)	/* one thing, none: an empty object */
			printf("{}\n");
		return EXIT_NOWORK;
	}
	if (rc < 0)
		return cmd_fail(self, rc);
	cmd_print_place(ctx->sp, e.id, &e.loc, json);
	return EXIT_OK;
}

static int cmd_next_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			 int argc, char **argv)
{
	return cmd_pick_op(self, ctx, argc, argv, spool_op_next);
}

const struct cmd_entry cmd_next_entry = {
	.name = "next",
	.usage = "--agent A [--json]",
	.summary = "print the absolute path of the task A should take "
		   "next; exit 3 if none",
	.help = "Order: tasks assigned to A, then higher priority, then the "
		"oldest. Only tasks A\nmay claim count (assignee, required "
		"capabilities). Nothing is moved.\n",
	.exec = cmd_next_exec,
};
