/* spool diagnose: why a task is not moving, the likeliest cause first. */
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "state.h"
#include "task.h"
#include "root.h"
#include "branch.h"
#include "history-read.h"
#include "archive-find.h"
#include "inspect.h"
#include "registry.h"
#include "task-files.h"
#include "cmd.h"

struct cause {
	int weight;
	const char *code;
	char msg[600];
};

struct diag {
	spool *sp;
	const char *id;
	json_t *task;
	spool_loc loc;
	bool daemon;
	long pid;
	struct cause causes[32];
	size_t n;
	json_t *facts;
};

static void cause(struct diag *d, int weight, const char *code,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void cause(struct diag *d, int weight, const char *code,
		  const char *fmt, ...)
{
	va_list ap;
	struct cause *c;

	if (d->n >= SPOOL_ARRAY_SIZE(d->causes))
		return;
	c = &d->causes[d->n++];
	c->weight = weight;
	c->code = code;
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
}

static int cmp_cause(const void *a, const void *b)
{
	const struct cause *x = a, *y = b;

	return y->weight - x->weight;
}

static const char *no_daemon = "no daemon is running (start spoold, or run "
			       "'spool reconcile' by hand)";

static const char *last_text(json_t *task, const char *field,
			     const char **by)
{
	json_t *arr = json_object_get(task, field);
	json_t *last = json_array_get(arr, json_array_size(arr) - 1);

	if (by)
		*by = json_string_value(json_object_get(last, "by"));
	return json_string_value(json_object_get(last, "text"));
}

static void csv(char *buf, size_t len, json_t *arr)
{
	size_t i, off = 0;
	json_t *v;

	buf[0] = '\0';
	json_array_foreach(arr, i, v)
		if (json_is_string(v) && off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
						i ? "," : "",
						json_string_value(v));
}

static void blocked(struct diag *d)
{
	json_t *deps = json_object_get(d->task, "depends_on");
	json_t *children = json_object_get(d->task, "children");
	json_t *facts = json_array();
	char waiting[400] = "";
	size_t i, off = 0, open = 0;
	json_t *v;

	json_array_foreach(deps, i, v) {
		const char *dep = json_string_value(v);
		spool_archived a;
		spool_loc loc;
		char where[128];
		int rc = spool_task_find(&loc, d->sp, dep);
		if (rc == SPOOL_ENOTFOUND &&
		    spool_archive_find(&a, NULL, NULL, d->sp, dep) == 0) {
			loc.state = a.state;
			loc.agent[0] = '\0';
			rc = 0;
		}
		spool_error_clear();
		if (rc < 0 && rc != SPOOL_EEXISTS) {
			cause(d, 100, "dependency-missing", "depends on %s, "
			      "which is not in the spool: add it, or edit "
			      "depends_on", dep);
			json_array_append_new(facts, json_pack("{s:s, s:s}",
				"id", dep, "state", "missing"));
			continue;
		}
		spool_loc_format(where, sizeof(where), &loc);
		json_array_append_new(facts, json_pack("{s:s, s:s}", "id", dep,
			"state", where));
		if (loc.state == SPOOL_STATE_FAILED ||
		    loc.state == SPOOL_STATE_CANCELLED)
			cause(d, 100, "dependency-dead", "depends on %s, which "
			      "is %s and will never be done: 'spool retry %s'"
			      " or cancel this task", dep, where, dep);
		else if (loc.state != SPOOL_STATE_DONE) {
			open++;
			if (off < sizeof(waiting))
				off += (size_t)snprintf(waiting + off,
					sizeof(waiting) - off, "%s%s (%s)",
					open > 1 ? ", " : "", dep, where);
		}
	}
	if (open)
		cause(d, 80, "dependencies", "waits for %zu of its "
		      "dependencies: %s", open, waiting);
	json_object_set_new(d->facts, "depends_on", facts);
	off = 0;
	open = 0;
	waiting[0] = '\0';
	json_array_foreach(children, i, v) {
		const char *ch = json_string_value(v);
		spool_loc loc;
		char where[128];
		if (spool_task_find(&loc, d->sp, ch) < 0) {
			spool_error_clear();
			continue;
		}
		if (loc.state == SPOOL_STATE_DONE)
			continue;
		spool_loc_format(where, sizeof(where), &loc);
		if (loc.state == SPOOL_STATE_FAILED ||
		    loc.state == SPOOL_STATE_CANCELLED)
			cause(d, 100, "subtask-dead", "its subtask %s is %s: "
			      "'spool retry %s' or cancel this task", ch,
			      where, ch);
		open++;
		if (off < sizeof(waiting))
			off += (size_t)snprintf(waiting + off,
				sizeof(waiting) - off, "%s%s (%s)",
				open > 1 ? ", " : "", ch, where);
	}
	if (open)
		cause(d, 78, "subtasks", "a parent task: waits for %zu "
		      "subtasks to be done: %s", open, waiting);
	if (d->n == 0 && json_is_true(json_object_get(d->task, "hold")) &&
	    json_array_size(children) == 0)
		cause(d, 90, "held", "it was added with --hold and has no "
		      "subtasks: add them (spool add --parent %s), or release "
		      "it with 'spool unhold %s'", d->id, d->id);
	if (d->n == 0)
		cause(d, 95, "not-released", "everything it waits for is done, "
		      "yet it is still blocked: %s", d->daemon
		      ? "run 'spool reconcile' to release it" : no_daemon);
}

/* Registered agents that could claim the task, and how busy they are. */
static void ready(struct diag *d)
{
	const char *assignee = spool_task_str(d->task, "assignee");
	json_t *req = json_object_get(d->task, "requires");
	json_t *capable = json_array();
	char reqs[256], busy[400] = "", dir[128];
	char **names = NULL;
	size_t n = 0, idle = 0, off = 0;

	csv(reqs, sizeof(reqs), req);
	spool_registry_names(&names, &n, d->sp, "agents");
	for (size_t i = 0; i < n; i++) {
		json_t *a = NULL;
		size_t load;
		if (spool_agent_load(&a, d->sp, names[i]) < 0)
			continue;
		if (spool_agent_capable(a, d->task) &&
		    (!assignee || strcmp(assignee, names[i]) == 0)) {
			snprintf(dir, sizeof(dir), "claimed/%s", names[i]);
			load = spool_dir_count(d->sp, dir);
			json_array_append_new(capable, json_pack("{s:s, s:I}",
				"agent", names[i], "claimed",
				(json_int_t)load));
			if (load == 0)
				idle++;
			else if (off < sizeof(busy))
				off += (size_t)snprintf(busy + off,
					sizeof(busy) - off, "%s%s (%zu)",
					off ? ", " : "", names[i], load);
		}
		json_decref(a);
	}
	spool_error_clear();
	if (assignee) {
		json_t *a = NULL;
		if (spool_agent_load(&a, d->sp, assignee) < 0) {
			spool_error_clear();
			cause(d, 100, "assignee-unknown", "it is assigned to "
			      "'%s', who is not registered: 'spool agent add "
			      "%s%s%s'", assignee, assignee,
			      reqs[0] ? " --capabilities " : "", reqs);
		} else if (!spool_agent_capable(a, d->task)) {
			cause(d, 100, "assignee-incapable", "it is assigned to "
			      "'%s', who lacks a capability it requires (%s)",
			      assignee, reqs);
		} else if (!idle) {
			snprintf(dir, sizeof(dir), "claimed/%s", assignee);
			cause(d, 70, "assignee-busy", "its assignee '%s' is "
			      "busy with %zu tasks", assignee,
			      spool_dir_count(d->sp, dir));
		}
		json_decref(a);
	} else if (json_array_size(capable) == 0) {
		cause(d, 100, "no-capable-agent", "no registered agent has the "
		      "capabilities it requires (%s): 'spool agent add NAME "
		      "--capabilities %s'", reqs[0] ? reqs : "none", reqs);
	} else if (!idle) {
		cause(d, 60, "agents-busy", "every agent able to take it is "
		      "busy: %s", busy);
	}
	if (!d->daemon)
		cause(d, 50, "daemon", "%s: agents that sleep until a hook "
		      "wakes them are not woken", no_daemon);
	if (idle)
		cause(d, 20, "unclaimed", "%zu idle agents may claim it; it is "
		      "taken by priority, then age ('spool next --agent A' "
		      "shows each one's pick)", idle);
	json_object_set_new(d->facts, "capable_agents", capable);
	spool_names_free(names, n);
}

static void claimed(struct diag *d)
{
	char dir[128], dur[32], hb[32];
	long left = 0, lease = spool_task_lease(d->sp, d->task);
	json_t *a = NULL;
	size_t load;

	snprintf(dir, sizeof(dir), "claimed/%s", d->loc.agent);
	load = spool_dir_count(d->sp, dir);
	json_object_set_new(d->facts, "agent", json_string(d->loc.agent));
	json_object_set_new(d->facts, "agent_claimed", json_integer(
		(json_int_t)load));
	if (spool_lease_left(&left, d->sp, &d->loc, d->id, d->task) == 0) {
		json_object_set_new(d->facts, "lease_seconds",
				    json_integer(lease));
		json_object_set_new(d->facts, "lease_left", json_integer(left));
		spool_duration_format(dur, sizeof(dur), left < 0 ? -left : left);
		spool_duration_format(hb, sizeof(hb), lease - left);
		if (left < 0)
			cause(d, 95, "lease-expired", "its lease expired %s ago "
			      "(last heartbeat %s ago); %s", dur, hb,
			      d->daemon ? "the daemon will release it"
					: no_daemon);
		else
			cause(d, 30, "working", "'%s' is working on it; the "
			      "lease expires in %s (last heartbeat %s ago; "
			      "the agent renews it with 'touch %s/%s.json')",
			      d->loc.agent, dur, hb, dir, d->id);
	}
	spool_error_clear();
	if (spool_agent_load(&a, d->sp, d->loc.agent) < 0) {
		spool_error_clear();
		cause(d, 90, "agent-unknown", "it is claimed by '%s', who is "
		      "not registered: 'spool release %s' to free it",
		      d->loc.agent, d->id);
	}
	json_decref(a);
	if (load > 1)
		cause(d, 40, "agent-busy", "'%s' holds %zu tasks at once",
		      d->loc.agent, load);
	if (json_is_true(json_object_get(d->task, "plan_approved")))
		cause(d, 25, "executing", "its plan is approved; the agent is "
		      "executing it");
}

static void review(struct diag *d)
{
	const char *by = spool_task_str(d->task, "submitted_by");
	const char *mode = spool_task_str(d->task, "mode");
	const char *check = spool_task_str(d->task, "acceptance");
	json_t *review_cfg = json_object_get(spool_config(d->sp), "review");
	json_t *checks = json_object_get(spool_config(d->sp), "checks");
	bool self_ok = json_is_true(json_object_get(review_cfg,
						    "allow_self_approval"));
	char **names = NULL;
	size_t n = 0, reviewers = 0;

	spool_registry_names(&names, &n, d->sp, "agents");
	for (size_t i = 0; i < n; i++) {
		json_t *a = NULL;
		if (spool_agent_load(&a, d->sp, names[i]) < 0)
			continue;
		if ((spool_agent_has_role(a, "reviewer") ||
		     spool_agent_has_role(a, "operator")) &&
		    (self_ok || !by || strcmp(by, names[i]) != 0))
			reviewers++;
		json_decref(a);
	}
	spool_error_clear();
	spool_names_free(names, n);
	json_object_set_new(d->facts, "reviewers", json_integer(
		(json_int_t)reviewers));
	if (check && json_object_get(checks, check)) {
		cause(d, d->daemon ? 60 : 90, "check", "the acceptance check "
		      "'%s' decides it; %s", check, d->daemon
		      ? "the daemon runs it" : no_daemon);
	} else if (reviewers == 0) {
		cause(d, 85, "no-reviewer", "no registered agent may review it "
		      "(role reviewer or operator%s): approve or reject it "
		      "yourself with 'spool approve %s' or 'spool reject %s "
		      "--feedback TEXT'", by && !self_ok
		      ? ", and not its author" : "", d->id, d->id);
	} else {
		cause(d, 60, "awaiting-review", "it waits for one of %zu "
		      "reviewers: 'spool approve %s' or 'spool reject %s "
		      "--feedback TEXT'", reviewers, d->id, d->id);
	}
	if (mode && strcmp(mode, "plan_first") == 0 &&
	    !json_is_true(json_object_get(d->task, "plan_approved")))
		cause(d, 55, "plan", "it is a plan_first task: this review is "
		      "of the plan; approval sends it back to %s to execute",
		      by ? by : "its agent");
}

static void failed(struct diag *d, long attempt, long max)
{
	const char *err = last_text(d->task, "errors", NULL);

	if (err)
		cause(d, 90, "failed", "it failed: %s", err);
	if (attempt < max)
		cause(d, 80, "retry", "%ld of %ld attempts are left: 'spool "
		      "retry %s'%s", max - attempt, max, d->id, d->daemon
		      ? " (the daemon retries it after the back-off)" : "");
	else
		cause(d, 85, "attempts-spent", "all %ld attempts are spent: "
		      "'spool retry %s' tries once more", max, d->id);
}

static void print_text(struct diag *d, const char *where, long since,
		       long attempt, long max)
{
	char dur[32];

	if (since >= 0)
		spool_duration_format(dur, sizeof(dur), since);
	printf("%s is %s%s%s, attempt %ld of %ld\n", d->id, where,
	       since >= 0 ? " for " : "", since >= 0 ? dur : "", attempt, max);
	if (d->daemon)
		printf("daemon: running (pid %ld)\n", d->pid);
	else
		printf("daemon: not running\n");
	for (size_t i = 0; i < d->n; i++)
		printf("%zu. %s\n", i + 1, d->causes[i].msg);
}

/* Nothing moves while the spool does not record. */
static void stopped(struct diag *d)
{
	spool_branch_state bs;

	if (spool_branch_state_get(&bs, d->sp, NULL) < 0 || !bs.stopped) {
		spool_error_clear();
		return;
	}
	json_object_set_new(d->facts, "recording", json_pack("{s:b, s:s, s:s}",
		"stopped", 1, "seen", bs.seen, "head", bs.head));
	cause(d, 120, "recording-stopped", "the spool records nothing: the "
	      "branch moved from %s to %s, which is not a fast-forward (git "
	      "reset, rebase or a forced push); check the files, then run "
	      "'spool reconcile --accept-head'", bs.seen,
	      bs.head[0] ? bs.head : "nothing");
}

/* Nothing behind a linked directory of the layout is read or moved. */
static void links(struct diag *d)
{
	char why[512];
	bool halt;

	if (!spool_layout_links(why, sizeof(why), &halt, d->sp))
		return;
	json_object_set_new(d->facts, "layout_links", json_string(why));
	cause(d, halt ? 118 : 90, "layout-link", "%s%s", why, halt
	      ? "; spoold records nothing until then" : "");
}

static int cmd_diagnose_exec(const struct cmd_entry *self,
			     struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct diag d;
	spool_hindex *h = NULL;
	spool_archived arch;
	char where[160];
	const char *fb, *fb_by = NULL;
	bool json = false, archived = false;
	long since = -1, attempt, max;
	int c, rc;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h': cmd_print_help(stdout, self); return EXIT_OK;
		default: return cmd_bad_option(self, argv);
		}
	}
	if (optind + 1 != argc)
		return cmd_usage(self);
	if ((rc = cmd_open(self, ctx)) != 0)
		return rc;
	memset(&d, 0, sizeof(d));
	d.sp = ctx->sp;
	if ((rc = cmd_id(&d.id, self, ctx, argv[optind])) != 0)
		return rc;
	rc = spool_task_find(&d.loc, ctx->sp, d.id);
	if (rc == SPOOL_ENOTFOUND &&
	    spool_archive_find(&arch, &d.task, NULL, ctx->sp, d.id) == 0) {
		archived = true;
		d.loc.state = arch.state;
		d.loc.agent[0] = '\0';
		rc = 0;
	} else if (rc == 0 || rc == SPOOL_EEXISTS) {
		if (rc == SPOOL_EEXISTS)
			cause(&d, 100, "copies", "it is in more than one place; "
			      "'spool reconcile' keeps one");
		rc = spool_task_load(&d.task, ctx->sp, &d.loc, d.id);
	}
	if (rc < 0)
		return cmd_fail(self, rc);
	d.daemon = spool_daemon_running(ctx->sp, &d.pid);
	d.facts = json_object();
	spool_loc_format(where, sizeof(where), &d.loc);
	if (archived)
		snprintf(where + strlen(where), sizeof(where) - strlen(where),
			 " (archived)");
	if (spool_hindex_open(&h, ctx->sp) == 0) {
		int64_t t = spool_hindex_last(h, d.id);
		if (t > 0)
			since = (long)(time(NULL) - t);
		spool_hindex_free(h);
	}
	spool_error_clear();
	attempt = spool_task_int(d.task, "attempt", 1);
	max = spool_task_int(d.task, "max_attempts",
			     spool_config_max_attempts(ctx->sp));
	switch (d.loc.state) {
	case SPOOL_STATE_NEW:
		cause(&d, d.daemon ? 60 : 95, "unfiled", "it waits in new/ to "
		      "be filed; %s", d.daemon ? "the daemon files it on its "
		      "next event ('spool reconcile' does it now)" : no_daemon);
		break;
	case SPOOL_STATE_BLOCKED:
		blocked(&d);
		break;
	case SPOOL_STATE_READY:
		ready(&d);
		break;
	case SPOOL_STATE_CLAIMED:
		claimed(&d);
		break;
	case SPOOL_STATE_REVIEW:
		review(&d);
		break;
	case SPOOL_STATE_FAILED:
		failed(&d, attempt, max);
		break;
	case SPOOL_STATE_QUARANTINE:
		cause(&d, 100, "quarantined", "it was refused: see "
		      "quarantine/%s.json.reason, fix the file and move it "
		      "back to new/", d.id);
		break;
	default:
		cause(&d, 100, "finished", "it is finished (%s)%s: nothing "
		      "moves it any more", where, archived ? "" : "");
		break;
	}
	stopped(&d);
	links(&d);
	if (!spool_state_terminal(d.loc.state) &&
	    d.loc.state != SPOOL_STATE_FAILED && attempt > 1)
		cause(&d, 35, "attempts", "this is attempt %ld of %ld%s",
		      attempt, max, attempt >= max ? ": the last one" : "");
	if ((fb = last_text(d.task, "feedback", &fb_by)))
		cause(&d, 15, "feedback", "last feedback%s%s: %s",
		      fb_by ? " from " : "", fb_by ? fb_by : "", fb);
	if (d.n > 1)
		qsort(d.causes, d.n, sizeof(d.causes[0]), cmp_cause);
	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:{s:b}}",
			"id", d.id, "state", spool_state_name(d.loc.state),
			"where", where, "archived", archived,
			"attempt", (json_int_t)attempt,
			"max_attempts", (json_int_t)max,
			"daemon", "running", d.daemon);
		json_t *cs = json_array();
		if (d.daemon)
			json_object_set_new(json_object_get(o, "daemon"), "pid",
					    json_integer(d.pid));
		if (since >= 0)
			json_object_set_new(o, "since_seconds",
					    json_integer(since));
		for (size_t i = 0; i < d.n; i++)
			json_array_append_new(cs, json_pack("{s:s, s:s}",
				"code", d.causes[i].code, "message",
				d.causes[i].msg));
		json_object_set_new(o, "causes", cs);
		json_object_set(o, "facts", d.facts);
		cmd_print_json(o);
		json_decref(o);
	} else {
		print_text(&d, where, since, attempt, max);
	}
	json_decref(d.facts);
	json_decref(d.task);
	return EXIT_OK;
}

const struct cmd_entry cmd_diagnose_entry = {
	.name = "diagnose",
	.usage = "ID [--json]",
	.summary = "why a task is not moving, the likeliest cause first",
	.help = "Looks at what holds the task where it is: dependencies and "
		"subtasks and their\nstates; whether any registered agent has "
		"the capabilities it requires; how busy\nits assignee or the "
		"capable agents are; how long its lease has left (the claimed\n"
		"file's mtime is the heartbeat); attempts left; reviewers and "
		"checks; the last\nfeedback; whether the daemon runs. Prints "
		"the causes ranked, likeliest first.\n--json adds a code per "
		"cause and the facts behind them.\n",
	.exec = cmd_diagnose_exec,
};
