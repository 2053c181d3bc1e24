/* spool(1): the command-line front end; one cmd-*.c file per command. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notice.h"
#include "root.h"
#include "cmd.h"

extern const struct cmd_entry cmd_init_entry, cmd_agent_entry,
	cmd_module_entry, cmd_add_entry, cmd_ls_entry, cmd_show_entry,
	cmd_next_entry, cmd_claim_entry, cmd_heartbeat_entry,
	cmd_release_entry, cmd_submit_entry, cmd_fail_entry,
	cmd_approve_entry, cmd_reject_entry, cmd_retry_entry,
	cmd_cancel_entry, cmd_unhold_entry, cmd_reconcile_entry,
	cmd_help_entry;
extern const struct cmd_entry cmd_hydrate_entry, cmd_skills_entry;
extern const struct cmd_entry cmd_daemon_entry;
extern const struct cmd_entry cmd_log_entry, cmd_events_entry,
	cmd_wait_entry, cmd_diagnose_entry, cmd_status_entry,
	cmd_export_entry, cmd_archive_entry, cmd_verify_entry, cmd_work_entry,
	cmd_ask_entry, cmd_answer_entry;

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
	&cmd_unhold_entry,
	&cmd_reconcile_entry,
	&cmd_work_entry,
	&cmd_ask_entry,
	&cmd_answer_entry,
	&cmd_daemon_entry,
	&cmd_status_entry,
	&cmd_log_entry,
	&cmd_events_entry,
	&cmd_wait_entry,
	&cmd_diagnose_entry,
	&cmd_verify_entry,
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
		    "4 timed out,\n5 hydrate --check could not check.\n");
}

/* A warning from the library, said as the command's own. */
static void notice(const char *msg, void *payload)
{
	fprintf(stderr, "spool: %s: %s\n", (const char *)payload, msg);
}

/* The first error writing stdout: stdio keeps only a flag, and the
 * message must say why (a full disk, a reader gone). */
static int out_errno;

static ssize_t out_write(void *cookie, const char *buf, size_t n)
{
	size_t done = 0;

	(void)cookie;
	while (done < n) {
		ssize_t w = write(STDOUT_FILENO, buf + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			if (!out_errno)
				out_errno = errno;
			break;
		}
		done += (size_t)w;
	}
	return (ssize_t)done;	/* short: stdio marks the stream failed */
}

/* stdout through out_write, buffered as stdio would buffer it. */
static void output_start(void)
{
	cookie_io_functions_t io = { .write = out_write };
	FILE *fp = fopencookie(NULL, "w", io);

	if (!fp)
		return;	/* plain stdout: errors still found, reason unknown */
	setvbuf(fp, NULL, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF, BUFSIZ);
	stdout = fp;
}

/*
 * Output that could not be written is an error, as in git: a full disk
 * must not pass for an empty listing. A reader that went away (spool ls |
 * head) is the one quiet exception: it asked for no more.
 */
static int output_done(const char *name, int rc)
{
	bool failed = fflush(stdout) != 0 || ferror(stdout);
	int err = out_errno ? out_errno : errno;

	if (!failed || err == EPIPE)
		return rc;
	fprintf(stderr, "spool: %s%scannot write output: %s\n",
		name ? name : "", name ? ": " : "",
		out_errno || err ? strerror(err) : "write error");
	return EXIT_ERROR;
}

static void on_sigpipe(int sig)
{
	(void)sig;	/* the write fails with EPIPE; see output_done */
}

/* As git: the commands near what was typed, or the list's pointer. */
static int unknown_command(const char *typed)
{
	size_t best = SIZE_MAX, n = 0;

	fprintf(stderr, "spool: '%s' is not a command; 'spool help' lists "
		"them\n", typed);
	for (size_t i = 0; cmd_table[i]; i++)
		if (cmd_similar(typed, cmd_table[i]->name) &&
		    cmd_distance(typed, cmd_table[i]->name) < best)
			best = cmd_distance(typed, cmd_table[i]->name);
	for (size_t i = 0; best != SIZE_MAX && cmd_table[i]; i++)
		if (cmd_similar(typed, cmd_table[i]->name) &&
		    cmd_distance(typed, cmd_table[i]->name) == best)
			n++;
	if (n)
		fprintf(stderr, "\nThe most similar command%s\n",
			n > 1 ? "s are" : " is");
	for (size_t i = 0; n && cmd_table[i]; i++)
		if (cmd_similar(typed, cmd_table[i]->name) &&
		    cmd_distance(typed, cmd_table[i]->name) == best)
			fprintf(stderr, "\t%s\n", cmd_table[i]->name);
	return EXIT_USAGE;
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

	/* Not SIG_IGN, which a child would inherit through exec. */
	signal(SIGPIPE, on_sigpipe);
	output_start();
	/* '+' stops at the command word so its own options stay its own. */
	while ((c = getopt_long(argc, argv, "+C:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			ctx.dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return output_done(NULL, EXIT_OK);
		case 'V':
			printf("spool %s\n", SPOOL_VERSION);
			return output_done(NULL, EXIT_OK);
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
	if (!cmd)
		return unknown_command(argv[optind]);
	argc -= optind;
	argv += optind;
	optind = 0;	/* glibc: full reinitialisation for the next parse */
	opterr = 0;	/* cmd_bad_option says it, with the command's name */
	spool_notice_set(notice, (void *)cmd->name);
	rc = cmd->exec(cmd, &ctx, argc, argv);
	cmd_ctx_clear(&ctx);
	return output_done(cmd->name, rc);
}
