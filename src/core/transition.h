/* Moves and what they imply; shared by operations, reconcile, the daemon. */
#ifndef SPOOL_TRANSITION_H
#define SPOOL_TRANSITION_H

#include "spool-int.h"

void spool_now_iso(char *buf, size_t len);
void spool_transition_init(spool_transition *t, const char *id,
			   const spool_loc *from, const spool_loc *to,
			   const char *verb, const char *actor);
/* Writes the fields a move implies (attempt, submitted_by, feedback,
 * errors, plan_approved) into task, in memory; sets t->attempt. True if
 * the task changed. */
bool spool_transition_effects(json_t *task, spool_transition *t,
			      const char *feedback);
/* Records a move already made on disk: writes the fields it implies into
 * the task at t->to, adds the paths and the transition to c. */
int spool_record_move(spool_commit *c, spool *sp, json_t *task,
		      spool_transition *t, const char *feedback);
/* Renames, then records as above. */
int spool_do_move(spool_commit *c, spool *sp, json_t *task,
		  spool_transition *t, const char *feedback);

#endif
