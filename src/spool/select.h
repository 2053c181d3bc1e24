/* Which ready task an agent takes next (select.c). */
#ifndef SPOOL_SELECT_H
#define SPOOL_SELECT_H

#include <stdbool.h>
#include <jansson.h>

#include "root.h"
#include "task-files.h"

/* The task agent should take next (see select.c). fresh forces a read
 * of ready/ instead of trusting the index. */
int spool_select(spool_entry *out, spool *sp, const char *agent,
		 json_t *agentobj, bool fresh);

/* After a claim of id: drops it from the index. */
void spool_select_taken(spool *sp, const char *id);

void spool_select_free(spool *sp);

#endif
