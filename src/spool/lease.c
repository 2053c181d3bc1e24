/*
 * Leases, retries and acceptance checks: what the daemon asks for when
 * time passes or a check finishes. Each one re-reads the task where it is
 * now (an event is only a hint) and asks the one entry point for the
 * transition (transition.h), which decides it with the table on the
 * values the spool recorded, so the history reads the same whoever moved
 * the task.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "machine.h"
#include "state.h"
#include "task.h"
#include "fsutil.h"
#include "root.h"
#include "history.h"
#include "lease.h"
#include "policy.h"
#include "task-files.h"
#include "transition.h"

/*
 * One transition by the spool, in a commit of its own; one that finishes
 * the task then releases what waited for it, in another. A task that
 * moved meanwhile is left for the next look.
 */
static int spool_moves(bool *moved, spool *sp, const spool_request *rq)
{
	spool_commit *c = NULL;
	spool_outcome o;
	bool release = false;
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = spool_commit_new(&c, sp)) == 0 &&
	    (rc = spool_transition_apply(&o, c, sp, rq)) == 0)
		rc = spool_commit_write(c, "spool");
	release = o.release;
	spool_outcome_clear(&o);
	spool_commit_free(c);
	c = NULL;
	if (rc == SPOOL_ENOTFOUND || rc == SPOOL_EEXISTS) {
		spool_error_clear();
		return 0;
	}
	if (rc < 0)
		return rc;
	*moved = true;
	if (!release || (rc = spool_commit_new(&c, sp)) < 0)
		return rc;
	rc = spool_advance(sp, c, NULL);
	if (rc == 0)
		rc = spool_commit_write(c, "spool");
	spool_commit_free(c);
	return rc;
}

/* The task at loc as it is on disk and as the spool recorded it (the
 * lease and attempts an agent wrote in its claimed file do not count). */
static int load_both(json_t **disk, json_t **rec, spool *sp, const char *id,
		     const spool_loc *loc)
{
	int rc;

	*rec = NULL;
	if ((rc = spool_task_load(disk, sp, loc, id)) < 0)
		return rc;
	rc = spool_task_recorded(rec, sp, NULL, id, loc);
	if (rc == SPOOL_ENOTFOUND) {
		spool_error_clear();
		*rec = json_incref(*disk);	/* never recorded */
		return 0;
	}
	if (rc < 0) {
		json_decref(*disk);
		*disk = NULL;
	}
	return rc;
}

int spool_lease_check(bool *moved, int64_t *due, spool *sp, const char *id,
		      const spool_loc *loc, int64_t now)
{
	spool_request rq = { .id = id, .from = *loc, .verb = "expire",
			     .actor = "spool", .via = SPOOL_VIA_SPOOL,
			     .now = now };
	char path[PATH_MAX];
	json_t *disk = NULL, *rec = NULL;
	struct stat st;
	int rc;

	*moved = false;
	*due = 0;
	rq.to.state = SPOOL_STATE_NONE;
	spool_loc_path(path, sizeof(path), loc, id);
	if (spool_fs_lstat(sp, path, &st) < 0 ||
	    !S_ISREG(st.st_mode))
		return 0;
	if ((rc = load_both(&disk, &rec, sp, id, loc)) < 0) {
		spool_error_clear();
		return rc == SPOOL_ENOTFOUND || rc == SPOOL_EINVALID ? 0 : rc;
	}
	/* The lease runs from the last touch or from the claim itself (a
	 * rename keeps the mtime but sets the ctime), whichever is later. */
	*due = spool_lease_due_ms(sp, rec, &st);
	if (*due <= now) {
		rq.task = disk;
		rq.recorded = rec;
		rc = spool_moves(moved, sp, &rq);
		*due = 0;
	}
	json_decref(disk);
	json_decref(rec);
	return rc;
}

int spool_retry_check(bool *moved, int64_t *due, spool *sp, const char *id,
		      int64_t now)
{
	spool_request rq = { .id = id, .from.state = SPOOL_STATE_FAILED,
			     .to.state = SPOOL_STATE_NONE, .verb = "retry",
			     .actor = "spool", .via = SPOOL_VIA_SPOOL,
			     .now = now };
	char path[PATH_MAX];
	json_t *task = NULL;
	struct stat st;
	int rc;

	*moved = false;
	*due = 0;
	spool_loc_path(path, sizeof(path), &rq.from, id);
	if (spool_fs_lstat(sp, path, &st) < 0 ||
	    !S_ISREG(st.st_mode))
		return 0;
	if ((rc = spool_task_load(&task, sp, &rq.from, id)) < 0) {
		spool_error_clear();
		return rc == SPOOL_ENOTFOUND || rc == SPOOL_EINVALID ? 0 : rc;
	}
	/* Out of attempts, no retry is due: an operator decides. */
	if (spool_task_int(task, "attempt", 1) <
	    spool_task_max_attempts(sp, task)) {
		*due = spool_retry_due_ms(sp, task, &st);
		if (*due <= now) {
			rq.task = task;
			rc = spool_moves(moved, sp, &rq);
			*due = 0;
		}
	}
	json_decref(task);
	return rc;
}

int spool_check_lookup(const char **name, json_t **argv, long *timeout_s,
		       spool *sp, json_t *task)
{
	json_t *acc = json_object_get(task, "acceptance"), *check, *cmd;
	const char *mode = spool_task_str(task, "mode");
	const char *n;
	size_t i;
	json_t *a;

	*name = NULL;
	*argv = NULL;
	*timeout_s = 0;
	n = json_string_value(json_object_get(acc, "check"));
	if (!json_is_object(acc) || !n)
		return spool_error_set(SPOOL_ENOTFOUND, "no acceptance check");
	if (mode && strcmp(mode, "plan_first") == 0 &&
	    !json_is_true(json_object_get(task, "plan_approved")))
		return spool_error_set(SPOOL_ENOTFOUND, "a plan is reviewed "
				       "by people, not by checks");
	check = json_object_get(json_object_get(spool_config(sp), "checks"),
				n);
	cmd = json_object_get(check, "command");
	if (!json_is_array(cmd) || json_array_size(cmd) == 0)
		return spool_error_set(SPOOL_EINVALID, "check '%s' is not "
			"configured: add \"checks\": {\"%s\": {\"command\": "
			"[...]}} to .spool/config.json", n, n);
	json_array_foreach(cmd, i, a)
		if (!json_is_string(a))
			return spool_error_set(SPOOL_EINVALID, "check '%s': "
				"command must be a list of strings", n);
	*name = n;
	*argv = cmd;
	*timeout_s = json_is_integer(json_object_get(check, "timeout")) &&
		     json_integer_value(json_object_get(check, "timeout")) > 0
		? (long)json_integer_value(json_object_get(check, "timeout"))
		: 300;
	return 0;
}

int spool_check_verdict(bool *moved, spool *sp, const char *id,
			const char *name, bool passed, const char *output)
{
	spool_request rq = { .id = id, .from.state = SPOOL_STATE_REVIEW,
			     .to.state = SPOOL_STATE_NONE,
			     .verb = passed ? "approve" : "reject",
			     .actor = "spool", .via = SPOOL_VIA_SPOOL };
	char note[256], *feedback = NULL;
	size_t n;
	int rc;

	*moved = false;
	snprintf(note, sizeof(note), "check %s %s", name,
		 passed ? "passed" : "failed");
	rq.note = note;
	if (!passed) {
		n = strlen(name) + (output ? strlen(output) : 0) + 64;
		if (!(feedback = malloc(n)))
			return spool_error_set(SPOOL_ERROR, "out of memory");
		snprintf(feedback, n, "check %s failed:\n%s", name,
			 output && *output ? output : "(no output)");
		rq.feedback = feedback;
	}
	/* Back to the agent who submitted it when it can take it, else to
	 * ready/; a parent with open subtasks waits for them in blocked/. */
	rc = spool_moves(moved, sp, &rq);
	if (rc == SPOOL_EINVALID) {
		spool_error_clear();
		rc = 0;		/* broken in review/: the next look says */
	}
	free(feedback);
	return rc;
}
