/* spool reject: send a task in review back with feedback. */
#include "ops.h"
#include "cmd.h"

static int cmd_reject_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			  int argc, char **argv)
{
	return cmd_id_op(self, ctx, argc, argv, spool_op_reject, "rejected");
}

const struct cmd_entry cmd_reject_entry = {
	.name = "reject",
	.usage = "ID --feedback TEXT [--to-ready] [--agent A] [--json]",
	.summary = "send a task in review back with feedback",
	.exec = cmd_reject_exec,
};
