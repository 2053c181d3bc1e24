/*
 * What operators read: history from git (history-read.c), the state of a
 * spool at a glance (inspect.c) and the archives of finished work
 * (archive.c). Shared by spool(1)'s operator commands and spoold(8).
 */
#ifndef SPOOL_OPERATOR_INT_H
#define SPOOL_OPERATOR_INT_H

#include "spool-int.h"
#include "archive-find.h"

/* ---- history ----------------------------------------------------------- */

/* One transition of a commit, as trailer.c reads it back. */
typedef struct {
	char id[SPOOL_ID_MAX + 1];
	char from[SPOOL_NAME_MAX + 16];	/* "ready", "claimed/dev", "none" */
	char to[SPOOL_NAME_MAX + 16];
	char actor[SPOOL_NAME_MAX + 1];
	char verb[32];
	long attempt;
	const char *note;	/* "" when none; valid during the callback */
} spool_tgroup;

/* One transition with the commit that recorded it. */
typedef struct {
	git_commit *commit;	/* borrowed, valid during the callback */
	char hex[GIT_OID_HEXSZ + 1];
	int64_t time;		/* author time */
	int offset;		/* its time zone, minutes east of UTC */
	const char *author;
	const spool_tgroup *g;
	size_t index, count;	/* this group's place among the commit's */
} spool_event;

/* Return > 0 to stop the walk (returned as is), < 0 for an error. */
typedef int (*spool_event_fn)(void *data, const spool_event *ev);

/* The history index (.spool/run/history/): one line per recorded
 * transition, "<commit> <time> <id>", in 256 buckets by id, brought up to
 * date with HEAD on open. A cache only: it is rebuilt when missing or out
 * of step with HEAD. */
typedef struct spool_hindex spool_hindex;

int spool_hindex_open(spool_hindex **out, spool *sp);
void spool_hindex_free(spool_hindex *h);
/* Calls fn for each line, bucket by bucket: the lines of one task come in
 * history order. Stops early when fn returns > 0. */
int spool_hindex_foreach(spool_hindex *h,
			 int (*fn)(void *data, const char *hex, int64_t time,
				   const char *id, size_t idlen),
			 void *data);
/* Time of the last transition of id, or 0 if none. */
int64_t spool_hindex_last(spool_hindex *h, const char *id);

/* Transitions of one task, oldest first (uses the index). */
int spool_history_task(spool *sp, const char *id, spool_event_fn fn,
		       void *data);
/*
 * Every transition after the cursor, oldest first. A cursor is a commit
 * id ("after this commit") or "<commit>:<k>" ("after the first k
 * transitions of this commit"); NULL or "" starts from the beginning.
 */
int spool_history_since(spool *sp, const char *cursor, spool_event_fn fn,
			void *data);
/* The last n transitions (all if n is 0), oldest first. */
int spool_history_last(spool *sp, size_t n, spool_event_fn fn, void *data);
/* The cursor after ev: "<commit>" for its commit's last group. */
void spool_event_cursor(char *buf, size_t len, const spool_event *ev);
/* The id of deliverables/ID at ev's commit ("" if absent). */
void spool_event_deliverables(char *hex, size_t len, spool *sp,
			      const spool_event *ev);
/* A transition as the JSON the operator commands print. */
json_t *spool_event_json(spool *sp, const spool_event *ev);

/* ---- inspection -------------------------------------------------------- */

/* Whether spoold runs: it holds a flock on .spool/run/daemon.pid. *pid is
 * the pid written in the file (0 if unknown). */
bool spool_daemon_running(spool *sp, long *pid);
/* Lease of a claimed task: its "lease" field, else lease_seconds. */
long spool_task_lease(spool *sp, json_t *task);
/* Seconds left before the lease of a claimed task expires (negative when
 * it has expired): the later of the file's mtime (the heartbeat) and
 * ctime (the claim), plus the lease, less now. */
int spool_lease_left(long *left, spool *sp, const spool_loc *loc,
		     const char *id, json_t *task);
/* Tasks whose place on disk differs from HEAD (moves not recorded yet),
 * and files waiting in new/. */
int spool_untracked(size_t *moves, size_t *waiting, spool *sp);
/* Task files (*.json) in a directory relative to the root; 0 if absent. */
size_t spool_dir_count(spool *sp, const char *dir);
/* The tree in one pass: task files per state and per claimed/AGENT/
 * (any file in new/ and quarantine/, less .reason files), what
 * spool_untracked says, and the task that has waited longest in ready/
 * (by its file's ctime: when a rename brought it, or it was rewritten),
 * the tasks kept in archive/ (by the lines of its .tsv indexes), and
 * the last commit. Kept in .spool/run/survey.cache while HEAD and the directories are the
 * same. */
typedef struct {
	size_t counts[SPOOL_STATE_COUNT];
	struct {
		char name[SPOOL_NAME_MAX + 1];
		size_t claimed;
	} agents[256];
	size_t nagents;
	size_t moves, waiting;
	char oldest[SPOOL_ID_MAX + 1];	/* "" if ready/ is empty */
	int64_t oldest_ns;		/* its ctime, ns since the epoch */
	size_t archived, archives;	/* tasks in archive/, archives */
	char head[GIT_OID_HEXSZ + 1];	/* HEAD, "" before the first commit */
	bool head_known;		/* the three below are set */
	char head_subject[1024];
	char head_author[256];
	int64_t head_time;
} spool_survey_t;
int spool_survey(spool_survey_t *out, spool *sp);
/* Human durations: "3d", "2h5m", "45s"; parse accepts 30s, 15m, 2h, 7d,
 * 1w or plain seconds. */
void spool_duration_format(char *buf, size_t len, long secs);
int spool_duration_parse(long *out, const char *s);

/* ---- archives ---------------------------------------------------------- */

typedef struct {
	size_t tasks;		/* tasks archived */
	size_t archives;	/* archive files written (one commit each) */
	size_t kept;		/* finished, but blocked work waits for them */
	char last[128];		/* the last archive written */
} spool_archive_stats;

/*
 * Moves finished tasks (done, failed, cancelled) whose last transition is
 * older than older_than seconds, and their deliverables, into
 * archive/YYYY-MM-DD[.N].tar.gz, with an index archive/...tsv, one commit
 * per archive of at most SPOOL_ARCHIVE_MAX tasks. Takes the lock. With
 * dry_run, only counts. The daemon calls this for the retention policy.
 */
#define SPOOL_ARCHIVE_MAX 10000
int spool_archive_run(spool_archive_stats *st, spool *sp, long older_than,
		      const char *actor, bool dry_run);
/* The retention policy: config "retention": {"archive_after": "7d"}.
 * -1 when none is set. */
int spool_retention_after(long *secs, spool *sp);

#endif
