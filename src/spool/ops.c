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

#include "file.h"
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
	spool_commit_free(c);
	c = NULL;
	if (rc == 0 && advance && (rc = spool_commit_new(&c, sp)) == 0) {
		rc = spool_advance(sp, c, NULL);
		if (rc == 0)
			rc = spool_commit_write(c, "spool");
		spool_commit_free(c);
	}
	if (rc == 0 && index)
		rc = spool_index_sync(sp);
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

/* Loads a task and checks it is in one of the states in mask. */
static int locate(spool_loc *loc, json_t **task, spool *sp, const char *id,
		  unsigned mask, const char *what)
{
	int rc;

	*task = NULL;
	if ((rc = spool_task_find(loc, sp, id)) < 0)
		return rc;
	if (!(mask & (1u << loc->state))) {
		char where[128];
		spool_loc_format(where, sizeof(where), loc);
		return spool_error_set(SPOOL_EILLEGAL, "cannot %s '%s': it is "
				       "in %s", what, id, where);
	}
	return spool_task_load(task, sp, loc, id);
}

/* An agent may only act on its own claimed work; operators (names not
 * registered as agents) may act on anyone's. */
static int check_owner(spool *sp, const char *id, const spool_loc *loc,
		       const char *actor)
{
	json_t *agent = NULL;

	if (!actor || strcmp(actor, loc->agent) == 0)
		return 0;
	if (spool_agent_load(&agent, sp, actor) < 0) {
		spool_error_clear();
		return 0;
	}
	if (spool_agent_has_role(agent, "operator")) {
		json_decref(agent);
		return 0;
	}
	json_decref(agent);
	return spool_error_set(SPOOL_EILLEGAL, "'%s' is claimed by '%s', not "
			       "by '%s'", id, loc->agent, actor);
}

static int check_reviewer(spool *sp, json_t *task, const char *id,
			  const char *actor)
{
	const char *by = spool_task_str(task, "submitted_by");
	json_t *agent = NULL, *review;
	bool self_ok;

	review = json_object_get(spool_config(sp), "review");
	self_ok = json_is_true(json_object_get(review, "allow_self_approval"));
	if (by && actor && strcmp(by, actor) == 0 && !self_ok)
		return spool_error_set(SPOOL_EILLEGAL, "'%s' was submitted by "
			"'%s', who cannot also review it", id, actor);
	if (!actor || spool_agent_load(&agent, sp, actor) < 0) {
		spool_error_clear();
		return 0;	/* an operator, not an agent */
	}
	if (!spool_agent_has_role(agent, "reviewer") &&
	    !spool_agent_has_role(agent, "operator")) {
		json_decref(agent);
		return spool_error_set(SPOOL_EILLEGAL, "agent '%s' has no "
			"reviewer role (spool agent add %s --roles "
			"worker,reviewer)", actor, actor);
	}
	json_decref(agent);
	return 0;
}

#define M(s) (1u << (s))
#define OPEN_STATES (M(SPOOL_STATE_NEW) | M(SPOOL_STATE_BLOCKED) | \
		     M(SPOOL_STATE_READY) | M(SPOOL_STATE_CLAIMED) | \
		     M(SPOOL_STATE_REVIEW))

/* The common shape: locate, check, move, record. */
static int simple_move(spool *sp, const char *id, unsigned mask,
		       const char *what, spool_loc *to, const char *verb,
		       const spool_op_opts *o, bool owner)
{
	spool_commit *c;
	spool_transition t;
	spool_loc from;
	json_t *task = NULL;
	int rc;

	if ((rc = begin(&c, sp)) < 0)
		return rc;
	if ((rc = locate(&from, &task, sp, id, mask, what)) < 0)
		goto out;
	if (owner && from.state == SPOOL_STATE_CLAIMED &&
	    (rc = check_owner(sp, id, &from, o->actor)) < 0)
		goto out;
	if ((rc = spool_rules_check(sp, task, id, &from, to)) < 0)
		goto out;
	spool_transition_init(&t, id, &from, to, verb, o->actor);
	if (o->reason)
		snprintf(t.note, sizeof(t.note), "%s", o->reason);
	rc = spool_do_move(c, sp, task, &t, o->feedback);
out:
	json_decref(task);
	return finish(sp, c, rc, spool_state_terminal(to->state), o->actor);
}

int spool_op_submit(spool *sp, const char *id, const spool_op_opts *o)
{
	spool_loc to = { .state = SPOOL_STATE_REVIEW };

	return simple_move(sp, id, M(SPOOL_STATE_CLAIMED), "submit", &to,
			   "submit", o, true);
}

int spool_op_fail(spool *sp, const char *id, const spool_op_opts *o)
{
	spool_loc to = { .state = SPOOL_STATE_FAILED };

	if (!o->reason || !*o->reason)
		return spool_error_set(SPOOL_EINVALID, "say why with --reason "
				       "TEXT; the reason is kept in the task");
	return simple_move(sp, id, M(SPOOL_STATE_CLAIMED), "fail", &to,
			   "fail", o, true);
}

int spool_op_retry(spool *sp, const char *id, const spool_op_opts *o)
{
	spool_loc to = { .state = SPOOL_STATE_READY };

	return simple_move(sp, id, M(SPOOL_STATE_FAILED), "retry", &to,
			   "retry", o, false);
}

int spool_op_cancel(spool *sp, const char *id, const spool_op_opts *o)
{
	spool_loc to = { .state = SPOOL_STATE_CANCELLED };

	return simple_move(sp, id, OPEN_STATES, "cancel", &to, "cancel", o,
			   false);
}

int spool_op_release(spool *sp, const char *id, const spool_op_opts *o)
{
	spool_loc to = { .state = SPOOL_STATE_READY };
	spool_commit *c;
	spool_transition t;
	spool_loc from;
	json_t *task = NULL;
	long max;
	int rc;

	if ((rc = begin(&c, sp)) < 0)
		return rc;
	if ((rc = locate(&from, &task, sp, id, M(SPOOL_STATE_CLAIMED),
			 "release")) < 0 ||
	    (rc = check_owner(sp, id, &from, o->actor)) < 0)
		goto out;
	/* Every claim spends an attempt; the last one ends in failed/. */
	max = spool_task_int(task, "max_attempts",
			     spool_config_max_attempts(sp));
	if (spool_task_int(task, "attempt", 1) >= max)
		to.state = SPOOL_STATE_FAILED;
	spool_transition_init(&t, id, &from, &to,
			      to.state == SPOOL_STATE_FAILED ? "fail"
							     : "release",
			      o->actor);
	if (to.state == SPOOL_STATE_FAILED)
		snprintf(t.note, sizeof(t.note), "released after the last of "
			 "%ld attempts", max);
	rc = spool_do_move(c, sp, task, &t, NULL);
out:
	json_decref(task);
	return finish(sp, c, rc, to.state == SPOOL_STATE_FAILED, o->actor);
}

int spool_op_approve(spool *sp, const char *id, const spool_op_opts *o)
{
	spool_loc from, to = { .state = SPOOL_STATE_DONE };
	const char *mode, *by;
	spool_transition t;
	spool_commit *c;
	json_t *task = NULL;
	int rc;

	if ((rc = begin(&c, sp)) < 0)
		return rc;
	if ((rc = locate(&from, &task, sp, id, M(SPOOL_STATE_REVIEW),
			 "approve")) < 0 ||
	    (rc = check_reviewer(sp, task, id, o->actor)) < 0)
		goto out;
	mode = spool_task_str(task, "mode");
	by = spool_task_str(task, "submitted_by");
	if (mode && strcmp(mode, "plan_first") == 0 &&
	    !json_is_true(json_object_get(task, "plan_approved"))) {
		/* The plan is approved: back to its agent to execute. */
		if (!by) {
			rc = spool_error_set(SPOOL_EINVALID, "'%s' has no "
				"submitted_by; cannot tell whose plan it is",
				id);
			goto out;
		}
		to.state = SPOOL_STATE_CLAIMED;
		snprintf(to.agent, sizeof(to.agent), "%s", by);
	}
	if ((rc = spool_rules_check(sp, task, id, &from, &to)) < 0)
		goto out;
	spool_transition_init(&t, id, &from, &to,
			      to.state == SPOOL_STATE_DONE ? "approve"
							   : "approve-plan",
			      o->actor);
	rc = spool_do_move(c, sp, task, &t, o->feedback);
out:
	json_decref(task);
	return finish(sp, c, rc, to.state == SPOOL_STATE_DONE, o->actor);
}

int spool_op_reject(spool *sp, const char *id, const spool_op_opts *o)
{
	spool_loc from, to = { .state = SPOOL_STATE_READY };
	spool_transition t;
	spool_commit *c;
	json_t *task = NULL;
	const char *by;
	int rc;

	if (!o->feedback || !*o->feedback)
		return spool_error_set(SPOOL_EINVALID, "a rejection needs "
			"feedback: say what to change with --feedback TEXT");
	if ((rc = begin(&c, sp)) < 0)
		return rc;
	if ((rc = locate(&from, &task, sp, id, M(SPOOL_STATE_REVIEW),
			 "reject")) < 0 ||
	    (rc = check_reviewer(sp, task, id, o->actor)) < 0)
		goto out;
	by = spool_task_str(task, "submitted_by");
	if (by && !o->to_ready) {
		/* Back to the agent who did it, who has the context. */
		to.state = SPOOL_STATE_CLAIMED;
		snprintf(to.agent, sizeof(to.agent), "%s", by);
	}
	if ((rc = spool_rules_check(sp, task, id, &from, &to)) < 0)
		goto out;
	spool_transition_init(&t, id, &from, &to, "reject", o->actor);
	snprintf(t.note, sizeof(t.note), "feedback: %s", o->feedback);
	rc = spool_do_move(c, sp, task, &t, o->feedback);
out:
	json_decref(task);
	return finish(sp, c, rc, false, o->actor);
}

int spool_op_heartbeat(spool *sp, const char *id, const char *agent)
{
	char path[PATH_MAX];
	spool_loc loc;
	json_t *task = NULL;
	int rc;

	if ((rc = locate(&loc, &task, sp, id, M(SPOOL_STATE_CLAIMED),
			 "heartbeat")) < 0)
		return rc;
	json_decref(task);
	if ((rc = check_owner(sp, id, &loc, agent)) < 0)
		return rc;
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
static int claim_loop(spool_entry *out, spool *sp, spool_commit *c,
		      const char *agent, json_t *a)
{
	spool_loc to = { .state = SPOOL_STATE_CLAIMED };
	spool_transition t;
	json_t *task = NULL;
	int rc = 0, tries;

	snprintf(to.agent, sizeof(to.agent), "%s", agent);
	/* A shell agent may take our pick with mv first: pick again. Each
	 * lost pick was taken by someone, so this ends with a claim or with
	 * nothing left; a cap would fail a claimer that merely kept losing. */
	for (tries = 0;; tries++) {
		if ((rc = spool_select(out, sp, agent, a, tries > 0)) < 0)
			break;
		rc = spool_task_load(&task, sp, &out->loc, out->id);
		if (rc == 0)
			rc = spool_rules_check(sp, task, out->id, &out->loc,
					       &to);
		if (rc == 0 && c) {
			spool_transition_init(&t, out->id, &out->loc, &to,
					      "claim", agent);
			rc = spool_do_move(c, sp, task, &t, NULL);
		} else if (rc == 0) {
			/* like the agent's own mv: a power cut can undo
			 * this claim, never double it */
			rc = spool_move_task(sp, out->id, &out->loc, &to,
					     false);
		}
		json_decref(task);
		task = NULL;
		if (rc != SPOOL_ENOTFOUND)
			break;
	}
	if (rc == 0) {
		spool_select_taken(sp, out->id);
		out->loc = to;
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
		rc = claim_loop(out, sp, NULL, agent, a);
		json_decref(a);
		return rc;
	}
	if ((rc = begin(&c, sp)) < 0) {
		json_decref(a);
		return rc;
	}
	rc = claim_loop(out, sp, c, agent, a);
	json_decref(a);
	return finish_ex(sp, c, rc, false, agent, false);
}
