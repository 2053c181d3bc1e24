/* An operator accepts a rewritten branch (branch-accept.c). */
#ifndef SPOOL_BRANCH_ACCEPT_H
#define SPOOL_BRANCH_ACCEPT_H

#include "root.h"
#include "branch.h"

/* Accepts HEAD as it is, resumes recording and commits the files as they
 * are on top of it (author: actor). *was gets the state before. Caller
 * holds the lock. */
int spool_branch_accept(spool_branch_state *was, spool *sp,
			const char *actor);

#endif
