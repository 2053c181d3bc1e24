/*
 * The blobs a commit stages, kept in memory until it is written, then
 * stored at once (blobpack.c): as one pack when there are many (a batch
 * of filings), else loose as usual.
 */
#ifndef SPOOL_BLOBPACK_H
#define SPOOL_BLOBPACK_H

#include <stddef.h>

#include <git2.h>

#include "root.h"

typedef struct spool_blobq spool_blobq;

/*
 * The blob's id in *out; a copy of buf kept in *q (made on first use)
 * unless the repository has it already. Returns 1 when it is not kept
 * (too big, or the queue holds enough already): the caller stores it
 * itself. path names it in messages.
 */
int spool_blobq_add(git_oid *out, spool_blobq **q, spool *sp,
		    const void *buf, size_t len, const char *path);

/*
 * Stores what q holds, each blob once: one pack through libgit2's indexer
 * when there are 64 or more, else loose. q is empty after,
 * whatever the outcome.
 */
int spool_blobq_flush(spool_blobq *q, spool *sp);

void spool_blobq_free(spool_blobq *q);

#endif
