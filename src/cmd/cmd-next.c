/* spool next and spool claim: pick work for an agent, and take it. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static int pick(const struct cmd_entry *self, struct cmd_ctx *ctx, int argc,
		char **argv, bool claim)
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
		default: return cmd_usage(self);
		}
	}
	if (optind != argc)
		return cmd_usage(self);
	if (!(agent = cmd_agent(agent))) {
		fprintf(stderr, "spool: %s: say who you are with --agent NAME "
			"or SPOOL_AGENT\n", self->name);
		return EXIT_USAGE;
	}
	if ((rc = cmd_open(self, ctx)) != 0)
		return rc;
	rc = claim ? spool_op_claim(&e, ctx->sp, agent)
		   : spool_op_next(&e, ctx->sp, agent);
	if (rc == SPOOL_ENOWORK) {
		if (json)
			printf("null\n");
		return EXIT_NOWORK;
	}
	if (rc < 0)
		return cmd_fail(self, rc);
	cmd_print_place(e.id, &e.loc, json);
	return EXIT_OK;
}

static int cmd_next_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			 int argc, char **argv)
{
	return pick(self, ctx, argc, argv, false);
}

static int cmd_claim_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			  int argc, char **argv)
{
	return pick(self, ctx, argc, argv, true);
}

const struct cmd_entry cmd_next_entry = {
	.name = "next",
	.usage = "--agent A [--json]",
	.summary = "print the path of the task A should take next; exit 3 if none",
	.help = "Order: tasks assigned to A, then higher priority, then the "
		"oldest. Only tasks A\nmay claim count (assignee, required "
		"capabilities). Nothing is moved.\n",
	.exec = cmd_next_exec,
};

const struct cmd_entry cmd_claim_entry = {
	.name = "claim",
	.usage = "--agent A [--json]",
	.summary = "take the next task for A (atomic rename); prints the new path; "
		   "exit 3 if none",
	.help = "Same choice as 'spool next', then one atomic rename into "
		"claimed/A/. If a shell\nagent takes that task first, the "
		"next one is tried.\n",
	.exec = cmd_claim_exec,
};
