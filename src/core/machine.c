/*
 * The state machine as one table, and the decision that reads it. See
 * machine.h. Nothing here reads the spool: the facts come in.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "machine.h"
#include "state.h"
#include "daemon.h"

#define F(s) SPOOL_FROM(SPOOL_STATE_##s)
#define S(s) SPOOL_STATE_##s
#define OPEN (F(NEW) | F(BLOCKED) | F(READY) | F(CLAIMED) | F(REVIEW))
#define NONE SPOOL_STATE_NONE
#define AGENT SPOOL_WHO_SELF
#define REVIEWER SPOOL_WHO_REVIEWER
#define OPERATOR SPOOL_WHO_OPERATOR
#define ANYONE SPOOL_WHO_ANYONE
#define SPOOL SPOOL_WHO_SPOOL
#define MV SPOOL_VIA_MV
#define CMD SPOOL_VIA_CMD
#define BY_SPOOL SPOOL_VIA_SPOOL
#define G(x) SPOOL_G_##x
#define E(x) SPOOL_E_##x
#define ASKED SPOOL_HOLDER_ASKED
#define SUBMITTER SPOOL_HOLDER_SUBMITTER

/*
 * The protocol. Rows are tried in order: of two rows for one request, the
 * first whose guards hold is the transition. A move that no row allows is
 * illegal.
 */
const spool_row spool_rows[] = {
	/* verb, asked, from, ask, to, holder, who, via, guards, effects */
	{ "file", NULL, F(NONE), NONE, S(NEW), 0, ANYONE, MV, 0, 0,
	  "write the task in tmp/, then mv it into new/" },
	{ "file", NULL, F(NEW), NONE, S(READY), 0, SPOOL, BY_SPOOL,
	  G(DEPS_DONE) | G(NOT_HELD), 0,
	  "a valid task; its references exist" },
	{ "file", NULL, F(NEW), NONE, S(BLOCKED), 0, SPOOL, BY_SPOOL,
	  0, E(DEAD_DEP), "it waits for a dependency" },
	{ "quarantine", NULL, F(NEW), NONE, S(QUARANTINE), 0, SPOOL,
	  BY_SPOOL, 0, 0, "refused input; a .reason file says why" },
	{ "add", NULL, F(NONE), NONE, S(READY), 0, ANYONE | SPOOL,
	  CMD | BY_SPOOL, G(DEPS_DONE) | G(NOT_HELD), 0, "spool add" },
	{ "add", NULL, F(NONE), NONE, S(BLOCKED), 0, ANYONE | SPOOL,
	  CMD | BY_SPOOL, 0, E(DEAD_DEP),
	  "it waits for a dependency, or was added with --hold" },
	{ "block", NULL, F(READY), NONE, S(BLOCKED), 0, SPOOL, BY_SPOOL,
	  G(HAS_CHILDREN), 0, "a subtask was added" },
	{ "unblock", NULL, F(BLOCKED), NONE, S(READY), 0, SPOOL, BY_SPOOL,
	  G(DEPS_DONE) | G(NO_CHILDREN) | G(NOT_HELD), 0,
	  "what it waited for is done" },
	{ "unhold", NULL, F(BLOCKED), NONE, S(READY), 0, ANYONE, CMD,
	  G(DEPS_DONE) | G(NO_CHILDREN), E(UNHOLD),
	  "spool unhold: a task held without subtasks is released" },
	{ "complete", NULL, F(BLOCKED), NONE, S(DONE), 0, SPOOL, BY_SPOOL,
	  G(CHILDREN_DONE), E(RELEASE), "a parent, once its subtasks are" },
	{ "claim", NULL, F(READY), NONE, S(CLAIMED), ASKED, AGENT,
	  MV | CMD, G(REGISTERED) | G(ASSIGNEE) | G(CAPABLE), 0,
	  "mv ready/ID.json claimed/A/, or spool claim" },
	{ "submit", NULL, F(CLAIMED), NONE, S(REVIEW), 0, AGENT | OPERATOR,
	  MV | CMD, 0, E(SUBMITTED_BY) | E(DELIVERABLES),
	  "mv claimed/A/ID.json review/, or spool submit" },
	{ "release", NULL, F(CLAIMED), NONE, S(READY), 0, AGENT | OPERATOR,
	  MV | CMD, G(ATTEMPTS_LEFT), E(ATTEMPT),
	  "mv claimed/A/ID.json ready/, or spool release" },
	{ "fail", "release", F(CLAIMED), S(READY), S(FAILED), 0,
	  AGENT | OPERATOR, MV | CMD, G(LAST_ATTEMPT),
	  E(ERROR) | E(RELEASE),
	  "a release on the last attempt ends in failed/" },
	{ "fail", NULL, F(CLAIMED), NONE, S(FAILED), 0, AGENT | OPERATOR,
	  CMD, G(REASON), E(ERROR) | E(BACKOFF) | E(RELEASE),
	  "spool fail --reason: the agent gives up" },
	{ "ask", NULL, F(CLAIMED), NONE, S(BLOCKED), 0, AGENT | OPERATOR,
	  CMD, G(REASON), E(ASKED),
	  "spool ask: it waits in blocked/ for the answer to its question" },
	{ "answer", NULL, F(READY) | F(CLAIMED) | F(REVIEW), NONE, S(DONE), 0,
	  AGENT | OPERATOR, CMD,
	  G(QUESTION) | G(CHILDREN_CLOSED) | G(FEEDBACK),
	  E(FEEDBACK) | E(RELEASE), "spool answer: the question is done" },
	{ "resume", NULL, F(BLOCKED), NONE, S(CLAIMED), ASKED, SPOOL,
	  BY_SPOOL, G(DEPS_DONE) | G(NO_CHILDREN) | G(ASKER) |
	  G(REGISTERED) | G(ASSIGNEE) | G(CAPABLE), E(FEEDBACK),
	  "its question answered: back to the agent who asked, with the "
	  "answer" },
	{ "expire", NULL, F(CLAIMED), NONE, S(READY), 0, SPOOL, BY_SPOOL,
	  G(ATTEMPTS_LEFT) | G(LEASE_EXPIRED), E(ATTEMPT),
	  "no heartbeat for the task's lease" },
	{ "expire", NULL, F(CLAIMED), NONE, S(FAILED), 0, SPOOL, BY_SPOOL,
	  G(LAST_ATTEMPT) | G(LEASE_EXPIRED), E(ERROR) | E(RELEASE),
	  "no heartbeat, on the last attempt" },
	{ "approve-plan", "approve", F(REVIEW), NONE, S(CLAIMED), SUBMITTER,
	  REVIEWER | OPERATOR, CMD,
	  G(PLAN_PENDING) | G(NOT_SELF_REVIEW) | G(SUBMITTER) |
	  G(REGISTERED) | G(ASSIGNEE) | G(CAPABLE),
	  E(PLAN_APPROVED) | E(FEEDBACK),
	  "the plan is approved: back to its agent to execute" },
	{ "approve", NULL, F(REVIEW), NONE, S(DONE), 0,
	  REVIEWER | OPERATOR | SPOOL, CMD | BY_SPOOL,
	  G(CHILDREN_CLOSED) | G(PLAN_SETTLED) | G(NOT_SELF_REVIEW),
	  E(FEEDBACK) | E(DELIVERABLES) | E(RELEASE),
	  "spool approve, or its acceptance check passed" },
	{ "approve", NULL, F(REVIEW), NONE, S(BLOCKED), 0,
	  REVIEWER | OPERATOR | SPOOL, CMD | BY_SPOOL,
	  G(CHILDREN_OPEN) | G(PLAN_SETTLED) | G(NOT_SELF_REVIEW),
	  E(FEEDBACK) | E(DELIVERABLES),
	  "a parent waits there until its subtasks are done" },
	{ "reject", NULL, F(REVIEW), NONE, S(CLAIMED), SUBMITTER,
	  REVIEWER | OPERATOR | SPOOL, CMD | BY_SPOOL,
	  G(FEEDBACK) | G(NOT_SELF_REVIEW) | G(SUBMITTER) | G(REGISTERED) |
	  G(ASSIGNEE) | G(CAPABLE), E(FEEDBACK),
	  "back to the agent who did it, who has the context" },
	{ "reject", NULL, F(REVIEW), NONE, S(READY), 0,
	  REVIEWER | OPERATOR | SPOOL, CMD | BY_SPOOL,
	  G(FEEDBACK) | G(NOT_SELF_REVIEW), E(FEEDBACK),
	  "spool reject --to-ready, or its agent cannot take it back" },
	{ "retry", NULL, F(FAILED), NONE, S(READY), 0, OPERATOR, CMD, 0,
	  E(ATTEMPT), "spool retry, attempts left or not" },
	{ "retry", NULL, F(FAILED), NONE, S(READY), 0, SPOOL, BY_SPOOL,
	  G(ATTEMPTS_LEFT) | G(BACKOFF_PASSED), E(ATTEMPT),
	  "retry_backoff_seconds after it failed" },
	{ "cancel", NULL, OPEN, NONE, S(CANCELLED), 0, OPERATOR, CMD, 0,
	  E(RELEASE), "spool cancel" },
};

const size_t spool_nrows = sizeof(spool_rows) / sizeof(spool_rows[0]);

/* ---- matching ---------------------------------------------------------- */

static const char *asked_verb(const spool_row *r)
{
	return r->asked ? r->asked : r->verb;
}

static spool_state ask_state(const spool_row *r)
{
	return r->ask != SPOOL_STATE_NONE ? r->ask : r->to;
}

/* Rows the request could mean, whatever their guards and channels. */
static bool candidate(const spool_row *r, const spool_request *rq)
{
	if (!(r->from & SPOOL_FROM(rq->from.state)))
		return false;
	if (rq->verb && strcmp(asked_verb(r), rq->verb) != 0)
		return false;
	return rq->to.state == SPOOL_STATE_NONE ||
	       ask_state(r) == rq->to.state;
}

void spool_machine_needs(unsigned *guards, unsigned *who_any,
			 unsigned *who_all, const spool_request *rq)
{
	*guards = *who_any = 0;
	*who_all = ~0u;
	for (size_t i = 0; i < spool_nrows; i++)
		if (candidate(&spool_rows[i], rq)) {
			*guards |= spool_rows[i].guards;
			*who_any |= spool_rows[i].who;
			*who_all &= spool_rows[i].who;
		}
}

static bool plan_pending(const spool_facts *f)
{
	return f->plan_first && !f->plan_approved;
}

static bool holds(unsigned g, const spool_request *rq, const spool_facts *f)
{
	switch (g) {
	case SPOOL_G_DEPS_DONE: return f->deps_done;
	case SPOOL_G_NO_CHILDREN: return f->children == 0;
	case SPOOL_G_HAS_CHILDREN: return f->children > 0;
	case SPOOL_G_CHILDREN_DONE:
		return f->children > 0 && f->children_done == f->children;
	case SPOOL_G_CHILDREN_CLOSED: return f->children_open == 0;
	case SPOOL_G_CHILDREN_OPEN: return f->children_open > 0;
	case SPOOL_G_PLAN_PENDING: return plan_pending(f);
	case SPOOL_G_PLAN_SETTLED: return !plan_pending(f);
	case SPOOL_G_ATTEMPTS_LEFT: return f->attempt < f->max_attempts;
	case SPOOL_G_LAST_ATTEMPT: return f->attempt >= f->max_attempts;
	case SPOOL_G_LEASE_EXPIRED: return f->lease_expired;
	case SPOOL_G_BACKOFF_PASSED: return f->backoff_passed;
	case SPOOL_G_REASON: return rq->reason && *rq->reason;
	case SPOOL_G_FEEDBACK: return rq->feedback && *rq->feedback;
	case SPOOL_G_NOT_SELF_REVIEW:
		return f->self_approval || !f->submitted_by[0] ||
		       !rq->actor || strcmp(rq->actor, f->submitted_by) != 0;
	case SPOOL_G_SUBMITTER:
		return f->submitted_by[0] &&
		       (rq->to.state != SPOOL_STATE_CLAIMED ||
			strcmp(rq->to.agent, f->submitted_by) == 0);
	case SPOOL_G_REGISTERED: return f->holder_registered;
	case SPOOL_G_ASSIGNEE:
		return !f->assignee[0] ||
		       strcmp(f->assignee, f->holder) == 0;
	case SPOOL_G_CAPABLE: return f->holder_capable;
	case SPOOL_G_NOT_HELD: return !f->held;
	case SPOOL_G_QUESTION: return f->question;
	case SPOOL_G_ASKER:
		return f->asked_by[0] && strcmp(f->asked_by, f->holder) == 0;
	}
	return false;
}

/* How far a row got: each check passed counts one; fail says which
 * failed (0: none). */
enum { FAIL_NONE, FAIL_VIA, FAIL_GUARD, FAIL_WHO };

struct trial {
	int score, fail;
	unsigned guard;		/* the guard that failed */
	bool guards_ok;		/* the task's guards hold, channel, who and
				 * the request's text aside */
};

static void try_row(struct trial *t, const spool_row *r,
		    const spool_request *rq, const spool_facts *f)
{
	memset(t, 0, sizeof(*t));
	t->guards_ok = true;
	for (unsigned b = 0; b < SPOOL_G_COUNT; b++) {
		unsigned g = 1u << b;
		if (!(r->guards & g) || holds(g, rq, f))
			continue;
		/* What the move would have been is told by the task, not
		 * by who asked or what a command would have said. */
		if (!(g & (SPOOL_G_REASON | SPOOL_G_FEEDBACK |
			   SPOOL_G_NOT_SELF_REVIEW)))
			t->guards_ok = false;
		if (!t->guard)
			t->guard = g;
	}
	if (!(r->via & rq->via)) {
		t->fail = FAIL_VIA;
		return;
	}
	t->score = 1;
	for (unsigned b = 0; b < SPOOL_G_COUNT; b++) {
		unsigned g = 1u << b;
		if (!(r->guards & g))
			continue;
		if (g == t->guard) {
			t->fail = FAIL_GUARD;
			return;
		}
		t->score++;
	}
	if (!(r->who & f->roles)) {
		t->fail = FAIL_WHO;
		return;
	}
	t->score++;
}

/* ---- messages ---------------------------------------------------------- */

static int refuse(const spool_request *rq, const spool_row *would,
		  const char *why)
{
	char f[128], t[128];
	spool_loc to = rq->to;

	if (rq->via == SPOOL_VIA_CMD || to.state == SPOOL_STATE_NONE) {
		const char *verb = rq->verb ? rq->verb
				 : would ? asked_verb(would) : "move";
		return spool_error_set(SPOOL_EILLEGAL, "cannot %s '%s': %s",
				       verb, rq->id, why);
	}
	spool_loc_format(f, sizeof(f), &rq->from);
	if (rq->from.state == SPOOL_STATE_NONE)
		snprintf(f, sizeof(f), "nowhere");
	spool_loc_format(t, sizeof(t), &to);
	return spool_error_set(SPOOL_EILLEGAL, "cannot move '%s' from %s to "
			       "%s: %s", rq->id, f, t, why);
}

/* Why no row leaves this state for that one. */
static const char *no_row(const spool_request *rq)
{
	if (rq->to.state != SPOOL_STATE_NONE && spool_loc_same(&rq->from, &rq->to))
		return "it is already there";
	switch (rq->from.state) {
	case SPOOL_STATE_NONE:
		return "a task enters the spool through new/ or spool add";
	case SPOOL_STATE_NEW:
		return "new tasks are filed by the spool to ready, blocked "
		       "or quarantine";
	case SPOOL_STATE_BLOCKED:
		return "a blocked task can only become ready";
	case SPOOL_STATE_READY:
		return "a ready task must be claimed first (mv ready/ID.json "
		       "claimed/AGENT/)";
	case SPOOL_STATE_CLAIMED:
		return "a claimed task goes to review (submit), ready "
		       "(release) or failed";
	case SPOOL_STATE_REVIEW:
		return "a task in review is approved (done) or rejected "
		       "(ready, claimed/AGENT)";
	case SPOOL_STATE_FAILED:
		return "a failed task can only be retried (ready)";
	case SPOOL_STATE_QUARANTINE:
		return "fix a quarantined task and move it back to new/";
	default:
		return "finished tasks do not move";
	}
}

static int refuse_via(const spool_request *rq, const spool_row *r)
{
	char why[256];
	const char *by = rq->via == SPOOL_VIA_MV ? "by mv" : "by a command";

	if (r->via & SPOOL_VIA_CMD)
		snprintf(why, sizeof(why), "%s is made with 'spool %s', not "
			 "%s", r->verb, asked_verb(r), by);
	else if (r->via & SPOOL_VIA_SPOOL)
		snprintf(why, sizeof(why), "%s is made by the spool (%s), not "
			 "%s", r->verb, r->note, by);
	else
		snprintf(why, sizeof(why), "%s is made by mv only", r->verb);
	return refuse(rq, r, why);
}

static int refuse_guard(const spool_request *rq, const spool_row *r,
			const spool_facts *f, unsigned g)
{
	char why[512];

	switch (g) {
	case SPOOL_G_DEPS_DONE:
		snprintf(why, sizeof(why), "its dependencies are not all done "
			 "yet");
		break;
	case SPOOL_G_NO_CHILDREN:
		snprintf(why, sizeof(why), "it is a parent task; the spool "
			 "completes it when its subtasks are done");
		break;
	case SPOOL_G_HAS_CHILDREN:
		snprintf(why, sizeof(why), "it has no subtasks");
		break;
	case SPOOL_G_CHILDREN_DONE:
		snprintf(why, sizeof(why), "its subtasks are not all done");
		break;
	case SPOOL_G_CHILDREN_CLOSED:
		snprintf(why, sizeof(why), "its subtask '%s' is still open",
			 f->open_child);
		break;
	case SPOOL_G_CHILDREN_OPEN:
		snprintf(why, sizeof(why), "it has no open subtask");
		break;
	case SPOOL_G_PLAN_PENDING:
		snprintf(why, sizeof(why), "it has no plan waiting for "
			 "approval");
		break;
	case SPOOL_G_PLAN_SETTLED:
		snprintf(why, sizeof(why), "this is a plan_first task and its "
			 "plan is not approved yet; approve the plan with "
			 "'spool approve'");
		break;
	case SPOOL_G_ATTEMPTS_LEFT:
		snprintf(why, sizeof(why), "it is on the last of its %ld "
			 "attempts", f->max_attempts);
		break;
	case SPOOL_G_LAST_ATTEMPT:
		snprintf(why, sizeof(why), "it is on attempt %ld of %ld",
			 f->attempt, f->max_attempts);
		break;
	case SPOOL_G_LEASE_EXPIRED:
		snprintf(why, sizeof(why), "its lease of %lds has not run "
			 "out", f->lease_s);
		break;
	case SPOOL_G_BACKOFF_PASSED:
		snprintf(why, sizeof(why), "its retry backoff has not passed");
		break;
	case SPOOL_G_REASON:
		snprintf(why, sizeof(why), "say why with --reason TEXT; the "
			 "reason is kept in the task");
		break;
	case SPOOL_G_FEEDBACK:
		snprintf(why, sizeof(why), "a rejection needs feedback: say "
			 "what to change with --feedback TEXT");
		break;
	case SPOOL_G_NOT_SELF_REVIEW:
		snprintf(why, sizeof(why), "'%s' was submitted by '%s', who "
			 "cannot also review it", rq->id, f->submitted_by);
		break;
	case SPOOL_G_SUBMITTER:
		if (!f->submitted_by[0])
			snprintf(why, sizeof(why), "'%s' has no submitted_by; "
				 "cannot tell whose it is", rq->id);
		else
			snprintf(why, sizeof(why), "it goes back to '%s', who "
				 "submitted it", f->submitted_by);
		break;
	case SPOOL_G_REGISTERED:
		snprintf(why, sizeof(why), "agent '%s' is not registered "
			 "(spool agent add %s)", f->holder, f->holder);
		break;
	case SPOOL_G_ASSIGNEE:
		snprintf(why, sizeof(why), "it is assigned to '%s'",
			 f->assignee);
		break;
	case SPOOL_G_CAPABLE:
		snprintf(why, sizeof(why), "agent '%s' lacks a required "
			 "capability (requires %s)", f->holder, f->requires);
		break;
	case SPOOL_G_NOT_HELD:
		snprintf(why, sizeof(why), "it is held (added with --hold); "
			 "release it with 'spool unhold'");
		break;
	case SPOOL_G_QUESTION:
		snprintf(why, sizeof(why), "it is not a question ('spool "
			 "ask' makes them)");
		break;
	case SPOOL_G_ASKER:
		snprintf(why, sizeof(why), "'%s' asked no question about it",
			 f->holder);
		break;
	default:
		snprintf(why, sizeof(why), "a guard does not hold");
	}
	return refuse(rq, r, why);
}

static int refuse_who(const spool_request *rq, const spool_row *r)
{
	const char *holder = spool_machine_holder(&rq->from, &rq->to);
	const char *actor = rq->actor ? rq->actor : "?";
	char why[256];

	if ((r->who & SPOOL_WHO_SELF) && holder &&
	    rq->from.state == SPOOL_STATE_CLAIMED)
		snprintf(why, sizeof(why), "'%s' is claimed by '%s', not by "
			 "'%s'", rq->id, holder, actor);
	else if (r->who & SPOOL_WHO_SELF)
		snprintf(why, sizeof(why), "only the agent itself may %s",
			 r->verb);
	else if (r->who & SPOOL_WHO_REVIEWER)
		snprintf(why, sizeof(why), "agent '%s' has no reviewer role "
			 "(spool agent add %s --roles worker,reviewer)",
			 actor, actor);
	else if (r->who & SPOOL_WHO_OPERATOR)
		snprintf(why, sizeof(why), "agent '%s' is not an operator "
			 "(spool agent add %s --roles operator)", actor,
			 actor);
	else
		snprintf(why, sizeof(why), "only the spool makes it");
	return refuse(rq, r, why);
}

/* ---- the decision ------------------------------------------------------ */

static void destination(spool_loc *to, const spool_row *r,
			const spool_request *rq, const spool_facts *f)
{
	memset(to, 0, sizeof(*to));
	to->state = r->to;
	if (r->holder == SPOOL_HOLDER_ASKED)
		snprintf(to->agent, sizeof(to->agent), "%s", rq->to.agent);
	else if (r->holder == SPOOL_HOLDER_SUBMITTER)
		snprintf(to->agent, sizeof(to->agent), "%s", f->submitted_by);
}

int spool_machine_decide(const spool_row **row, const spool_row **would,
			 spool_loc *to, const spool_request *rq,
			 const spool_facts *f)
{
	const spool_row *best = NULL, *first_ok = NULL, *first = NULL;
	struct trial tr, besttr = { .score = -1 };

	*row = NULL;
	if (would)
		*would = NULL;
	memset(to, 0, sizeof(*to));
	to->state = SPOOL_STATE_NONE;
	if (rq->to.state != SPOOL_STATE_NONE && spool_loc_same(&rq->from, &rq->to))
		return refuse(rq, NULL, no_row(rq));
	for (size_t i = 0; i < spool_nrows; i++) {
		const spool_row *r = &spool_rows[i];
		if (!candidate(r, rq))
			continue;
		/* A row for questions is none for another task: a raw
		 * ready -> done is told it must be claimed first. */
		if ((r->guards & SPOOL_G_QUESTION) && !f->question)
			continue;
		try_row(&tr, r, rq, f);
		if (!first)
			first = r;
		if (tr.guards_ok && !first_ok)
			first_ok = r;
		if (tr.fail == FAIL_NONE) {
			*row = r;
			if (would)
				*would = r;
			destination(to, r, rq, f);
			return 0;
		}
		if (tr.score > besttr.score) {
			best = r;
			besttr = tr;
		}
	}
	if (would)
		*would = first_ok ? first_ok : first;
	if (!first) {
		if (rq->via == SPOOL_VIA_CMD && rq->verb &&
		    rq->to.state == SPOOL_STATE_NONE) {
			char where[128], why[160];
			spool_loc_format(where, sizeof(where), &rq->from);
			snprintf(why, sizeof(why), "it is in %s", where);
			return refuse(rq, NULL, why);
		}
		return refuse(rq, NULL, no_row(rq));
	}
	if (besttr.fail == FAIL_VIA)
		return refuse_via(rq, first_ok ? first_ok : first);
	if (besttr.fail == FAIL_GUARD)
		return refuse_guard(rq, best, f, besttr.guard);
	return refuse_who(rq, best);
}

const char *spool_machine_mover(const spool_loc *from, const spool_loc *to)
{
	/* Into claimed/B, B took it (from A's too: a steal by B). */
	if (to->state == SPOOL_STATE_CLAIMED)
		return to->agent;
	if (from->state == SPOOL_STATE_CLAIMED)
		return from->agent;
	return "operator";
}

const char *spool_machine_holder(const spool_loc *from, const spool_loc *to)
{
	if (from->state == SPOOL_STATE_CLAIMED)
		return from->agent;
	if (to->state == SPOOL_STATE_CLAIMED)
		return to->agent;
	return NULL;
}

/* ---- the fields an agent may write ------------------------------------- */

bool spool_machine_agent_field(const char *name)
{
	return strcmp(name, "meta") == 0 || strncmp(name, "x-", 2) == 0 ||
	       strncmp(name, "x_", 2) == 0;
}

static void note_field(char *changed, size_t len, const char *name)
{
	size_t n = strlen(changed);

	if (strstr(changed, name))
		return;
	snprintf(changed + n, len - n, "%s%s", n ? ", " : "", name);
}

json_t *spool_machine_merge(json_t *recorded, json_t *disk, char *changed,
			    size_t len)
{
	json_t *out = json_deep_copy(recorded), *v;
	const char *key;
	void *tmp;

	if (len)
		changed[0] = '\0';
	if (!out)
		return NULL;
	json_object_foreach_safe(out, tmp, key, v)
		if (spool_machine_agent_field(key))
			json_object_del(out, key);
	json_object_foreach(disk, key, v) {
		if (spool_machine_agent_field(key)) {
			json_object_set_new(out, key, json_deep_copy(v));
		} else if (!json_equal(v, json_object_get(recorded, key))) {
			note_field(changed, len, key);
		}
	}
	json_object_foreach(recorded, key, v)
		if (!spool_machine_agent_field(key) &&
		    !json_object_get(disk, key))
			note_field(changed, len, key);
	return out;
}

/* ---- the table as docs/protocol.md shows it ---------------------------- */

static const char *const guard_text[SPOOL_G_COUNT] = {
	"every `depends_on` done",
	"no subtasks",
	"has subtasks",
	"every subtask done",
	"no open subtask",
	"an open subtask",
	"`plan_first`, plan not approved",
	"no plan waiting",
	"attempts left",
	"last attempt",
	"lease expired",
	"backoff passed",
	"a reason",
	"feedback",
	"not its submitter (unless `review.allow_self_approval`)",
	"A submitted it",
	"A registered",
	"A is the `assignee`, if set",
	"A has every `requires`",
	"not held (`spool add --hold`)",
	"a question (`question_for`)",
	"A asked its question",
};

static const char *const effect_text[SPOOL_E_COUNT] = {
	"`attempt` + 1",
	"`submitted_by` = A",
	"`plan_approved` = true",
	"feedback appended to `feedback`",
	"the reason appended to `errors`",
	"a dependency that will never be done is said in `errors`",
	"`deliverables/ID/` committed with it",
	"retried after the backoff while attempts are left",
	"releases what waits for it",
	"`hold` removed",
	"depends on its question; `asked` says who asked",
};

struct buf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void put(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL,
			      b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->s && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t nc = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
		char *p = realloc(b->s, nc);
		if (!p) {
			b->oom = true;
			return;
		}
		b->s = p;
		b->cap = nc;
	}
}

static void put_state(struct buf *b, spool_state s)
{
	if (s == SPOOL_STATE_NONE)
		put(b, "(none)");
	else if (s == SPOOL_STATE_CLAIMED)
		put(b, "claimed/A");
	else
		put(b, "%s", spool_state_name(s));
}

static void put_from(struct buf *b, const spool_row *r)
{
	bool first = true;

	if (r->from == OPEN) {
		put(b, "any open state");
		return;
	}
	if (r->from == F(NONE) && r->to == SPOOL_STATE_NEW) {
		put(b, "tmp");
		return;
	}
	for (int s = SPOOL_STATE_NONE; s < SPOOL_STATE_COUNT; s++)
		if (r->from & SPOOL_FROM(s)) {
			put(b, "%s", first ? "" : ", ");
			put_state(b, (spool_state)s);
			first = false;
		}
}

static void put_mask(struct buf *b, unsigned mask, const char *const *text,
		     unsigned n)
{
	bool first = true;

	for (unsigned i = 0; i < n; i++)
		if (mask & (1u << i)) {
			put(b, "%s%s", first ? "" : "; ", text[i]);
			first = false;
		}
	if (first)
		put(b, "—");
}

static const char *const who_text[] = {
	"A", "a reviewer", "an operator", "anyone", "the spool"
};

static const char *const via_text[] = { "mv", "command", "spool" };

static void put_row(struct buf *b, const spool_row *r)
{
	put(b, "| ");
	put_from(b, r);
	put(b, " | ");
	if (r->ask != SPOOL_STATE_NONE) {
		put_state(b, r->ask);
		put(b, " → ");
	}
	put_state(b, r->to);
	put(b, " | `%s`", r->verb);
	if (r->asked)
		put(b, " (`%s`)", r->asked);
	put(b, " | ");
	put_mask(b, r->who, who_text, sizeof(who_text) / sizeof(*who_text));
	put(b, " | ");
	put_mask(b, r->via, via_text, sizeof(via_text) / sizeof(*via_text));
	put(b, " | ");
	put_mask(b, r->guards, guard_text, SPOOL_G_COUNT);
	put(b, " | ");
	put_mask(b, r->effects, effect_text, SPOOL_E_COUNT);
	put(b, " | %s |\n", r->note);
}

char *spool_machine_markdown(void)
{
	struct buf b = { 0 };

	put(&b, "| from | to | verb | who | by | guards | effects | "
		"what it is |\n");
	put(&b, "|---|---|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < spool_nrows; i++)
		put_row(&b, &spool_rows[i]);
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
