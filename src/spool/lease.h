/*
 * What moves work on without an agent: leases on claimed tasks, retries of
 * failed tasks, named acceptance checks; and packing the history. Shared
 * by spoold and the library's users; nothing here prints or waits.
 */
#ifndef SPOOL_LEASE_H
#define SPOOL_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <stdint.h>
#include <sys/stat.h>

#include "state.h"
#include "root.h"

/*
 * Leases. The claimed file's mtime is the heartbeat. If the task is still
 * at loc and mtime + lease has passed, it goes back to ready/ with attempt
 * + 1, or to failed/ after its last attempt (*moved = true). Otherwise
 * *due gets the deadline (0 if the task is gone). Caller holds the lock.
 */
int spool_lease_check(bool *moved, int64_t *due, spool *sp, const char *id,
		      const spool_loc *loc, int64_t now);

/*
 * Retries. A failed task with attempts left goes back to ready/ once its
 * backoff has passed since it failed (the file's ctime). *due as above;
 * 0 when it will never be retried. Caller holds the lock.
 */
int spool_retry_check(bool *moved, int64_t *due, spool *sp, const char *id,
		      int64_t now);

/*
 * Acceptance checks. A task's "acceptance" may be an object with
 * "check": NAME; the command is .spool/config.json "checks": {NAME:
 * {"command": [argv...], "timeout": S}} and never comes from a task file.
 * Returns 0 with the check's argv (borrowed) and timeout, or
 * SPOOL_ENOTFOUND if the task has none (or waits for its plan's review).
 */
int spool_check_lookup(const char **name, json_t **argv, long *timeout_s,
		       spool *sp, json_t *task);

/*
 * Applies a check's verdict to a task still in review/: pass -> done
 * (approved by 'spool'); fail -> back to the agent who submitted it (or
 * ready/) with the output as feedback. *moved is false if the task is no
 * longer in review/. Caller holds the lock.
 */
int spool_check_verdict(bool *moved, spool *sp, const char *id,
			const char *name, bool passed, const char *output);

#endif
