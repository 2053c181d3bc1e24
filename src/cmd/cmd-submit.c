/* spool submit: send a claimed task to review/ with its deliverables. */
#include "ops.h"
#include "cmd.h"

static int cmd_submit_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			  int argc, char **argv)
{
	return cmd_id_op(self, ctx, argc, argv, spool_op_submit, "submitted");
}

const struct cmd_entry cmd_submit_entry = {
	.name = "submit",
	.usage = "ID [--agent A] [--json]",
	.summary = "send a claimed task to review/ with its deliverables",
	.exec = cmd_submit_exec,
};
