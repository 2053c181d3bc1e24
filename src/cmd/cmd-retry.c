/* spool retry: put a failed task back in ready/. */
#include "ops.h"
#include "cmd.h"

static int cmd_retry_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			  int argc, char **argv)
{
	return cmd_id_op(self, ctx, argc, argv, spool_op_retry, "retried");
}

const struct cmd_entry cmd_retry_entry = {
	.name = "retry",
	.usage = "ID [--agent A] [--json]",
	.summary = "put a failed task back in ready/",
	.exec = cmd_retry_exec,
};
