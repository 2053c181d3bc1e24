/* Unit tests for the record of moves: the move log (moves.c), renames
 * paired by cookie into steps, the places a task went through in order,
 * gaps where events were lost, the spool's own rewrites, the bounds; and
 * commits (history.c), which never drop a task from the tree. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>
#include <stdatomic.h>

#include "error.h"
#include "state.h"
#include "moves.h"
#include "root.h"
#include "history.h"
#include "repo.h"
#include "init.h"
#include "ops.h"
#include "reconcile.h"
#include "registry.h"
#include "transition.h"
#include "stale.h"

static spool_loc at(const char *dir)
{
	spool_loc l;

	assert_int_equal(spool_loc_parse(&l, dir), 0);
	return l;
}

/* mv FROM/ID TO/: the two halves of a rename, as inotify queues them */
static void mv(spool_moves *m, const char *id, const char *from,
	       const char *to, uint32_t cookie)
{
	spool_loc f = at(from), t = at(to);

	spool_moves_leave(m, id, &f, cookie);
	spool_moves_arrive(m, id, &t, cookie);
}

/* The places as "dir dir* ..." (* where the rename was seen; "gone"). */
static char *route(spool_moves *m, const char *id)
{
	static char buf[1024];
	spool_place p[SPOOL_MOVES_STEPS * 2 + 1];
	size_t n = spool_moves_places(p, m, id);
	char dir[128];

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (p[i].loc.state == SPOOL_STATE_NONE)
			snprintf(dir, sizeof(dir), "gone");
		else
			spool_loc_format(dir, sizeof(dir), &p[i].loc);
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s%s",
			 i ? " " : "", dir, p[i].seen ? "*" : "");
	}
	return buf;
}

static void test_claim_submit(void **state)
{
	spool_moves *m;

	(void)state;
	assert_int_equal(spool_moves_new(&m, 16), 0);
	mv(m, "T-1", "ready", "claimed/ann", 7);
	mv(m, "T-2", "ready", "claimed/bob", 8);
	mv(m, "T-1", "claimed/ann", "review", 9);
	assert_string_equal(route(m, "T-1"), "ready claimed/ann* review*");
	assert_string_equal(route(m, "T-2"), "ready claimed/bob*");
	assert_string_equal(route(m, "T-3"), "");
	assert_int_equal(spool_moves_count(m), 2);
	spool_moves_clear(m);
	assert_string_equal(route(m, "T-1"), "");
	assert_int_equal(spool_moves_count(m), 0);
	spool_moves_free(m);
}

static void test_halves_apart(void **state)
{
	spool_loc ready = at("ready"), ann = at("claimed/ann");
	spool_loc bob = at("claimed/bob"), review = at("review");
	spool_moves *m;

	(void)state;
	assert_int_equal(spool_moves_new(&m, 16), 0);
	/* another task's rename between the two halves of this one */
	spool_moves_leave(m, "T-1", &ready, 11);
	mv(m, "T-2", "ready", "claimed/bob", 12);
	spool_moves_arrive(m, "T-1", &ann, 11);
	assert_string_equal(route(m, "T-1"), "ready claimed/ann*");
	/* a half with another cookie is no pair */
	spool_moves_leave(m, "T-2", &bob, 13);
	spool_moves_arrive(m, "T-2", &review, 14);
	assert_string_equal(route(m, "T-2"),
			    "ready claimed/bob* review");
	spool_moves_free(m);
}

static void test_lost_events(void **state)
{
	spool_loc ready = at("ready"), bob = at("claimed/bob");
	spool_loc review = at("review");
	spool_moves *m;

	(void)state;
	assert_int_equal(spool_moves_new(&m, 16), 0);
	/* into a directory not watched yet: it left, nobody saw where */
	spool_moves_leave(m, "T-1", &ready, 21);
	assert_string_equal(route(m, "T-1"), "ready gone");
	/* then out of it, watched by now: it arrived from nowhere seen */
	spool_moves_leave(m, "T-1", &bob, 22);
	spool_moves_arrive(m, "T-1", &review, 22);
	assert_string_equal(route(m, "T-1"), "ready claimed/bob review*");
	/* a copy: created in review/ */
	spool_moves_arrive(m, "T-2", &review, 0);
	assert_string_equal(route(m, "T-2"), "review");
	/* deleted */
	spool_moves_leave(m, "T-3", &ready, 0);
	assert_string_equal(route(m, "T-3"), "ready gone");
	spool_moves_free(m);
}

static void test_rewrite_is_no_move(void **state)
{
	spool_loc ann = at("claimed/ann");
	spool_moves *m;

	(void)state;
	assert_int_equal(spool_moves_new(&m, 16), 0);
	mv(m, "T-1", "ready", "claimed/ann", 31);
	/* the spool writes a field: an exchange with a file in tmp/ */
	spool_moves_arrive(m, "T-1", &ann, 32);
	spool_moves_leave(m, "T-1", &ann, 33);
	mv(m, "T-1", "claimed/ann", "review", 34);
	assert_string_equal(route(m, "T-1"), "ready claimed/ann* review*");
	spool_moves_free(m);
}

static void test_round_trip_and_touched(void **state)
{
	spool_loc ready = at("ready"), ann = at("claimed/ann");
	spool_moves *m;

	(void)state;
	assert_int_equal(spool_moves_new(&m, 16), 0);
	mv(m, "T-1", "ready", "claimed/ann", 41);
	mv(m, "T-1", "claimed/ann", "ready", 42);
	mv(m, "T-1", "ready", "claimed/bob", 43);
	assert_string_equal(route(m, "T-1"),
			    "ready claimed/ann* ready* claimed/bob*");
	assert_false(spool_moves_is_touched(m, "T-1"));
	spool_moves_touched(m, "T-1", &ready, &ann);
	spool_moves_touched(m, "T-9", &ready, &ann); /* no moves: no mark */
	assert_true(spool_moves_is_touched(m, "T-1"));
	assert_false(spool_moves_is_touched(m, "T-9"));
	assert_int_equal(spool_moves_count(m), 1);
	spool_moves_free(m);
}

static void count_carried(void *data, const char *id, const spool_place *p,
			  size_t n)
{
	char *out = data;

	(void)p;
	snprintf(out + strlen(out), 256 - strlen(out), "%s:%zu ", id, n);
}

/* A chain kept for the next batch survives it, with the moves after it
 * appended; the others go; one not kept again goes the time after. */
static void test_kept_for_next_batch(void **state)
{
	spool_moves *m;
	char carried[256] = "";

	(void)state;
	assert_int_equal(spool_moves_new(&m, 16), 0);
	mv(m, "T-1", "ready", "claimed/ann", 1);
	mv(m, "T-1", "claimed/ann", "ready", 2);
	mv(m, "T-2", "ready", "claimed/bob", 3);
	spool_moves_keep(m, "T-1");
	spool_moves_keep(m, "T-9");	/* no chain: nothing */
	spool_moves_next(m);
	assert_int_equal(spool_moves_count(m), 1);
	assert_string_equal(route(m, "T-1"), "ready claimed/ann* ready*");
	assert_string_equal(route(m, "T-2"), "");
	spool_moves_each(m, count_carried, carried);
	assert_string_equal(carried, "T-1:3 ");
	mv(m, "T-1", "ready", "claimed/bob", 4);
	mv(m, "T-2", "ready", "claimed/ann", 5);
	assert_string_equal(route(m, "T-1"),
			    "ready claimed/ann* ready* claimed/bob*");
	carried[0] = '\0';
	spool_moves_each(m, count_carried, carried);
	assert_string_equal(carried, "T-1:4 ");	/* T-2 is new, not carried */
	spool_moves_next(m);
	assert_int_equal(spool_moves_count(m), 0);
	spool_moves_free(m);
}

/* Where the records of another writer (a command) leave a task among
 * the places the events show: what comes after is not recorded yet. */
static size_t recorded_at(spool_moves *m, const char *id)
{
	spool_place p[SPOOL_MOVES_STEPS * 2 + 1];
	size_t n = spool_moves_places(p, m, id), at = 99;

	if (!spool_moves_recorded_at(&at, m, id, p, n))
		return 99;
	return at;
}

static void test_recorded_by_others(void **state)
{
	spool_loc ready = at("ready"), ann = at("claimed/ann");
	spool_loc failed = at("failed"), none = { .state = SPOOL_STATE_NONE };
	spool_moves *m;

	(void)state;
	assert_int_equal(spool_moves_new(&m, 16), 0);
	/* the spool's own rewrite (before the batch cleared the log, read
	 * after), a command's release, its rewrite, then an agent's claim
	 * and release by mv */
	spool_moves_arrive(m, "T-1", &ann, 51);
	spool_moves_leave(m, "T-1", &ann, 52);
	mv(m, "T-1", "claimed/ann", "ready", 53);
	spool_moves_arrive(m, "T-1", &ready, 54);
	spool_moves_leave(m, "T-1", &ready, 55);
	mv(m, "T-1", "ready", "claimed/ann", 56);
	mv(m, "T-1", "claimed/ann", "ready", 57);
	assert_string_equal(route(m, "T-1"),
			    "claimed/ann ready* claimed/ann* ready*");
	assert_int_equal(recorded_at(m, "T-1"), 99);	/* not touched */
	spool_moves_touched(m, "T-1", &ann, &ready);
	assert_int_equal(recorded_at(m, "T-1"), 1);
	/* an agent's claim the command recorded first, then its release */
	mv(m, "T-2", "ready", "claimed/ann", 61);
	mv(m, "T-2", "claimed/ann", "ready", 62);
	spool_moves_touched(m, "T-2", &ready, &ann);
	spool_moves_touched(m, "T-2", &ann, &ready);
	assert_int_equal(recorded_at(m, "T-2"), 2);
	/* a note moves nothing; the table took a release on to failed/ */
	mv(m, "T-3", "claimed/ann", "ready", 71);
	mv(m, "T-3", "ready", "failed", 72);
	spool_moves_touched(m, "T-3", &ann, &ann);
	assert_int_equal(recorded_at(m, "T-3"), 99);	/* nothing moved */
	spool_moves_touched(m, "T-3", &ann, &failed);
	assert_int_equal(recorded_at(m, "T-3"), 2);
	/* a record the events do not show: not to be followed */
	mv(m, "T-4", "ready", "claimed/ann", 81);
	spool_moves_touched(m, "T-4", &ann, &none);
	assert_int_equal(recorded_at(m, "T-4"), 99);
	spool_moves_free(m);
}

static void test_bounds(void **state)
{
	spool_moves *m;
	char id[32];

	(void)state;
	assert_int_equal(spool_moves_new(&m, 1000), 0);
	/* too many steps for one task: nothing known of it */
	for (int i = 0; i < SPOOL_MOVES_STEPS / 2 + 1; i++) {
		mv(m, "T-1", "ready", "claimed/ann", 100 + 2 * i);
		mv(m, "T-1", "claimed/ann", "ready", 101 + 2 * i);
	}
	assert_string_equal(route(m, "T-1"), "");
	assert_false(spool_moves_full(m));
	/* too many tasks: the log says it is full */
	for (int i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "T-%d", 1000 + i);
		mv(m, id, "ready", "claimed/ann", 5000 + i);
	}
	assert_true(spool_moves_full(m));
	spool_moves_clear(m);
	assert_false(spool_moves_full(m));
	mv(m, "T-1", "ready", "claimed/ann", 9000);
	assert_string_equal(route(m, "T-1"), "ready claimed/ann*");
	spool_moves_free(m);
	spool_moves_free(NULL);
}

/* ---- commits ------------------------------------------------------- */

struct fixture {
	char dir[4096];
	spool *sp;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *layout = getenv("SPOOL_LAYOUT");
	const char *tmp = getenv("TMPDIR");
	json_t *task = json_pack("{s:s}", "title", "one");
	char id[SPOOL_ID_MAX + 1];
	bool created, existed;

	if (!layout || !*layout)
		layout = access("spool-layout", F_OK) == 0 ? "spool-layout"
							   : "../spool-layout";
	snprintf(f->dir, sizeof(f->dir), "%s/spool-unit.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir) ||
	    spool_init(&created, f->dir, layout) < 0 || !created ||
	    spool_open(&f->sp, f->dir) < 0 ||
	    spool_agent_add(f->sp, "dev", NULL, "worker", "test") < 0 ||
	    spool_op_add(id, sizeof(id), &existed, f->sp, task, "test") < 0) {
		fprintf(stderr, "setup: %s\n", spool_error_message());
		return -1;
	}
	json_decref(task);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[4200];

	spool_free(f->sp);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static bool at_head(spool *sp, const char *path)
{
	char *buf = NULL;
	size_t len;
	bool found = spool_head_read(&buf, &len, sp, path) == 0;

	free(buf);
	spool_error_clear();
	return found;
}

static void move(struct fixture *f, const char *from, const char *to)
{
	char a[4200], b[4200];

	snprintf(a, sizeof(a), "%s/%s", f->dir, from);
	snprintf(b, sizeof(b), "%s/%s", f->dir, to);
	assert_int_equal(rename(a, b), 0);
}

static void test_commit_never_drops(void **state)
{
	struct fixture *f = *state;
	spool_commit *c;

	assert_true(at_head(f->sp, "ready/T-0001.json"));
	/* removed from ready/, added nowhere: refused */
	assert_int_equal(spool_lock(f->sp, -1), 0);
	assert_int_equal(spool_commit_new(&c, f->sp), 0);
	assert_int_equal(spool_commit_remove(c, "ready/T-0001.json"), 0);
	assert_int_equal(spool_commit_write(c, "test"), SPOOL_ERROR);
	assert_non_null(strstr(spool_error_message(), "'T-0001'"));
	spool_commit_free(c);
	assert_true(at_head(f->sp, "ready/T-0001.json"));
	spool_unlock(f->sp);
}

static void test_commit_where_the_move_says(void **state)
{
	struct fixture *f = *state;
	spool_loc ready = at("ready"), dev = at("claimed/dev");
	spool_transition t;
	spool_commit *c;

	/* claimed, and submitted before the claim is staged */
	move(f, "ready/T-0001.json", "claimed/dev/T-0001.json");
	move(f, "claimed/dev/T-0001.json", "review/T-0001.json");
	assert_int_equal(spool_lock(f->sp, -1), 0);
	assert_int_equal(spool_commit_new(&c, f->sp), 0);
	assert_int_equal(spool_commit_path(c, "ready/T-0001.json"), 0);
	assert_int_equal(spool_commit_path(c, "claimed/dev/T-0001.json"), 0);
	spool_transition_init(&t, "T-0001", &ready, &dev, "claim", "dev");
	assert_int_equal(spool_commit_transition(c, &t), 0);
	assert_int_equal(spool_commit_write(c, "test"), 0);
	spool_commit_free(c);
	spool_unlock(f->sp);
	/* recorded where the claim put it, with HEAD's content */
	assert_false(at_head(f->sp, "ready/T-0001.json"));
	assert_true(at_head(f->sp, "claimed/dev/T-0001.json"));
	assert_false(at_head(f->sp, "review/T-0001.json"));
}

static void test_commit_removal_on_purpose(void **state)
{
	struct fixture *f = *state;
	spool_loc ready = at("ready");
	spool_transition t;
	spool_commit *c;

	/* a transition that takes the task out of the tree (archive) */
	move(f, "ready/T-0001.json", "tmp/T-0001.json");
	assert_int_equal(spool_lock(f->sp, -1), 0);
	assert_int_equal(spool_commit_new(&c, f->sp), 0);
	assert_int_equal(spool_commit_path(c, "ready/T-0001.json"), 0);
	spool_transition_init(&t, "T-0001", &ready, NULL, "archive", "test");
	assert_int_equal(spool_commit_transition(c, &t), 0);
	assert_int_equal(spool_commit_write(c, "test"), 0);
	spool_commit_free(c);
	spool_unlock(f->sp);
	assert_false(at_head(f->sp, "ready/T-0001.json"));
}

/* The events of a claim, a release and a claim of id by dev. */
static void mv_steps(spool_moves *m, const char *id, int k)
{
	uint32_t c = 1000 + 3 * (uint32_t)k;

	mv(m, id, "ready", "claimed/dev", c);
	mv(m, id, "claimed/dev", "ready", c + 1);
	mv(m, id, "ready", "claimed/dev", c + 2);
}

/* ---- a task that moves while it is recorded ------------------------ */

struct mover {
	char a[4200], b[4200];
	atomic_bool stop;
};

/* An agent with nothing to do but mv the task back and forth. */
static void *shuttle(void *data)
{
	struct mover *mv = data;

	while (!atomic_load(&mv->stop))
		if (rename(mv->a, mv->b) == 0)
			while (rename(mv->b, mv->a) != 0 &&
			       !atomic_load(&mv->stop))
				;
	return NULL;
}

static void head_oid(git_oid *out, struct fixture *f)
{
	git_repository *repo;

	assert_int_equal(spool_repo(&repo, f->sp), 0);
	assert_int_equal(git_reference_name_to_id(out, repo, "HEAD"), 0);
}

/* One round: a claim, a release and a claim read from the events, the
 * file moving all the while. 1 if the task was deferred. */
static int moving_round(struct fixture *f, spool_moves *m, int k)
{
	json_t *task = json_pack("{s:s}", "title", "restless");
	spool_reconcile_stats st;
	char id[SPOOL_ID_MAX + 1], ready[64], dev[64];
	const char *paths[2] = { ready, dev };
	spool_reconcile_opts o = { .paths = paths, .npaths = 2,
				   .check_content = true, .batch = true,
				   .moves = m };
	struct mover mv = { .stop = false };
	pthread_t th;
	git_oid before, after;
	bool existed;
	int rc;

	assert_int_equal(spool_op_add(id, sizeof(id), &existed, f->sp, task,
				      "test"), 0);
	json_decref(task);
	snprintf(ready, sizeof(ready), "ready/%s.json", id);
	snprintf(dev, sizeof(dev), "claimed/dev/%s.json", id);
	move(f, ready, dev);
	snprintf(mv.a, sizeof(mv.a), "%s/%s", f->dir, dev);
	snprintf(mv.b, sizeof(mv.b), "%s/%s", f->dir, ready);
	spool_moves_clear(m);
	mv_steps(m, id, k);
	head_oid(&before, f);
	assert_int_equal(pthread_create(&th, NULL, shuttle, &mv), 0);
	assert_int_equal(spool_lock(f->sp, -1), 0);
	rc = spool_reconcile_ex(&st, f->sp, &o);
	spool_unlock(f->sp);
	atomic_store(&mv.stop, true);
	pthread_join(th, NULL);
	if (rc < 0)
		fail_msg("reconcile: %s", spool_error_message());
	head_oid(&after, f);
	if (st.deferred) {
		/* nothing of it recorded; its moves kept for the next batch */
		assert_true(git_oid_equal(&before, &after));
		spool_moves_next(m);
		assert_int_equal(spool_moves_count(m), 1);
		return 1;
	}
	/* recorded whole: the tree where the last step put it */
	assert_true(at_head(f->sp, dev));
	assert_false(at_head(f->sp, ready));
	return 0;
}

/*
 * The record either follows all the steps read or none of them: a part
 * recorded, with the rest of the moves dropped, lost a release between
 * two claims. Rounds go on until one has been deferred.
 */
static void test_moving_task_deferred(void **state)
{
	struct fixture *f = *state;
	spool_moves *m;
	int deferred = 0, rounds;

	assert_int_equal(spool_moves_new(&m, 16), 0);
	for (rounds = 0; rounds < 300 && deferred < 2; rounds++)
		deferred += moving_round(f, m, rounds);
	spool_moves_free(m);
	print_message("# %d of %d rounds deferred\n", deferred, rounds);
	assert_int_equal(deferred, 2);
}

/* ---- values the spool recorded before (stale.c) -------------------- */

/* Writes T-0001 into dir with attempt n, and commits the transitions
 * given as (verb, from, to, attempt) quadruples. */
static void record_version(struct fixture *f, const char *dir, int n,
			   size_t steps, const char *const *s)
{
	char path[64], full[4200];
	spool_transition t;
	spool_commit *c;
	spool_loc from, to;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/T-0001.json", dir);
	snprintf(full, sizeof(full), "%s/%s", f->dir, path);
	assert_non_null(fp = fopen(full, "w"));
	fprintf(fp, "{\"id\": \"T-0001\", \"title\": \"one\", "
		"\"attempt\": %d}\n", n);
	fclose(fp);
	assert_int_equal(spool_lock(f->sp, -1), 0);
	assert_int_equal(spool_commit_new(&c, f->sp), 0);
	for (size_t i = 0; i < steps; i++) {
		from = at(s[4 * i + 1]);
		to = at(s[4 * i + 2]);
		spool_transition_init(&t, "T-0001", &from, &to, s[4 * i],
				      "dev");
		t.attempt = atol(s[4 * i + 3]);
		assert_int_equal(spool_commit_transition(c, &t), 0);
	}
	assert_int_equal(spool_commit_path(c, "ready/T-0001.json"), 0);
	assert_int_equal(spool_commit_path(c, path), 0);
	assert_int_equal(spool_commit_write(c, "test"), 0);
	spool_commit_free(c);
	spool_unlock(f->sp);
}

static bool recorded_before(struct fixture *f, const char *json,
			    const char *fields)
{
	json_t *disk = json_loads(json, 0, NULL);
	bool yes;

	assert_non_null(disk);
	yes = spool_values_recorded(f->sp, "T-0001", disk, fields);
	json_decref(disk);
	return yes;
}

static void test_values_recorded(void **state)
{
	struct fixture *f = *state;
	static const char *const claim[] = {
		"claim", "ready", "claimed/dev", "2" };
	/* two steps in one commit: its tree keeps attempt 4 only */
	static const char *const round[] = {
		"release", "claimed/dev", "ready", "3",
		"claim", "ready", "claimed/dev", "4",
		"revert", "claimed/dev", "claimed/dev", "0" };

	move(f, "ready/T-0001.json", "claimed/dev/T-0001.json");
	record_version(f, "claimed/dev", 2, 1, claim);
	record_version(f, "claimed/dev", 4, 3, round);
	/* a tree's version, a trailer's, the last */
	assert_true(recorded_before(f, "{\"attempt\": 2}", "attempt"));
	assert_true(recorded_before(f, "{\"attempt\": 3}", "attempt"));
	assert_true(recorded_before(f, "{\"attempt\": 4}", "attempt"));
	/* never recorded: 7, or the revert's 0 */
	assert_false(recorded_before(f, "{\"attempt\": 7}", "attempt"));
	assert_false(recorded_before(f, "{\"attempt\": 0}", "attempt"));
	assert_false(recorded_before(f, "{\"attempt\": \"2\"}", "attempt"));
	/* every field listed must be the spool's */
	assert_true(recorded_before(f, "{\"attempt\": 3, \"title\": \"one\"}",
				    "attempt, title"));
	assert_false(recorded_before(f, "{\"attempt\": 3, \"title\": \"two\"}",
				     "attempt, title"));
	assert_false(recorded_before(f, "{\"attempt\": 3, \"lease\": 1}",
				     "attempt, lease"));
	/* a field no version had, dropped: as recorded */
	assert_true(recorded_before(f, "{\"attempt\": 2}", "lease"));
	/* an empty list says nothing */
	assert_false(recorded_before(f, "{\"attempt\": 2}", ""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_never_drops, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_moving_task_deferred,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_where_the_move_says,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_removal_on_purpose,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_values_recorded, setup,
						teardown),
		cmocka_unit_test(test_claim_submit),
		cmocka_unit_test(test_halves_apart),
		cmocka_unit_test(test_lost_events),
		cmocka_unit_test(test_rewrite_is_no_move),
		cmocka_unit_test(test_round_trip_and_touched),
		cmocka_unit_test(test_recorded_by_others),
		cmocka_unit_test(test_kept_for_next_batch),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
