/* spool claim: take the task an agent should take next. */
#include "ops.h"
#include "cmd.h"

static int cmd_claim_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			  int argc, char **argv)
{
	return cmd_pick_op(self, ctx, argc, argv, spool_op_claim);
}

const struct cmd_entry cmd_claim_entry = {
	.name = "claim",
	.usage = "--agent A [--json]",
	.summary = "take the next task for A (atomic rename); prints its "
		   "absolute path; "
		   "exit 3 if none",
	.help = "Same choice as 'spool next', then one atomic rename into "
		"claimed/A/. If a shell\nagent takes that task first, the "
		"next one is tried.\n",
	.exec = cmd_claim_exec,
};
