/* Archives of finished work (archives.c). */
#ifndef SPOOL_ARCHIVES_H
#define SPOOL_ARCHIVES_H

#include <stdbool.h>
#include <stddef.h>

#include "root.h"

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
