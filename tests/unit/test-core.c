/* Unit tests for the core library: names, states, locations, task
 * parsing and validation, priorities, and the entry point's decisions on
 * a real temporary spool (facts from the registry and the tree). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "machine.h"
#include "state.h"
#include "task.h"
#include "root.h"
#include "init.h"
#include "registry.h"
#include "transition.h"

static void test_id_valid(void **state)
{
	char id[SPOOL_ID_MAX + 2];

	(void)state;
	assert_true(spool_id_valid("T-0042"));
	assert_true(spool_id_valid("a"));
	assert_true(spool_id_valid("Fix-Login-2"));
	assert_false(spool_id_valid(""));
	assert_false(spool_id_valid("-T"));
	assert_false(spool_id_valid(".."));
	assert_false(spool_id_valid("."));
	assert_false(spool_id_valid("a/b"));
	assert_false(spool_id_valid("../T-1"));
	assert_false(spool_id_valid("T 1"));
	assert_false(spool_id_valid("T_1"));
	assert_false(spool_id_valid("T.json"));
	assert_false(spool_id_valid("T\n1"));
	assert_false(spool_id_valid("T-\xc3\xa9"));
	memset(id, 'a', SPOOL_ID_MAX);
	id[SPOOL_ID_MAX] = '\0';
	assert_true(spool_id_valid(id));
	id[SPOOL_ID_MAX] = 'a';
	id[SPOOL_ID_MAX + 1] = '\0';
	assert_false(spool_id_valid(id));
}

static void test_name_valid(void **state)
{
	char n[SPOOL_NAME_MAX + 2];

	(void)state;
	assert_true(spool_name_valid("devbot"));
	assert_true(spool_name_valid("dev-bot_2.x"));
	assert_true(spool_name_valid("9lives"));
	assert_false(spool_name_valid(""));
	assert_false(spool_name_valid("DevBot"));
	assert_false(spool_name_valid("-dev"));
	assert_false(spool_name_valid(".dev"));
	assert_false(spool_name_valid(".."));
	assert_false(spool_name_valid("_x"));
	assert_false(spool_name_valid("a/b"));
	assert_false(spool_name_valid("a b"));
	memset(n, 'a', SPOOL_NAME_MAX);
	n[SPOOL_NAME_MAX] = '\0';
	assert_true(spool_name_valid(n));
	n[SPOOL_NAME_MAX] = 'a';
	n[SPOOL_NAME_MAX + 1] = '\0';
	assert_false(spool_name_valid(n));
}

static void test_state_parse(void **state)
{
	static const char *const names[] = { "new", "blocked", "ready",
		"claimed", "review", "done", "failed", "cancelled",
		"quarantine" };

	(void)state;
	for (int i = 0; i < SPOOL_STATE_COUNT; i++) {
		assert_int_equal(spool_state_parse(names[i]), i);
		assert_string_equal(spool_state_name((spool_state)i), names[i]);
	}
	assert_int_equal(spool_state_parse("claimed/devbot"),
			 SPOOL_STATE_CLAIMED);
	assert_int_equal(spool_state_parse(""), SPOOL_STATE_NONE);
	assert_int_equal(spool_state_parse("read"), SPOOL_STATE_NONE);
	assert_int_equal(spool_state_parse("readyx"), SPOOL_STATE_NONE);
	assert_int_equal(spool_state_parse("Ready"), SPOOL_STATE_NONE);
	assert_int_equal(spool_state_parse("deliverables"), SPOOL_STATE_NONE);
	assert_true(spool_state_terminal(SPOOL_STATE_DONE));
	assert_true(spool_state_terminal(SPOOL_STATE_FAILED));
	assert_true(spool_state_terminal(SPOOL_STATE_CANCELLED));
	assert_false(spool_state_terminal(SPOOL_STATE_REVIEW));
	assert_false(spool_state_terminal(SPOOL_STATE_QUARANTINE));
}

static void test_loc(void **state)
{
	spool_loc loc;
	char buf[128];

	(void)state;
	assert_int_equal(spool_loc_parse(&loc, "ready"), 0);
	assert_int_equal(loc.state, SPOOL_STATE_READY);
	spool_loc_format(buf, sizeof(buf), &loc);
	assert_string_equal(buf, "ready");
	spool_loc_path(buf, sizeof(buf), &loc, "T-1");
	assert_string_equal(buf, "ready/T-1.json");

	assert_int_equal(spool_loc_parse(&loc, "claimed/devbot"), 0);
	assert_int_equal(loc.state, SPOOL_STATE_CLAIMED);
	assert_string_equal(loc.agent, "devbot");
	spool_loc_format(buf, sizeof(buf), &loc);
	assert_string_equal(buf, "claimed/devbot");
	spool_loc_path(buf, sizeof(buf), &loc, "T-1");
	assert_string_equal(buf, "claimed/devbot/T-1.json");

	assert_int_equal(spool_loc_parse(&loc, "claimed"), SPOOL_EINVALID);
	assert_int_equal(spool_loc_parse(&loc, "claimed/"), SPOOL_EINVALID);
	assert_int_equal(spool_loc_parse(&loc, "claimed/.."), SPOOL_EINVALID);
	assert_int_equal(spool_loc_parse(&loc, "claimed/a/b"), SPOOL_EINVALID);
	assert_int_equal(spool_loc_parse(&loc, "claimed/Dev"), SPOOL_EINVALID);
	assert_int_equal(spool_loc_parse(&loc, "ready/x"), SPOOL_EINVALID);
	assert_int_equal(spool_loc_parse(&loc, "deliverables"), SPOOL_EINVALID);
	assert_int_equal(spool_loc_parse(&loc, ""), SPOOL_EINVALID);
	assert_non_null(strstr(spool_error_message(), "not a state directory"));
}

static void test_priority(void **state)
{
	static const char *const names[] = { "low", "normal", "high",
					     "urgent" };
	spool_priority p;

	(void)state;
	for (int i = 0; i < 4; i++) {
		assert_int_equal(spool_priority_parse(&p, names[i]), 0);
		assert_int_equal(p, i);
		assert_string_equal(spool_priority_name(p), names[i]);
	}
	assert_true(SPOOL_PRIO_LOW < SPOOL_PRIO_NORMAL &&
		    SPOOL_PRIO_NORMAL < SPOOL_PRIO_HIGH &&
		    SPOOL_PRIO_HIGH < SPOOL_PRIO_URGENT);
	assert_int_equal(spool_priority_parse(&p, "High"), SPOOL_EINVALID);
	assert_int_equal(spool_priority_parse(&p, ""), SPOOL_EINVALID);
	assert_int_equal(spool_priority_parse(&p, "critical"), SPOOL_EINVALID);
	assert_non_null(strstr(spool_error_message(), "critical"));
}

/* Parses text as a task named file; returns the code, the message in msg. */
static int parse(const char *text, const char *file, const char *expect)
{
	json_t *task = NULL;
	int rc = spool_task_parse(&task, text, strlen(text), file, expect);

	if (rc == 0)
		assert_non_null(task);
	else
		assert_null(task);
	json_decref(task);
	return rc;
}

/* The parse fails with EINVALID and the message names file and field. */
static void refused(const char *text, const char *field)
{
	assert_int_equal(parse(text, "ready/T-7.json", NULL), SPOOL_EINVALID);
	assert_non_null(strstr(spool_error_message(), "ready/T-7.json"));
	if (field && !strstr(spool_error_message(), field))
		fail_msg("message '%s' does not name '%s'",
			 spool_error_message(), field);
}

static void test_task_parse(void **state)
{
	(void)state;
	assert_int_equal(parse("{\"title\": \"t\"}", "new/x", NULL), 0);
	assert_int_equal(parse("{\"title\": \"t\", \"id\": \"T-7\", "
			       "\"priority\": \"high\", \"mode\": \"plan_first\", "
			       "\"requires\": [\"code\"], \"depends_on\": [\"T-1\"], "
			       "\"max_attempts\": 2, \"lease\": 60, "
			       "\"acceptance\": {\"criteria\": \"c\", \"check\": \"k\"}, "
			       "\"x-custom\": [1]}", "ready/T-7.json", "T-7"), 0);

	refused("{\"title\": ", NULL);
	assert_non_null(strstr(spool_error_message(), "not valid JSON"));
	refused("[1, 2]", "JSON object");
	refused("{}", "'title'");
	refused("{\"title\": \"\"}", "'title'");
	refused("{\"title\": 5}", "'title'");
	refused("{\"title\": \"t\", \"title\": \"u\"}", NULL);
	refused("{\"title\": \"t\", \"id\": \"../x\"}", "'id'");
	refused("{\"title\": \"t\", \"id\": \"a/b\"}", "'id'");
	refused("{\"title\": \"t\", \"parent\": \"..\"}", "'parent'");
	refused("{\"title\": \"t\", \"depends_on\": [\"ok\", \"../x\"]}",
		"'depends_on'");
	refused("{\"title\": \"t\", \"depends_on\": \"T-1\"}", "'depends_on'");
	refused("{\"title\": \"t\", \"requires\": [\"Code\"]}", "'requires'");
	refused("{\"title\": \"t\", \"assignee\": \"../root\"}", "'assignee'");
	refused("{\"title\": \"t\", \"priority\": \"asap\"}", "'priority'");
	refused("{\"title\": \"t\", \"mode\": \"yolo\"}", "'mode'");
	refused("{\"title\": \"t\", \"max_attempts\": 0}", "'max_attempts'");
	refused("{\"title\": \"t\", \"lease\": \"60\"}", "'lease'");
	refused("{\"title\": \"t\", \"attempt\": -1}", "'attempt'");
	refused("{\"title\": \"t\", \"plan_approved\": \"yes\"}",
		"'plan_approved'");
	refused("{\"title\": \"t\", \"acceptance\": 3}", "'acceptance'");
	refused("{\"title\": \"t\", \"state\": \"done\"}", "'state'");
	refused("{\"title\": \"t\", \"colour\": \"red\"}", "'colour'");

	/* the id must equal the file name */
	assert_int_equal(parse("{\"title\": \"t\", \"id\": \"T-8\"}",
			       "ready/T-7.json", "T-7"), SPOOL_EINVALID);
	assert_non_null(strstr(spool_error_message(), "does not match"));
	assert_non_null(strstr(spool_error_message(), "ready/T-7.json"));
}

static void test_task_validate(void **state)
{
	json_t *t = json_pack("{s:s, s:i}", "title", "t", "max_attempts", 3);

	(void)state;
	assert_int_equal(spool_task_validate(t, "the new task"), 0);
	json_object_set_new(t, "module", json_string("Web Site"));
	assert_int_equal(spool_task_validate(t, "the new task"),
			 SPOOL_EINVALID);
	assert_non_null(strstr(spool_error_message(), "the new task"));
	assert_non_null(strstr(spool_error_message(), "'module'"));
	json_decref(t);
	t = json_string("not an object");
	assert_int_equal(spool_task_validate(t, "f.json"), SPOOL_EINVALID);
	json_decref(t);
}

/* ---- the state machine on a real spool --------------------------------- */

struct fixture {
	char dir[4096];
	spool *sp;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *layout = getenv("SPOOL_LAYOUT");
	const char *tmp = getenv("TMPDIR");
	bool created;

	if (!layout || !*layout)
		layout = access("spool-layout", F_OK) == 0 ? "spool-layout"
							   : "../spool-layout";
	snprintf(f->dir, sizeof(f->dir), "%s/spool-unit.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	if (spool_init(&created, f->dir, layout) < 0 || !created ||
	    spool_open(&f->sp, f->dir) < 0) {
		fprintf(stderr, "setup: %s\n", spool_error_message());
		return -1;
	}
	if (spool_agent_add(f->sp, "dev", "code,docs", "worker", "test") < 0 ||
	    spool_agent_add(f->sp, "ops", "code", "worker", "test") < 0) {
		fprintf(stderr, "setup: %s\n", spool_error_message());
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[4200];

	spool_free(f->sp);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static spool_loc L(const char *dir)
{
	spool_loc loc;

	assert_int_equal(spool_loc_parse(&loc, dir), 0);
	return loc;
}

/* Asks the entry point whether the spool allows from -> to of task by
 * channel via (by the mover the directories say for a raw move, by an
 * operator for a command), on the facts it gathers from the spool. */
static int check(struct fixture *f, json_t *task, const char *from,
		 const char *to, unsigned via)
{
	spool_request rq = { .id = "T-1", .via = via, .task = task,
			     .reason = "r", .feedback = "f" };
	spool_outcome o;
	int rc;

	rq.from = L(from);
	rq.to = L(to);
	rq.actor = via == SPOOL_VIA_MV ? spool_machine_mover(&rq.from, &rq.to)
		 : via == SPOOL_VIA_CMD ? "boss" : "spool";
	rc = spool_transition_check(&o, NULL, f->sp, &rq);
	spool_outcome_clear(&o);
	return rc;
}

#define MV SPOOL_VIA_MV
#define CMD SPOOL_VIA_CMD
#define SP SPOOL_VIA_SPOOL
#define LEGAL(f, t, a, b, v) assert_int_equal(check(f, t, a, b, v), 0)
#define ILLEGAL(f, t, a, b, v) \
	assert_int_equal(check(f, t, a, b, v), SPOOL_EILLEGAL)

static void test_rules_legal(void **state)
{
	struct fixture *f = *state;
	json_t *t = json_pack("{s:s, s:s, s:s}", "id", "T-1", "title", "t",
			      "submitted_by", "dev");

	LEGAL(f, t, "new", "ready", SP);
	LEGAL(f, t, "new", "quarantine", SP);
	LEGAL(f, t, "ready", "claimed/dev", MV);
	/* only the agent itself claims, even by command */
	ILLEGAL(f, t, "ready", "claimed/dev", CMD);
	LEGAL(f, t, "claimed/dev", "review", MV);
	LEGAL(f, t, "claimed/dev", "ready", MV);
	LEGAL(f, t, "claimed/dev", "failed", CMD);
	LEGAL(f, t, "review", "done", CMD);
	LEGAL(f, t, "review", "ready", CMD);
	LEGAL(f, t, "review", "claimed/dev", CMD);
	LEGAL(f, t, "failed", "ready", CMD);
	LEGAL(f, t, "new", "cancelled", CMD);
	LEGAL(f, t, "blocked", "cancelled", CMD);
	LEGAL(f, t, "ready", "cancelled", CMD);
	LEGAL(f, t, "claimed/dev", "cancelled", CMD);
	LEGAL(f, t, "review", "cancelled", CMD);
	LEGAL(f, t, "blocked", "ready", SP);
	json_decref(t);
}

static void test_rules_illegal(void **state)
{
	struct fixture *f = *state;
	json_t *t = json_pack("{s:s, s:s, s:s}", "id", "T-1", "title", "t",
			      "submitted_by", "dev");
	unsigned vias[] = { MV, CMD, SP };

	for (size_t i = 0; i < 3; i++) {
		unsigned v = vias[i];
		ILLEGAL(f, t, "ready", "done", v);
		assert_non_null(strstr(spool_error_message(), "T-1"));
		ILLEGAL(f, t, "ready", "review", v);
		ILLEGAL(f, t, "ready", "failed", v);
		ILLEGAL(f, t, "ready", "ready", v);
		ILLEGAL(f, t, "new", "claimed/dev", v);
		ILLEGAL(f, t, "new", "done", v);
		ILLEGAL(f, t, "blocked", "claimed/dev", v);
		ILLEGAL(f, t, "blocked", "done", v);
		ILLEGAL(f, t, "claimed/dev", "done", v);
		ILLEGAL(f, t, "claimed/dev", "claimed/ops", v);
		ILLEGAL(f, t, "claimed/dev", "claimed/dev", v);
		ILLEGAL(f, t, "review", "failed", v);
		ILLEGAL(f, t, "done", "ready", v);
		ILLEGAL(f, t, "done", "cancelled", v);
		ILLEGAL(f, t, "failed", "done", v);
		ILLEGAL(f, t, "failed", "cancelled", v);
		ILLEGAL(f, t, "cancelled", "ready", v);
		ILLEGAL(f, t, "quarantine", "ready", v);
	}
	/* by mv, only what an agent does to its own work */
	ILLEGAL(f, t, "review", "done", MV);
	assert_non_null(strstr(spool_error_message(), "'spool approve'"));
	ILLEGAL(f, t, "review", "claimed/dev", MV);
	ILLEGAL(f, t, "review", "ready", MV);
	ILLEGAL(f, t, "failed", "ready", MV);
	ILLEGAL(f, t, "ready", "cancelled", MV);
	ILLEGAL(f, t, "claimed/dev", "failed", MV);
	ILLEGAL(f, t, "blocked", "ready", MV);

	/* who may claim: the facts come from the registry */
	ILLEGAL(f, t, "ready", "claimed/ghost", MV);
	assert_non_null(strstr(spool_error_message(), "not registered"));
	json_object_set_new(t, "requires", json_pack("[s]", "docs"));
	LEGAL(f, t, "ready", "claimed/dev", MV);
	ILLEGAL(f, t, "ready", "claimed/ops", MV);
	assert_non_null(strstr(spool_error_message(), "capability"));
	ILLEGAL(f, t, "review", "claimed/ops", CMD);
	json_object_del(t, "requires");
	json_object_set_new(t, "assignee", json_string("dev"));
	LEGAL(f, t, "ready", "claimed/dev", MV);
	ILLEGAL(f, t, "ready", "claimed/ops", MV);
	assert_non_null(strstr(spool_error_message(), "assigned to 'dev'"));
	json_decref(t);
}

static void test_rules_plan_first(void **state)
{
	struct fixture *f = *state;
	json_t *t = json_pack("{s:s, s:s, s:s, s:s}", "id", "T-1", "title",
			      "t", "mode", "plan_first", "submitted_by",
			      "dev");

	ILLEGAL(f, t, "review", "done", CMD);
	assert_non_null(strstr(spool_error_message(), "plan"));
	LEGAL(f, t, "review", "claimed/dev", CMD);
	json_object_set_new(t, "plan_approved", json_true());
	LEGAL(f, t, "review", "done", CMD);
	json_decref(t);
}

static void test_rules_unblock(void **state)
{
	struct fixture *f = *state;
	json_t *t = json_pack("{s:s, s:s, s:[s]}", "id", "T-1", "title", "t",
			      "depends_on", "T-2");
	char dead[128];
	bool ready;

	/* T-2 does not exist: not ready, and reported */
	assert_int_equal(spool_deps_state(&ready, dead, sizeof(dead), f->sp,
					  t), 0);
	assert_false(ready);
	assert_non_null(strstr(dead, "T-2"));
	ILLEGAL(f, t, "blocked", "ready", SP);
	assert_non_null(strstr(spool_error_message(), "dependencies"));
	json_decref(t);

	t = json_pack("{s:s, s:s, s:[s]}", "id", "T-1", "title", "t",
		      "children", "T-3");
	ILLEGAL(f, t, "blocked", "ready", SP);
	assert_non_null(strstr(spool_error_message(), "subtask"));
	ILLEGAL(f, t, "blocked", "done", SP);
	json_decref(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_valid),
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_state_parse),
		cmocka_unit_test(test_loc),
		cmocka_unit_test(test_priority),
		cmocka_unit_test(test_task_parse),
		cmocka_unit_test(test_task_validate),
		cmocka_unit_test_setup_teardown(test_rules_legal, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rules_illegal, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rules_plan_first, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rules_unblock, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
