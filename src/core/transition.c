/*
 * What a move means beyond the rename: the fields the spool writes (attempt,
 * submitted_by, feedback, plan_approved), the paths that go into the
 * commit, and the release of work that was waiting. Shared by the CLI's
 * operations, reconcile and the daemon.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spool-int.h"
#include "transition.h"

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

/*
 * The fields a move changes. Returns true if the task changed and must be
 * written back.
 */
static bool update_fields(json_t *task, const spool_transition *t,
			  const char *feedback, long max_attempts)
{
	spool_state f = t->from.state, to = t->to.state;
	long attempt = spool_task_int(task, "attempt", 1);
	bool changed = false;

	(void)max_attempts;
	if (f == SPOOL_STATE_CLAIMED && to == SPOOL_STATE_REVIEW) {
		json_object_set_new(task, "submitted_by",
				    json_string(t->from.agent));
		changed = true;
	}
	if ((f == SPOOL_STATE_CLAIMED || f == SPOOL_STATE_FAILED) &&
	    to == SPOOL_STATE_READY) {
		json_object_set_new(task, "attempt", json_integer(attempt + 1));
		changed = true;
	}
	if (strcmp(t->verb, "approve-plan") == 0) {
		json_object_set_new(task, "plan_approved", json_true());
		changed = true;
	}
	if (feedback && *feedback) {
		append_entry(task, "feedback", t->actor, feedback);
		changed = true;
	}
	if (to == SPOOL_STATE_FAILED && t->note[0]) {
		append_entry(task, "errors", t->actor, t->note);
		changed = true;
	}
	return changed;
}

bool spool_transition_effects(json_t *task, spool_transition *t,
			      const char *feedback)
{
	bool changed;

	t->attempt = spool_task_int(task, "attempt", 1);
	changed = update_fields(task, t, feedback, 0);
	t->attempt = spool_task_int(task, "attempt", 1);
	return changed;
}

int spool_record_move(spool_commit *c, spool *sp, json_t *task,
		      spool_transition *t, const char *feedback)
{
	char from[PATH_MAX], to[PATH_MAX], deliv[PATH_MAX];
	int rc;

	if (spool_transition_effects(task, t, feedback) &&
	    (rc = spool_task_store(sp, &t->to, t->id, task)) < 0)
		return rc;
	if (t->from.state != SPOOL_STATE_NONE) {
		spool_loc_path(from, sizeof(from), &t->from, t->id);
		if ((rc = spool_commit_path(c, from)) < 0)
			return rc;
	}
	if (t->to.state != SPOOL_STATE_NONE) {
		spool_loc_path(to, sizeof(to), &t->to, t->id);
		if ((rc = spool_commit_path(c, to)) < 0)
			return rc;
	}
	/* The deliverables go with the submission that produced them. */
	if (t->to.state == SPOOL_STATE_REVIEW ||
	    t->to.state == SPOOL_STATE_DONE) {
		spool_deliverables_path(deliv, sizeof(deliv), t->id);
		if ((rc = spool_commit_path(c, deliv)) < 0)
			return rc;
	}
	return spool_commit_transition(c, t);
}

int spool_move_task(spool *sp, const char *id, const spool_loc *from,
		    const spool_loc *to, bool sync)
{
	char src[PATH_MAX], dst[PATH_MAX], dir[128];
	int rc;

	spool_loc_path(src, sizeof(src), from, id);
	spool_loc_path(dst, sizeof(dst), to, id);
	if (to->state == SPOOL_STATE_CLAIMED) {
		spool_loc_format(dir, sizeof(dir), to);
		if ((rc = spool_fs_mkdirs(sp, dir)) < 0)
			return rc;
	}
	return sync ? spool_fs_move(sp, src, dst)
		    : spool_fs_move_unsynced(sp, src, dst);
}

int spool_do_move(spool_commit *c, spool *sp, json_t *task,
		  spool_transition *t, const char *feedback)
{
	int rc;

	if ((rc = spool_move_task(sp, t->id, &t->from, &t->to, true)) < 0)
		return rc;
	return spool_record_move(c, sp, task, t, feedback);
}

/* ---- releasing waiting work -------------------------------------------- */

static bool all_children_done(bool *dead, spool *sp, json_t *task)
{
	json_t *children = json_object_get(task, "children");
	size_t i;
	json_t *ch;

	*dead = false;
	json_array_foreach(children, i, ch) {
		spool_loc loc;
		if (spool_task_find(&loc, sp, json_string_value(ch)) < 0)
			return false;
		if (loc.state == SPOOL_STATE_FAILED ||
		    loc.state == SPOOL_STATE_CANCELLED)
			*dead = true;
		if (loc.state != SPOOL_STATE_DONE)
			return false;
	}
	return json_array_size(children) > 0;
}

/* Notes a dependency that will never finish, once per cause. */
static int report_dead(spool_commit *c, spool *sp, json_t *task,
		       const char *id, const char *why)
{
	json_t *errs = json_object_get(task, "errors");
	json_t *last = json_array_get(errs, json_array_size(errs) - 1);
	spool_loc blocked = { .state = SPOOL_STATE_BLOCKED };
	spool_transition t;
	char path[PATH_MAX];
	int rc;

	if (last && strcmp(json_string_value(json_object_get(last, "text"))
			   ? json_string_value(json_object_get(last, "text"))
			   : "", why) == 0)
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
	spool_loc blocked = { .state = SPOOL_STATE_BLOCKED };
	spool_loc ready = { .state = SPOOL_STATE_READY };
	spool_loc done = { .state = SPOOL_STATE_DONE };
	spool_transition t;
	json_t *task = NULL;
	char dead[128], why[256];
	bool deps_ok, child_dead;
	int rc;

	*moved = false;
	if ((rc = spool_task_load(&task, sp, &blocked, id)) < 0)
		return rc == SPOOL_ENOTFOUND || rc == SPOOL_EINVALID ? 0 : rc;
	if (json_array_size(json_object_get(task, "children")) > 0) {
		if (all_children_done(&child_dead, sp, task)) {
			spool_transition_init(&t, id, &blocked, &done,
					      "complete", "spool");
			snprintf(t.note, sizeof(t.note),
				 "all subtasks are done");
			rc = spool_do_move(c, sp, task, &t, NULL);
			*moved = rc == 0;
		} else if (child_dead) {
			rc = report_dead(c, sp, task, id, "a subtask failed or "
				"was cancelled; retry it or cancel this task");
		}
		goto out;
	}
	if ((rc = spool_deps_state(&deps_ok, dead, sizeof(dead), sp,
				   task)) < 0)
		goto out;
	if (deps_ok) {
		spool_transition_init(&t, id, &blocked, &ready, "unblock",
				      "spool");
		rc = spool_do_move(c, sp, task, &t, NULL);
		*moved = rc == 0;
	} else if (dead[0]) {
		snprintf(why, sizeof(why), "dependency %s will never be done; "
			 "retry it or cancel this task", dead);
		rc = report_dead(c, sp, task, id, why);
	}
out:
	json_decref(task);
	/* Someone moved it meanwhile: the next pass sees where. */
	return rc == SPOOL_ENOTFOUND || rc == SPOOL_EEXISTS ? 0 : rc;
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
