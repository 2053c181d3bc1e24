/* The state machine: which moves are legal, and what they are called. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "spool-int.h"
#include "operator-int.h"

static bool is_open(spool_state s)
{
	return s == SPOOL_STATE_NEW || s == SPOOL_STATE_BLOCKED ||
	       s == SPOOL_STATE_READY || s == SPOOL_STATE_CLAIMED ||
	       s == SPOOL_STATE_REVIEW;
}

static bool plan_pending(json_t *task)
{
	const char *mode = spool_task_str(task, "mode");

	return mode && strcmp(mode, "plan_first") == 0 &&
	       !json_is_true(json_object_get(task, "plan_approved"));
}

const char *spool_rules_verb(json_t *task, const spool_loc *from,
			     const spool_loc *to)
{
	spool_state f = from->state, t = to->state;

	if (t == SPOOL_STATE_CANCELLED)
		return "cancel";
	switch (f) {
	case SPOOL_STATE_NONE:
		return "add";
	case SPOOL_STATE_NEW:
		return t == SPOOL_STATE_QUARANTINE ? "quarantine" : "file";
	case SPOOL_STATE_BLOCKED:
		return t == SPOOL_STATE_DONE ? "complete" : "unblock";
	case SPOOL_STATE_READY:
		return t == SPOOL_STATE_DONE ? "complete" : "claim";
	case SPOOL_STATE_CLAIMED:
		return t == SPOOL_STATE_REVIEW ? "submit"
		     : t == SPOOL_STATE_FAILED ? "fail" : "release";
	case SPOOL_STATE_REVIEW:
		if (t == SPOOL_STATE_DONE)
			return "approve";
		if (t == SPOOL_STATE_CLAIMED && plan_pending(task))
			return "reject";
		return "reject";
	case SPOOL_STATE_FAILED:
		return "retry";
	case SPOOL_STATE_QUARANTINE:
		return "requeue";
	default:
		return "move";
	}
}

static int illegal(const char *id, const spool_loc *from, const spool_loc *to,
		   const char *why)
{
	char f[128], t[128];

	spool_loc_format(f, sizeof(f), from);
	spool_loc_format(t, sizeof(t), to);
	return spool_error_set(SPOOL_EILLEGAL, "cannot move '%s' from %s to "
			       "%s: %s", id, f, t, why);
}

static int check_claimer(spool *sp, json_t *task, const char *id,
			 const spool_loc *from, const spool_loc *to)
{
	const char *assignee = spool_task_str(task, "assignee");
	json_t *agent = NULL;
	char why[256];
	int rc = 0;

	if (spool_agent_load(&agent, sp, to->agent) < 0) {
		snprintf(why, sizeof(why), "agent '%s' is not registered "
			 "(spool agent add %s)", to->agent, to->agent);
		return illegal(id, from, to, why);
	}
	if (assignee && strcmp(assignee, to->agent) != 0) {
		snprintf(why, sizeof(why), "it is assigned to '%s'", assignee);
		rc = illegal(id, from, to, why);
	} else if (!spool_agent_capable(agent, task)) {
		char *req = json_dumps(json_object_get(task, "requires"),
				       JSON_COMPACT);
		snprintf(why, sizeof(why), "agent '%s' lacks a required "
			 "capability (requires %s)", to->agent,
			 req ? req : "?");
		free(req);
		rc = illegal(id, from, to, why);
	}
	json_decref(agent);
	return rc;
}

/* blocked -> ready only when the task no longer waits for anything. */
static int check_unblock(spool *sp, json_t *task, const char *id,
			 const spool_loc *from, const spool_loc *to)
{
	char dead[128];
	bool ready;
	int rc;

	if (json_array_size(json_object_get(task, "children")) > 0)
		return illegal(id, from, to, "it is a parent task; the spool "
			       "completes it when its subtasks are done");
	if ((rc = spool_deps_state(&ready, dead, sizeof(dead), sp, task)) < 0)
		return rc;
	if (!ready)
		return illegal(id, from, to, "its dependencies are not all "
			       "done yet");
	return 0;
}

int spool_rules_check(spool *sp, json_t *task, const char *id,
		      const spool_loc *from, const spool_loc *to)
{
	spool_state f = from->state, t = to->state;

	if (f == t && (f != SPOOL_STATE_CLAIMED ||
		       strcmp(from->agent, to->agent) == 0))
		return illegal(id, from, to, "it is already there");
	if (t == SPOOL_STATE_CANCELLED)
		return is_open(f) ? 0 : illegal(id, from, to,
			"only open tasks can be cancelled");
	switch (f) {
	case SPOOL_STATE_NEW:
		if (t == SPOOL_STATE_READY || t == SPOOL_STATE_BLOCKED ||
		    t == SPOOL_STATE_QUARANTINE)
			return 0;
		return illegal(id, from, to, "new tasks are filed by the "
			       "spool to ready, blocked or quarantine");
	case SPOOL_STATE_BLOCKED:
		if (t == SPOOL_STATE_READY)
			return check_unblock(sp, task, id, from, to);
		return illegal(id, from, to, "a blocked task can only "
			       "become ready");
	case SPOOL_STATE_READY:
		if (t == SPOOL_STATE_CLAIMED)
			return check_claimer(sp, task, id, from, to);
		if (t == SPOOL_STATE_BLOCKED)
			return 0;	/* a dependency or child was added */
		return illegal(id, from, to, "a ready task must be claimed "
			       "first (mv ready/ID.json claimed/AGENT/)");
	case SPOOL_STATE_CLAIMED:
		if (t == SPOOL_STATE_REVIEW || t == SPOOL_STATE_READY ||
		    t == SPOOL_STATE_FAILED)
			return 0;
		return illegal(id, from, to, "a claimed task goes to review "
			       "(submit), ready (release) or failed");
	case SPOOL_STATE_REVIEW:
		if (t == SPOOL_STATE_DONE && plan_pending(task))
			return illegal(id, from, to, "this is a plan_first "
				"task and its plan is not approved yet; "
				"approve the plan with 'spool approve'");
		if (t == SPOOL_STATE_DONE || t == SPOOL_STATE_READY)
			return 0;
		if (t == SPOOL_STATE_CLAIMED)
			return check_claimer(sp, task, id, from, to);
		return illegal(id, from, to, "a task in review is approved "
			       "(done) or rejected (ready, claimed/AGENT)");
	case SPOOL_STATE_FAILED:
		if (t == SPOOL_STATE_READY)
			return 0;
		return illegal(id, from, to, "a failed task can only be "
			       "retried (ready)");
	case SPOOL_STATE_QUARANTINE:
		if (t == SPOOL_STATE_NEW)
			return 0;
		return illegal(id, from, to, "fix a quarantined task and "
			       "move it back to new/");
	default:
		return illegal(id, from, to, "finished tasks do not move");
	}
}

int spool_deps_state(bool *ready, char *dead, size_t deadlen, spool *sp,
		     json_t *task)
{
	size_t i;
	json_t *d;

	*ready = true;
	if (dead && deadlen)
		dead[0] = '\0';
	json_array_foreach(json_object_get(task, "depends_on"), i, d) {
		const char *dep = json_string_value(d);
		spool_loc loc;
		int rc = spool_task_find(&loc, sp, dep);
		spool_archived arc;
		/* Finished work may have been archived out of the tree. */
		if (rc == SPOOL_ENOTFOUND &&
		    spool_archive_find(&arc, NULL, NULL, sp, dep) == 0) {
			loc.state = arc.state;
			rc = 0;
		}
		if (rc == SPOOL_ENOTFOUND) {
			*ready = false;
			if (dead && !dead[0])
				snprintf(dead, deadlen, "%s (missing)", dep);
			continue;
		}
		if (rc < 0 && rc != SPOOL_EEXISTS)
			return rc;
		if (loc.state != SPOOL_STATE_DONE)
			*ready = false;
		if ((loc.state == SPOOL_STATE_FAILED ||
		     loc.state == SPOOL_STATE_CANCELLED) && dead && !dead[0])
			snprintf(dead, deadlen, "%s (%s)", dep,
				 spool_state_name(loc.state));
	}
	spool_error_clear();
	return 0;
}
