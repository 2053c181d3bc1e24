/* The branch guard: recording stops when the branch is rewritten
 * (branch.c). */
#ifndef SPOOL_BRANCH_H
#define SPOOL_BRANCH_H

#include <stdbool.h>
#include <git2.h>

#include "root.h"

/*
 * The spool records on top of the last commit it saw. When the branch
 * moves otherwise (git reset, a rebase, a forced push), recording stops:
 * every writer refuses with SPOOL_ESTOPPED until an operator accepts the
 * new HEAD. Nothing is moved to follow the rewritten history.
 */
typedef struct {
	bool stopped;
	char seen[41];		/* the last commit recorded or accepted */
	char head[41];		/* HEAD when found; "" if none */
	long since;		/* when found, seconds since the epoch */
} spool_branch_state;

/* Reads the state without changing it. head_hex is HEAD when the caller
 * knows it ("" if there is none; NULL: look it up): a HEAD that is not a
 * descendant of the last commit seen reports stopped even before a
 * writer has noticed. */
int spool_branch_state_get(spool_branch_state *out, spool *sp,
			   const char *head_hex);

/* Whether a writer has stopped recording (one stat, no git). */
bool spool_branch_stopped(const spool *sp);

/* Resumes recording on top of head (NULL: no branch), the state the
 * guard keeps and its stop mark both cleared. */
int spool_branch_resume(spool *sp, const git_oid *head);

/* The branch guard (branch.c): refuses with SPOOL_ESTOPPED when head
 * (NULL: no branch) does not follow from the last commit seen, and says
 * so to every later writer; spool_branch_saw records a commit written.
 * spool_branch_verify checks HEAD as it is now; spool_branch_refuse only
 * says whether a writer has stopped recording (no git). */
int spool_branch_check(spool *sp, const git_oid *head);

int spool_branch_verify(spool *sp);

int spool_branch_refuse(spool *sp);

void spool_branch_saw(spool *sp, const git_oid *id);

#endif
