/* spool cancel: cancel an open task. */
#include "ops.h"
#include "cmd.h"

static int cmd_cancel_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			  int argc, char **argv)
{
	return cmd_id_op(self, ctx, argc, argv, spool_op_cancel, "cancelled");
}

const struct cmd_entry cmd_cancel_entry = {
	.name = "cancel",
	.usage = "ID [--reason TEXT] [--agent A] [--json]",
	.summary = "cancel an open task",
	.exec = cmd_cancel_exec,
};
