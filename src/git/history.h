/* Recording transitions as commits (history.c). */
#ifndef SPOOL_HISTORY_H
#define SPOOL_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <git2.h>

#include "state.h"
#include "root.h"

/* One transition as it is recorded. */
typedef struct {
	char id[SPOOL_ID_MAX + 1];
	spool_loc from;		/* state NONE for a task that appeared */
	spool_loc to;		/* state NONE for a task that vanished */
	char actor[SPOOL_NAME_MAX + 1];
	char verb[16];		/* claim, submit, approve, violation, ... */
	long attempt;
	char note[256];		/* reason, feedback excerpt; may be empty */
} spool_transition;

/* A set of changes to commit together. */
typedef struct spool_commit spool_commit;

int spool_commit_new(spool_commit **out, spool *sp);

void spool_commit_free(spool_commit *c);

/* Adds path (relative to root) as it is on disk now: a file becomes a
 * blob, a directory is synced recursively, a missing path is removed.
 * Reads HEAD when created: make it under the lock. */
int spool_commit_path(spool_commit *c, const char *path);

/* Adds path with the given content, whatever the disk holds now: for a
 * task recorded where its transition says after it moved on. */
int spool_commit_blob(spool_commit *c, const char *path, const void *buf,
		      size_t len);

/* Removes path from the tree, whatever the disk holds now. */
int spool_commit_remove(spool_commit *c, const char *path);

/* Leaves path out of the commit and says why (on stderr or in the
 * daemon's log, and under "Left out, refused:" in the message), never
 * what it holds. With drop, a version recorded before leaves the tree. */
int spool_commit_refuse(spool_commit *c, const char *path, const char *why,
			bool drop);

int spool_commit_transition(spool_commit *c, const spool_transition *t);

/* Adds a free-form line to the message (for non-transition commits). */
int spool_commit_subject(spool_commit *c, const char *subject);

/* Writes the commit (author: the actor of the first transition, or
 * actor). Does nothing if there is nothing to record. Call under lock.
 * Refuses a commit that removes a task from one place and records it in
 * no other, unless a transition removes it (archive, quarantine). */
int spool_commit_write(spool_commit *c, const char *actor);

size_t spool_commit_count(const spool_commit *c);

/* A part of the commit that can be taken back whole: what one task's
 * record staged, when the task moved on too fast to be followed. From
 * spool_commit_begin, everything staged (paths, transitions, refusals)
 * is undone by spool_commit_rollback, or kept by spool_commit_end. One
 * at a time; blobs already written stay in the store, unreferenced. */
int spool_commit_begin(spool_commit *c);
void spool_commit_rollback(spool_commit *c);
void spool_commit_end(spool_commit *c);

/* HEAD's tree as the commit saw it when made (NULL before the first). */
git_tree *spool_commit_base(spool_commit *c);

git_commit *spool_commit_parent(spool_commit *c);

/* What a layer above hangs on a commit (the intents of intent.c), and
 * how to settle it: when the commit is written (written: true), or freed
 * without being written (false). The slot is NULL until first set. */
typedef void (*spool_commit_settle_fn)(spool *sp, void *pending,
				       bool written);
void **spool_commit_pending(spool_commit *c, spool_commit_settle_fn fn);

#endif
