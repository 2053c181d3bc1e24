/* The state of a spool at a glance, for operators (inspect.c). */
#ifndef SPOOL_INSPECT_H
#define SPOOL_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "state.h"
#include "root.h"

/* Whether spoold runs on this spool (it holds a flock on
 * .spool/run/daemon.pid); *pid gets its pid when known. */
bool spool_daemon_running(spool *sp, long *pid);

/* Whether spoold runs: it holds a flock on .spool/run/daemon.pid. *pid is
 * the pid written in the file (0 if unknown). */
bool spool_daemon_running(spool *sp, long *pid);

/*
 * Directories of the layout that are symbolic links: a state directory,
 * tmp/, deliverables/ or claimed/A/. Nothing behind one is read, moved or
 * deleted. Returns how many, with a sentence naming them in why (empty if
 * none); *halt tells whether one is a state directory or tmp/, in which
 * case spoold records nothing until it is a directory again.
 */
size_t spool_layout_links(char *why, size_t len, bool *halt, spool *sp);

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

#endif
