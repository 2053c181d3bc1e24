/* git's own lock files left by dead writers (gitlocks.c). */
#ifndef SPOOL_GITLOCKS_H
#define SPOOL_GITLOCKS_H

#include "root.h"

/* Removes lock files a killed git writer left in the repository, and
 * waits for a git command run by hand in the spool to finish (gitlocks.c).
 * Called with the spool lock held, when no writer of ours can run. */
void spool_git_locks_clear(spool *sp);

#endif
