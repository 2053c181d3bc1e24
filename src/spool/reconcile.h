/* Making the record match the files (reconcile.c). */
#ifndef SPOOL_RECONCILE_H
#define SPOOL_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>

#include "moves.h"
#include "root.h"

/* Reads a file as it is at HEAD. */
int spool_head_read(char **out, size_t *len, spool *sp, const char *path);

typedef struct {
	size_t filed;		/* new/ -> ready, blocked */
	size_t quarantined;
	size_t recorded;	/* raw moves recorded */
	size_t reverted;	/* illegal moves undone */
	size_t restored;	/* deleted tasks brought back */
	size_t duplicates;	/* copies removed */
	size_t released;	/* blocked -> ready, parents completed */
	size_t deferred;	/* moved on while being recorded: their
				 * moves wait for the next batch */
} spool_reconcile_stats;

/* Files tasks dropped in new/, records raw moves since the last commit,
 * undoes illegal ones, restores deleted tasks, releases blocked work.
 * Caller holds the lock. */
int spool_reconcile(spool_reconcile_stats *stats, spool *sp);

/* What a reconcile looks at, and how it records. */
typedef struct {
	/* Paths (relative to the root) named by filesystem events: only the
	 * tasks they name are compared, plus new/ when it is named; a state
	 * directory stands for everything in it. NULL: the whole tree. */
	const char *const *paths;
	size_t npaths;
	/* Tasks edited in place in blocked/, ready/, review/ or a finished
	 * state get their committed content back; the edit is kept in
	 * quarantine/. */
	bool check_content;
	/* One commit for everything, however few the changes. */
	bool batch;
	/* Re-check every blocked task, even if nothing finished. */
	bool advance;
	/* The moves the daemon's events showed since it last recorded
	 * (moves.h): each is recorded in order, with its own agent. NULL:
	 * only snapshots (HEAD and the disk) are known. */
	struct spool_moves *moves;
} spool_reconcile_opts;

/* spool_reconcile with options (NULL: as spool_reconcile). Caller holds
 * the lock. */
int spool_reconcile_ex(spool_reconcile_stats *stats, spool *sp,
		       const spool_reconcile_opts *opts);

/* Lock + reconcile + unlock; also re-checks every blocked task. */
int spool_reconcile_locked(spool_reconcile_stats *stats, spool *sp);

#endif
