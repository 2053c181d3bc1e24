/* Internals shared by the library's files; not part of the API. */
#ifndef SPOOL_INT_H
#define SPOOL_INT_H

#include <git2.h>

#include "spool.h"

struct spool {
	char *root;		/* absolute path */
	int rootfd;		/* O_PATH|O_DIRECTORY on root */
	json_t *config;
	git_repository *repo;	/* opened on first use */
	int lockfd;		/* -1 when not held */
	int lock_depth;
	void *select_idx;	/* select.c's index, loaded on first use */
};

/* Opens the repository (once) with a fast, low-compression object store. */
int spool_repo(git_repository **out, spool *sp);

/* HEAD's tree as the commit saw it when made (NULL before the first). */
git_tree *spool_commit_base(spool_commit *c);
git_commit *spool_commit_parent(spool_commit *c);

/* Moves a task file from one location to another (rename, no replace).
 * Creates claimed/AGENT when needed. Without sync the rename is not made
 * durable (see spool_fs_move_unsynced). */
int spool_move_task(spool *sp, const char *id, const spool_loc *from,
		    const spool_loc *to, bool sync);

/* Rewrites the task at loc with the given content (spool-written fields). */
int spool_task_store(spool *sp, const spool_loc *loc, const char *id,
		     json_t *task);

/* Deliverables of a task: "deliverables/ID". */
void spool_deliverables_path(char *buf, size_t len, const char *id);

/* The transition verb for a move, e.g. "claim", "submit". */
const char *spool_rules_verb(json_t *task, const spool_loc *from,
			     const spool_loc *to);

/* Dependents of a finished task: moves blocked tasks whose deps are all
 * done to ready/, completes parents whose children are all done. Adds
 * what it does to c. */
int spool_advance(spool *sp, spool_commit *c, size_t *released);

/* The task agent should take next (see select.c). fresh forces a read
 * of ready/ instead of trusting the index. */
int spool_select(spool_entry *out, spool *sp, const char *agent,
		 json_t *agentobj, bool fresh);
/* After a claim of id: drops it from the index. */
void spool_select_taken(spool *sp, const char *id);
void spool_select_free(spool *sp);

#define SPOOL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
