/* spool heartbeat: renew the lease on a claimed task (like touch). */
#include <getopt.h>

#include "ops.h"
#include "cmd.h"

static int cmd_heartbeat_exec(const struct cmd_entry *self,
			      struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "agent", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *agent = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "a:h", opts, NULL)) != -1) {
		switch (c) {
		case 'a': agent = optarg; break;
		case 'h': cmd_print_help(stdout, self); return EXIT_OK;
		default: return cmd_usage(self);
		}
	}
	if (optind + 1 != argc)
		return cmd_usage(self);
	if ((rc = cmd_open(self, ctx)) != 0)
		return rc;
	if ((rc = spool_op_heartbeat(ctx->sp, argv[optind],
				     cmd_agent(agent))) < 0)
		return cmd_fail(self, rc);
	return EXIT_OK;
}

const struct cmd_entry cmd_heartbeat_entry = {
	.name = "heartbeat",
	.usage = "ID [--agent A]",
	.summary = "renew the lease of a claimed task (same as touch on its file)",
	.exec = cmd_heartbeat_exec,
};
