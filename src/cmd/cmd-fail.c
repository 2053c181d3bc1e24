/* spool fail: give up on a claimed task (to failed/). */
#include "ops.h"
#include "cmd.h"

static int cmd_fail_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			  int argc, char **argv)
{
	return cmd_id_op(self, ctx, argc, argv, spool_op_fail, "failed");
}

const struct cmd_entry cmd_fail_entry = {
	.name = "fail",
	.usage = "ID --reason TEXT [--agent A] [--json]",
	.summary = "give up on a claimed task (to failed/)",
	.exec = cmd_fail_exec,
};
