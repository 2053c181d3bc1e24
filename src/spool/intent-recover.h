/* Recovery from the intent log (intent-recover.c). */
#ifndef SPOOL_INTENT_RECOVER_H
#define SPOOL_INTENT_RECOVER_H

#include <stdbool.h>
#include <stddef.h>

#include "root.h"

/* Records what a killed process was doing: a task at its intent's
 * destination, while HEAD still has it at the source, gets the
 * transition its command would have recorded, with the same verb, actor
 * and effects; one still at its source is left as it is. Call under the
 * lock before anything compares the tree with HEAD. */
int spool_intent_recover(size_t *recorded, bool *terminal, spool *sp);

#endif
