/* spool reconcile: bring git up to date with what agents did by hand. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>

#include "root.h"
#include "branch-accept.h"
#include "branch.h"
#include "gitindex.h"
#include "repo.h"
#include "inspect.h"
#include "reconcile.h"
#include "cmd.h"

/* After a rewrite of the branch: HEAD as it is, the files as they are. */
static int accept_head(const struct cmd_entry *self, struct cmd_ctx *ctx,
		       bool json)
{
	spool *sp = ctx->sp;
	spool_branch_state was;
	const char *actor;
	long pid = 0;
	int rc;

	if ((rc = cmd_whoami(self, ctx, NULL, &actor)) != 0)
		return rc;
	if ((rc = spool_lock(sp, -1)) < 0)
		return cmd_fail(self, rc);
	rc = spool_branch_accept(&was, sp, actor);
	spool_unlock(sp);
	if (rc < 0)
		return cmd_fail(self, rc);
	/* spoold resumes on its next event; a reload is one at once */
	if (was.stopped && spool_daemon_running(sp, &pid) && pid > 0)
		kill((pid_t)pid, SIGHUP);
	if (json)
		return EXIT_OK;
	if (was.stopped)
		printf("accepted HEAD %.12s after the branch moved from %.12s; "
		       "the files are recorded as they are\n",
		       was.head[0] ? was.head : "(none)", was.seen);
	else
		printf("recording was not stopped: nothing to accept\n");
	return EXIT_OK;
}

static int cmd_reconcile_exec(const struct cmd_entry *self,
			      struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "accept-head", no_argument, NULL, 'A' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	spool_reconcile_stats st;
	bool json = false, accept = false, quiet = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "jqh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'A': accept = true; break;
		case 'q': quiet = true; break;
		case 'h': cmd_print_help(stdout, self); return EXIT_OK;
		default: return cmd_bad_option(self, argv);
		}
	}
	if (optind != argc)
		return cmd_usage(self);
	if ((rc = cmd_open(self, ctx)) != 0)
		return rc;
	if (accept && (rc = accept_head(self, ctx, json)) != EXIT_OK)
		return rc;
	cmd_progress_start(self, quiet || json);
	rc = spool_reconcile_locked(&st, ctx->sp);
	cmd_progress_end();
	if (rc < 0 ||
	    (rc = spool_index_sync(ctx->sp)) < 0)
		return cmd_fail(self, rc);
	if (json) {
		json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			"filed", (json_int_t)st.filed,
			"quarantined", (json_int_t)st.quarantined,
			"recorded", (json_int_t)st.recorded,
			"reverted", (json_int_t)st.reverted,
			"restored", (json_int_t)st.restored,
			"duplicates", (json_int_t)st.duplicates,
			"released", (json_int_t)st.released);
		cmd_print_json(o);
		json_decref(o);
	} else {
		printf("filed %zu, quarantined %zu, recorded %zu, reverted %zu, "
		       "restored %zu, duplicates %zu, released %zu\n", st.filed,
		       st.quarantined, st.recorded, st.reverted, st.restored,
		       st.duplicates, st.released);
	}
	return EXIT_OK;
}

const struct cmd_entry cmd_reconcile_entry = {
	.name = "reconcile",
	.usage = "[--json] [--quiet] [--accept-head]",
	.summary = "file tasks dropped in new/, record raw moves since the last "
		   "commit",
	.help = "Illegal moves are undone and recorded as violations; deleted "
		"tasks are restored\nfrom git; copies are resolved to one file; "
		"blocked tasks whose dependencies are\ndone become ready. Every "
		"mutating command does this first.\n"
		"When the branch moved other than by a fast-forward (git "
		"reset, a rebase), the\nspool stops recording; --accept-head, "
		"once you have checked the files, takes\nHEAD as it is, "
		"commits the files as they are on top of it, and resumes.\n",
	.exec = cmd_reconcile_exec,
};
