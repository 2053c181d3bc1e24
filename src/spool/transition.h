/*
 * The one entry point that makes a transition. Every path that moves a
 * task comes here: the commands, the raw moves reconcile sees, leases,
 * retries, acceptance checks, the release of blocked work and filing. It
 * gathers the facts (from the task as the spool recorded it, never from
 * an agent's edit), asks the table (machine.h), moves the file or
 * records the move already made, applies the row's effects, and stages
 * the paths and the transition in the commit.
 */
#ifndef SPOOL_TRANSITION_H
#define SPOOL_TRANSITION_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <git2.h>
#include "machine.h"
#include "state.h"
#include "root.h"
#include "history.h"

void spool_now_iso(char *buf, size_t len);
void spool_transition_init(spool_transition *t, const char *id,
			   const spool_loc *from, const spool_loc *to,
			   const char *verb, const char *actor);

/* What a transition did. */
typedef struct {
	const spool_row *row;	/* the row applied; NULL if refused */
	const spool_row *would;	/* refused: the row it would have been */
	spool_loc to;		/* where the task is now */
	spool_transition t;	/* as recorded */
	spool_facts facts;	/* what the decision read */
	json_t *task;		/* the task as the spool keeps it (a
				 * reference, also when refused) */
	bool release;		/* it finished: release what waits for it */
	bool violation;		/* fields an agent may not write were
				 * put back (recorded as a revert) */
	bool stale;		/* the file held values the spool wrote
				 * before: put back, no violation */
} spool_outcome;

void spool_outcome_clear(spool_outcome *o);

/*
 * Makes the transition rq asks for, or refuses it with SPOOL_EILLEGAL and
 * changes nothing. With rq->moved the rename was already made (a raw
 * move): it is recorded, and finished where the row ends elsewhere (a
 * release on the last attempt goes on to failed/); with rq->written as
 * well, a killed command's move is recorded with the bytes it wrote,
 * and no file is touched (an agent may have moved it on since, or be
 * moving it). Without it the file
 * is renamed here (or, from nowhere or new/, written). c receives the
 * paths and the transition; with c NULL the move is made unsynced and
 * left for spoold to record (spool claim while spoold runs). *out is
 * filled in either case; clear it with spool_outcome_clear(). Caller
 * holds the lock when c is not NULL.
 */
int spool_transition_apply(spool_outcome *out, spool_commit *c, spool *sp,
			   const spool_request *rq);

/* The decision alone, on the facts apply would gather (c, if given, is
 * the commit whose base is the record); nothing is moved or written. */
int spool_transition_check(spool_outcome *out, spool_commit *c, spool *sp,
			   const spool_request *rq);

/* The roles (SPOOL_WHO_*) actor holds for a move from -> to by channel
 * via: the holder itself; for a command, reviewer and operator from the
 * registry (a name that is not a registered agent is a person, an
 * operator). A raw move's mover is known only by its directory. */
int spool_transition_roles(unsigned *roles, spool *sp, const char *actor,
			   const spool_loc *from, const spool_loc *to,
			   unsigned via);

/* The task id as the spool last recorded it: at hint in base (HEAD's
 * tree when NULL), else wherever base has it. SPOOL_ENOTFOUND if never
 * recorded. */
int spool_task_recorded(json_t **out, spool *sp, git_tree *base,
			const char *id, const spool_loc *hint);

/* The fields of a task at loc that its agent may not write, checked
 * against the record; a changed one is put back (the agent's own fields
 * are kept), rewritten in place and, with violation, recorded in c as
 * one. Without: the values may be the spool's own, written for steps it
 * took back (reconcile.c, defer). *reverted tells whether it was. */
int spool_transition_police(bool *reverted, spool_commit *c, spool *sp,
			    const char *id, const spool_loc *loc,
			    bool violation);

/* True when every depends_on is done. *dead is set when one of them is
 * failed or cancelled (waiting would be forever). */
int spool_deps_state(bool *ready, char *dead, size_t deadlen, spool *sp,
		     json_t *task);

/* Dependents of a finished task: moves blocked tasks whose deps are all
 * done to ready/, completes parents whose children are all done. Adds
 * what it does to c. */
int spool_advance(spool *sp, spool_commit *c, size_t *released);

#endif
