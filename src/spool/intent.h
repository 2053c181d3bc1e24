/*
 * The intent log: what the spool is about to do to a task, written
 * durably before it does it, removed once the commit recording it is
 * written. A process killed in between leaves its intents; the next one
 * to take the lock finishes the record from them (spool_intent_recover).
 * A commit that is not written undoes its intents' moves instead: an
 * operation that fails changes nothing.
 */
#ifndef SPOOL_INTENT_H
#define SPOOL_INTENT_H

#include "spool-int.h"

typedef struct spool_intents spool_intents;

/* The intents a commit carries (history.c owns the pointer). */
spool_intents **spool_commit_intents(spool_commit *c);

/* Before the spool renames a task from t->from to t->to: t, the task as it
 * is at t->from, and the feedback the move adds. */
int spool_intent_move(spool_commit *c, spool *sp, const spool_transition *t,
		      const char *feedback);
/* The same for a rename that starts elsewhere than t->from: a release by
 * mv on the last attempt is recorded as claimed/A -> failed, and the
 * spool's own rename is ready -> failed. */
int spool_intent_move_at(spool_commit *c, spool *sp,
			 const spool_transition *t, const char *feedback,
			 const spool_loc *at);
/* Before the spool rewrites a task a raw move put at t->to, with effects
 * that would apply twice if the move were recorded again (an attempt
 * counted, an entry appended). Nothing if c already has one for it. */
int spool_intent_record(spool_commit *c, spool *sp,
			const spool_transition *t, const char *feedback);

/* A task about to be filed: written at to, from src in new/ (NULL for
 * 'spool add'), with its idempotency key file and its parent. */
typedef struct {
	const char *id;
	const spool_loc *to;
	const char *verb;
	const char *actor;
	const char *note;
	const char *src;
	const char *key;
	const char *parent;
} spool_intent_filing;

int spool_intent_file(spool_commit *c, spool *sp,
		      const spool_intent_filing *f);

/* The last intent for id did not happen (its rename lost a race). */
void spool_intent_drop(spool_commit *c, spool *sp, const char *id);

/* Once a commit is written (written: the files go) or abandoned (the
 * moves are undone, newest first). Frees in; NULL is fine. */
void spool_intents_settle(spool *sp, spool_intents *in, bool written);

/* Records what a killed process was doing: a task at its intent's
 * destination gets the transition its command would have recorded, with
 * the same verb, actor and effects; one still at its source is left as it
 * is. Call under the lock before anything compares the tree with HEAD. */
int spool_intent_recover(size_t *recorded, bool *terminal, spool *sp);

#endif
