/* The spool's repository and the one lock its writers take (repo.c). */
#ifndef SPOOL_REPO_H
#define SPOOL_REPO_H

#include <stdbool.h>

#include <git2.h>

#include "root.h"

/* The one git writer lock (.spool/run/lock). wait_ms < 0 waits forever. */
int spool_lock(spool *sp, int wait_ms);

/* How many spool_lock calls hold the lock now (0: not held). */
int spool_lock_depth(const spool *sp);
void spool_unlock(spool *sp);

/* Opens the repository (once) with a fast, low-compression object store. */
int spool_repo(git_repository **out, spool *sp);

/* Writes the blob of the file at path, loose and uncompressed unless the
 * repository has it already: git_blob_create_from_buffer, cheaper for
 * many. */
int spool_blob_write(git_oid *out, spool *sp, const void *buf, size_t len,
		     const char *path);

/* Whether the repository has the object, looked for without listing the
 * pack directory again. */
bool spool_blob_stored(spool *sp, const git_oid *id);

/* Writes the blob as spool_blob_write does, without looking for it
 * first: for one known to be new. */
int spool_blob_store(git_oid *out, spool *sp, const void *buf, size_t len,
		     const char *path);

#endif
