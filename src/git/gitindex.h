/* Keeping .git/index in step with HEAD (gitindex.c). */
#ifndef SPOOL_GITINDEX_H
#define SPOOL_GITINDEX_H

#include "root.h"

/* Makes .git/index match HEAD, so plain 'git status' and 'git diff' in
 * the spool show what changed since the last commit. */
int spool_index_sync(spool *sp);

#endif
