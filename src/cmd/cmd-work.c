/*
 * spool work: the runner. Waits for a task the agent may claim (woken by
 * inotify), claims it, hydrates the workspace, runs the command with the
 * task in its environment while the lease is renewed, then submits or
 * gives the task back according to how the command ended. The command
 * cannot outlive the runner (work.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "state.h"
#include "task.h"
#include "fsutil.h"
#include "root.h"
#include "inspect.h"
#include "ops.h"
#include "registry.h"
#include "task-files.h"
#include "work.h"
#include "hydrate.h"
#include "cmd.h"

#define DEFAULT_LOG_MAX (1024L * 1024)
#define DEFAULT_GRACE_MS 10000L

struct work {
	const struct cmd_entry *self;
	spool *sp;
	const char *agent;
	const char *workspace;	/* absolute */
	const char *manifest;
	const char *project;
	char **argv;
	long timeout_ms, grace_ms;
	size_t log_max;
	bool json;
	int sigfd;
	spool_guard *guard;
};

/* What became of one task. */
struct result {
	const char *what;	/* submitted, released, failed, handed-over,
				 * not-started */
	char reason[512];
	spool_work_outcome o;
	bool ran;
	spool_loc now;
	bool found;
	spool_work_claim claim;
	long heartbeat_ms;
	/* where the runner's time went, for --json and the benchmark */
	long claim_us, settle_us, total_us;
};

static long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

/* "250ms", or a duration in seconds as everywhere else (30s, 15m). */
static int parse_ms(long *out, const char *s)
{
	size_t n = strlen(s);
	long secs;
	char *end;

	if (n > 2 && strcmp(s + n - 2, "ms") == 0) {
		errno = 0;
		*out = strtol(s, &end, 10);
		if (end == s + n - 2 && *out >= 0 && !errno)
			return 0;
		return spool_error_set(SPOOL_EINVALID, "'%s' is not a "
				       "duration", s);
	}
	if (spool_duration_parse(&secs, s) < 0)
		return SPOOL_EINVALID;
	*out = secs * 1000;
	return 0;
}

/* 1048576, 512K, 4M, 1G. */
static int parse_size(size_t *out, const char *s)
{
	unsigned long long n;
	char *end;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (end == s || errno || *s == '-')
		goto bad;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': n <<= 10; break;
	case 'm': case 'M': n <<= 20; break;
	case 'g': case 'G': n <<= 30; break;
	default: goto bad;
	}
	if (*end && end[1] && strcmp(end + 1, "B") && strcmp(end + 1, "iB"))
		goto bad;
	*out = (size_t)n;
	return 0;
bad:
	return spool_error_set(SPOOL_EINVALID, "'%s' is not a size (bytes, "
			       "or 512K, 4M, 1G)", s);
}

/* ---- waiting ----------------------------------------------------------- */

/* Blocks on inotify until something may be claimable; false if a stop
 * signal came instead (*sig names it). */
static bool wait_work(int ifd, int sigfd, int *sig)
{
	struct pollfd p[2] = { { .fd = ifd, .events = POLLIN },
			       { .fd = sigfd, .events = POLLIN } };
	char buf[4096] __attribute__((aligned(8)));
	struct signalfd_siginfo si;

	while (poll(p, 2, -1) < 0)
		if (errno != EINTR)
			return true;	/* look again rather than spin */
	if (p[1].revents & POLLIN &&
	    read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		*sig = (int)si.ssi_signo;
		return false;
	}
	while (read(ifd, buf, sizeof(buf)) > 0)
		;
	return true;
}

/*
 * Watches what makes a task claimable: a task arriving in ready/ (filed,
 * unblocked, released, retried) or sent back to claimed/A/, and the
 * registry (capabilities). Set up before the first look, so a task that
 * lands in between still wakes us.
 */
static int watch_start(int *out, spool *sp, const char *agent)
{
	char mine[PATH_MAX];
	const char *const dirs[] = { "ready", "agents", mine };
	char path[PATH_MAX];
	int fd, rc;

	/* claimed/A/ too: a reject or a plan approval sends work back */
	snprintf(mine, sizeof(mine), "claimed/%s", agent);
	if ((rc = spool_fs_mkdirs(sp, mine)) < 0)
		return rc;
	if ((fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot start inotify");
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", spool_root(sp), dirs[i]);
		if (inotify_add_watch(fd, path, IN_MOVED_TO | IN_CREATE |
				      IN_CLOSE_WRITE | IN_ONLYDIR) < 0) {
			int rc = spool_error_sys(SPOOL_ERROR, "cannot watch "
						 "'%s'", path);
			close(fd);
			return rc;
		}
	}
	*out = fd;
	return 0;
}

/* ---- one task ---------------------------------------------------------- */

/* Links the manifest's skills into the workspace; 0 when there is no
 * manifest to follow (none given, none configured). */
static int hydrate(struct work *w)
{
	const char *project = w->project;
	spool_manifest *m = NULL;
	spool_hy_plan *plan = NULL;
	size_t done = 0;
	int rc;

	rc = spool_manifest_open(&m, w->manifest, spool_root(w->sp));
	if (rc == SPOOL_ENOTFOUND && !w->manifest) {
		spool_error_clear();	/* none configured: nothing to do */
		return 0;
	}
	if (rc < 0)
		return rc;
	if (!project)
		project = spool_manifest_project_of(m, w->workspace);
	if ((rc = spool_hydrate_plan(&plan, m, w->workspace, project)) < 0)
		goto out;
	if (plan->nconflicts) {
		const spool_hy_conflict *c = &plan->conflicts[0];
		rc = spool_error_set(SPOOL_EINVALID, "hydrate: %zu conflict%s, "
			"first: '%s' is %s", plan->nconflicts,
			plan->nconflicts == 1 ? "" : "s", c->path, c->detail);
		goto out;
	}
	rc = spool_hydrate_apply(&done, m, plan);
out:
	spool_hy_plan_free(plan);
	spool_manifest_free(m);
	return rc;
}

/* deliverables/ID/ made, run.log opened afresh for this attempt. */
static int prepare(int *logfd, struct work *w, const char *id)
{
	char path[PATH_MAX];
	int rc;

	snprintf(path, sizeof(path), "deliverables/%s", id);
	if ((rc = spool_fs_mkdirs(w->sp, path)) < 0)
		return rc;
	snprintf(path, sizeof(path), "deliverables/%s/run.log", id);
	*logfd = openat(spool_rootfd(w->sp), path, O_WRONLY | O_CREAT |
			O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (*logfd < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot open '%s'", path);
	return 0;
}

/* The claim as the run starts, and the heartbeat: lease / 3, so that
 * two heartbeats may be late before the lease runs out. */
static void claim_facts(spool_work_claim *cl, long *heartbeat_ms,
			struct work *w, const spool_entry *e)
{
	json_t *task = NULL;
	long lease, attempt = 1;

	if (spool_task_load(&task, w->sp, &e->loc, e->id) < 0) {
		spool_error_clear();	/* the config's lease then */
		lease = spool_config_lease(w->sp);
	} else {
		lease = spool_task_lease(w->sp, task);
		attempt = spool_task_int(task, "attempt", 1);
	}
	json_decref(task);
	spool_work_claim_init(cl, attempt, lease * 1000);
	*heartbeat_ms = lease <= 0 ? 0
		: lease * 1000 / 3 > 0 ? lease * 1000 / 3 : 1;
}

static int run(struct result *r, struct work *w, const spool_entry *e,
	       int logfd)
{
	char file[PATH_MAX], deliv[PATH_MAX], rel[PATH_MAX];
	spool_work_cmd c = { .argv = w->argv, .dir = w->workspace,
			     .logfd = logfd, .log_max = w->log_max,
			     .timeout_ms = w->timeout_ms,
			     .grace_ms = w->grace_ms, .sp = w->sp,
			     .id = e->id, .agent = w->agent,
			     .stopfd = w->sigfd, .guard = w->guard };
	char **env = NULL;
	int rc;

	spool_loc_path(rel, sizeof(rel), &e->loc, e->id);
	snprintf(file, sizeof(file), "%s/%s", spool_root(w->sp), rel);
	snprintf(deliv, sizeof(deliv), "%s/deliverables/%s",
		 spool_root(w->sp), e->id);
	if ((rc = spool_work_env(&env, w->sp, w->agent, e->id, file, deliv,
				 w->workspace)) < 0)
		return rc;
	c.env = env;
	c.claim = &r->claim;
	c.heartbeat_ms = r->heartbeat_ms;
	rc = spool_work_exec(&r->o, &c);
	spool_work_env_free(env);
	if (rc == 0)
		r->ran = true;
	return rc;
}

/* Submit on exit 0, give back otherwise, unless the command already
 * handed the task over (spool submit, spool ask) or someone else moved
 * it (cancel, lease expired): then the spool's rules have spoken. */
static int settle(struct result *r, struct work *w, const char *id)
{
	spool_op_opts o = { .actor = w->agent, .reason = r->reason };
	spool_loc loc;
	int rc;

	/* A task whose lease ran out and that was claimed again, even for
	 * this agent, belongs to that claim now. */
	if (!spool_work_claim_check(&r->claim, w->sp, id, w->agent)) {
		r->what = "handed-over";
		return 0;
	}
	if (r->ran && r->o.end == SPOOL_WORK_EXITED && r->o.status == 0) {
		r->what = "submitted";
		o.reason = NULL;
		return spool_op_submit(w->sp, id, &o);
	}
	if ((rc = spool_op_release(w->sp, id, &o)) < 0)
		return rc;
	r->what = "released";
	if (spool_task_find(&loc, w->sp, id) == 0 &&
	    loc.state == SPOOL_STATE_FAILED)
		r->what = "failed";
	spool_error_clear();
	return 0;
}

static void report(struct work *w, const char *id, struct result *r)
{
	char where[128] = "";

	r->found = spool_task_find(&r->now, w->sp, id) == 0;
	if (r->found)
		spool_loc_format(where, sizeof(where), &r->now);
	spool_error_clear();
	if (w->json) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "id", id, "agent",
				      w->agent, "result", r->what);
		if (r->ran) {
			if (r->o.end == SPOOL_WORK_SIGNALED) {
				const char *s = sigabbrev_np(r->o.status);
				char name[32];
				snprintf(name, sizeof(name), "SIG%s",
					 s ? s : "?");
				json_object_set_new(o, "signal",
						    json_string(name));
			} else if (r->o.end == SPOOL_WORK_EXITED) {
				json_object_set_new(o, "exit",
					json_integer(r->o.status));
			}
			json_object_set_new(o, "elapsed_ms",
					    json_integer(r->o.elapsed_ms));
			json_object_set_new(o, "heartbeats",
					    json_integer(r->o.heartbeats));
			json_object_set_new(o, "log_bytes",
				json_integer((json_int_t)r->o.log_bytes));
			json_object_set_new(o, "log_dropped",
				json_integer((json_int_t)r->o.log_dropped));
		}
		json_object_set_new(o, "reason", json_string(r->reason));
		json_object_set_new(o, "claim_us", json_integer(r->claim_us));
		json_object_set_new(o, "settle_us", json_integer(r->settle_us));
		json_object_set_new(o, "total_us", json_integer(r->total_us));
		json_object_set_new(o, "state", r->found ? json_string(where)
							 : json_null());
		cmd_print_json(o);
		json_decref(o);
	} else {
		printf("%s %s: %s%s%s\n", id, r->what, r->reason,
		       r->found ? "; now in " : "", where);
	}
	fflush(stdout);
}

/* Appends the note the log ends with when it was capped. */
static void log_close(int logfd, const spool_work_outcome *o,
		      size_t log_max)
{
	if (logfd < 0)
		return;
	if (o->log_dropped)
		dprintf(logfd, "\n[spool work: run.log capped at %zu bytes; "
			"%zu more bytes dropped]\n", log_max, o->log_dropped);
	close(logfd);
}

/*
 * One claimed task from start to end. Returns 0, or an error, already
 * said, after which the runner stops (the task is given back first
 * whenever it can be). *stop is set when the runner was asked to stop
 * during the task.
 */
static int work_one(struct work *w, const spool_entry *e, bool adopted,
		    bool *stop, long claim_us, long t0)
{
	struct result r;
	int logfd = -1, rc, src;

	memset(&r, 0, sizeof(r));
	r.what = "not-started";
	claim_facts(&r.claim, &r.heartbeat_ms, w, e);
	/* An adopted claim may have gone long without a heartbeat. */
	if (adopted && spool_work_claim_renew(&r.claim, w->sp, e->id,
					      w->agent) < 0)
		spool_error_clear();	/* gone meanwhile: settle says so */
	if ((rc = prepare(&logfd, w, e->id)) < 0 ||
	    (rc = hydrate(w)) < 0) {
		/* The command never starts; the task goes back at once. */
		snprintf(r.reason, sizeof(r.reason), "not started: %s",
			 spool_error_message());
		if (logfd >= 0)
			dprintf(logfd, "spool work: %s\n", r.reason);
	} else if ((rc = run(&r, w, e, logfd)) < 0) {
		snprintf(r.reason, sizeof(r.reason), "not started: %s",
			 spool_error_message());
	} else {
		spool_work_describe(r.reason, sizeof(r.reason), &r.o,
				    w->timeout_ms);
		*stop = r.o.end == SPOOL_WORK_STOPPED;
	}
	log_close(logfd, &r.o, w->log_max);
	if (rc < 0)
		fprintf(stderr, "spool: %s: %s: %s\n", w->self->name, e->id,
			r.reason);
	r.claim_us = claim_us;
	r.settle_us = now_us();
	src = settle(&r, w, e->id);
	r.total_us = now_us() - t0;
	r.settle_us = now_us() - r.settle_us;
	if (src < 0) {
		cmd_fail(w->self, src);
		return src;
	}
	report(w, e->id, &r);
	return rc;
}

/* ---- the loop ---------------------------------------------------------- */

/*
 * The next task, with its run lock held: one already in claimed/A/ that
 * no runner runs (a reject or a plan approval sent it back, or its
 * runner died), else a new claim. Under the agent's lock, so that a
 * sibling runner never adopts a task between our claim and its lock.
 *
 * A new claim whose run lock is still held belongs to a runner that
 * stalled past the lease (it will find its claim lost and leave it): we
 * then keep the agent's lock for the run instead, so that no sibling
 * adopts the task when the stalled runner lets go.
 */
static int pick(spool_entry *e, int *tfd, bool *adopted, struct work *w)
{
	char name[SPOOL_ID_MAX + 8];
	int afd, rc;

	*tfd = -1;
	*adopted = false;
	snprintf(name, sizeof(name), "agent.%s", w->agent);
	if ((rc = spool_work_lock(&afd, w->sp, name, true)) < 0)
		return rc;
	rc = spool_work_adopt(e, tfd, w->sp, w->agent);
	if (rc == 0) {
		*adopted = true;
	} else if (rc == SPOOL_ENOWORK &&
		   (rc = spool_op_claim(e, w->sp, w->agent)) == 0) {
		snprintf(name, sizeof(name), "task.%s", e->id);
		rc = spool_work_lock(tfd, w->sp, name, false);
		if (rc == SPOOL_ELOCKED) {
			spool_error_clear();
			*tfd = afd;
			return 0;
		}
		if (rc < 0) {
			/* unrunnable here: give it back at once */
			spool_op_opts o = { .actor = w->agent,
					    .reason = "not started: no run lock" };
			spool_op_release(w->sp, e->id, &o);
		}
	}
	spool_work_unlock(afd);
	return rc;
}

/* A stop asked between two tasks: no new task is taken. */
static bool stop_asked(int sigfd, int *sig)
{
	struct signalfd_siginfo si;

	if (read(sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return false;
	*sig = (int)si.ssi_signo;
	return true;
}

static int loop(struct work *w, long max_tasks, bool no_wait)
{
	long done = 0, t0, claim_us;
	bool stop = false, said = false, adopted;
	int ifd = -1, tfd, rc = 0, sig = 0;
	spool_entry e;

	while (!stop && (max_tasks <= 0 || done < max_tasks)) {
		if (ifd < 0 && !no_wait && (rc = watch_start(&ifd, w->sp, w->agent)) < 0)
			break;
		if (stop_asked(w->sigfd, &sig))
			break;
		t0 = now_us();
		rc = pick(&e, &tfd, &adopted, w);
		claim_us = now_us() - t0;
		if (rc == SPOOL_ENOWORK) {
			spool_error_clear();
			rc = 0;
			if (no_wait)
				break;
			if (!wait_work(ifd, w->sigfd, &sig))
				break;
			continue;
		}
		if (rc < 0)
			break;
		/* A stop asked while claiming still lets the task start:
		 * the command is then stopped at once and the task given
		 * back, with the reason recorded (the claim is made). */
		rc = work_one(w, &e, adopted, &stop, claim_us, t0);
		spool_work_unlock(tfd);
		if (rc < 0) {
			said = true;
			break;
		}
		done++;
	}
	if (ifd >= 0)
		close(ifd);
	if (rc < 0)
		return said ? EXIT_ERROR : cmd_fail(w->self, rc);
	if (no_wait && done == 0 && !stop && !sig)
		return EXIT_NOWORK;
	return EXIT_OK;
}

static int cmd_work_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			 int argc, char **argv)
{
	static const struct option opts[] = {
		{ "agent", required_argument, NULL, 'a' },
		{ "workspace", required_argument, NULL, 'w' },
		{ "manifest", required_argument, NULL, 'm' },
		{ "project", required_argument, NULL, 'p' },
		{ "max-tasks", required_argument, NULL, 'n' },
		{ "once", no_argument, NULL, '1' },
		{ "no-wait", no_argument, NULL, 'N' },
		{ "timeout", required_argument, NULL, 't' },
		{ "grace", required_argument, NULL, 'g' },
		{ "log-max", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct work w = { .self = self, .log_max = DEFAULT_LOG_MAX,
			  .grace_ms = DEFAULT_GRACE_MS, .sigfd = -1 };
	const char *agent = NULL, *workspace = ".";
	char real[PATH_MAX], *end;
	long max_tasks = 0;
	bool no_wait = false;
	json_t *a = NULL;
	struct sigaction sa;
	sigset_t mask;
	int c, rc;

	/* '+': the command's own options are its own. */
	while ((c = getopt_long(argc, argv, "+a:w:m:p:n:1Nt:g:l:jh", opts,
				NULL)) != -1) {
		switch (c) {
		case 'a': agent = optarg; break;
		case 'w': workspace = optarg; break;
		case 'm': w.manifest = optarg; break;
		case 'p': w.project = optarg; break;
		case 'n':
			errno = 0;
			max_tasks = strtol(optarg, &end, 10);
			if (*end || end == optarg || max_tasks <= 0 || errno)
				return cmd_usage(self);
			break;
		case '1': max_tasks = 1; break;
		case 'N': no_wait = true; break;
		case 't':
		case 'g':
			if (parse_ms(c == 't' ? &w.timeout_ms : &w.grace_ms,
				     optarg) < 0) {
				fprintf(stderr, "spool: work: %s\n",
					spool_error_message());
				return EXIT_USAGE;
			}
			break;
		case 'l':
			if (parse_size(&w.log_max, optarg) < 0) {
				fprintf(stderr, "spool: work: %s\n",
					spool_error_message());
				return EXIT_USAGE;
			}
			break;
		case 'j': w.json = true; break;
		case 'h': cmd_print_help(stdout, self); return EXIT_OK;
		default: return cmd_usage(self);
		}
	}
	if (optind >= argc)
		return cmd_usage(self);
	w.argv = argv + optind;
	if (!(w.agent = cmd_agent(agent))) {
		fprintf(stderr, "spool: work: say who you are with --agent "
			"NAME or SPOOL_AGENT\n");
		return EXIT_USAGE;
	}
	if (!realpath(workspace, real))
		return cmd_error(self, "cannot use workspace '%s': %s",
				 workspace, strerror(errno));
	w.workspace = real;
	if ((rc = cmd_open(self, ctx)) != 0)
		return rc;
	w.sp = ctx->sp;
	/* An unknown agent would wait forever for work it can never take. */
	if ((rc = spool_agent_load(&a, w.sp, w.agent)) < 0)
		return cmd_fail(self, rc);
	json_decref(a);

	/* Signals arrive as data, in the same polls as the work. SIGINT
	 * and SIGTERM stop the runner even where its starter ignored them
	 * (a shell's background job ignores SIGINT); SIGHUP only where it
	 * was not ignored, as nohup asks. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigaction(SIGHUP, NULL, &sa) == 0 && sa.sa_handler != SIG_IGN)
		sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	if ((w.sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		return cmd_error(self, "cannot watch signals: %s",
				 strerror(errno));
	if ((rc = spool_guard_start(&w.guard)) < 0) {
		close(w.sigfd);
		return cmd_fail(self, rc);
	}
	rc = loop(&w, max_tasks, no_wait);
	spool_guard_free(w.guard);
	close(w.sigfd);
	return rc;
}

const struct cmd_entry cmd_work_entry = {
	.name = "work",
	.usage = "--agent A [--workspace DIR] [--manifest FILE] [--project P]\n"
		 "       [--max-tasks N | --once] [--no-wait] [--timeout D] "
		 "[--grace D]\n"
		 "       [--log-max SIZE] [--json] -- COMMAND [ARG...]",
	.summary = "run COMMAND for each task A claims; submit or give back "
		   "by its exit",
	.help =
	"Waits for a task A may claim (inotify, no polling), claims it, "
	"hydrates DIR\n(when a manifest is given or configured), runs COMMAND "
	"in DIR, renews the\nlease every third of it while COMMAND lives, "
	"then: exit 0 submits the task\nwith its deliverables; any other "
	"exit, a signal or the timeout gives it back\n(release: attempts are "
	"counted, the last one ends in failed/) with the\nreason. A task the "
	"command handed over itself (spool submit, ask) is left.\n"
	"\n"
	"COMMAND runs in a process group of its own, with stdin from "
	"/dev/null,\nstdout and stderr in deliverables/ID/run.log, and "
	"SPOOL_DIR, SPOOL_AGENT,\nSPOOL_TASK, SPOOL_TASK_FILE, "
	"SPOOL_DELIVERABLES and SPOOL_WORKSPACE set.\nIt dies with the runner, "
	"however the runner dies.\n"
	"\n"
	"  -a, --agent A          the agent (else $SPOOL_AGENT)\n"
	"  -w, --workspace DIR    where COMMAND runs (default: here)\n"
	"  -m, --manifest FILE    hydrate DIR from it before each task\n"
	"  -p, --project P        the project for hydrate\n"
	"  -n, --max-tasks N      exit after N tasks\n"
	"      --once             one task, then exit (--max-tasks 1)\n"
	"      --no-wait          exit when nothing is left to claim\n"
	"  -t, --timeout D        stop COMMAND after D (30s, 15m, 2h, 500ms)\n"
	"      --grace D          from SIGTERM to SIGKILL (default 10s)\n"
	"      --log-max SIZE     bytes kept in run.log (default 1M)\n"
	"      --json             one JSON line per task\n"
	"\n"
	"SIGTERM, SIGINT or SIGHUP stop COMMAND (SIGTERM to its group, SIGKILL "
	"after\nthe grace period), give the task back and exit 0.\n"
	"Exit codes: 0 done (N tasks, stopped, or nothing left with "
	"--no-wait);\n1 error; 2 usage; 3 nothing to claim with --no-wait. "
	"See docs/work.md.\n",
	.exec = cmd_work_exec,
};
