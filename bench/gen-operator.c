/*
 * Builds the spool bench/operator.sh measures: FINISHED tasks that went
 * add, claim, submit, approve, most of them archived, then OPEN tasks in
 * ready/, blocked/, claimed/AGENT/ and review/. Files are written
 * directly and recorded with the library's own commits, BATCH tasks to a
 * commit (each with its real Spool-* trailers), and the archives are made
 * by spool_archive_run as `spool archive` makes them, 10,000 tasks at a
 * time so done/ never grows past that.
 *
 *   gen-operator DIR LAYOUT OPEN FINISHED ARCHIVED BATCH
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "state.h"
#include "root.h"
#include "history.h"
#include "repo.h"
#include "archives.h"
#include "init.h"
#include "registry.h"
#include "transition.h"

#define AGENTS 10

static spool *sp;
static long next_id = 1;

static void die(const char *what)
{
	fprintf(stderr, "gen-operator: %s: %s\n", what, spool_error_message());
	exit(1);
}

static void put(const char *path, const char *data)
{
	int fd = openat(spool_rootfd(sp), path, O_WRONLY | O_CREAT | O_TRUNC |
			O_CLOEXEC, 0644);
	size_t n = strlen(data);

	if (fd < 0 || write(fd, data, n) != (ssize_t)n) {
		perror(path);
		exit(1);
	}
	close(fd);
}

static void trans(spool_commit *c, const char *id, const char *from,
		  const char *to, const char *verb, const char *actor)
{
	spool_loc f, t;
	spool_transition tr;

	if (strcmp(from, "none") == 0)
		f.state = SPOOL_STATE_NONE;
	else if (spool_loc_parse(&f, from) < 0)
		die(from);
	if (spool_loc_parse(&t, to) < 0)
		die(to);
	spool_transition_init(&tr, id, &f, &t, verb, actor);
	tr.attempt = 1;
	if (spool_commit_transition(c, &tr) < 0)
		die("transition");
}

/* One task written where it ends up, with the moves that brought it. */
static void task(spool_commit *c, const char *state, int agent, long dep)
{
	char id[32], path[128], buf[512], a[16], claimed[32];

	snprintf(id, sizeof(id), "T-%06ld", next_id++);
	snprintf(a, sizeof(a), "a%02d", agent);
	snprintf(claimed, sizeof(claimed), "claimed/%s", a);
	snprintf(buf, sizeof(buf), "{\n  \"id\": \"%s\",\n  \"title\": "
		 "\"bench task %s\",\n  \"priority\": \"normal\",\n  "
		 "\"requires\": [\"write\"],\n  \"created\": "
		 "\"2026-01-01T00:00:00Z\",\n  \"created_by\": \"operator\",\n"
		 "  \"attempt\": 1%s%s%s\n}\n", id, id,
		 strcmp(state, "done") == 0 || strcmp(state, "review") == 0
			 ? ",\n  \"submitted_by\": \"" : "",
		 strcmp(state, "done") == 0 || strcmp(state, "review") == 0
			 ? a : "",
		 strcmp(state, "done") == 0 || strcmp(state, "review") == 0
			 ? "\"" : "");
	if (dep) {
		/* blocked: waits for an open task (JSON allows the comma
		 * on a line of its own) */
		char *end = strrchr(buf, '}');
		snprintf(end, sizeof(buf) - (size_t)(end - buf),
			 ",\n  \"depends_on\": [\"T-%06ld\"]\n}\n", dep);
	}
	snprintf(path, sizeof(path), "%s/%s.json",
		 strcmp(state, "claimed") == 0 ? claimed : state, id);
	put(path, buf);
	if (spool_commit_path(c, path) < 0)
		die(path);
	trans(c, id, "none", strcmp(state, "blocked") == 0 ? "blocked"
			     : "ready", "add", "operator");
	if (strcmp(state, "ready") == 0 || strcmp(state, "blocked") == 0)
		return;
	trans(c, id, "ready", claimed, "claim", a);
	if (strcmp(state, "claimed") == 0)
		return;
	snprintf(path, sizeof(path), "deliverables/%s", id);
	mkdirat(spool_rootfd(sp), path, 0755);
	snprintf(path, sizeof(path), "deliverables/%s/out.md", id);
	snprintf(buf, sizeof(buf), "# %s\n\nThe result of %s.\n", id, id);
	put(path, buf);
	snprintf(path, sizeof(path), "deliverables/%s", id);
	if (spool_commit_path(c, path) < 0)
		die(path);
	trans(c, id, claimed, "review", "submit", a);
	if (strcmp(state, "review") == 0)
		return;
	trans(c, id, "review", "done", "approve", "rev");
}

static spool_commit *begin(void)
{
	spool_commit *c;

	if (spool_lock(sp, -1) < 0 || spool_commit_new(&c, sp) < 0)
		die("begin");
	return c;
}

static void end(spool_commit *c)
{
	if (spool_commit_write(c, "operator") < 0)
		die("commit");
	spool_commit_free(c);
	spool_unlock(sp);
}

int main(int argc, char **argv)
{
	long open, finished, archived, batch, made = 0, in_batch = 0;
	spool_commit *c = NULL;
	bool created;
	char name[16];

	if (argc != 7) {
		fprintf(stderr, "usage: gen-operator DIR LAYOUT OPEN FINISHED "
			"ARCHIVED BATCH\n");
		return 2;
	}
	/* libgit2 caches no tree over 4 KiB by default: every lookup of a
	 * path under done/ would inflate its 400 KB tree again. */
	git_libgit2_init();
	git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE,
			 (size_t)64 << 20);
	open = atol(argv[3]);
	finished = atol(argv[4]);
	archived = atol(argv[5]);
	batch = atol(argv[6]);
	if (spool_init(&created, argv[1], argv[2]) < 0 ||
	    spool_open(&sp, argv[1]) < 0)
		die("init");
	for (int i = 1; i <= AGENTS; i++) {
		snprintf(name, sizeof(name), "a%02d", i);
		if (spool_agent_add(sp, name, "write", "worker", "operator") < 0)
			die("agent");
		snprintf(name, sizeof(name), "claimed/a%02d", i);
		mkdirat(spool_rootfd(sp), name, 0755);
	}
	if (spool_agent_add(sp, "rev", "", "reviewer", "operator") < 0)
		die("agent");
	/* Finished work: the first ARCHIVED archived 10,000 at a time (so
	 * done/ never holds more), then the rest left in done/. */
	while (made < finished) {
		bool archiving = made < archived;
		long chunk_end = archiving
			? (made / SPOOL_ARCHIVE_MAX + 1) * SPOOL_ARCHIVE_MAX
			: finished;
		if (archiving && chunk_end > archived)
			chunk_end = archived;
		if (!c)
			c = begin();
		task(c, "done", (int)(made % AGENTS) + 1, 0);
		made++;
		if (++in_batch == batch || made == chunk_end) {
			end(c);
			c = NULL;
			in_batch = 0;
		}
		if (archiving && made == chunk_end) {
			spool_archive_stats st;
			if (spool_archive_run(&st, sp, 0, "operator",
					      false) < 0)
				die("archive");
			fprintf(stderr, "gen-operator: %ld finished, %zu "
				"archived into %s\n", made, st.tasks, st.last);
		}
	}
	/* Open work: 80% ready, 10% blocked on a ready task, 5% claimed,
	 * 5% in review. */
	{
		long first = next_id;
		for (long i = 0; i < open; i++) {
			long r = i % 20;
			if (!c)
				c = begin();
			if (r < 16)
				task(c, "ready", 1, 0);
			else if (r < 18)
				task(c, "blocked", 1, first);
			else if (r < 19)
				task(c, "claimed", (int)(i % AGENTS) + 1, 0);
			else
				task(c, "review", (int)(i % AGENTS) + 1, 0);
			if (++in_batch == batch || i == open - 1) {
				end(c);
				c = NULL;
				in_batch = 0;
			}
		}
	}
	spool_free(sp);
	return 0;
}
