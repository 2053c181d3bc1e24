/* Acceptance checks: a configured command run on a task in review/,
 * whose verdict approves it or sends it back. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "error.h"
#include "state.h"
#include "root.h"
#include "repo.h"
#include "lease.h"
#include "task-files.h"
#include "daemon.h"

static void check_done(void *data, struct child *ch, int status,
		       bool timed_out, const char *output)
{
	struct daemon *d = data;
	bool passed = !timed_out && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 0;
	char *out = NULL;
	bool moved;

	d->checks_running--;
	if (timed_out) {
		size_t n = strlen(output) + 64;
		if ((out = malloc(n)))
			snprintf(out, n, "%s(killed after its timeout)\n",
				 output);
	}
	if (spool_lock(d->sp, -1) < 0) {
		ERROR("check %s %s: %s", ch->name, ch->arg,
		      spool_error_message());
		free(out);
		return;
	}
	if (spool_check_verdict(&moved, d->sp, ch->arg, ch->name, passed,
				out ? out : output) < 0)
		ERROR("check %s %s: %s", ch->name, ch->arg,
		      spool_error_message());
	else if (moved)
		INFO("check %s %s: %s", ch->name, ch->arg,
		     passed ? "passed, done" : "failed, back to its agent");
	spool_unlock(d->sp);
	/* The verdict's hook runs from the loop, as every other's does. */
	d->journal_due = true;
	free(out);
}

/* The config names the check; any of its words that is a file in the
 * spool (its script) must be one no agent could have written either. */
static bool check_trusted(struct daemon *d, char **argv, const char *label)
{
	struct stat st;

	if (!daemon_trusted(d, ".spool/config.json", label))
		return false;
	for (size_t i = 0; argv[i]; i++)
		if (argv[i][0] != '/' &&
		    fstatat(spool_rootfd(d->sp), argv[i], &st,
			    AT_SYMLINK_NOFOLLOW) == 0 &&
		    !daemon_trusted(d, argv[i], label))
			return false;
	return true;
}

void daemon_check_start(struct daemon *d, const char *id)
{
	spool_loc review = { .state = SPOOL_STATE_REVIEW };
	char **argv = NULL, *env[4] = { 0 }, dpath[PATH_MAX], label[256];
	const char *name;
	json_t *task = NULL, *cmd;
	long timeout;
	size_t i, n;

	for (i = 0; i < d->kids.n; i++)
		if (d->kids.v[i]->name && d->kids.v[i]->arg &&
		    strcmp(d->kids.v[i]->arg, id) == 0)
			return;		/* already running */
	if (spool_task_load(&task, d->sp, &review, id) < 0) {
		spool_error_clear();
		return;
	}
	if (spool_check_lookup(&name, &cmd, &timeout, d->sp, task) < 0) {
		if (spool_error_code() != SPOOL_ENOTFOUND)
			WARN("task %s: %s", id, spool_error_message());
		spool_error_clear();
		json_decref(task);
		return;
	}
	n = json_array_size(cmd);
	if (!(argv = calloc(n + 1, sizeof(*argv))))
		goto out;
	for (i = 0; i < n; i++)
		argv[i] = (char *)json_string_value(json_array_get(cmd, i));
	snprintf(dpath, sizeof(dpath), "%s/deliverables/%s",
		 spool_root(d->sp), id);
	if (asprintf(&env[0], "SPOOL_TASK=%s", id) < 0 ||
	    asprintf(&env[1], "SPOOL_DIR=%s", spool_root(d->sp)) < 0 ||
	    asprintf(&env[2], "SPOOL_DELIVERABLES=%s", dpath) < 0)
		goto out;
	snprintf(label, sizeof(label), "check %s %s", name, id);
	if (!check_trusted(d, argv, label))
		goto out;
	if (child_start(&d->kids, argv, env, spool_root(d->sp), timeout,
			label, check_done, d, id, name) < 0)
		ERROR("%s: %s", label, spool_error_message());
	else
		d->checks_running++;
out:
	/* The child has its own copies; ours go. */
	for (i = 0; i < 3; i++)
		free(env[i]);
	free(argv);
	json_decref(task);
}

