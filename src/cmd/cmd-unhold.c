/* spool unhold: release a task added with --hold. */
#include "ops.h"
#include "cmd.h"

static int cmd_unhold_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			   int argc, char **argv)
{
	return cmd_id_op(self, ctx, argc, argv, spool_op_unhold, "released");
}

const struct cmd_entry cmd_unhold_entry = {
	.name = "unhold",
	.usage = "ID [--agent A] [--json]",
	.summary = "release a task added with --hold into ready/",
	.help = "For a held task without subtasks. A held task that has "
		"subtasks needs no\nunhold: the spool completes it when they "
		"are done.\n",
	.exec = cmd_unhold_exec,
};
