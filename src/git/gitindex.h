/* Keeping .git/index in step with HEAD (gitindex.c). */
#ifndef SPOOL_GITINDEX_H
#define SPOOL_GITINDEX_H

#include <stdbool.h>
#include "root.h"

/* Makes .git/index match HEAD, so plain 'git status' and 'git diff' in
 * the spool show what changed since the last commit. *behind is set when
 * the index could not be written (a plain git command holds index.lock):
 * that is no error, the commit stands, but the caller should try again
 * later. */
int spool_index_update(bool *behind, spool *sp);

/* The same, for callers that leave a behind index to the next commit. */
int spool_index_sync(spool *sp);

#endif
