/* Internals shared by the library's files; not part of the API. */
#ifndef SPOOL_INT_H
#define SPOOL_INT_H

#include <git2.h>
#include <stdint.h>
#include <sys/stat.h>

#include "spool.h"

struct spool {
	char *root;		/* absolute path */
	int rootfd;		/* O_PATH|O_DIRECTORY on root */
	json_t *config;
	git_repository *repo;	/* opened on first use */
	int lockfd;		/* -1 when not held */
	int lock_depth;
	void *select_idx;	/* select.c's index, loaded on first use */
	bool ids_cached;	/* ids.c: the archive's highest id number */
	int64_t ids_stamp;	/* archive/'s ctime when it was read */
	long ids_archived;
	char ids_prefix[SPOOL_ID_MAX + 1];
};

/* Opens the repository (once) with a fast, low-compression object store. */
int spool_repo(git_repository **out, spool *sp);

/* A write-only object backend for objects/ that stores loose objects
 * without compressing them (gitloose.c). */
int spool_odb_stored(git_odb_backend **out, const char *objects);
/* How many of its writes failed so far, and why the last one did. When
 * every backend refuses an object, libgit2 1.5 retries through a stream
 * that ignores write errors and may report success for an object it did
 * not store (seen on a full disk): a commit checks this count instead. */
unsigned spool_odb_failures(const char **why);

/* Writes base (NULL: the empty tree) with the updates applied, like
 * git_tree_create_updated; directories left empty go (gittree.c). */
int spool_tree_update(git_oid *out, git_repository *repo, git_tree *base,
		      size_t n, const git_tree_update *updates);
/* May a tree hold an entry of this name and mode? Not empty, ".", "..",
 * nor ".git" as any file system may read it (".GIT", ".git.", "git~1",
 * HFS+'s ignored code points), nor a link git would read as .gitmodules. */
bool spool_tree_name_valid(const char *name, size_t len,
			   git_filemode_t mode);

/* The branch guard (branch.c): refuses with SPOOL_ESTOPPED when head
 * (NULL: no branch) does not follow from the last commit seen, and says
 * so to every later writer; spool_branch_saw records a commit written. */
int spool_branch_check(spool *sp, const git_oid *head);
void spool_branch_saw(spool *sp, const git_oid *id);

/* The branch guard (branch.c): refuses with SPOOL_ESTOPPED when head
 * (NULL: no branch) does not follow from the last commit seen, and says
 * so to every later writer; spool_branch_saw records a commit written.
 * spool_branch_verify checks HEAD as it is now; spool_branch_refuse only
 * says whether a writer has stopped recording (no git). */
int spool_branch_check(spool *sp, const git_oid *head);
int spool_branch_verify(spool *sp);
int spool_branch_refuse(spool *sp);
void spool_branch_saw(spool *sp, const git_oid *id);

/* Removes lock files a killed git writer left in the repository, and
 * waits for a git command run by hand in the spool to finish (gitlocks.c).
 * Called with the spool lock held, when no writer of ours can run. */
void spool_git_locks_clear(spool *sp);

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

/* Ids (ids.c). The number of id after prefix, or -1. */
long spool_id_number(const char *id, const char *prefix);
/* The highest number of prefix in the archive's indexes, or -1. */
long spool_ids_archived_max(spool *sp, const char *prefix);
/* The highest number of prefix the history ever recorded, or -1. */
long spool_ids_history_max(spool *sp, const char *prefix);
/* SPOOL_EEXISTS, saying where, if id is in the tree, in an archive or in
 * the history: ids are never given twice. */
int spool_id_check_unused(spool *sp, const char *id);

/* Deliverables of a task: "deliverables/ID". */
void spool_deliverables_path(char *buf, size_t len, const char *id);

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

/*
 * What a stat says of a file or directory, to tell later whether it
 * changed: a rename in or out of a directory, and any write to a file,
 * sets the ctime, which no user can set back.
 */
typedef struct {
	uint64_t ino, size;
	int64_t mtime, ctime;	/* ns since the epoch */
} spool_stamp;

void spool_stamp_of(spool_stamp *out, const struct stat *st);
bool spool_stamp_same(const spool_stamp *a, const spool_stamp *b);
/* Now, in ns since the epoch, as file times are kept. */
int64_t spool_now_ns(void);
/* True if a stamp taken at time taken (spool_now_ns before the stat) is
 * sure to differ after any later change: its ctime is clearly older, so a
 * change cannot fall in the same clock tick. */
bool spool_stamp_settled(const spool_stamp *s, int64_t taken);

#define SPOOL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
