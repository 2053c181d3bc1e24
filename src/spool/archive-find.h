/* Finding a task in the archives of finished work. */
#ifndef SPOOL_ARCHIVE_FIND_H
#define SPOOL_ARCHIVE_FIND_H

#include <jansson.h>
#include <git2.h>

#include "state.h"
#include "root.h"

/* Where an archived task is. */
typedef struct {
	char archive[128];	/* "archive/2026-01-31.tar.gz" */
	spool_state state;	/* done, failed, cancelled */
	char commit[GIT_OID_HEXSZ + 1];	/* its last transition */
	long long offset;	/* of the gzip member its entries are in */
} spool_archived;

/*
 * Finds an archived task. With task non-NULL, also reads its JSON from
 * the archive; with files non-NULL, the names of its deliverables.
 * SPOOL_ENOTFOUND if it is in no archive.
 */
int spool_archive_find(spool_archived *out, json_t **task, json_t **files,
		       spool *sp, const char *id);

#endif
