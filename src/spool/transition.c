/*
 * The entry point of every transition (see transition.h): the facts, the
 * decision of the table, the move, the fields it writes, the record; and
 * the release of work that was waiting, which goes through it too.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "error.h"
#include "machine.h"
#include "state.h"
#include "task.h"
#include "fsutil.h"
#include "root.h"
#include "history.h"
#include "repo.h"
#include "archive-find.h"
#include "intent.h"
#include "policy.h"
#include "registry.h"
#include "shared.h"
#include "task-files.h"
#include "transition.h"
#include "stale.h"
#include "tree-task.h"

void spool_now_iso(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void spool_transition_init(spool_transition *t, const char *id,
			   const spool_loc *from, const spool_loc *to,
			   const char *verb, const char *actor)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "%s", id);
	if (from)
		t->from = *from;
	else
		t->from.state = SPOOL_STATE_NONE;
	if (to)
		t->to = *to;
	else
		t->to.state = SPOOL_STATE_NONE;
	snprintf(t->verb, sizeof(t->verb), "%s", verb);
	snprintf(t->actor, sizeof(t->actor), "%s", actor ? actor : "spool");
}

void spool_outcome_clear(spool_outcome *o)
{
	json_decref(o->task);
	o->task = NULL;
}

static void append_entry(json_t *task, const char *field, const char *by,
			 const char *text)
{
	char now[32];
	json_t *list = json_object_get(task, field);

	if (!json_is_array(list)) {
		list = json_array();
		json_object_set_new(task, field, list);
	}
	spool_now_iso(now, sizeof(now));
	json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "at", now,
					      "by", by, "text", text));
}

/* ---- the record -------------------------------------------------------- */

/* Wherever the tree has the task: a task moved twice between two looks
 * is recorded where it was. */
static int find_in_tree(json_t **out, spool *sp, git_tree *tree,
			const char *id)
{
	git_tree_entry *te = NULL;
	git_tree *claimed = NULL;
	char path[PATH_MAX];
	int rc = SPOOL_ENOTFOUND;

	for (int s = 0; s < SPOOL_STATE_COUNT && rc == SPOOL_ENOTFOUND; s++) {
		spool_loc loc = { .state = (spool_state)s };
		if (s == SPOOL_STATE_CLAIMED || s == SPOOL_STATE_QUARANTINE)
			continue;
		spool_loc_path(path, sizeof(path), &loc, id);
		rc = spool_tree_task(out, sp, tree, path, id);
	}
	if (rc != SPOOL_ENOTFOUND)
		return rc;
	if (git_tree_entry_bypath(&te, tree, "claimed") == 0 &&
	    git_tree_entry_type(te) == GIT_OBJECT_TREE &&
	    git_tree_lookup(&claimed, sp->repo, git_tree_entry_id(te)) == 0) {
		for (size_t i = 0; i < git_tree_entrycount(claimed) &&
		     rc == SPOOL_ENOTFOUND; i++) {
			const git_tree_entry *e =
				git_tree_entry_byindex(claimed, i);
			snprintf(path, sizeof(path), "claimed/%s/%s.json",
				 git_tree_entry_name(e), id);
			rc = spool_tree_task(out, sp, tree, path, id);
		}
	}
	git_tree_free(claimed);
	git_tree_entry_free(te);
	return rc;
}

int spool_task_recorded(json_t **out, spool *sp, git_tree *base,
			const char *id, const spool_loc *hint)
{
	git_repository *repo;
	git_object *obj = NULL;
	git_tree *tree = base;
	char path[PATH_MAX];
	int rc;

	*out = NULL;
	if ((rc = spool_repo(&repo, sp)) < 0)
		return rc;
	if (!tree) {
		if (git_revparse_single(&obj, repo, "HEAD^{tree}") < 0) {
			spool_error_clear();
			return SPOOL_ENOTFOUND;
		}
		tree = (git_tree *)obj;
	}
	rc = SPOOL_ENOTFOUND;
	if (hint && hint->state != SPOOL_STATE_NONE) {
		spool_loc_path(path, sizeof(path), hint, id);
		rc = spool_tree_task(out, sp, tree, path, id);
	}
	if (rc == SPOOL_ENOTFOUND)
		rc = find_in_tree(out, sp, tree, id);
	git_object_free(obj);
	if (rc == SPOOL_ENOTFOUND)
		return spool_error_set(rc, "'%s' was never recorded", id);
	return rc;
}

/* ---- facts ------------------------------------------------------------- */

/* Where a task is, counting the archives; NONE if nowhere. */
static int task_state(spool_state *out, spool *sp, const char *id)
{
	spool_archived arc;
	spool_loc loc;
	int rc = spool_task_find(&loc, sp, id);

	*out = SPOOL_STATE_NONE;
	if (rc == 0 || rc == SPOOL_EEXISTS) {
		*out = loc.state;
	} else if (rc == SPOOL_ENOTFOUND) {
		/* Finished work may have been archived out of the tree. */
		if (spool_archive_find(&arc, NULL, NULL, sp, id) == 0)
			*out = arc.state;
	} else {
		return rc;
	}
	spool_error_clear();
	return 0;
}

int spool_deps_state(bool *ready, char *dead, size_t deadlen, spool *sp,
		     json_t *task)
{
	spool_state st;
	size_t i;
	json_t *d;
	int rc;

	*ready = true;
	if (dead && deadlen)
		dead[0] = '\0';
	json_array_foreach(json_object_get(task, "depends_on"), i, d) {
		const char *dep = json_string_value(d);
		if (!dep)
			continue;
		if ((rc = task_state(&st, sp, dep)) < 0)
			return rc;
		if (st != SPOOL_STATE_DONE)
			*ready = false;
		if (dead && !dead[0] && st == SPOOL_STATE_NONE)
			snprintf(dead, deadlen, "%s (missing)", dep);
		else if (dead && !dead[0] && (st == SPOOL_STATE_FAILED ||
					      st == SPOOL_STATE_CANCELLED))
			snprintf(dead, deadlen, "%s (%s)", dep,
				 spool_state_name(st));
	}
	return 0;
}

static bool open_state(spool_state s)
{
	return s == SPOOL_STATE_NEW || s == SPOOL_STATE_BLOCKED ||
	       s == SPOOL_STATE_READY || s == SPOOL_STATE_CLAIMED ||
	       s == SPOOL_STATE_REVIEW;
}

static int children_facts(spool_facts *f, spool *sp, json_t *task)
{
	spool_state st;
	size_t i;
	json_t *ch;
	int rc;

	json_array_foreach(json_object_get(task, "children"), i, ch) {
		const char *id = json_string_value(ch);
		if (!id)
			continue;
		if ((rc = task_state(&st, sp, id)) < 0)
			return rc;
		f->children++;
		if (st == SPOOL_STATE_DONE) {
			f->children_done++;
		} else if (open_state(st)) {
			if (!f->children_open++)
				snprintf(f->open_child, sizeof(f->open_child),
					 "%s", id);
		} else if (st != SPOOL_STATE_NONE) {
			f->child_dead = true;
		}
	}
	return 0;
}

int spool_transition_roles(unsigned *roles, spool *sp, const char *actor,
			   const spool_loc *from, const spool_loc *to,
			   unsigned via)
{
	const char *holder = spool_machine_holder(from, to);
	json_t *agent = NULL;

	if (via == SPOOL_VIA_SPOOL) {
		*roles = SPOOL_WHO_SPOOL;
		return 0;
	}
	*roles = SPOOL_WHO_ANYONE;
	if (holder && actor && strcmp(holder, actor) == 0)
		*roles |= SPOOL_WHO_SELF;
	if (via != SPOOL_VIA_CMD || !actor)
		return 0;
	if (spool_agent_load(&agent, sp, actor) < 0) {
		spool_error_clear();
		/* A person, not an agent; in a shared spool, only one the
		 * kernel says is an operator. */
		if (!spool_shared(sp) ||
		    spool_shared_operator(sp, spool_caller(sp)))
			*roles |= SPOOL_WHO_OPERATOR;
		return 0;
	}
	if (spool_agent_has_role(agent, "reviewer"))
		*roles |= SPOOL_WHO_REVIEWER;
	if (spool_agent_has_role(agent, "operator"))
		*roles |= SPOOL_WHO_OPERATOR | SPOOL_WHO_REVIEWER;
	json_decref(agent);
	return 0;
}

static void holder_facts(spool_facts *f, spool *sp, const spool_request *rq,
			 json_t *task, unsigned guards)
{
	json_t *agent = NULL;
	char *req;

	if (!(guards & (SPOOL_G_REGISTERED | SPOOL_G_CAPABLE)) ||
	    !f->holder[0])
		return;
	if (rq->agent && rq->to.state == SPOOL_STATE_CLAIMED &&
	    strcmp(rq->to.agent, f->holder) == 0)
		agent = json_incref(rq->agent);
	else if (spool_agent_load(&agent, sp, f->holder) < 0)
		spool_error_clear();
	f->holder_registered = agent != NULL;
	f->holder_capable = agent && spool_agent_capable(agent, task);
	json_decref(agent);
	if (!f->holder_capable &&
	    (req = json_dumps(json_object_get(task, "requires"),
			      JSON_COMPACT | JSON_ENCODE_ANY))) {
		snprintf(f->requires, sizeof(f->requires), "%s", req);
		free(req);
	}
}

/* The clock's facts: the file's stat against the recorded lease, and
 * the backoff after a failure. */
static void time_facts(spool_facts *f, spool *sp, const spool_request *rq,
		       json_t *task, unsigned guards)
{
	int64_t now = rq->now ? rq->now : spool_now_ms();
	char path[PATH_MAX];
	struct stat st;

	if (!(guards & (SPOOL_G_LEASE_EXPIRED | SPOOL_G_BACKOFF_PASSED)))
		return;
	spool_loc_path(path, sizeof(path), &rq->from, rq->id);
	if (spool_fs_lstat(sp, path, &st) < 0)
		return;
	if (rq->from.state == SPOOL_STATE_CLAIMED)
		f->lease_expired = spool_lease_due_ms(sp, task, &st) <= now;
	if (rq->from.state == SPOOL_STATE_FAILED)
		f->backoff_passed = spool_retry_due_ms(sp, task, &st) <= now;
}

/* The actor's roles for this request. Only a command's actor is looked
 * up in the registry, and only when a row needs more than the agent
 * itself: a claim by its own agent reads no registry. */
static int actor_roles(unsigned *roles, spool *sp, const spool_request *rq,
		       unsigned who_any, unsigned who_all)
{
	const char *holder = spool_machine_holder(&rq->from, &rq->to);
	bool self = holder && rq->actor && strcmp(holder, rq->actor) == 0;
	unsigned via = rq->via;

	if (via == SPOOL_VIA_CMD &&
	    (!(who_any & (SPOOL_WHO_REVIEWER | SPOOL_WHO_OPERATOR)) ||
	     (self && (who_all & SPOOL_WHO_SELF))))
		via = SPOOL_VIA_MV;	/* the same roles, without the lookup */
	return spool_transition_roles(roles, sp, rq->actor, &rq->from,
				      &rq->to, via);
}

static void copy_name(char *dst, size_t len, json_t *task, const char *field)
{
	const char *s = spool_task_str(task, field);

	snprintf(dst, len, "%s", s && spool_name_valid(s) ? s : "");
}

static int gather(spool_facts *f, spool *sp, const spool_request *rq,
		  json_t *task)
{
	const char *mode = spool_task_str(task, "mode");
	unsigned guards, who_any, who_all;
	json_t *review;
	int rc;

	memset(f, 0, sizeof(*f));
	spool_machine_needs(&guards, &who_any, &who_all, rq);
	f->attempt = spool_task_int(task, "attempt", 1);
	f->max_attempts = spool_task_max_attempts(sp, task);
	f->lease_s = spool_lease_seconds(sp, task);
	f->plan_first = mode && strcmp(mode, "plan_first") == 0;
	f->plan_approved = json_is_true(json_object_get(task,
							"plan_approved"));
	f->held = json_is_true(json_object_get(task, "hold"));
	copy_name(f->submitted_by, sizeof(f->submitted_by), task,
		  "submitted_by");
	copy_name(f->assignee, sizeof(f->assignee), task, "assignee");
	snprintf(f->holder, sizeof(f->holder), "%s",
		 rq->to.state == SPOOL_STATE_CLAIMED ? rq->to.agent
						     : f->submitted_by);
	holder_facts(f, sp, rq, task, guards);
	if ((guards & SPOOL_G_DEPS_DONE) &&
	    (rc = spool_deps_state(&f->deps_done, f->deps_dead,
				   sizeof(f->deps_dead), sp, task)) < 0)
		return rc;
	if ((guards & (SPOOL_G_NO_CHILDREN | SPOOL_G_HAS_CHILDREN |
		       SPOOL_G_CHILDREN_DONE | SPOOL_G_CHILDREN_CLOSED |
		       SPOOL_G_CHILDREN_OPEN)) &&
	    (rc = children_facts(f, sp, task)) < 0)
		return rc;
	time_facts(f, sp, rq, task, guards);
	review = json_object_get(spool_config(sp), "review");
	f->self_approval = json_is_true(json_object_get(review,
						"allow_self_approval"));
	f->question = spool_task_str(task, "question_for") != NULL;
	{
		json_t *asked = json_object_get(task, "asked");
		const char *by = json_string_value(json_object_get(asked,
								   "by"));
		snprintf(f->asked_by, sizeof(f->asked_by), "%s",
			 by && spool_name_valid(by) ? by : "");
	}
	return actor_roles(&f->roles, sp, rq, who_any, who_all);
}

/* ---- the task the decision reads --------------------------------------- */

/* Where the file is before the transition. */
static spool_loc file_at(const spool_request *rq)
{
	if (!rq->moved)
		return rq->from;
	return rq->at ? *rq->at : rq->to;
}

/*
 * The task as the spool keeps it. Where an agent could have written it
 * (it holds it in claimed/, or moved it itself), the recorded version
 * stands and only the fields an agent may write come from disk; *changed
 * lists the others it changed.
 */
static int trusted_task(json_t **out, char *changed, size_t len,
			bool *stale, spool *sp, spool_commit *c,
			const spool_request *rq)
{
	spool_loc at = file_at(rq);
	json_t *disk = NULL, *rec = NULL;
	int rc;

	*out = NULL;
	changed[0] = '\0';
	if (rq->task)
		disk = json_incref(rq->task);
	else if (!rq->moved && (rq->from.state == SPOOL_STATE_NONE ||
				rq->from.state == SPOOL_STATE_NEW))
		return spool_error_set(SPOOL_EINVALID, "no task to file");
	else if ((rc = spool_task_load(&disk, sp, &at, rq->id)) < 0)
		return rc;
	if (!rq->recorded && (rq->from.state == SPOOL_STATE_NONE ||
			      (!rq->moved &&
			       rq->from.state != SPOOL_STATE_CLAIMED))) {
		*out = disk;
		return 0;
	}
	if (rq->recorded) {
		rec = json_incref(rq->recorded);
	} else if ((rc = spool_task_recorded(&rec, sp,
					     c ? spool_commit_base(c) : NULL,
					     rq->id, &rq->from)) < 0) {
		if (rc != SPOOL_ENOTFOUND) {
			json_decref(disk);
			return rc;
		}
		spool_error_clear();	/* never recorded: nothing to keep */
		*out = disk;
		return 0;
	}
	*out = spool_machine_merge(rec, disk, changed, len);
	rc = *out ? 0 : spool_error_set(SPOOL_ERROR, "out of memory");
	/* Values the spool wrote before, that its later writes did not
	 * reach, go back with the others, but are no violation. */
	if (rc == 0 && changed[0] &&
	    spool_values_recorded(sp, rq->id, disk, changed)) {
		changed[0] = '\0';
		*stale = true;
	}
	json_decref(rec);
	json_decref(disk);
	return rc;
}

static int decide(spool_outcome *out, char *changed, size_t len, spool *sp,
		  spool_commit *c, const spool_request *rq)
{
	int rc;

	if ((rc = trusted_task(&out->task, changed, len, &out->stale, sp, c,
				rq)) < 0 ||
	    (rc = gather(&out->facts, sp, rq, out->task)) < 0)
		return rc;
	return spool_machine_decide(&out->row, &out->would, &out->to, rq,
				    &out->facts);
}

int spool_transition_check(spool_outcome *out, spool_commit *c, spool *sp,
			   const spool_request *rq)
{
	char changed[SPOOL_CHANGED_MAX];

	memset(out, 0, sizeof(*out));
	return decide(out, changed, sizeof(changed), sp, c, rq);
}

/* ---- effects ----------------------------------------------------------- */

/* The note the commit carries, when the caller gave none. */
static void row_note(char *buf, size_t len, const spool_row *r,
		     const spool_request *rq, const spool_facts *f, spool *sp)
{
	const char *verb = r->verb;

	buf[0] = '\0';
	if (rq->note) {
		snprintf(buf, len, "%s", rq->note);
	} else if (strcmp(verb, "fail") == 0 && r->ask != SPOOL_STATE_NONE) {
		snprintf(buf, len, "released after the last of %ld attempts",
			 f->max_attempts);
	} else if (strcmp(verb, "expire") == 0 &&
		   r->to == SPOOL_STATE_FAILED) {
		snprintf(buf, len, "lease of %lds expired on the last of %ld "
			 "attempts (no heartbeat from '%s')", f->lease_s,
			 f->max_attempts, rq->from.agent);
	} else if (strcmp(verb, "expire") == 0) {
		snprintf(buf, len, "lease of %lds expired (no heartbeat from "
			 "'%s'); attempt %ld of %ld next", f->lease_s,
			 rq->from.agent, f->attempt + 1, f->max_attempts);
	} else if (strcmp(verb, "retry") == 0 &&
		   (r->via & SPOOL_VIA_SPOOL)) {
		snprintf(buf, len, "attempt %ld of %ld, after %lds",
			 f->attempt + 1, f->max_attempts,
			 spool_retry_backoff(sp, f->attempt));
	} else if (strcmp(verb, "reject") == 0 && rq->feedback) {
		snprintf(buf, len, "feedback: %s", rq->feedback);
	} else if (strcmp(verb, "approve") == 0 &&
		   r->to == SPOOL_STATE_BLOCKED) {
		snprintf(buf, len, "approved; it waits for its subtasks ('%s' "
			 "is open) and is completed with them",
			 f->open_child);
	} else if ((r->effects & SPOOL_E_DEAD_DEP) && f->deps_dead[0]) {
		snprintf(buf, len, "dependency %s will never be done",
			 f->deps_dead);
	} else if (rq->reason) {
		snprintf(buf, len, "%s", rq->reason);
	}
}

/* Writes the row's effects into the task; true if it changed. */
static bool effects(json_t *task, const spool_row *r, const spool_request *rq,
		    const spool_facts *f, const char *note)
{
	const char *by = rq->actor ? rq->actor : "spool";
	unsigned e = r->effects;
	bool changed = false;
	char why[256];

	if ((e & SPOOL_E_SUBMITTED_BY) && rq->from.state ==
	    SPOOL_STATE_CLAIMED) {
		json_object_set_new(task, "submitted_by",
				    json_string(rq->from.agent));
		changed = true;
	}
	if (e & SPOOL_E_ATTEMPT) {
		json_object_set_new(task, "attempt",
				    json_integer(f->attempt + 1));
		changed = true;
	}
	if ((e & SPOOL_E_UNHOLD) && json_object_get(task, "hold")) {
		json_object_del(task, "hold");
		changed = true;
	}
	if (e & SPOOL_E_PLAN_APPROVED) {
		json_object_set_new(task, "plan_approved", json_true());
		changed = true;
	}
	if ((e & SPOOL_E_FEEDBACK) && rq->feedback && *rq->feedback) {
		append_entry(task, "feedback", by, rq->feedback);
		changed = true;
	}
	if ((e & SPOOL_E_ERROR) && (rq->reason || *note)) {
		append_entry(task, "errors", by, rq->reason ? rq->reason
							    : note);
		changed = true;
	}
	if ((e & SPOOL_E_ASKED) && rq->question) {
		json_t *deps = json_object_get(task, "depends_on");

		if (!json_is_array(deps)) {
			deps = json_array();
			json_object_set_new(task, "depends_on", deps);
		}
		json_array_append_new(deps, json_string(rq->question));
		json_object_set_new(task, "asked", json_pack("{s:s, s:s, s:s?}",
			"question", rq->question, "by", rq->from.agent,
			"text", rq->reason));
		changed = true;
	}
	if ((e & SPOOL_E_DEAD_DEP) && f->deps_dead[0]) {
		snprintf(why, sizeof(why), "dependency %s will never be done; "
			 "retry it or cancel this task", f->deps_dead);
		append_entry(task, "errors", "spool", why);
		changed = true;
	}
	return changed;
}

/* ---- the move ---------------------------------------------------------- */

static int create(spool *sp, const spool_request *rq, const spool_loc *to,
		  json_t *task)
{
	char path[PATH_MAX];
	char *s = spool_task_dump(task);
	int rc;

	if (!s)
		return spool_error_set(SPOOL_ERROR, "out of memory");
	spool_loc_path(path, sizeof(path), to, rq->id);
	/* A batch wrote and synced these bytes already: the rename is all
	 * that is left, and the batch syncs it before its sources go. Other
	 * bytes (an effect of the filing) are written the usual way. */
	if (rq->staged && rq->staged_text && strcmp(s, rq->staged_text) == 0) {
		rc = spool_fs_move_unsynced(sp, rq->staged, path);
	} else {
		if (rq->staged)
			spool_fs_unlink(sp, rq->staged, 0);
		rc = spool_fs_write(sp, path, s, strlen(s), true);
	}
	free(s);
	return rc;
}

/* The rename, announced first in the intent log (intent.h): cut short,
 * the next process records it as this request would have. */
static int rename_task(spool_commit *c, spool *sp, const spool_request *rq,
		       const spool_row *row, const spool_loc *from,
		       const spool_loc *to)
{
	int rc;

	if ((rc = spool_intent_place(c, sp, rq, row, to, NULL)) < 0)
		return rc;
	if ((rc = spool_move_task(sp, rq->id, from, to, c != NULL)) < 0)
		spool_intent_drop(c, sp, rq->id);
	return rc;
}

/* The rename failed: the bytes written for it give way to those before,
 * and the failure is what is reported. */
static void unwrite(spool *sp, const char *id, const char *before,
		    size_t blen, const char *after)
{
	int code = spool_error_code();
	char msg[1024];

	snprintf(msg, sizeof(msg), "%s", spool_error_message());
	spool_intent_unwrite(sp, id, NULL, before, blen, after,
			     strlen(after));
	spool_error_set(code, "%s", msg);
}

/*
 * A command's move that changes the task: the content first, then the
 * rename, so that the task never shows in its new place without what the
 * transition writes. Renamed first, an agent could claim it from ready/
 * before the rewrite, which then failed, and the command with it, its
 * move already taken up by the claim.
 */
static int rewrite_and_rename(spool_commit *c, spool *sp,
			      const spool_request *rq, const spool_row *row,
			      const spool_loc *to, const char *s)
{
	char src[PATH_MAX], *before = NULL;
	size_t len;
	int rc;

	spool_loc_path(src, sizeof(src), &rq->from, rq->id);
	if ((rc = spool_intent_place(c, sp, rq, row, to, s)) < 0)
		return rc;
	if ((rc = spool_fs_read(&before, &len, sp, src,
				spool_task_max(sp))) < 0 ||
	    (rc = spool_fs_rewrite(sp, src, s, strlen(s))) < 0) {
		spool_intent_drop(c, sp, rq->id);
		free(before);
		return rc;
	}
	if ((rc = spool_move_task(sp, rq->id, &rq->from, to, c != NULL)) < 0) {
		unwrite(sp, rq->id, before, len, s);
		spool_intent_drop(c, sp, rq->id);
	}
	free(before);
	return rc;
}

/* Puts the file where the row ends, with what it must hold. */
static int place(spool_commit *c, spool *sp, const spool_request *rq,
		 const spool_row *row, const spool_loc *to, json_t *task,
		 bool rewrite)
{
	spool_loc at = file_at(rq);
	bool renamed = false;
	char path[PATH_MAX], *s;
	int rc;

	if (!rq->moved && (rq->from.state == SPOOL_STATE_NONE ||
			   rq->from.state == SPOOL_STATE_NEW)) {
		if ((rc = spool_intent_place(c, sp, rq, row, to, NULL)) < 0)
			return rc;
		return create(sp, rq, to, task);
	}
	if (!rq->moved && rewrite && !spool_intent_own_claim(rq, row, to)) {
		if (!(s = spool_task_dump(task)))
			return spool_error_set(SPOOL_ERROR, "out of memory");
		rc = rewrite_and_rename(c, sp, rq, row, to, s);
		free(s);
		return rc;
	}
	if (!rq->moved) {
		if ((rc = rename_task(c, sp, rq, row, &rq->from, to)) < 0)
			return rc;
		at = *to;
		renamed = true;
	} else if (!spool_loc_same(to, &rq->to) && !spool_loc_same(to, &at)) {
		/* It ends past where it was moved (the last attempt of a
		 * release goes on to failed/); unless it is there already,
		 * as when a killed process's move is recorded again. */
		if ((rc = rename_task(c, sp, rq, row, &at, to)) < 0)
			return rc;
		at = *to;
		renamed = true;
	}
	if (!rewrite)
		return 0;
	if (!(s = spool_task_dump(task)))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	/* A rename's intent undoes its rewrite too; a move an agent made
	 * has none, so the rewrite gets its own: killed before the commit,
	 * the spool's values would stay in a file no commit has them in,
	 * and look like an agent's edit to the next process. */
	rc = renamed ? 0 : spool_intent_rewrite(c, sp, rq->id, &at, s,
						strlen(s));
	spool_loc_path(path, sizeof(path), &at, rq->id);
	if (rc == 0 && (rc = spool_fs_rewrite(sp, path, s, strlen(s))) < 0 &&
	    !renamed)
		spool_intent_drop(c, sp, rq->id);	/* nothing written */
	free(s);
	return rc;
}

static int stage(spool_commit *c, const spool_loc *loc, const char *id)
{
	char path[PATH_MAX];

	if (loc->state == SPOOL_STATE_NONE)
		return 0;
	spool_loc_path(path, sizeof(path), loc, id);
	return spool_commit_path(c, path);
}

static int record_violation(spool_commit *c, const spool_request *rq,
			    const char *changed)
{
	const char *agent = spool_machine_holder(&rq->from, &rq->to);
	spool_loc where = rq->from.state == SPOOL_STATE_CLAIMED
			  ? rq->from : rq->to;
	spool_transition v;

	if (!agent)
		agent = spool_machine_mover(&rq->from, &rq->to);
	spool_transition_init(&v, rq->id, &where, &where, "revert", agent);
	snprintf(v.note, sizeof(v.note), "violation: '%s' changed %s, which "
		 "only the spool writes; the recorded values stand", agent,
		 changed);
	return spool_commit_transition(c, &v);
}

/*
 * Whether deliverables/ID keeps within the limits, by what stat says
 * before any of it is read: *why says which it passes (empty: none).
 * A link on the way to it fits nothing.
 */
static int deliverables_fit(char *why, size_t len, spool *sp, const char *id)
{
	char deliv[PATH_MAX];
	spool_measure m = { 0 };
	spool_limits l;
	int rc;

	why[0] = '\0';
	spool_config_limits(&l, sp);
	spool_deliverables_path(deliv, sizeof(deliv), id);
	m.max_files = (uint64_t)l.submission_files;
	rc = spool_fs_measure(&m, sp, deliv);
	if (rc == SPOOL_EINVALID) {
		snprintf(why, len, "%s", spool_error_message());
		spool_error_clear();
		return 0;
	}
	if (rc < 0)
		return rc;
	if (m.files > (uint64_t)l.submission_files)
		snprintf(why, len, "'%s' holds more than %lld files (the "
			 "limit, limits.submission_files)", deliv,
			 (long long)l.submission_files);
	else if (m.largest > (uint64_t)l.file_bytes)
		snprintf(why, len, "'%s' in '%s' is %llu bytes, over the "
			 "limit of %lld (limits.file_bytes)", m.largest_name,
			 deliv, (unsigned long long)m.largest,
			 (long long)l.file_bytes);
	else if (m.bytes > (uint64_t)l.submission_bytes)
		snprintf(why, len, "'%s' holds %llu bytes, over the limit of "
			 "%lld (limits.submission_bytes)", deliv,
			 (unsigned long long)m.bytes,
			 (long long)l.submission_bytes);
	return 0;
}

/* A submission over the limits goes back to its agent at once, with the
 * reason as feedback, by the spool's own reject. */
static int send_back(spool_outcome *out, spool_commit *c, spool *sp,
		     const spool_request *rq, const char *why)
{
	char feedback[700];
	spool_request back = { .id = rq->id, .from = out->to,
			       .to.state = SPOOL_STATE_NONE, .verb = "reject",
			       .actor = "spool", .via = SPOOL_VIA_SPOOL,
			       .feedback = feedback, .now = rq->now };
	spool_outcome o;
	int rc;

	snprintf(feedback, sizeof(feedback), "deliverables refused: %s; "
		 "make them smaller and submit again", why);
	rc = spool_transition_apply(&o, c, sp, &back);
	if (rc == 0)
		out->to = o.to;
	spool_outcome_clear(&o);
	return rc;
}

/* Where a command's move leaves the task, as it wrote it: read back
 * from the disk, an agent may have taken it on already (a claim from
 * ready/ right after a reject), and HEAD's old bytes would be recorded
 * instead. A move already made is staged from the disk: its steps may
 * pass through places the file never was (a release not seen). */
static int stage_written(spool_commit *c, const spool_loc *to,
			 const char *id, json_t *task)
{
	char path[PATH_MAX], *s = spool_task_dump(task);
	int rc;

	if (!s)
		return spool_error_set(SPOOL_ERROR, "out of memory");
	spool_loc_path(path, sizeof(path), to, id);
	rc = spool_commit_blob(c, path, s, strlen(s));
	free(s);
	return rc;
}

/* Filed: create() wrote out->task, which is what is recorded, without
 * reading it back (thousands in a batch). */
static bool created(const spool_request *rq)
{
	return rq->from.state == SPOOL_STATE_NONE ||
	       rq->from.state == SPOOL_STATE_NEW;
}

/*
 * Where the task was. A command renamed it away: whatever is there now an
 * agent put there since (it claimed the task from ready/ and submitted it
 * at once), for the next look to record; read from the disk, it would
 * leave the task in two places at HEAD. So it is for a killed command's
 * move recorded from its intent (rq->written): the task may be back.
 */
static int unstage_from(spool_commit *c, const spool_request *rq,
			const spool_loc *to)
{
	char path[PATH_MAX];

	if ((rq->moved && !rq->written) || created(rq) ||
	    spool_loc_same(&rq->from, to))
		return stage(c, &rq->from, rq->id);
	spool_loc_path(path, sizeof(path), &rq->from, rq->id);
	return spool_commit_remove(c, path);
}

static int record(spool_outcome *out, spool_commit *c, const spool_request *rq,
		  const char *changed, const char *too_big, bool rewrote)
{
	char deliv[PATH_MAX], path[PATH_MAX];
	int rc;

	if (changed[0] && (rc = record_violation(c, rq, changed)) < 0)
		return rc;
	if ((rc = unstage_from(c, rq, &out->to)) < 0)
		return rc;
	if (rq->moved && !spool_loc_same(&rq->to, &out->to) &&
	    (rc = stage(c, &rq->to, rq->id)) < 0)
		return rc;
	if (rq->written) {
		spool_loc_path(path, sizeof(path), &out->to, rq->id);
		rc = spool_commit_blob(c, path, rq->written,
				       strlen(rq->written));
	} else {
		rc = (rewrote || created(rq)) && !rq->moved
		     ? stage_written(c, &out->to, rq->id, out->task)
		     : stage(c, &out->to, rq->id);
	}
	if (rc < 0)
		return rc;
	/* The deliverables go with the submission that produced them. */
	if (out->row->effects & SPOOL_E_DELIVERABLES) {
		spool_deliverables_path(deliv, sizeof(deliv), rq->id);
		/* Over a limit: none of it is read, what was recorded
		 * before stays. */
		rc = too_big[0] ? spool_commit_refuse(c, deliv, too_big, false)
				: spool_commit_path(c, deliv);
		if (rc < 0)
			return rc;
	}
	return spool_commit_transition(c, &out->t);
}

/* A row that brings deliverables to review. */
static bool submits(const spool_row *row)
{
	return (row->effects & SPOOL_E_DELIVERABLES) &&
	       row->to == SPOOL_STATE_REVIEW;
}

int spool_transition_apply(spool_outcome *out, spool_commit *c, spool *sp,
			   const spool_request *rq)
{
	char changed[SPOOL_CHANGED_MAX], note[sizeof(out->t.note)];
	char too_big[600];
	bool rewrite;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = decide(out, changed, sizeof(changed), sp, c, rq)) < 0)
		return rc;
	too_big[0] = '\0';
	if ((out->row->effects & SPOOL_E_DELIVERABLES) &&
	    (rc = deliverables_fit(too_big, sizeof(too_big), sp, rq->id)) < 0)
		return rc;
	/* Asked by a command: refused before anything moves. A raw move
	 * is made already: recorded, then sent back. */
	if (too_big[0] && submits(out->row) && !rq->moved)
		return spool_error_set(SPOOL_EINVALID, "cannot submit '%s': "
				       "%s", rq->id, too_big);
	row_note(note, sizeof(note), out->row, rq, &out->facts, sp);
	rewrite = effects(out->task, out->row, rq, &out->facts, note) ||
		  changed[0] || out->stale;
	if (!rq->written &&
	    (rc = place(c, sp, rq, out->row, &out->to, out->task,
			rewrite)) < 0)
		return rc;
	out->violation = changed[0] != '\0';
	out->release = out->row->effects & SPOOL_E_RELEASE;
	spool_transition_init(&out->t, rq->id, &rq->from, &out->to,
			      out->row->verb, rq->actor);
	snprintf(out->t.note, sizeof(out->t.note), "%s", note);
	out->t.attempt = spool_task_int(out->task, "attempt", 1);
	if (!c)
		return 0;
	if ((rc = record(out, c, rq, changed, too_big, rewrite)) < 0)
		return rc;
	return too_big[0] && submits(out->row)
	       ? send_back(out, c, sp, rq, too_big) : 0;
}

int spool_transition_police(bool *reverted, spool_commit *c, spool *sp,
			    const char *id, const spool_loc *loc,
			    bool violation)
{
	spool_request rq = { .id = id, .from = *loc, .to = *loc };
	json_t *disk = NULL, *rec = NULL, *task = NULL;
	char changed[SPOOL_CHANGED_MAX];
	char path[PATH_MAX];
	int rc;

	*reverted = false;
	if (!spool_commit_base(c))
		return 0;
	if ((rc = spool_task_load(&disk, sp, loc, id)) < 0)
		goto out;	/* gone, or broken: its next move says */
	spool_loc_path(path, sizeof(path), loc, id);
	if ((rc = spool_tree_task(&rec, sp, spool_commit_base(c), path, id)) < 0)
		goto out;	/* not recorded here yet: its move is */
	if (!(task = spool_machine_merge(rec, disk, changed,
					 sizeof(changed)))) {
		rc = spool_error_set(SPOOL_ERROR, "out of memory");
		goto out;
	}
	if (!changed[0])
		goto out;
	violation = violation &&
		    !spool_values_recorded(sp, id, disk, changed);
	if ((rc = spool_task_store(sp, loc, id, task)) < 0 ||
	    (violation && (rc = record_violation(c, &rq, changed)) < 0) ||
	    (rc = spool_commit_path(c, path)) < 0)
		goto out;
	*reverted = violation;
out:
	json_decref(disk);
	json_decref(rec);
	json_decref(task);
	if (rc == SPOOL_ENOTFOUND || rc == SPOOL_EINVALID) {
		spool_error_clear();
		rc = 0;
	}
	return rc;
}

/* ---- releasing waiting work -------------------------------------------- */

/* Notes a dependency that will never finish, once per cause. This is a
 * report in the task, not a move. */
static int report_dead(spool_commit *c, spool *sp, json_t *task,
		       const char *id, const char *why)
{
	json_t *errs = json_object_get(task, "errors");
	json_t *last = json_array_get(errs, json_array_size(errs) - 1);
	const char *text = json_string_value(json_object_get(last, "text"));
	spool_loc blocked = { .state = SPOOL_STATE_BLOCKED };
	spool_transition t;
	char path[PATH_MAX];
	int rc;

	if (text && strcmp(text, why) == 0)
		return 0;
	append_entry(task, "errors", "spool", why);
	if ((rc = spool_task_store(sp, &blocked, id, task)) < 0)
		return rc == SPOOL_ENOTFOUND ? 0 : rc;
	spool_loc_path(path, sizeof(path), &blocked, id);
	spool_transition_init(&t, id, &blocked, &blocked, "report", "spool");
	snprintf(t.note, sizeof(t.note), "%s", why);
	if ((rc = spool_commit_path(c, path)) < 0)
		return rc;
	return spool_commit_transition(c, &t);
}

static int advance_one(bool *moved, spool_commit *c, spool *sp,
		       const char *id)
{
	spool_request rq = { .id = id, .from.state = SPOOL_STATE_BLOCKED,
			     .to.state = SPOOL_STATE_NONE, .actor = "spool",
			     .via = SPOOL_VIA_SPOOL };
	spool_outcome o;
	char why[256];
	int rc;

	*moved = false;
	rc = spool_transition_apply(&o, c, sp, &rq);
	*moved = rc == 0;
	if (rc == SPOOL_EILLEGAL && o.task) {
		spool_error_clear();
		rc = 0;
		if (o.facts.children && o.facts.child_dead) {
			rc = report_dead(c, sp, o.task, id, "a subtask failed "
				"or was cancelled; retry it or cancel this "
				"task");
		} else if (!o.facts.children && o.facts.deps_dead[0]) {
			snprintf(why, sizeof(why), "dependency %s will never "
				 "be done; retry it or cancel this task",
				 o.facts.deps_dead);
			rc = report_dead(c, sp, o.task, id, why);
		}
	}
	spool_outcome_clear(&o);
	/* Gone, broken, or moved meanwhile: the next pass sees where. */
	if (rc == SPOOL_ENOTFOUND || rc == SPOOL_EEXISTS ||
	    rc == SPOOL_EINVALID) {
		spool_error_clear();
		rc = 0;
	}
	return rc;
}

int spool_advance(spool *sp, spool_commit *c, size_t *released)
{
	bool again = true;
	int rc = 0;

	/* A completed parent can release more work: repeat until still. */
	for (int round = 0; again && round < 32 && rc == 0; round++) {
		spool_entry *list = NULL;
		size_t n = 0;
		again = false;
		if ((rc = spool_list(&list, &n, sp, SPOOL_STATE_BLOCKED,
				     NULL)) < 0)
			break;
		for (size_t i = 0; i < n && rc == 0; i++) {
			bool moved;
			rc = advance_one(&moved, c, sp, list[i].id);
			if (moved) {
				again = true;
				if (released)
					(*released)++;
			}
		}
		free(list);
	}
	return rc;
}
