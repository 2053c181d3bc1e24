/* Reading the history back: events, the history index
 * (history-read.c). */
#ifndef SPOOL_HISTORY_READ_H
#define SPOOL_HISTORY_READ_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <git2.h>

#include "state.h"
#include "root.h"

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

#endif
