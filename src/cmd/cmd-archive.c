/* spool archive: move old finished work out of the tree. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "archives.h"
#include "inspect.h"
#include "cmd.h"

static int cmd_archive_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			    int argc, char **argv)
{
	static const struct option opts[] = {
		{ "older-than", required_argument, NULL, 'o' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "agent", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	spool_archive_stats st;
	const char *age = NULL, *agent = NULL, *actor;
	bool json = false, dry = false, quiet = false;
	long secs = -1;
	int c, rc;

	while ((c = getopt_long(argc, argv, "o:na:jqh", opts, NULL)) != -1) {
		switch (c) {
		case 'o': age = optarg; break;
		case 'n': dry = true; break;
		case 'a': agent = optarg; break;
		case 'j': json = true; break;
		case 'q': quiet = true; break;
		case 'h': cmd_print_help(stdout, self); return EXIT_OK;
		default: return cmd_bad_option(self, argv);
		}
	}
	if (optind != argc)
		return cmd_usage(self);
	if (age && spool_duration_parse(&secs, age) < 0) {
		fprintf(stderr, "spool: archive: %s\n", spool_error_message());
		return EXIT_USAGE;
	}
	if ((rc = cmd_open(self, ctx)) != 0)
		return rc;
	if (!age) {
		if ((rc = spool_retention_after(&secs, ctx->sp)) < 0)
			return cmd_fail(self, rc);
		if (secs < 0)
			return cmd_error(self, "say how old with --older-than "
				"7d, or set retention.archive_after in "
				"'.spool/config.json'");
	}
	if ((rc = cmd_whoami(self, ctx, agent, &actor)) != 0)
		return rc;
	cmd_progress_start(self, quiet || json);
	rc = spool_archive_run(&st, ctx->sp, secs, actor, dry);
	cmd_progress_end();
	if (rc < 0)
		return cmd_fail(self, rc);
	if (json) {
		json_t *o = json_pack("{s:I, s:I, s:I, s:b}", "tasks",
				      (json_int_t)st.tasks, "archives",
				      (json_int_t)st.archives, "kept",
				      (json_int_t)st.kept, "dry_run", dry);
		if (st.last[0])
			json_object_set_new(o, "last", json_string(st.last));
		cmd_print_json(o);
		json_decref(o);
	} else if (dry) {
		printf("would archive %zu task%s into %zu archive%s (%zu kept: "
		       "blocked work waits for them)\n", st.tasks,
		       st.tasks == 1 ? "" : "s", st.archives,
		       st.archives == 1 ? "" : "s", st.kept);
	} else {
		printf("archived %zu task%s into %zu archive%s%s%s (%zu kept: "
		       "blocked work waits for them)\n", st.tasks,
		       st.tasks == 1 ? "" : "s", st.archives,
		       st.archives == 1 ? "" : "s",
		       st.archives == 1 ? ", "
				: st.last[0] ? ", the last " : "",
		       st.last, st.kept);
	}
	return EXIT_OK;
}

const struct cmd_entry cmd_archive_entry = {
	.name = "archive",
	.usage = "[--older-than AGE] [--dry-run] [--json] [--quiet]",
	.summary = "move old finished tasks out of the tree into archives",
	.help = "Finished tasks (done, failed, cancelled) whose last transition "
		"is older than AGE\n(30s, 15m, 2h, 7d, 1w) leave the working "
		"tree with their deliverables, into\narchive/YYYY-MM-DD.tar.gz "
		"(.2, .3 ... for more runs that day; at most 10,000\ntasks "
		"each) with an index archive/YYYY-MM-DD.tsv; one commit per "
		"archive.\nTasks that blocked work waits for are kept. 'spool "
		"show', 'log', 'wait' and\n'export' still find archived "
		"tasks. Without --older-than, uses\nretention.archive_after "
		"from '.spool/config.json' (as the daemon does).\n",
	.exec = cmd_archive_exec,
};
