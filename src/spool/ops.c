/*
 * The operations behind spool's commands. Each one: take the lock,
 * record what agents did with mv since the last commit, check the rules,
 * move, commit. An operation the rules refuse changes nothing.
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
#include "notice.h"
#include "state.h"
#include "task.h"
#include "fsutil.h"
#include "root.h"
#include "branch.h"
#include "gitindex.h"
#include "history.h"
#include "repo.h"
#include "file.h"
#include "inspect.h"
#include "intent-recover.h"
#include "ops.h"
#include "reconcile.h"
#include "policy.h"
#include "registry.h"
#include "select.h"
#include "task-files.h"
#include "transition.h"

/*
 * Under the lock, from a recorded spool. While spoold runs, the moves
 * agents made are its to record: it has the events that say who made
 * them, where a look at the files could only guess. Only what a killed
 * process left half done is finished first.
 */
static int begin(spool_commit **c, spool *sp)
{
	static const spool_recover_opts wait = { .wait = true };
	size_t recovered;
	bool terminal;
	int rc;

	*c = NULL;
	if ((rc = spool_lock(sp, -1)) < 0)
		return rc;
	if (spool_daemon_running(sp, NULL))
		rc = spool_intent_recover(&recovered, &terminal, sp, &wait);
	else
		rc = spool_reconcile(NULL, sp);
	if (rc < 0 || (rc = spool_commit_new(c, sp)) < 0)
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
/* How long a command waits for spoold to record an agent's move of the
 * task it acts on; spoold records within milliseconds unless loaded. */
#define DAEMON_WAIT_MS 3000

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

/*
 * An agent moved id and spoold has not recorded it yet: the command lets
 * go of the lock for spoold to record it, with the agent its events
 * name, and takes it back. *waited: whether it can wait again; past
 * DAEMON_WAIT_MS the command records the move itself, from the files.
 */
static int await_daemon(bool *waited, spool_commit **c, spool *sp,
			int64_t *until, unsigned *pause_ms)
{
	struct timespec ts;
	int rc;

	*waited = false;
	if (!spool_daemon_running(sp, NULL) || spool_lock_depth(sp) != 1)
		return 0;
	if (*until == 0)
		*until = spool_now_ms() + DAEMON_WAIT_MS;
	else if (spool_now_ms() >= *until)
		return 0;
	spool_commit_free(*c);
	*c = NULL;
	spool_unlock(sp);
	ts.tv_sec = 0;
	ts.tv_nsec = (long)*pause_ms * 1000000L;
	nanosleep(&ts, NULL);
	if (*pause_ms < 32)
		*pause_ms *= 2;
	if ((rc = spool_lock(sp, -1)) < 0)
		return rc;
	*waited = true;
	return spool_commit_new(c, sp);
}

/* Finds id where the files have it, once HEAD has it there too. */
static int find_recorded(spool_loc *at, spool_commit **c, spool *sp,
			 const char *id)
{
	unsigned pause_ms = 1;
	int64_t until = 0;
	bool waited;
	int rc;

	for (int tries = 0;;) {
		if ((rc = spool_task_find(at, sp, id)) < 0 ||
		    recorded_at(*c, at, id))
			return rc;
		if ((rc = await_daemon(&waited, c, sp, &until,
				       &pause_ms)) < 0)
			return rc;
		if (!waited &&
		    (rc = record_moved(c, sp, at, id, tries++)) < 0)
			return rc;
	}
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

/* A task added with --hold and no subtasks goes to ready/. */
int spool_op_unhold(spool *sp, const char *id, const spool_op_opts *o)
{
	return op(sp, id, "unhold", SPOOL_STATE_NONE, o);
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

/* Who a question goes to by default: the task's creator when that is a
 * registered agent other than the asker, else an operator. */
static const char *question_to(spool *sp, json_t *task, const char *actor)
{
	const char *by = spool_task_str(task, "created_by");
	json_t *a = NULL;

	if (!by || !spool_name_valid(by) || (actor && !strcmp(by, actor)) ||
	    spool_agent_load(&a, sp, by) < 0) {
		spool_error_clear();
		return "operator";
	}
	json_decref(a);
	return by;
}

int spool_op_ask(char *qid, size_t qlen, spool *sp, const char *id,
		 const char *question, const char *to, const char *actor)
{
	spool_request rq = { .id = id, .verb = "ask", .actor = actor,
			     .via = SPOOL_VIA_CMD, .reason = question };
	json_t *task = NULL, *q = NULL, *a = NULL;
	char title[160];
	spool_outcome out;
	spool_commit *c;
	bool existed;
	int rc;

	memset(&out, 0, sizeof(out));
	rq.to.state = SPOOL_STATE_NONE;
	if (!question || !*question)
		return spool_error_set(SPOOL_EINVALID, "a question needs its "
				       "text (--question)");
	if ((rc = begin(&c, sp)) < 0)
		return rc;
	if ((rc = spool_task_find(&rq.from, sp, id)) < 0 ||
	    (rc = spool_task_load(&task, sp, &rq.from, id)) < 0)
		goto out;
	if (!to)
		to = question_to(sp, task, actor);
	if (strcmp(to, "operator") && (rc = spool_agent_load(&a, sp, to)) < 0)
		goto out;
	snprintf(title, sizeof(title), "Question from %s on %s: %.100s%s",
		 actor ? actor : "?", id, question,
		 strlen(question) > 100 ? "..." : "");
	/* An operator's question requires the capability "operator", which
	 * only an agent that answers for the operators has: no runner takes
	 * it up as work. An agent's is assigned to it. */
	q = json_pack("{s:s, s:s, s:s}", "title", title, "description",
		      question, "question_for", id);
	if (q && strcmp(to, "operator"))
		json_object_set_new(q, "assignee", json_string(to));
	else if (q)
		json_object_set_new(q, "requires", json_pack("[s]",
							     "operator"));
	if (!q) {
		rc = spool_error_set(SPOOL_ERROR, "out of memory");
		goto out;
	}
	if ((rc = spool_task_validate(q, "the question")) < 0 ||
	    (rc = spool_file_task(qid, qlen, &existed, c, sp, q, NULL, actor,
				  NULL)) < 0)
		goto out;
	rq.question = qid;
	rq.task = NULL;
	rc = spool_transition_apply(&out, c, sp, &rq);
out:
	spool_outcome_clear(&out);
	json_decref(a);
	json_decref(q);
	json_decref(task);
	return finish(sp, c, rc, false, actor);
}

int spool_op_answer(spool *sp, const char *qid, const char *answer,
		    const char *actor)
{
	spool_request rq = { .id = qid, .verb = "answer", .actor = actor,
			     .via = SPOOL_VIA_CMD, .feedback = answer };
	spool_request back = { .verb = "resume", .actor = "spool",
			       .via = SPOOL_VIA_SPOOL };
	json_t *q = NULL, *task = NULL, *asked;
	const char *for_id, *by;
	char *fb = NULL;
	spool_outcome out;
	spool_commit *c;
	int rc;

	memset(&out, 0, sizeof(out));
	rq.to.state = SPOOL_STATE_NONE;
	if ((rc = begin(&c, sp)) < 0)
		return rc;
	if ((rc = spool_task_find(&rq.from, sp, qid)) < 0 ||
	    (rc = spool_task_load(&q, sp, &rq.from, qid)) < 0)
		goto out;
	if (!spool_task_str(q, "question_for")) {
		rc = spool_error_set(SPOOL_EILLEGAL, "cannot answer '%s': it "
				     "is not a question ('spool ask' makes "
				     "them)", qid);
		goto out;
	}
	if ((rc = spool_transition_apply(&out, c, sp, &rq)) < 0)
		goto out;
	spool_outcome_clear(&out);
	/* The asking task goes back to its agent in the same commit; if it
	 * cannot (moved meanwhile, agent gone), what waited is released by
	 * the usual rules. */
	for_id = spool_task_str(q, "question_for");
	if (!for_id || spool_task_find(&back.from, sp, for_id) < 0 ||
	    back.from.state != SPOOL_STATE_BLOCKED ||
	    spool_task_load(&task, sp, &back.from, for_id) < 0)
		goto released;
	asked = json_object_get(task, "asked");
	by = json_string_value(json_object_get(asked, "by"));
	if (!by || !spool_name_valid(by) ||
	    strcmp(json_string_value(json_object_get(asked, "question")) ?
		   json_string_value(json_object_get(asked, "question")) : "",
		   qid) != 0)
		goto released;
	if (asprintf(&fb, "answer to %s from %s: %s", qid,
		     actor ? actor : "?", answer) < 0) {
		fb = NULL;
		goto released;
	}
	back.id = for_id;
	back.feedback = fb;
	back.to.state = SPOOL_STATE_CLAIMED;
	snprintf(back.to.agent, sizeof(back.to.agent), "%s", by);
	if (spool_transition_apply(&out, c, sp, &back) < 0)
		spool_notice("'%s' stays in blocked/: %s", for_id,
			     spool_error_message());
released:
	spool_error_clear();
	rc = 0;
out:
	spool_outcome_clear(&out);
	free(fb);
	json_decref(task);
	json_decref(q);
	return finish(sp, c, rc, rc == 0, actor);
}

int spool_op_heartbeat(spool *sp, const char *id, const char *agent)
{
	char path[PATH_MAX];
	const char *name;
	unsigned roles;
	spool_loc loc;
	int rc, fd, saved;

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
	/* claimed/A may be a link an agent made: not followed. */
	if ((fd = spool_fs_open_parent(&name, sp, path)) < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot touch '%s'", path);
	rc = utimensat(fd, name, NULL, AT_SYMLINK_NOFOLLOW);
	saved = errno;
	close(fd);
	errno = saved;
	if (rc < 0)
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
