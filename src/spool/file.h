/* Filing new tasks and refusing bad input. */
#ifndef SPOOL_FILE_H
#define SPOOL_FILE_H

#include "spool-int.h"

/* Ids being filed together, so one may depend on another. */
typedef struct {
	char (*ids)[SPOOL_ID_MAX + 1];
	size_t n;
} spool_file_batch;

/* Files a validated task (id assigned when absent) into ready/ or
 * blocked/ and records it; from is new/ or NULL for 'spool add'. */
int spool_file_task(char *idout, size_t idlen, bool *existed,
		    spool_commit *c, spool *sp, json_t *task,
		    const spool_loc *from, const char *actor,
		    const spool_file_batch *batch);
/* The same for the file src in new/. src is first rewritten with the
 * task's id and fields, so that a crash between filing and removing it
 * leaves a file the next pass knows as filed already (reconcile.c),
 * never one it would file a second time. The caller removes src. */
int spool_file_from(char *idout, size_t idlen, bool *existed,
		    spool_commit *c, spool *sp, json_t *task, const char *src,
		    const char *actor, const spool_file_batch *batch);
/* Moves path to quarantine/ with a .reason file beside it. */
int spool_quarantine(spool_commit *c, spool *sp, const char *path,
		     const char *reason, const char *actor);

#endif
