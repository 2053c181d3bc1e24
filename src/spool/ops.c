/*
 * The operations behind spool's commands. Each one: take the lock,
 * record what agents did with mv since the last commit, check the rules,
 * move, commit. An operation the rules refuse changes nothing.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "machine.h"
#include "state.h"
#include "task.h"
#include "root.h"
#include "branch.h"
#include "gitindex.h"
#include "history.h"
#include "repo.h"
#include "file.h"
#include "inspect.h"
#include "ops.h"
#include "reconcile.h"
#include "registry.h"
#include "select.h"
#include "task-files.h"
#include "transition.h"

static int begin(spool_commit **c, spool *sp)
{
	int rc;

	*c = NULL;
	if ((rc = spool_lock(sp, -1)) < 0)
		return rc;
	if ((rc = spool_reconcile(NULL, sp)) < 0 ||
	    (rc = spool_commit_new(c, sp)) < 0)
		spool_unlock(sp);
	return rc;
}

/* Writes the operation's commit; what it releases gets its own. git's
 * index follows, except after claims: the hot path, where spoold (when
 * it runs) or the next command catches it up. */
static int finish_ex(spool *sp, spool_commit *c, int rc, bool advance,
		     const char *actor, bool index)
{
	if (rc == 0)
		rc = spool_commit_write(c, actor);
	/* Not written, it undoes the operation's moves: a failure leaves
	 * the spool as it was. */
	spool_commit_free(c);
	c = NULL;
	/* Written, the operation is done and is reported so; what follows
	 * is not part of it. Work it would release is released by the next
	 * reconcile that advances, and the index catches up at the next
	 * sync: neither failure may turn a recorded move into a failure. */
	if (rc == 0 && advance && spool_commit_new(&c, sp) == 0 &&
	    spool_advance(sp, c, NULL) == 0)
		spool_commit_write(c, "spool");
	spool_commit_free(c);
	if (rc == 0 && index)
		spool_index_sync(sp);
	if (rc == 0)
		spool_error_clear();
	spool_unlock(sp);
	return rc;
}

static int finish(spool *sp, spool_commit *c, int rc, bool advance,
		  const char *actor)
{
	return finish_ex(sp, c, rc, advance, actor, true);
}

int spool_op_add(char *id, size_t idlen, bool *existed, spool *sp,
		 json_t *task, const char *actor)
{
	spool_commit *c;
	int rc;

	if ((rc = spool_task_validate(task, "the new task")) < 0)
		return rc;
	if ((rc = begin(&c, sp)) < 0)
		return rc;
	rc = spool_file_task(id, idlen, existed, c, sp, task, NULL, actor,
			     NULL);
	return finish(sp, c, rc, false, actor);
}

/* Times a command records an agent's move of its task before giving up:
 * each one means the agent moved it again meanwhile. */
#define RECORD_TRIES 16

/* Whether HEAD has task id at loc. */
static bool recorded_at(spool_commit *c, const spool_loc *loc, const char *id)
{
	git_tree *base = spool_commit_base(c);
	git_tree_entry *te = NULL;
	char path[PATH_MAX];
	bool yes;

	if (!base || loc->state == SPOOL_STATE_NEW ||
	    loc->state == SPOOL_STATE_QUARANTINE)
		return true;	/* nothing recorded to start from */
	spool_loc_path(path, sizeof(path), loc, id);
	yes = git_tree_entry_bypath(&te, base, path) == 0;
	git_tree_entry_free(te);
	git_error_clear();
	return yes;
}

/*
 * Agents move tasks with mv, without the lock: one may have moved this
 * task after begin()'s reconcile, before the command found it. Recorded
 * from where the files have it, the command's transition would start
 * from a place HEAD does not have: the task twice in the tree, and the
 * agent's move never recorded (then taken for an illegal one). So the
 * agent's move is recorded first, in its own commit, and *c starts anew
 * from it. ERACE when the agent keeps moving it.
 */
static int record_moved(spool_commit **c, spool *sp, const spool_loc *at,
			const char *id, int tries)
{
	char path[PATH_MAX];
	const char *paths[] = { path };
	spool_reconcile_opts o = { .paths = paths, .npaths = 1 };
	int rc;

	if (tries >= RECORD_TRIES)
		return spool_error_set(SPOOL_ERACE, "'%s' keeps moving while it "
				       "is recorded; try again", id);
	spool_commit_free(*c);
	*c = NULL;
	spool_loc_path(path, sizeof(path), at, id);
	if ((rc = spool_reconcile_ex(NULL, sp, &o)) < 0)
		return rc;
	return spool_commit_new(c, sp);
}

/* Finds id where the files have it, once HEAD has it there too. */
static int find_recorded(spool_loc *at, spool_commit **c, spool *sp,
			 const char *id)
{
	int rc;

	for (int tries = 0;; tries++)
		if ((rc = spool_task_find(at, sp, id)) < 0 ||
		    recorded_at(*c, at, id) ||
		    (rc = record_moved(c, sp, at, id, tries)) < 0)
			return rc;
}

/*
 * The common shape: find the task, ask the entry point for the verb (it
 * decides with the table, moves and records), commit, then release what
 * waited for it. An operation the table refuses changes nothing.
 */
static int op(spool *sp, const char *id, const char *verb, spool_state to,
	      const spool_op_opts *o)
{
	spool_request rq = { .id = id, .verb = verb, .actor = o->actor,
			     .via = SPOOL_VIA_CMD, .reason = o->reason,
			     .feedback = o->feedback };
	spool_outcome out;
	spool_commit *c;
	int rc;

	memset(&out, 0, sizeof(out));
	rq.to.state = to;
	if ((rc = begin(&c, sp)) < 0)
		return rc;
	if ((rc = find_recorded(&rq.from, &c, sp, id)) == 0)
		rc = spool_transition_apply(&out, c, sp, &rq);
	spool_outcome_clear(&out);
	return finish(sp, c, rc, rc == 0 && out.release, o->actor);
}

int spool_op_submit(spool *sp, const char *id, const spool_op_opts *o)
{
	return op(sp, id, "submit", SPOOL_STATE_NONE, o);
}

int spool_op_fail(spool *sp, const char *id, const spool_op_opts *o)
{
	return op(sp, id, "fail", SPOOL_STATE_NONE, o);
}

int spool_op_retry(spool *sp, const char *id, const spool_op_opts *o)
{
	return op(sp, id, "retry", SPOOL_STATE_NONE, o);
}

int spool_op_cancel(spool *sp, const char *id, const spool_op_opts *o)
{
	return op(sp, id, "cancel", SPOOL_STATE_NONE, o);
}

/* On the last attempt the table ends a release in failed/. */
int spool_op_release(spool *sp, const char *id, const spool_op_opts *o)
{
	return op(sp, id, "release", SPOOL_STATE_NONE, o);
}

/* A plan_first task's plan goes back to its agent; a parent with open
 * subtasks waits in blocked/; anything else is done. */
int spool_op_approve(spool *sp, const char *id, const spool_op_opts *o)
{
	return op(sp, id, "approve", SPOOL_STATE_NONE, o);
}

/* Back to the agent who submitted it, or to ready/ with --to-ready or
 * when that agent cannot take it. */
int spool_op_reject(spool *sp, const char *id, const spool_op_opts *o)
{
	return op(sp, id, "reject", o->to_ready ? SPOOL_STATE_READY
						: SPOOL_STATE_NONE, o);
}

int spool_op_heartbeat(spool *sp, const char *id, const char *agent)
{
	char path[PATH_MAX];
	unsigned roles;
	spool_loc loc;
	int rc;

	if ((rc = spool_task_find(&loc, sp, id)) < 0)
		return rc;
	if (loc.state != SPOOL_STATE_CLAIMED) {
		char where[128];
		spool_loc_format(where, sizeof(where), &loc);
		return spool_error_set(SPOOL_EILLEGAL, "cannot heartbeat '%s': "
				       "it is in %s", id, where);
	}
	/* Whoever may release it may keep it alive. */
	if ((rc = spool_transition_roles(&roles, sp, agent, &loc, &loc,
					 SPOOL_VIA_CMD)) < 0)
		return rc;
	if (!(roles & (SPOOL_WHO_SELF | SPOOL_WHO_OPERATOR)))
		return spool_error_set(SPOOL_EILLEGAL, "'%s' is claimed by "
				       "'%s', not by '%s'", id, loc.agent,
				       agent);
	spool_loc_path(path, sizeof(path), &loc, id);
	if (utimensat(spool_rootfd(sp), path, NULL, AT_SYMLINK_NOFOLLOW) < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot touch '%s'", path);
	return 0;
}

int spool_op_next(spool_entry *out, spool *sp, const char *agent)
{
	json_t *a = NULL;
	int rc;

	if ((rc = spool_agent_load(&a, sp, agent)) < 0)
		return rc;
	rc = spool_select(out, sp, agent, a, false);
	json_decref(a);
	return rc;
}

/* Picks and renames until a pick is won; c records the claim (NULL when
 * spoold runs: it records the rename like any agent's mv). */
static int claim_loop(spool_entry *out, spool *sp, spool_commit **c,
		      const char *agent, json_t *a)
{
	spool_request rq = { .verb = "claim", .actor = agent,
			     .via = SPOOL_VIA_CMD, .agent = a };
	spool_outcome o;
	json_t *task = NULL;
	int rc = 0, tries, moved;

	rq.to.state = SPOOL_STATE_CLAIMED;
	snprintf(rq.to.agent, sizeof(rq.to.agent), "%s", agent);
	/* A shell agent may take our pick with mv first: pick again. Each
	 * lost pick was taken by someone, so this ends with a claim or with
	 * nothing left; a cap would fail a claimer that merely kept losing.
	 * Without c the rename is left unsynced, like the agent's own mv:
	 * a power cut can undo this claim, never double it. */
	for (tries = 0, moved = 0;; tries++) {
		if ((rc = spool_select(out, sp, agent, a, tries > 0)) < 0)
			break;
		/* Released by mv since the reconcile: that first. */
		if (c && !recorded_at(*c, &out->loc, out->id)) {
			if ((rc = record_moved(c, sp, &out->loc, out->id,
					       moved++)) < 0)
				break;
			continue;
		}
		rc = spool_task_load(&task, sp, &out->loc, out->id);
		if (rc == 0) {
			rq.id = out->id;
			rq.from = out->loc;
			rq.task = task;
			rc = spool_transition_apply(&o, c ? *c : NULL, sp,
						    &rq);
			spool_outcome_clear(&o);
		}
		json_decref(task);
		task = NULL;
		if (rc != SPOOL_ENOTFOUND)
			break;
	}
	if (rc == 0) {
		spool_select_taken(sp, out->id);
		out->loc = rq.to;
	}
	return rc;
}

int spool_op_claim(spool_entry *out, spool *sp, const char *agent)
{
	spool_commit *c;
	json_t *a = NULL;
	int rc;

	if ((rc = spool_agent_load(&a, sp, agent)) < 0)
		return rc;
	/* The daemon is the one git writer while it runs: a claim is then
	 * one rename, recorded by spoold within milliseconds. */
	if (spool_daemon_running(sp, NULL)) {
		/* spoold would not record it: the branch was rewritten */
		if ((rc = spool_branch_refuse(sp)) == 0)
			rc = claim_loop(out, sp, NULL, agent, a);
		json_decref(a);
		return rc;
	}
	if ((rc = begin(&c, sp)) < 0) {
		json_decref(a);
		return rc;
	}
	rc = claim_loop(out, sp, &c, agent, a);
	json_decref(a);
	return finish_ex(sp, c, rc, false, agent, false);
}
