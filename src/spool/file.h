/* Filing new tasks and refusing bad input. */
#ifndef SPOOL_FILE_H
#define SPOOL_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <limits.h>
#include <jansson.h>
#include "state.h"
#include "root.h"
#include "fsutil.h"
#include "history.h"

/* What spool_file_prepare did ahead for one task of a batch. */
typedef struct {
	char id[SPOOL_ID_MAX + 1];	/* "": nothing done ahead */
	/* tmp/ file with the task as filed; not PATH_MAX: a batch holds
	 * one for each of thousands of tasks */
	char staged[SPOOL_TMPNAME_MAX];
	char *text;		/* what staged holds */
	bool adopted;		/* its filing took up the batch's intent */
	bool placed;		/* staged is renamed into place, or gone */
} spool_file_prep;

/* Ids being filed together, so one may depend on another. */
typedef struct {
	char (*ids)[SPOOL_ID_MAX + 1];
	size_t n;
	const char *src;	/* the file in new/ being filed, if any */
	const char *src_text;	/* its bytes, if read already */
	size_t src_len;
	spool_file_prep *prep;	/* for this task, if the batch prepared it */
	char intent[128];	/* announces what the batch prepared */
} spool_file_batch;

/* Who files a task dropped in new/: its created_by, if a valid name. */
const char *spool_file_actor(json_t *task);

/*
 * A batch from new/ (tasks[i] parsed from srcs[i], NULL if refused):
 * the ids and the task files (in tmp/) of every task that can be filed,
 * and one intent announcing them all (batch->intent), written unsynced,
 * then made durable by one syncfs, so spool_file_task only renames each
 * file into place. Tasks it cannot tell about (refused references, a
 * known idempotency key) get nothing and are filed the slow way. Each
 * preps[i] is cleared first.
 */
int spool_file_prepare(spool_file_prep *preps, spool *sp, json_t **tasks,
		       char **srcs, size_t n, spool_file_batch *batch);

/* Removes what a batch prepared and did not use: the files, then the
 * intent if no filing took it up (their commit removes it then). */
void spool_file_prep_clear(spool_file_prep *preps, size_t n,
			   spool_file_batch *batch, spool *sp);

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
