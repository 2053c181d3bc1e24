/* spool(1): the command-line front end; one cmd-*.c file per command. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

extern const struct cmd_entry cmd_init_entry, cmd_agent_entry,
	cmd_module_entry, cmd_add_entry, cmd_ls_entry, cmd_show_entry,
	cmd_next_entry, cmd_claim_entry, cmd_heartbeat_entry,
	cmd_release_entry, cmd_submit_entry, cmd_fail_entry,
	cmd_approve_entry, cmd_reject_entry, cmd_retry_entry,
	cmd_cancel_entry, cmd_reconcile_entry, cmd_help_entry;
extern const struct cmd_entry cmd_hydrate_entry, cmd_skills_entry;
extern const struct cmd_entry cmd_daemon_entry;
extern const struct cmd_entry cmd_log_entry, cmd_events_entry,
	cmd_wait_entry, cmd_diagnose_entry, cmd_status_entry,
	cmd_export_entry, cmd_archive_entry;

const struct cmd_entry *const cmd_table[] = {
	&cmd_init_entry,
	&cmd_agent_entry,
	&cmd_module_entry,
	&cmd_add_entry,
	&cmd_ls_entry,
	&cmd_show_entry,
	&cmd_next_entry,
	&cmd_claim_entry,
	&cmd_heartbeat_entry,
	&cmd_release_entry,
	&cmd_submit_entry,
	&cmd_fail_entry,
	&cmd_approve_entry,
	&cmd_reject_entry,
	&cmd_retry_entry,
	&cmd_cancel_entry,
	&cmd_reconcile_entry,
	&cmd_daemon_entry,
	&cmd_status_entry,
	&cmd_log_entry,
	&cmd_events_entry,
	&cmd_wait_entry,
	&cmd_diagnose_entry,
	&cmd_export_entry,
	&cmd_archive_entry,
	&cmd_hydrate_entry,
	&cmd_skills_entry,
	&cmd_help_entry,
	NULL
};

static void usage(FILE *fp)
{
	fprintf(fp, "usage: spool [-C DIR] COMMAND [ARGS]\n\nCommands:\n");
	for (size_t i = 0; cmd_table[i]; i++)
		fprintf(fp, "  %-12s %s\n", cmd_table[i]->name,
			cmd_table[i]->summary);
	fprintf(fp, "\n'spool help COMMAND' describes one command.\n"
		    "Exit codes: 0 ok, 1 error, 2 usage, 3 nothing to claim, "
		    "4 timed out.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "directory", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct cmd_ctx ctx = { 0 };
	const struct cmd_entry *cmd;
	int c, rc;

	/* '+' stops at the command word so its own options stay its own. */
	while ((c = getopt_long(argc, argv, "+C:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			ctx.dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("spool %s\n", SPOOL_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = cmd_find(argv[optind]);
	if (!cmd) {
		fprintf(stderr, "spool: '%s' is not a command; "
			"'spool help' lists them\n", argv[optind]);
		return EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	optind = 0;	/* glibc: full reinitialisation for the next parse */
	rc = cmd->exec(cmd, &ctx, argc, argv);
	spool_free(ctx.sp);
	return rc;
}
