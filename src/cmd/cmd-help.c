/* spool help [COMMAND | protocol] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h"
#include "cmd.h"

/* The transition table as docs/protocol.md shows it, from the code. */
static int print_protocol(void)
{
	char *md = spool_machine_markdown();

	if (!md) {
		fprintf(stderr, "spool: help: out of memory\n");
		return EXIT_ERROR;
	}
	fputs(md, stdout);
	free(md);
	return EXIT_OK;
}

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
		       "to claim, 4 timed out,\n5 hydrate --check could not "
		       "check.\n");
		return EXIT_OK;
	}
	if (argc != 2)
		return cmd_usage(self);
	if (strcmp(argv[1], "protocol") == 0)
		return print_protocol();
	if (!(cmd = cmd_find(argv[1]))) {
		const char *near = NULL;
		for (size_t i = 0; cmd_table[i]; i++) {
			const char *name = cmd_table[i]->name;
			if (cmd_similar(argv[1], name) &&
			    (!near || cmd_distance(argv[1], name) <
				      cmd_distance(argv[1], near)))
				near = name;
		}
		if (near)
			fprintf(stderr, "spool: help: '%s' is not a command; "
				"did you mean '%s'?\n", argv[1], near);
		else
			fprintf(stderr, "spool: help: '%s' is not a command; "
				"'spool help' lists them\n", argv[1]);
		return EXIT_USAGE;
	}
	cmd_print_help(stdout, cmd);
	return EXIT_OK;
}

const struct cmd_entry cmd_help_entry = {
	.name = "help",
	.usage = "[COMMAND | protocol]",
	.summary = "describe the commands, one command, or the transitions",
	.exec = cmd_help_exec,
};
