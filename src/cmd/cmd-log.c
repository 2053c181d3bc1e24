/* spool log: the story of a task (or of the spool) from git. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "state.h"
#include "root.h"
#include "history-read.h"
#include "task-files.h"
#include "cmd.h"

struct log_ctx {
	spool *sp;
	bool json;
	size_t n;
};

static void print_text(struct log_ctx *x, const spool_event *ev)
{
	const spool_tgroup *g = ev->g;
	spool_state to = spool_state_parse(g->to);
	char when[32], deliv[GIT_OID_HEXSZ + 1];
	time_t t = (time_t)ev->time;
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	printf("%s  %.7s  %-8s %-12s %-10s -> %-14s by %s, attempt %ld\n",
	       when, ev->hex, g->id, g->verb, g->from, g->to, g->actor,
	       g->attempt);
	if (to == SPOOL_STATE_REVIEW || to == SPOOL_STATE_DONE) {
		spool_event_deliverables(deliv, sizeof(deliv), x->sp, ev);
		if (deliv[0])
			printf("    deliverables: %.12s (git show %.7s:"
			       "deliverables/%s/)\n", deliv, ev->hex, g->id);
	}
	if (g->note[0]) {
		const char *p = g->note;
		/* Indent every line of a multi-line note. */
		while (*p) {
			size_t n = strcspn(p, "\n");
			printf("    %.*s\n", (int)n, p);
			p += n + (p[n] == '\n');
		}
	}
}

static int log_fn(void *data, const spool_event *ev)
{
	struct log_ctx *x = data;

	x->n++;
	if (x->json) {
		json_t *o = spool_event_json(x->sp, ev);
		if (!o)
			return spool_error_set(SPOOL_ERROR, "out of memory");
		cmd_print_json(o);
		json_decref(o);
	} else {
		print_text(x, ev);
	}
	return 0;
}

/* Keeps only the last `keep` events of a task: count first, then print. */
struct tail_ctx {
	struct log_ctx *x;
	size_t skip, seen;
};

static int count_fn(void *data, const spool_event *ev)
{
	(void)ev;
	((struct tail_ctx *)data)->seen++;
	return 0;
}

static int tail_fn(void *data, const spool_event *ev)
{
	struct tail_ctx *t = data;

	if (t->seen++ < t->skip)
		return 0;
	return log_fn(t->x, ev);
}

static int cmd_log_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "limit", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct log_ctx x = { 0 };
	long limit = 0;
	const char *id = NULL;
	char *end;
	int c, rc;

	while ((c = getopt_long(argc, argv, "jn:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': x.json = true; break;
		case 'n':
			limit = strtol(optarg, &end, 10);
			if (*end || limit <= 0)
				return cmd_usage(self);
			break;
		case 'h': cmd_print_help(stdout, self); return EXIT_OK;
		default: return cmd_usage(self);
		}
	}
	if (optind + 1 < argc)
		return cmd_usage(self);
	if (optind < argc)
		id = argv[optind];
	if (id && !spool_id_valid(id))
		return cmd_error(self, "'%s' is not a task id (1-64 letters, "
				 "digits and '-')", id);
	if ((rc = cmd_open(self, ctx)) != 0)
		return rc;
	x.sp = ctx->sp;
	if (!id) {
		rc = spool_history_last(ctx->sp, (size_t)limit, log_fn, &x);
	} else if (limit) {
		struct tail_ctx t = { .x = &x };
		if ((rc = spool_history_task(ctx->sp, id, count_fn, &t)) == 0) {
			t.skip = t.seen > (size_t)limit ? t.seen - (size_t)limit
							: 0;
			t.seen = 0;
			rc = spool_history_task(ctx->sp, id, tail_fn, &t);
		}
	} else {
		rc = spool_history_task(ctx->sp, id, log_fn, &x);
	}
	if (rc < 0)
		return cmd_fail(self, rc);
	if (id && x.n == 0) {
		spool_loc loc;
		if (spool_task_find(&loc, ctx->sp, id) == SPOOL_ENOTFOUND)
			return cmd_error(self, "no task '%s' in the spool or "
					 "its history; 'spool ls' lists them",
					 id);
	}
	return EXIT_OK;
}

const struct cmd_entry cmd_log_entry = {
	.name = "log",
	.usage = "[ID] [--limit N] [--json]",
	.summary = "the history of a task (or of the spool) from git",
	.help = "Every recorded transition, oldest first: when, commit, task, "
		"verb, from, to,\nwho, attempt; the note (a reason or the "
		"reviewer's feedback); for a submission\nor an approval, the "
		"git id of deliverables/ID as committed with it. Archived\n"
		"tasks keep their history. --limit N shows the last N. --json "
		"prints one object\nper line with the fields of 'spool "
		"events'.\n"
		"The same from git alone:\n"
		"  git log --reverse --grep='^Spool-Task: ID$' --format="
		"'%h %ad %an %s'\n",
	.exec = cmd_log_exec,
};
