/*
 * Leases, retries and acceptance checks: the decisions the daemon takes
 * when time passes or a check finishes. Each one re-reads the task where
 * it is now (an event is only a hint) and records through the shared
 * move code, so the history reads the same whoever moved the task.
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

#include "lease.h"
#include "transition.h"

int64_t spool_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long spool_config_long(const spool *sp, const char *key, long dflt)
{
	json_t *v = json_object_get(spool_config(sp), key);

	return json_is_integer(v) && json_integer_value(v) > 0
		? (long)json_integer_value(v) : dflt;
}

long spool_lease_seconds(const spool *sp, json_t *task)
{
	return spool_task_int(task, "lease", spool_config_lease(sp));
}

long spool_task_max_attempts(const spool *sp, json_t *task)
{
	return spool_task_int(task, "max_attempts",
			      spool_config_max_attempts(sp));
}

long spool_retry_backoff(const spool *sp, long attempt)
{
	json_t *list = json_object_get(spool_config(sp),
				       "retry_backoff_seconds");
	size_t n = json_array_size(list);
	json_t *v;

	if (n == 0)
		return 0;
	if (attempt < 1)
		attempt = 1;
	v = json_array_get(list, (size_t)attempt - 1 < n
			   ? (size_t)attempt - 1 : n - 1);
	return json_is_integer(v) && json_integer_value(v) > 0
		? (long)json_integer_value(v) : 0;
}

static int64_t ts_ms(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000 + ts->tv_nsec / 1000000;
}

int64_t spool_heartbeat_ms(const struct stat *st)
{
	int64_t m = ts_ms(&st->st_mtim), c = ts_ms(&st->st_ctim);

	return m > c ? m : c;
}

/* Writes c and, when something finished, what it releases. */
/*
 * Moves the task and commits, as the spool; a terminal move then releases
 * what waited for it, in a commit of its own. A task that moved meanwhile
 * is left for the next look.
 */
static int move_and_commit(bool *moved, spool *sp, json_t *task,
			   spool_transition *t, const char *feedback,
			   bool terminal)
{
	spool_commit *c = NULL;
	int rc;

	if ((rc = spool_commit_new(&c, sp)) == 0)
		rc = spool_do_move(c, sp, task, t, feedback);
	if (rc == 0)
		rc = spool_commit_write(c, "spool");
	spool_commit_free(c);
	c = NULL;
	if (rc == SPOOL_ENOTFOUND || rc == SPOOL_EEXISTS) {
		spool_error_clear();
		return 0;
	}
	if (rc < 0)
		return rc;
	*moved = true;
	if (!terminal || (rc = spool_commit_new(&c, sp)) < 0)
		return rc;
	rc = spool_advance(sp, c, NULL);
	if (rc == 0)
		rc = spool_commit_write(c, "spool");
	spool_commit_free(c);
	return rc;
}

int spool_lease_check(bool *moved, int64_t *due, spool *sp, const char *id,
		      const spool_loc *loc, int64_t now)
{
	spool_loc to = { .state = SPOOL_STATE_READY };
	char path[PATH_MAX];
	spool_transition t;
	json_t *task = NULL;
	struct stat st;
	long lease, attempt, max;
	int rc;

	*moved = false;
	*due = 0;
	spool_loc_path(path, sizeof(path), loc, id);
	if (fstatat(spool_rootfd(sp), path, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode))
		return 0;
	if ((rc = spool_task_load(&task, sp, loc, id)) < 0) {
		spool_error_clear();
		return rc == SPOOL_ENOTFOUND || rc == SPOOL_EINVALID ? 0 : rc;
	}
	/* The lease runs from the last touch or from the claim itself (a
	 * rename keeps the mtime but sets the ctime), whichever is later. */
	lease = spool_lease_seconds(sp, task);
	*due = spool_heartbeat_ms(&st) + (int64_t)lease * 1000;
	if (*due > now) {
		json_decref(task);
		return 0;
	}
	attempt = spool_task_int(task, "attempt", 1);
	max = spool_task_max_attempts(sp, task);
	if (attempt >= max)
		to.state = SPOOL_STATE_FAILED;
	spool_transition_init(&t, id, loc, &to, "expire", "spool");
	if (to.state == SPOOL_STATE_FAILED)
		snprintf(t.note, sizeof(t.note), "lease of %lds expired on "
			 "the last of %ld attempts (no heartbeat from '%s')",
			 lease, max, loc->agent);
	else
		snprintf(t.note, sizeof(t.note), "lease of %lds expired (no "
			 "heartbeat from '%s'); attempt %ld of %ld next",
			 lease, loc->agent, attempt + 1, max);
	rc = move_and_commit(moved, sp, task, &t, NULL,
			     to.state == SPOOL_STATE_FAILED);
	json_decref(task);
	*due = 0;
	return rc;
}

int spool_retry_check(bool *moved, int64_t *due, spool *sp, const char *id,
		      int64_t now)
{
	spool_loc failed = { .state = SPOOL_STATE_FAILED };
	spool_loc ready = { .state = SPOOL_STATE_READY };
	char path[PATH_MAX];
	spool_transition t;
	json_t *task = NULL;
	struct stat st;
	long attempt, max, wait;
	int rc;

	*moved = false;
	*due = 0;
	spool_loc_path(path, sizeof(path), &failed, id);
	if (fstatat(spool_rootfd(sp), path, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode))
		return 0;
	if ((rc = spool_task_load(&task, sp, &failed, id)) < 0) {
		spool_error_clear();
		return rc == SPOOL_ENOTFOUND || rc == SPOOL_EINVALID ? 0 : rc;
	}
	attempt = spool_task_int(task, "attempt", 1);
	max = spool_task_max_attempts(sp, task);
	if (attempt >= max) {
		json_decref(task);
		return 0;	/* out of attempts: an operator decides */
	}
	wait = spool_retry_backoff(sp, attempt);
	*due = ts_ms(&st.st_ctim) + (int64_t)wait * 1000;
	if (*due > now) {
		json_decref(task);
		return 0;
	}
	spool_transition_init(&t, id, &failed, &ready, "retry", "spool");
	snprintf(t.note, sizeof(t.note), "attempt %ld of %ld, after %lds",
		 attempt + 1, max, wait);
	rc = move_and_commit(moved, sp, task, &t, NULL, false);
	json_decref(task);
	*due = 0;
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
	spool_loc from = { .state = SPOOL_STATE_REVIEW }, to;
	const char *by;
	spool_transition t;
	json_t *task = NULL;
	char *feedback = NULL;
	int rc;

	*moved = false;
	if ((rc = spool_task_load(&task, sp, &from, id)) < 0) {
		spool_error_clear();
		return rc == SPOOL_ENOTFOUND || rc == SPOOL_EINVALID ? 0 : rc;
	}
	memset(&to, 0, sizeof(to));
	by = spool_task_str(task, "submitted_by");
	if (passed) {
		to.state = SPOOL_STATE_DONE;
		spool_transition_init(&t, id, &from, &to, "approve", "spool");
		snprintf(t.note, sizeof(t.note), "check %s passed", name);
	} else {
		to.state = SPOOL_STATE_READY;
		if (by && spool_name_valid(by)) {
			spool_loc back = { .state = SPOOL_STATE_CLAIMED };
			snprintf(back.agent, sizeof(back.agent), "%s", by);
			if (spool_rules_check(sp, task, id, &from, &back) == 0)
				to = back;
			spool_error_clear();
		}
		spool_transition_init(&t, id, &from, &to, "reject", "spool");
		snprintf(t.note, sizeof(t.note), "check %s failed", name);
		size_t n = strlen(name) + (output ? strlen(output) : 0) + 64;
		if ((feedback = malloc(n)))
			snprintf(feedback, n, "check %s failed:\n%s", name,
				 output && *output ? output : "(no output)");
	}
	rc = move_and_commit(moved, sp, task, &t, feedback, passed);
	json_decref(task);
	free(feedback);
	return rc;
}
