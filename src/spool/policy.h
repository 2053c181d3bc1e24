/*
 * What the config and a task's own fields say about time: how long a
 * claim lives, how many attempts a task has, how long a failed task waits
 * before it is retried. Below the state machine's entry point, which reads
 * them as facts; nothing here moves a task.
 */
#ifndef SPOOL_POLICY_H
#define SPOOL_POLICY_H

#include <jansson.h>
#include <stdint.h>
#include <sys/stat.h>

#include "root.h"

/* Milliseconds since the epoch, as file times are kept. */
int64_t spool_now_ms(void);

/* When a claimed task last showed life, in ms: the later of its mtime (a
 * touch) and its ctime (the claim itself: a rename keeps the mtime). */
int64_t spool_heartbeat_ms(const struct stat *st);

/* A positive integer from .spool/config.json, or dflt. */
long spool_config_long(const spool *sp, const char *key, long dflt);

/* The task's lease in seconds: its "lease" field, else lease_seconds. */
long spool_lease_seconds(const spool *sp, json_t *task);
long spool_task_max_attempts(const spool *sp, json_t *task);

/* Seconds to wait before retrying a task whose attempt n failed:
 * retry_backoff_seconds[n-1], the last entry repeating; 0 when unset. */
long spool_retry_backoff(const spool *sp, long attempt);

/* When the lease of a claimed task (as recorded) runs out, in ms, given
 * the stat of its file. */
int64_t spool_lease_due_ms(const spool *sp, json_t *task,
			   const struct stat *st);
/* When a failed task (as recorded) may be retried, in ms: the backoff
 * after it failed (its file's ctime). */
int64_t spool_retry_due_ms(const spool *sp, json_t *task,
			   const struct stat *st);

#endif
