/* Recovery from the intent log (intent-recover.c). */
#ifndef SPOOL_INTENT_RECOVER_H
#define SPOOL_INTENT_RECOVER_H

#include <stdbool.h>
#include <stddef.h>

#include "root.h"

struct spool_moves;

typedef struct {
	/* The events since the last record (spoold's batch), or NULL:
	 * whether a task found at a killed command's source had left it. */
	struct spool_moves *moves;
	/* Leave what only the events can settle to spoold, which has
	 * them: a command's recovery while spoold runs. */
	bool wait;
} spool_recover_opts;

/* Records what a killed process was doing: a task at its intent's
 * destination, while HEAD still has it at the source, gets the
 * transition its command would have recorded, with the same verb, actor
 * and effects; one still at its source is left as it is. Call under the
 * lock before anything compares the tree with HEAD. opts: NULL, or
 * what the caller knows of the moves made. */
int spool_intent_recover(size_t *recorded, bool *terminal, spool *sp,
			 const spool_recover_opts *opts);

#endif
