/* Task files in the spool: read, rewrite, find, list, new ids
 * (task-files.c). */
#ifndef SPOOL_TASK_FILES_H
#define SPOOL_TASK_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "state.h"
#include "root.h"

/* Reads and validates the task at loc. */
int spool_task_load(json_t **out, const spool *sp, const spool_loc *loc,
		    const char *id);

/* Finds where a task is. SPOOL_ENOTFOUND if nowhere; SPOOL_EEXISTS (with
 * the first location in *out) if it is in more than one place. */
int spool_task_find(spool_loc *out, const spool *sp, const char *id);

/* One entry of a listing. */
typedef struct {
	char id[SPOOL_ID_MAX + 1];
	spool_loc loc;
} spool_entry;

/* Lists task files in the given state (or every state if NONE). When
 * agent is non-NULL, only claimed/AGENT. *out is malloc'd. */
int spool_list(spool_entry **out, size_t *count, const spool *sp,
	       spool_state state, const char *agent);

/* Rewrites the task at loc with the given content (spool-written fields). */
int spool_task_store(spool *sp, const spool_loc *loc, const char *id,
		     json_t *task);

/* Moves a task file from one location to another (rename, no replace).
 * Creates claimed/AGENT when needed. Without sync the rename is not made
 * durable (see spool_fs_move_unsynced). */
int spool_move_task(spool *sp, const char *id, const spool_loc *from,
		    const spool_loc *to, bool sync);

#endif
