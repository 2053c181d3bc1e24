/* Ids are never given twice (ids.c). */
#ifndef SPOOL_IDS_H
#define SPOOL_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include "state.h"
#include "root.h"

/* Ids (ids.c). The number of id after prefix, or -1. */
long spool_id_number(const char *id, const char *prefix);

/* The highest number of prefix in the archive's indexes, or -1. */
long spool_ids_archived_max(spool *sp, const char *prefix);

/* The highest number of prefix the history ever recorded, or -1. */
long spool_ids_history_max(spool *sp, const char *prefix);

/* SPOOL_EEXISTS, saying where, if id is in the tree, in an archive or in
 * the history: ids are never given twice. */
int spool_id_check_unused(spool *sp, const char *id);

/* Allocates a fresh id ("T-0042"); call under the lock. */
int spool_task_new_id(char *out, size_t len, spool *sp);

/* n fresh ids at once, the counter written once; not durable, for a
 * batch whose files are synced together (the counter is only a cache:
 * a task in the tree is never given its id again). */
int spool_task_new_ids(char (*out)[SPOOL_ID_MAX + 1], size_t n, spool *sp,
		       bool durable);

#endif
