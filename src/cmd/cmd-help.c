/* spool help [COMMAND] */
#include <stdio.h>

#include "cmd.h"

static int cmd_help_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			 int argc, char **argv)
{
	const struct cmd_entry *cmd;

	(void)ctx;
	if (argc == 1) {
		printf("usage: spool [-C DIR] COMMAND [ARGS]\n\n");
		for (size_t i = 0; cmd_table[i]; i++)
			printf("  %-12s %s\n", cmd_table[i]->name,
			       cmd_table[i]->summary);
		printf("\nEnvironment: SPOOL_DIR (the spool), SPOOL_AGENT (who "
		       "acts).\nExit codes: 0 ok, 1 error, 2 usage, 3 nothing "
		       "to claim, 4 timed out.\n");
		return EXIT_OK;
	}
	if (argc != 2)
		return cmd_usage(self);
	if (!(cmd = cmd_find(argv[1]))) {
		fprintf(stderr, "spool: help: '%s' is not a command\n", argv[1]);
		return EXIT_USAGE;
	}
	cmd_print_help(stdout, cmd);
	return EXIT_OK;
}

const struct cmd_entry cmd_help_entry = {
	.name = "help",
	.usage = "[COMMAND]",
	.summary = "describe the commands, or one command",
	.exec = cmd_help_exec,
};
