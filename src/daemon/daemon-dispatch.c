/*
 * What each recorded transition sets off in the daemon, read back from
 * the history after each batch (daemon-journal.c keeps how far): its
 * hook, the acceptance check of a task that reached review/, and the
 * timers of the paths it touched.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "state.h"
#include "history.h"
#include "journal.h"
#include "repo.h"
#include "daemon.h"

/* Commits read back at most in one go (the newest). */
#define READ_MAX 1000000

static int on_journal(void *data, const spool_transition *t,
		      const spool_jpos *after)
{
	struct daemon *d = data;
	char path[PATH_MAX];

	if (daemon_hooks_full(d))
		return 1;	/* read again once hooks have drained */
	d->transitions++;
	DEBUG("recorded %s %s %s -> %s", t->verb, t->id,
	      spool_state_name(t->from.state), spool_state_name(t->to.state));
	if (t->from.state != SPOOL_STATE_NONE) {
		spool_loc_path(path, sizeof(path), &t->from, t->id);
		daemon_track_path(d, path);
	}
	if (t->to.state != SPOOL_STATE_NONE) {
		spool_loc_path(path, sizeof(path), &t->to, t->id);
		daemon_track_path(d, path);
	}
	if (t->to.state == SPOOL_STATE_REVIEW &&
	    strcmp(t->verb, "revert") != 0)
		daemon_check_start(d, t->id);
	daemon_hook(d, t, after);
	return 0;
}

void daemon_journal_sync(struct daemon *d)
{
	int rc = 1;

	/* Full: reading would stop at once, after parsing a commit that may
	 * hold thousands. */
	if (!daemon_hooks_full(d))
		rc = spool_journal_since(&d->journal, d->sp, READ_MAX,
					 on_journal, d);
	if (rc < 0)
		ERROR("cannot read the history: %s", spool_error_message());
	if (rc > 0 && !d->journal_behind)
		DEBUG("hooks wait: reading the history on once they drain");
	d->journal_behind = rc > 0;
	/* past the commits without transitions too */
	if (rc == 0)
		d->hook_tail = d->journal;
	daemon_hooks_settle(d);
}

void daemon_journal_catch_up(struct daemon *d)
{
	if ((!d->journal_behind && !d->journal_due) || !daemon_hooks_room(d))
		return;
	d->journal_due = false;
	if (spool_lock(d->sp, -1) < 0) {
		ERROR("%s", spool_error_message());
		return;
	}
	daemon_journal_sync(d);
	spool_unlock(d->sp);
}

