/* spool release: give a claimed task back to ready/ (spends an attempt). */
#include "ops.h"
#include "cmd.h"

static int cmd_release_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			  int argc, char **argv)
{
	return cmd_id_op(self, ctx, argc, argv, spool_op_release, "released");
}

const struct cmd_entry cmd_release_entry = {
	.name = "release",
	.usage = "ID [--agent A] [--json]",
	.summary = "give a claimed task back to ready/ (spends an attempt)",
	.exec = cmd_release_exec,
};
