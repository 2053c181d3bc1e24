/* spool approve: accept a task in review (a plan_first plan goes back to its agent). */
#include "ops.h"
#include "cmd.h"

static int cmd_approve_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			  int argc, char **argv)
{
	return cmd_id_op(self, ctx, argc, argv, spool_op_approve, "approved");
}

const struct cmd_entry cmd_approve_entry = {
	.name = "approve",
	.usage = "ID [--agent A] [--feedback TEXT] [--json]",
	.summary = "accept a task in review (a plan_first plan goes back to its agent)",
	.exec = cmd_approve_exec,
};
