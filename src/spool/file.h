/* Filing new tasks and refusing bad input. */
#ifndef SPOOL_FILE_H
#define SPOOL_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "state.h"
#include "root.h"
#include "history.h"

/* Ids being filed together, so one may depend on another. */
typedef struct {
	char (*ids)[SPOOL_ID_MAX + 1];
	size_t n;
	const char *src;	/* the file in new/ being filed, if any */
} spool_file_batch;

/* Files a validated task (id assigned when absent) into ready/ or
 * blocked/ and records it; from is new/ or NULL for 'spool add'. */
int spool_file_task(char *idout, size_t idlen, bool *existed,
		    spool_commit *c, spool *sp, json_t *task,
		    const spool_loc *from, const char *actor,
		    const spool_file_batch *batch);
/* Adds id to its parent's children (once) and blocks a ready parent. */
int spool_file_link_parent(spool_commit *c, spool *sp, const char *parent,
			   const char *id);
/* Moves path to quarantine/ with a .reason file beside it. */
int spool_quarantine(spool_commit *c, spool *sp, const char *path,
		     const char *reason, const char *actor);

#endif
