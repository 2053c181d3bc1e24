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

/* One line of the text log, kept until every width is known. */
struct log_row {
	char head[64];		/* when and commit */
	char id[SPOOL_ID_MAX + 1], verb[32], from[96], to[96];
	char *tail;		/* "by A, attempt N" and the lines below */
};

struct log_ctx {
	spool *sp;
	bool json;
	size_t n;
	cmd_jlist out;
	struct log_row *rows;
	size_t nrows, cap;
};

static int print_text(struct log_ctx *x, const spool_event *ev)
{
	const spool_tgroup *g = ev->g;
	spool_state to = spool_state_parse(g->to);
	char when[32], deliv[GIT_OID_HEXSZ + 1];
	time_t t = (time_t)ev->time;
	struct log_row *r;
	struct tm tm;
	char *tail = NULL;
	size_t len = 0;
	FILE *fp;

	if (x->nrows == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 64;
		struct log_row *p = realloc(x->rows, cap * sizeof(*p));
		if (!p)
			return spool_error_set(SPOOL_ERROR, "out of memory");
		x->rows = p;
		x->cap = cap;
	}
	if (!(fp = open_memstream(&tail, &len)))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	r = &x->rows[x->nrows];
	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(r->head, sizeof(r->head), "%s  %.7s", when, ev->hex);
	snprintf(r->id, sizeof(r->id), "%s", g->id);
	snprintf(r->verb, sizeof(r->verb), "%s", g->verb);
	snprintf(r->from, sizeof(r->from), "%s", g->from);
	snprintf(r->to, sizeof(r->to), "%s", g->to);
	fprintf(fp, "by %s, attempt %ld\n", g->actor, g->attempt);
	if (to == SPOOL_STATE_REVIEW || to == SPOOL_STATE_DONE) {
		spool_event_deliverables(deliv, sizeof(deliv), x->sp, ev);
		if (deliv[0])
			fprintf(fp, "    deliverables: %.12s (git show %.7s:"
				"deliverables/%s/)\n", deliv, ev->hex, g->id);
	}
	if (g->note[0]) {
		const char *p = g->note;
		/* Indent every line of a multi-line note. */
		while (*p) {
			size_t n = strcspn(p, "\n");
			fprintf(fp, "    %.*s\n", (int)n, p);
			p += n + (p[n] == '\n');
		}
	}
	if (fclose(fp) != 0 || !tail) {
		free(tail);
		return spool_error_set(SPOOL_ERROR, "out of memory");
	}
	r->tail = tail;
	x->nrows++;
	return 0;
}

#define WIDEN(w, s) do { if (strlen(s) > (w)) (w) = strlen(s); } while (0)

/* The rows in columns as wide as their widest entry. */
static void print_rows(struct log_ctx *x)
{
	size_t wid = 0, wverb = 0, wfrom = 0, wto = 0;

	for (size_t i = 0; i < x->nrows; i++) {
		WIDEN(wid, x->rows[i].id);
		WIDEN(wverb, x->rows[i].verb);
		WIDEN(wfrom, x->rows[i].from);
		WIDEN(wto, x->rows[i].to);
	}
	for (size_t i = 0; i < x->nrows; i++) {
		struct log_row *r = &x->rows[i];
		printf("%s  %-*s  %-*s  %-*s -> %-*s  %s", r->head, (int)wid,
		       r->id, (int)wverb, r->verb, (int)wfrom, r->from,
		       (int)wto, r->to, r->tail);
		free(r->tail);
	}
	free(x->rows);
}

static int log_fn(void *data, const spool_event *ev)
{
	struct log_ctx *x = data;

	x->n++;
	if (x->json) {
		json_t *o = spool_event_json(x->sp, ev);
		if (!o)
			return spool_error_set(SPOOL_ERROR, "out of memory");
		cmd_jlist_add(&x->out, o);
		json_decref(o);
		return 0;
	}
	return print_text(x, ev);
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
				return cmd_bad_value(self, "--limit wants a "
					"positive number, not '%s'", optarg);
			break;
		case 'h': cmd_print_help(stdout, self); return EXIT_OK;
		default: return cmd_bad_option(self, argv);
		}
	}
	if (optind + 1 < argc)
		return cmd_usage(self);
	if (optind < argc)
		id = argv[optind];
	if (id && !spool_id_valid(id))
		return cmd_bad_value(self, "'%s' is not a task id (1-64 "
				     "letters, digits and '-')", id);
	if ((rc = cmd_open(self, ctx)) != 0)
		return rc;
	if (id && (rc = cmd_id(&id, self, ctx, id)) != 0)
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
	if (x.json)
		cmd_jlist_end(&x.out);
	else
		print_rows(&x);
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
		"prints one array\nof objects with the fields of 'spool "
		"events' ([] when there is none).\n"
		"The same from git alone:\n"
		"  git log --reverse --grep='^Spool-Task: ID$' --format="
		"'%h %ad %an %s'\n",
	.exec = cmd_log_exec,
};
