/* Unit tests for the state machine's table (src/core/machine.c): every
 * row is reachable with the facts it asks for, nothing outside the table
 * is allowed whatever the facts, raw moves are limited to what an agent
 * may do by mv, and each refusal says why. The table is pure: no spool. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "machine.h"
#include "state.h"

/* Facts under which every guard that can hold does. */
static void good_facts(spool_facts *f, const spool_row *r)
{
	memset(f, 0, sizeof(*f));
	f->attempt = 1;
	f->max_attempts = 3;
	f->lease_s = 60;
	f->deps_done = true;
	f->holder_registered = f->holder_capable = true;
	f->lease_expired = f->backoff_passed = true;
	snprintf(f->submitted_by, sizeof(f->submitted_by), "dev");
	snprintf(f->holder, sizeof(f->holder), "dev");
	if (!r)
		return;
	/* the row that takes what the one before it leaves */
	if (r->to == SPOOL_STATE_BLOCKED && (r->effects & SPOOL_E_DEAD_DEP))
		f->deps_done = false;
	if (r->guards & SPOOL_G_LAST_ATTEMPT)
		f->attempt = 3;
	if (r->guards & SPOOL_G_PLAN_PENDING)
		f->plan_first = true;
	if (r->guards & (SPOOL_G_HAS_CHILDREN | SPOOL_G_CHILDREN_DONE))
		f->children = f->children_done = 1;
	if (r->guards & SPOOL_G_QUESTION)
		f->question = true;
	if (r->guards & SPOOL_G_ASKER)
		snprintf(f->asked_by, sizeof(f->asked_by), "dev");
	if (r->guards & SPOOL_G_CHILDREN_OPEN) {
		f->children = f->children_open = 1;
		snprintf(f->open_child, sizeof(f->open_child), "T-2");
	}
}

static spool_loc loc(spool_state s, const char *agent)
{
	spool_loc l;

	memset(&l, 0, sizeof(l));
	l.state = s;
	if (agent)
		snprintf(l.agent, sizeof(l.agent), "%s", agent);
	return l;
}

static unsigned first_bit(unsigned mask)
{
	for (unsigned b = 0; b < 32; b++)
		if (mask & (1u << b))
			return 1u << b;
	return 0;
}

static spool_state first_from(const spool_row *r)
{
	for (int s = SPOOL_STATE_NONE; s < SPOOL_STATE_COUNT; s++)
		if (r->from & SPOOL_FROM(s))
			return (spool_state)s;
	return SPOOL_STATE_NONE;
}

/* A request that should be exactly this row. */
static void request_for(spool_request *rq, const spool_row *r, unsigned via)
{
	memset(rq, 0, sizeof(*rq));
	rq->id = "T-1";
	rq->from = loc(first_from(r), "dev");
	rq->via = via;
	rq->verb = r->asked ? r->asked : r->verb;
	/* where it asks to go, as a move says (or reject --to-ready) */
	rq->to = loc(r->ask != SPOOL_STATE_NONE ? r->ask : r->to, "dev");
	if (via == SPOOL_VIA_MV)
		rq->verb = NULL;
	rq->actor = via == SPOOL_VIA_SPOOL ? "spool" : "dev";
	rq->reason = "because";
	rq->feedback = "do better";
}

static void test_every_row(void **state)
{
	(void)state;
	for (size_t i = 0; i < spool_nrows; i++) {
		const spool_row *r = &spool_rows[i];
		for (unsigned v = 0; v < 3; v++) {
			unsigned via = 1u << v;
			const spool_row *got, *would;
			spool_request rq;
			spool_facts f;
			spool_loc to;
			int rc;
			if (!(r->via & via))
				continue;
			request_for(&rq, r, via);
			good_facts(&f, r);
			/* The roles the row accepts; a reviewer is not the
			 * submitter. */
			f.roles = r->who;
			if (r->guards & SPOOL_G_NOT_SELF_REVIEW)
				rq.actor = via == SPOOL_VIA_SPOOL ? "spool"
								   : "rev";
			rc = spool_machine_decide(&got, &would, &to, &rq, &f);
			if (rc != 0 || got != r) {
				print_error("row %zu (%s) by via %u: rc %d, "
					    "got %s: %s\n", i, r->verb, via,
					    rc, got ? got->verb : "none",
					    spool_error_message());
				fail();
			}
			assert_int_equal(to.state, r->to);
			if (r->to == SPOOL_STATE_CLAIMED)
				assert_string_equal(to.agent, "dev");
		}
	}
}

/* Each guard of each row, alone failing, refuses that row. */
static void test_every_guard(void **state)
{
	(void)state;
	for (size_t i = 0; i < spool_nrows; i++) {
		const spool_row *r = &spool_rows[i];
		unsigned via = first_bit(r->via);
		for (unsigned b = 0; b < SPOOL_G_COUNT; b++) {
			unsigned g = 1u << b;
			const spool_row *got;
			spool_request rq;
			spool_facts f;
			spool_loc to;
			if (!(r->guards & g))
				continue;
			request_for(&rq, r, via);
			good_facts(&f, r);
			f.roles = r->who;
			if (r->guards & SPOOL_G_NOT_SELF_REVIEW)
				rq.actor = via == SPOOL_VIA_SPOOL ? "spool"
								   : "rev";
			switch (g) {
			case SPOOL_G_DEPS_DONE: f.deps_done = false; break;
			case SPOOL_G_NO_CHILDREN: f.children = 1; break;
			case SPOOL_G_HAS_CHILDREN:
			case SPOOL_G_CHILDREN_DONE:
				f.children = f.children_done = 0;
				f.children_open = 0;
				if (g == SPOOL_G_CHILDREN_DONE) {
					f.children = 2;
					f.children_done = 1;
					f.children_open = 1;
				}
				break;
			case SPOOL_G_CHILDREN_CLOSED:
				f.children = f.children_open = 1;
				break;
			case SPOOL_G_CHILDREN_OPEN:
				f.children_open = 0;
				break;
			case SPOOL_G_PLAN_PENDING: f.plan_first = false; break;
			case SPOOL_G_PLAN_SETTLED: f.plan_first = true; break;
			case SPOOL_G_ATTEMPTS_LEFT: f.attempt = 3; break;
			case SPOOL_G_LAST_ATTEMPT: f.attempt = 1; break;
			case SPOOL_G_LEASE_EXPIRED:
				f.lease_expired = false;
				break;
			case SPOOL_G_BACKOFF_PASSED:
				f.backoff_passed = false;
				break;
			case SPOOL_G_REASON: rq.reason = NULL; break;
			case SPOOL_G_FEEDBACK: rq.feedback = ""; break;
			case SPOOL_G_NOT_SELF_REVIEW: rq.actor = "dev"; break;
			case SPOOL_G_SUBMITTER: f.submitted_by[0] = '\0';
				break;
			case SPOOL_G_REGISTERED:
				f.holder_registered = false;
				break;
			case SPOOL_G_ASSIGNEE:
				snprintf(f.assignee, sizeof(f.assignee), "ops");
				break;
			case SPOOL_G_CAPABLE: f.holder_capable = false; break;
			case SPOOL_G_NOT_HELD: f.held = true; break;
			case SPOOL_G_QUESTION: f.question = false; break;
			case SPOOL_G_ASKER: f.asked_by[0] = '\0'; break;
			}
			got = NULL;
			if (spool_machine_decide(&got, NULL, &to, &rq, &f) == 0)
				assert_true(got != r);
			else
				assert_int_equal(spool_error_code(),
						 SPOOL_EILLEGAL);
		}
	}
}

/* Who and by which channel: a row refuses any other. */
static void test_who_and_via(void **state)
{
	(void)state;
	for (size_t i = 0; i < spool_nrows; i++) {
		const spool_row *r = &spool_rows[i];
		for (unsigned v = 0; v < 3; v++) {
			unsigned via = 1u << v;
			const spool_row *got;
			spool_request rq;
			spool_facts f;
			spool_loc to;
			request_for(&rq, r, via);
			good_facts(&f, r);
			f.roles = ~r->who & 0x1f;
			if (spool_machine_decide(&got, NULL, &to, &rq, &f) == 0)
				assert_true(got != r);
			f.roles = r->who;
			if (!(r->via & via) &&
			    spool_machine_decide(&got, NULL, &to, &rq, &f) == 0)
				assert_true(got != r);
		}
	}
}

static bool row_allows(const spool_row *r, spool_state from, spool_state to,
		       unsigned via, unsigned roles)
{
	spool_state ask = r->ask != SPOOL_STATE_NONE ? r->ask : r->to;

	return (r->from & SPOOL_FROM(from)) && ask == to &&
	       (r->via & via) && (r->who & roles);
}

/*
 * Every from -> to, by every channel and every set of roles, under many
 * facts: whatever the decision allows is a row that allows it. Nothing
 * outside the table gets through.
 */
static void test_nothing_else(void **state)
{
	static const char *const agents[] = { "dev", "ops" };

	(void)state;
	for (int a = SPOOL_STATE_NONE; a < SPOOL_STATE_COUNT; a++)
	for (int b = SPOOL_STATE_NONE; b < SPOOL_STATE_COUNT; b++)
	for (unsigned v = 0; v < 3; v++)
	for (unsigned roles = 0; roles < 32; roles++)
	for (unsigned k = 0; k < 16; k++)
	for (size_t ag = 0; ag < 2; ag++) {
		const spool_row *got;
		spool_request rq;
		spool_facts f;
		spool_loc to;
		if (b == SPOOL_STATE_NONE)
			continue;
		good_facts(&f, NULL);
		f.roles = roles;
		f.attempt = k & 1 ? 3 : 1;
		f.plan_first = k & 2;
		f.children = f.children_open = k & 4 ? 1 : 0;
		f.deps_done = !(k & 8);
		memset(&rq, 0, sizeof(rq));
		rq.id = "T-1";
		rq.from = loc((spool_state)a, "dev");
		rq.to = loc((spool_state)b, agents[ag]);
		rq.via = 1u << v;
		rq.actor = "dev";
		rq.reason = "r";
		rq.feedback = "f";
		if (spool_machine_decide(&got, NULL, &to, &rq, &f) < 0)
			continue;
		assert_non_null(got);
		assert_true(row_allows(got, rq.from.state, rq.to.state,
				       rq.via, roles));
	}
}

/* The only moves that can be recorded as made by mv. */
static void test_raw_moves(void **state)
{
	(void)state;
	for (int a = SPOOL_STATE_NONE; a < SPOOL_STATE_COUNT; a++)
	for (int b = SPOOL_STATE_NONE; b < SPOOL_STATE_COUNT; b++)
	for (unsigned k = 0; k < 16; k++) {
		const spool_row *got;
		spool_request rq;
		spool_facts f;
		spool_loc to;
		if (b == SPOOL_STATE_NONE)
			continue;
		good_facts(&f, NULL);
		f.roles = SPOOL_WHO_SELF | SPOOL_WHO_ANYONE;
		f.attempt = k & 1 ? 3 : 1;
		f.plan_first = k & 2;
		f.children = f.children_open = k & 4 ? 1 : 0;
		f.deps_done = !(k & 8);
		memset(&rq, 0, sizeof(rq));
		rq.id = "T-1";
		rq.from = loc((spool_state)a, "dev");
		rq.to = loc((spool_state)b, "dev");
		rq.via = SPOOL_VIA_MV;
		rq.actor = "dev";
		if (spool_machine_decide(&got, NULL, &to, &rq, &f) < 0)
			continue;
		if (strcmp(got->verb, "claim") == 0)
			assert_true(a == SPOOL_STATE_READY &&
				    b == SPOOL_STATE_CLAIMED);
		else if (strcmp(got->verb, "submit") == 0)
			assert_true(a == SPOOL_STATE_CLAIMED &&
				    b == SPOOL_STATE_REVIEW);
		else if (strcmp(got->verb, "release") == 0)
			assert_true(a == SPOOL_STATE_CLAIMED &&
				    b == SPOOL_STATE_READY);
		else if (strcmp(got->verb, "fail") == 0)
			/* a release on the last attempt */
			assert_true(a == SPOOL_STATE_CLAIMED &&
				    b == SPOOL_STATE_READY &&
				    to.state == SPOOL_STATE_FAILED &&
				    f.attempt >= f.max_attempts);
		else if (strcmp(got->verb, "file") == 0)
			assert_true(a == SPOOL_STATE_NONE &&
				    b == SPOOL_STATE_NEW);
		else
			fail_msg("%s is not a raw move", got->verb);
	}
}

/* decide a raw move by the mover the directories say, with the facts
 * of a plain task submitted by dev */
static int raw(const char *from, const char *fagent, const char *to,
	       const char *tagent, const spool_row **would)
{
	const spool_row *got;
	spool_request rq;
	spool_facts f;
	spool_loc t;

	good_facts(&f, NULL);
	memset(&rq, 0, sizeof(rq));
	rq.id = "T-1";
	rq.from = loc(spool_state_parse(from), fagent);
	rq.to = loc(spool_state_parse(to), tagent);
	rq.via = SPOOL_VIA_MV;
	rq.actor = spool_machine_mover(&rq.from, &rq.to);
	f.roles = SPOOL_WHO_ANYONE;
	if (spool_machine_holder(&rq.from, &rq.to) &&
	    strcmp(spool_machine_holder(&rq.from, &rq.to), rq.actor) == 0)
		f.roles |= SPOOL_WHO_SELF;
	return spool_machine_decide(&got, would, &t, &rq, &f);
}

#define MSG(s) assert_non_null(strstr(spool_error_message(), s))

static void test_cheats_by_mv(void **state)
{
	const spool_row *would;

	(void)state;
	/* a worker approves its own work */
	assert_int_equal(raw("review", NULL, "done", NULL, &would),
			 SPOOL_EILLEGAL);
	assert_string_equal(would->verb, "approve");
	MSG("cannot move 'T-1' from review to done: approve is made with "
	    "'spool approve', not by mv");
	assert_int_equal(raw("review", NULL, "claimed", "dev", &would),
			 SPOOL_EILLEGAL);
	assert_string_equal(would->verb, "reject");
	MSG("reject is made with 'spool reject'");
	assert_int_equal(raw("review", NULL, "ready", NULL, &would),
			 SPOOL_EILLEGAL);
	MSG("reject is made with 'spool reject'");
	assert_int_equal(raw("failed", NULL, "ready", NULL, &would),
			 SPOOL_EILLEGAL);
	MSG("retry is made with 'spool retry'");
	assert_int_equal(raw("ready", NULL, "cancelled", NULL, &would),
			 SPOOL_EILLEGAL);
	MSG("cancel is made with 'spool cancel'");
	assert_int_equal(raw("claimed", "dev", "cancelled", NULL, &would),
			 SPOOL_EILLEGAL);
	MSG("cancel is made with 'spool cancel'");
	assert_int_equal(raw("claimed", "dev", "failed", NULL, &would),
			 SPOOL_EILLEGAL);
	MSG("fail is made with 'spool fail'");
	assert_int_equal(raw("blocked", NULL, "ready", NULL, &would),
			 SPOOL_EILLEGAL);
	MSG("unblock is made by the spool");
	assert_int_equal(raw("claimed", "dev", "claimed", "ops", &would),
			 SPOOL_EILLEGAL);
	assert_null(would);
	MSG("a claimed task goes to review");
	assert_int_equal(raw("ready", NULL, "done", NULL, &would),
			 SPOOL_EILLEGAL);
	MSG("must be claimed first");
	assert_int_equal(raw("done", NULL, "ready", NULL, &would),
			 SPOOL_EILLEGAL);
	MSG("finished tasks do not move");
	assert_int_equal(raw("ready", NULL, "ready", NULL, &would),
			 SPOOL_EILLEGAL);
	MSG("already there");
	/* and what an agent may do */
	assert_int_equal(raw("ready", NULL, "claimed", "dev", NULL), 0);
	assert_int_equal(raw("claimed", "dev", "review", NULL, NULL), 0);
	assert_int_equal(raw("claimed", "dev", "ready", NULL, NULL), 0);
}

/* A command, as spool(1) asks: by verb. */
static int cmd(const char *verb, spool_state from, const char *actor,
	       unsigned roles, spool_facts *f, const spool_row **got,
	       spool_loc *to)
{
	spool_request rq;

	memset(&rq, 0, sizeof(rq));
	rq.id = "T-1";
	rq.from = loc(from, "dev");
	rq.to = loc(SPOOL_STATE_NONE, NULL);
	rq.verb = verb;
	rq.actor = actor;
	rq.via = SPOOL_VIA_CMD;
	rq.feedback = strcmp(verb, "reject") == 0 ? "more" : NULL;
	f->roles = roles;
	return spool_machine_decide(got, NULL, to, &rq, f);
}

static void test_commands(void **state)
{
	const spool_row *got;
	spool_facts f;
	spool_loc to;

	(void)state;
	good_facts(&f, NULL);
	/* self-approval, and the reviewer role */
	assert_int_equal(cmd("approve", SPOOL_STATE_REVIEW, "dev",
			     SPOOL_WHO_ANYONE | SPOOL_WHO_REVIEWER, &f, &got,
			     &to), SPOOL_EILLEGAL);
	MSG("'T-1' was submitted by 'dev', who cannot also review it");
	f.self_approval = true;
	assert_int_equal(cmd("approve", SPOOL_STATE_REVIEW, "dev",
			     SPOOL_WHO_ANYONE | SPOOL_WHO_REVIEWER, &f, &got,
			     &to), 0);
	f.self_approval = false;
	assert_int_equal(cmd("approve", SPOOL_STATE_REVIEW, "ops",
			     SPOOL_WHO_ANYONE, &f, &got, &to),
			 SPOOL_EILLEGAL);
	MSG("agent 'ops' has no reviewer role");
	assert_int_equal(cmd("approve", SPOOL_STATE_REVIEW, "rev",
			     SPOOL_WHO_ANYONE | SPOOL_WHO_REVIEWER, &f, &got,
			     &to), 0);
	assert_int_equal(to.state, SPOOL_STATE_DONE);
	/* a plan goes back to its agent */
	f.plan_first = true;
	assert_int_equal(cmd("approve", SPOOL_STATE_REVIEW, "rev",
			     SPOOL_WHO_REVIEWER, &f, &got, &to), 0);
	assert_string_equal(got->verb, "approve-plan");
	assert_int_equal(to.state, SPOOL_STATE_CLAIMED);
	assert_string_equal(to.agent, "dev");
	f.plan_approved = true;
	assert_int_equal(cmd("approve", SPOOL_STATE_REVIEW, "rev",
			     SPOOL_WHO_REVIEWER, &f, &got, &to), 0);
	assert_string_equal(got->verb, "approve");
	/* a parent with an open subtask waits for it, never done */
	f.children = f.children_open = 1;
	snprintf(f.open_child, sizeof(f.open_child), "T-2");
	assert_int_equal(cmd("approve", SPOOL_STATE_REVIEW, "rev",
			     SPOOL_WHO_REVIEWER, &f, &got, &to), 0);
	assert_int_equal(to.state, SPOOL_STATE_BLOCKED);
	f.children = f.children_open = 0;
	/* the agent's own work; an operator's too */
	assert_int_equal(cmd("submit", SPOOL_STATE_CLAIMED, "ops",
			     SPOOL_WHO_ANYONE, &f, &got, &to),
			 SPOOL_EILLEGAL);
	MSG("'T-1' is claimed by 'dev', not by 'ops'");
	assert_int_equal(cmd("submit", SPOOL_STATE_CLAIMED, "boss",
			     SPOOL_WHO_OPERATOR, &f, &got, &to), 0);
	assert_int_equal(cmd("submit", SPOOL_STATE_READY, "dev",
			     SPOOL_WHO_SELF, &f, &got, &to), SPOOL_EILLEGAL);
	MSG("cannot submit 'T-1': it is in ready");
	/* a release on the last attempt ends in failed/ */
	f.attempt = 3;
	assert_int_equal(cmd("release", SPOOL_STATE_CLAIMED, "dev",
			     SPOOL_WHO_SELF, &f, &got, &to), 0);
	assert_string_equal(got->verb, "fail");
	assert_int_equal(to.state, SPOOL_STATE_FAILED);
	f.attempt = 1;
	/* reject: back to the submitter, or to ready/ when it cannot */
	assert_int_equal(cmd("reject", SPOOL_STATE_REVIEW, "rev",
			     SPOOL_WHO_REVIEWER, &f, &got, &to), 0);
	assert_int_equal(to.state, SPOOL_STATE_CLAIMED);
	f.holder_registered = false;
	assert_int_equal(cmd("reject", SPOOL_STATE_REVIEW, "rev",
			     SPOOL_WHO_REVIEWER, &f, &got, &to), 0);
	assert_int_equal(to.state, SPOOL_STATE_READY);
	f.holder_registered = true;
	/* retry and cancel are an operator's */
	assert_int_equal(cmd("retry", SPOOL_STATE_FAILED, "dev",
			     SPOOL_WHO_ANYONE, &f, &got, &to),
			 SPOOL_EILLEGAL);
	MSG("not an operator");
	assert_int_equal(cmd("cancel", SPOOL_STATE_CLAIMED, "boss",
			     SPOOL_WHO_OPERATOR, &f, &got, &to), 0);
	assert_int_equal(cmd("cancel", SPOOL_STATE_DONE, "boss",
			     SPOOL_WHO_OPERATOR, &f, &got, &to),
			 SPOOL_EILLEGAL);
	MSG("cannot cancel 'T-1': it is in done");
	/* fail needs a reason */
	assert_int_equal(cmd("fail", SPOOL_STATE_CLAIMED, "dev",
			     SPOOL_WHO_SELF, &f, &got, &to), SPOOL_EILLEGAL);
	MSG("--reason");
}

/* The spool's own moves, and the invariant on parents. */
static void test_spool_moves(void **state)
{
	const spool_row *got;
	spool_request rq;
	spool_facts f;
	spool_loc to;

	(void)state;
	good_facts(&f, NULL);
	f.roles = SPOOL_WHO_SPOOL;
	memset(&rq, 0, sizeof(rq));
	rq.id = "T-1";
	rq.from = loc(SPOOL_STATE_BLOCKED, NULL);
	rq.to = loc(SPOOL_STATE_NONE, NULL);
	rq.via = SPOOL_VIA_SPOOL;
	rq.actor = "spool";
	assert_int_equal(spool_machine_decide(&got, NULL, &to, &rq, &f), 0);
	assert_string_equal(got->verb, "unblock");
	f.deps_done = false;
	assert_int_equal(spool_machine_decide(&got, NULL, &to, &rq, &f),
			 SPOOL_EILLEGAL);
	/* a parent: completed only with every subtask done */
	f.deps_done = true;
	f.children = 2;
	f.children_done = 1;
	f.children_open = 1;
	assert_int_equal(spool_machine_decide(&got, NULL, &to, &rq, &f),
			 SPOOL_EILLEGAL);
	f.children_done = 2;
	f.children_open = 0;
	assert_int_equal(spool_machine_decide(&got, NULL, &to, &rq, &f), 0);
	assert_string_equal(got->verb, "complete");
	/* a check that passed on a parent with an open subtask */
	rq.from = loc(SPOOL_STATE_REVIEW, NULL);
	rq.verb = "approve";
	f.children_done = 1;
	f.children_open = 1;
	assert_int_equal(spool_machine_decide(&got, NULL, &to, &rq, &f), 0);
	assert_int_equal(to.state, SPOOL_STATE_BLOCKED);
	/* no parent reaches done with an open child, by any request */
	for (size_t i = 0; i < spool_nrows; i++)
		if (spool_rows[i].to == SPOOL_STATE_DONE)
			assert_true(spool_rows[i].guards &
				    (SPOOL_G_CHILDREN_DONE |
				     SPOOL_G_CHILDREN_CLOSED));
	/* a lease not yet over */
	rq.from = loc(SPOOL_STATE_CLAIMED, "dev");
	rq.verb = "expire";
	f.lease_expired = false;
	assert_int_equal(spool_machine_decide(&got, NULL, &to, &rq, &f),
			 SPOOL_EILLEGAL);
	MSG("lease of 60s has not run out");
}

static void test_agent_fields(void **state)
{
	json_t *rec = json_pack("{s:s, s:s, s:i, s:i, s:s}", "id", "T-1",
				"title", "t", "attempt", 1, "lease", 60,
				"mode", "plan_first");
	json_t *disk = json_deep_copy(rec), *out;
	char changed[128];

	(void)state;
	assert_true(spool_machine_agent_field("meta"));
	assert_true(spool_machine_agent_field("x-notes"));
	assert_false(spool_machine_agent_field("plan_approved"));
	assert_false(spool_machine_agent_field("lease"));
	json_object_set_new(disk, "plan_approved", json_true());
	json_object_set_new(disk, "lease", json_integer(100000));
	json_object_del(disk, "mode");
	json_object_set_new(disk, "x-notes", json_string("my plan"));
	json_object_set_new(disk, "meta", json_pack("{s:i}", "done", 3));
	out = spool_machine_merge(rec, disk, changed, sizeof(changed));
	assert_non_null(out);
	assert_non_null(strstr(changed, "plan_approved"));
	assert_non_null(strstr(changed, "lease"));
	assert_non_null(strstr(changed, "mode"));
	assert_null(strstr(changed, "x-notes"));
	assert_null(json_object_get(out, "plan_approved"));
	assert_int_equal(json_integer_value(json_object_get(out, "lease")),
			 60);
	assert_string_equal(json_string_value(json_object_get(out, "mode")),
			    "plan_first");
	assert_string_equal(json_string_value(json_object_get(out,
							       "x-notes")),
			    "my plan");
	assert_non_null(json_object_get(out, "meta"));
	json_decref(out);
	/* an agent's own fields only: nothing to put back */
	json_object_del(disk, "plan_approved");
	json_object_set_new(disk, "lease", json_integer(60));
	json_object_set_new(disk, "mode", json_string("plan_first"));
	out = spool_machine_merge(rec, disk, changed, sizeof(changed));
	assert_string_equal(changed, "");
	json_decref(out);
	json_decref(rec);
	json_decref(disk);
}

static void test_markdown(void **state)
{
	char *md = spool_machine_markdown();
	size_t lines = 0;

	(void)state;
	assert_non_null(md);
	for (char *p = md; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, spool_nrows + 2);
	assert_non_null(strstr(md, "| review | done | `approve` |"));
	free(md);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_row),
		cmocka_unit_test(test_every_guard),
		cmocka_unit_test(test_who_and_via),
		cmocka_unit_test(test_nothing_else),
		cmocka_unit_test(test_raw_moves),
		cmocka_unit_test(test_cheats_by_mv),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_spool_moves),
		cmocka_unit_test(test_agent_fields),
		cmocka_unit_test(test_markdown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
