/* spool reconcile: bring git up to date with what agents did by hand. */
#include <getopt.h>

#include "cmd.h"

static int cmd_reconcile_exec(const struct cmd_entry *self,
			      struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	spool_reconcile_stats st;
	bool json = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h': cmd_print_help(stdout, self); return EXIT_OK;
		default: return cmd_usage(self);
		}
	}
	if (optind != argc)
		return cmd_usage(self);
	if ((rc = cmd_open(self, ctx)) != 0)
		return rc;
	if ((rc = spool_reconcile_locked(&st, ctx->sp)) < 0 ||
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
	.usage = "[--json]",
	.summary = "file tasks dropped in new/, record raw moves since the last "
		   "commit",
	.help = "Illegal moves are undone and recorded as violations; deleted "
		"tasks are restored\nfrom git; copies are resolved to one file; "
		"blocked tasks whose dependencies are\ndone become ready. Every "
		"mutating command does this first.\n",
	.exec = cmd_reconcile_exec,
};
