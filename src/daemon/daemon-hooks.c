/*
 * Child processes: hooks and acceptance checks. Each runs in its own
 * process group with its output on a non-blocking pipe read by the event
 * loop; past its deadline the whole group is killed. Nothing a child does
 * can stop the daemon: it never waits for one.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "state.h"
#include "root.h"
#include "history.h"
#include "journal.h"
#include "policy.h"
#include "shared.h"
#include "daemon.h"

#define OUTPUT_MAX (16 * 1024)

/*
 * In a child that waits for its start to be recorded: one byte from the
 * daemon says it is; the end of the pipe says the daemon died, and then
 * the journal says whether it had recorded this start.
 */
static void gate_wait(const struct gate *g)
{
	ssize_t n;
	char c;

	close(g->wfd);
	do
		n = read(g->rfd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1 && !daemon_journal_recorded(g->jfd, g->seq))
		_exit(0);
}

static int start_child(struct children *cs, char *const argv[],
		       char *const env[], const char *dir, long timeout_s,
		       const char *label, child_done_fn done, void *data,
		       const char *arg, const char *name,
		       const struct gate *gate)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct child *ch;
	int p[2];
	pid_t pid;

	if (cs->n == cs->cap) {
		size_t nc = cs->cap ? cs->cap * 2 : 16;
		struct child **v = realloc(cs->v, nc * sizeof(*v));
		if (!v)
			return -1;
		cs->v = v;
		cs->cap = nc;
	}
	if (!(ch = calloc(1, sizeof(*ch))))
		return -1;
	if (pipe2(p, O_CLOEXEC) < 0) {
		free(ch);
		return spool_error_sys(SPOOL_ERROR, "cannot make a pipe");
	}
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		free(ch);
		return spool_error_sys(SPOOL_ERROR, "cannot fork");
	}
	if (pid == 0) {
		sigset_t all;
		int null = open("/dev/null", O_RDONLY);
		setpgid(0, 0);
		sigfillset(&all);
		sigprocmask(SIG_UNBLOCK, &all, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (null >= 0)
			dup2(null, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		for (size_t i = 0; env && env[i]; i++)
			putenv(env[i]);
		if (gate)
			gate_wait(gate);
		if (dir && chdir(dir) < 0)
			_exit(126);
		execvp(argv[0], argv);
		dprintf(2, "cannot run '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);	/* both sides, so kill(-pid) always works */
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	ch->pid = pid;
	ch->outfd = p[0];
	ch->deadline = spool_now_ms() + (int64_t)timeout_s * 1000;
	ch->label = strdup(label);
	ch->done = done;
	ch->data = data;
	ch->arg = arg ? strdup(arg) : NULL;
	ch->name = name ? strdup(name) : NULL;
	ev.data.fd = p[0];
	epoll_ctl(cs->epfd, EPOLL_CTL_ADD, p[0], &ev);
	cs->v[cs->n++] = ch;
	DEBUG("%s: started (pid %d)", label, (int)pid);
	return 0;
}

int child_start(struct children *cs, char *const argv[], char *const env[],
		const char *dir, long timeout_s, const char *label,
		child_done_fn done, void *data, const char *arg,
		const char *name)
{
	return start_child(cs, argv, env, dir, timeout_s, label, done, data,
			   arg, name, NULL);
}

static void close_out(struct children *cs, struct child *ch)
{
	if (ch->outfd < 0)
		return;
	epoll_ctl(cs->epfd, EPOLL_CTL_DEL, ch->outfd, NULL);
	close(ch->outfd);
	ch->outfd = -1;
}

/* Reads what there is; true at end of file. */
static bool slurp(struct child *ch)
{
	char buf[4096];
	ssize_t n;

	for (;;) {
		n = read(ch->outfd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno != EAGAIN;
		if (n == 0)
			return true;
		if (ch->outlen < OUTPUT_MAX) {
			size_t take = (size_t)n;
			char *p;
			if (take > OUTPUT_MAX - ch->outlen)
				take = OUTPUT_MAX - ch->outlen;
			if (!(p = realloc(ch->out, ch->outlen + take + 1)))
				return false;
			ch->out = p;
			memcpy(ch->out + ch->outlen, buf, take);
			ch->outlen += take;
			ch->out[ch->outlen] = '\0';
		}
	}
}

bool child_read(struct children *cs, int fd)
{
	for (size_t i = 0; i < cs->n; i++) {
		struct child *ch = cs->v[i];
		if (ch->outfd != fd)
			continue;
		if (slurp(ch))
			close_out(cs, ch);
		return true;
	}
	return false;
}

static void log_output(const struct child *ch)
{
	const char *p = ch->out;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);
		INFO("%s: | %.*s", ch->label, len, p);
		p += len + (nl ? 1 : 0);
	}
}

static void finish(struct children *cs, size_t i, int status)
{
	struct child *ch = cs->v[i];

	if (ch->outfd >= 0) {
		slurp(ch);	/* what is left; grandchildren may hold it */
		close_out(cs, ch);
	}
	/* Anything the child left behind in its group goes too. */
	kill(-ch->pid, SIGKILL);
	log_output(ch);
	if (ch->killed)
		WARN("%s: killed after its timeout", ch->label);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		INFO("%s: ok", ch->label);
	else if (WIFEXITED(status))
		WARN("%s: exit status %d", ch->label, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		WARN("%s: killed by signal %d", ch->label, WTERMSIG(status));
	cs->v[i] = cs->v[--cs->n];
	if (ch->done)
		ch->done(ch->data, ch, status, ch->killed,
			 ch->out ? ch->out : "");
	free(ch->label);
	free(ch->out);
	free(ch->arg);
	free(ch->name);
	free(ch);
}

void child_reap(struct children *cs)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		size_t i;
		for (i = 0; i < cs->n && cs->v[i]->pid != pid; i++)
			;
		if (i < cs->n)
			finish(cs, i, status);
		else if (cs->orphan)
			cs->orphan(cs->orphan_data, pid, status);
	}
}

void child_expire(struct children *cs, int64_t now)
{
	for (size_t i = 0; i < cs->n; i++) {
		struct child *ch = cs->v[i];
		if (!ch->killed && ch->deadline <= now) {
			kill(-ch->pid, SIGKILL);
			ch->killed = true;
		}
	}
}

int64_t child_next_deadline(struct children *cs)
{
	int64_t next = 0;

	for (size_t i = 0; i < cs->n; i++)
		if (!cs->v[i]->killed &&
		    (!next || cs->v[i]->deadline < next))
			next = cs->v[i]->deadline;
	return next;
}

void child_kill_all(struct children *cs)
{
	for (size_t i = 0; i < cs->n; i++) {
		kill(-cs->v[i]->pid, SIGKILL);
		cs->v[i]->killed = true;
	}
	/* They die at once; collect them so none is left a zombie. */
	while (cs->n > 0) {
		int status;
		pid_t pid = waitpid(-1, &status, 0);
		size_t i;
		if (pid < 0)
			break;
		for (i = 0; i < cs->n && cs->v[i]->pid != pid; i++)
			;
		if (i < cs->n) {
			cs->v[i]->done = NULL;
			finish(cs, i, status);
		}
	}
	free(cs->v);
	cs->v = NULL;
	cs->cap = 0;
}

/* ---- hooks ------------------------------------------------------------- */

static const char *hook_name(const spool_transition *t)
{
	if (strcmp(t->verb, "revert") == 0 || strcmp(t->verb, "restore") == 0)
		return "on-violation";
	switch (t->to.state) {
	case SPOOL_STATE_READY: return "on-ready";
	case SPOOL_STATE_CLAIMED: return "on-claim";
	case SPOOL_STATE_REVIEW: return "on-submit";
	case SPOOL_STATE_DONE: return "on-done";
	case SPOOL_STATE_FAILED: return "on-fail";
	case SPOOL_STATE_CANCELLED: return "on-cancel";
	case SPOOL_STATE_BLOCKED: return "on-block";
	case SPOOL_STATE_QUARANTINE: return "on-quarantine";
	default: return NULL;
	}
}

/*
 * Hooks wait here when too many run at once, each with the place in the
 * history after its transition. They start in order, and a hook starts
 * only once the journal holds its place: see start_round.
 */
struct pending {
	char *hook;
	char *env[9];
	spool_jpos pos;
};

static struct pending *queue;
static size_t qhead, qlen, qcap;

#define HOOKS_RUNNING_MAX 16
/* Past this many waiting (config "hook_queue_max") the history is read no
 * further until hooks drain: none is ever dropped. */
#define HOOKS_QUEUED_MAX 10000

static size_t queue_max(struct daemon *d)
{
	return (size_t)spool_config_long(d->sp, "hook_queue_max",
					 HOOKS_QUEUED_MAX);
}

bool daemon_hooks_full(struct daemon *d)
{
	return qlen >= queue_max(d);
}

bool daemon_hooks_room(struct daemon *d)
{
	return qlen <= queue_max(d) / 2;
}

static size_t hooks_running(struct daemon *d)
{
	size_t n = 0;

	for (size_t i = 0; i < d->kids.n; i++)
		n += d->kids.v[i]->name == NULL && d->kids.v[i]->arg != NULL;
	return n;
}

static void pending_free(struct pending *p)
{
	free(p->hook);
	for (size_t i = 0; p->env[i]; i++)
		free(p->env[i]);
}

static const char *rel_of(const char *path, struct daemon *d)
{
	return path + strlen(spool_root(d->sp)) + 1;
}

bool daemon_trusted(struct daemon *d, const char *rel, const char *label)
{
	char why[512], msg[1024];

	if (!spool_shared(d->sp) ||
	    spool_shared_trusted(why, sizeof(why), d->sp, rel))
		return true;
	snprintf(msg, sizeof(msg), "%s: not run: %s", label, why);
	ERROR("%s", msg);
	spool_shared_violation(d->sp, msg);
	return false;
}

static bool spawn(struct daemon *d, struct pending *p, const struct gate *g)
{
	char path[4096], label[256];
	char *argv[3];
	const char *id = p->env[0] + strlen("SPOOL_TASK=");
	bool ok;

	snprintf(path, sizeof(path), "%s/.spool/hooks/%s", spool_root(d->sp),
		 p->hook);
	snprintf(label, sizeof(label), "hook %s %s", p->hook, id);
	if (!daemon_trusted(d, rel_of(path, d), label)) {
		pending_free(p);
		return false;
	}
	argv[0] = path;
	argv[1] = (char *)id;
	argv[2] = NULL;
	ok = start_child(&d->kids, argv, p->env, spool_root(d->sp),
			 d->hook_timeout, label, NULL, NULL, id, NULL, g) == 0;
	if (!ok)
		WARN("%s: %s", label, spool_error_message());
	pending_free(p);
	return ok;
}

/*
 * Starts the next n hooks. Each is forked and waits on a pipe; the
 * journal then records that they started, and only then do they run. A
 * daemon killed before the record leaves them to exit without running,
 * and the next daemon starts them; killed after it, they run, and the
 * next daemon does not. Those still deciding hold the journal locked
 * shared, so the next daemon reads it only once they have.
 */
static void start_round(struct daemon *d, size_t n)
{
	struct gate g = { .rfd = -1, .wfd = -1, .jfd = -1 };
	char go[HOOKS_RUNNING_MAX];
	spool_jpos pos = d->hooked;
	size_t started = 0;
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0) {
		WARN("cannot make a pipe: %s; hooks wait", strerror(errno));
		return;
	}
	g.rfd = p[0];
	g.wfd = p[1];
	g.jfd = daemon_journal_share(d);
	for (size_t i = 0; i < n && qlen > 0; i++) {
		struct pending e = queue[qhead];
		qhead = (qhead + 1) % qcap;
		qlen--;
		g.seq = ++d->hook_seq;
		started += spawn(d, &e, &g);
		pos = e.pos;
	}
	/* with none left waiting, the transitions without a hook too */
	if (qlen == 0)
		pos = d->hook_tail;
	daemon_journal_save(d, &pos);
	memset(go, 'g', sizeof(go));
	if (started && write(g.wfd, go, started) != (ssize_t)started)
		WARN("cannot start hooks: %s", strerror(errno));
	close(g.wfd);
	close(g.rfd);
	if (g.jfd >= 0)
		close(g.jfd);
}

void daemon_hooks_pump(struct daemon *d)
{
	size_t running = hooks_running(d);

	if (qlen > 0 && running < HOOKS_RUNNING_MAX)
		start_round(d, HOOKS_RUNNING_MAX - running);
}

static bool jpos_equal(const spool_jpos *a, const spool_jpos *b)
{
	return a->k == b->k && git_oid_equal(&a->commit, &b->commit);
}

void daemon_hooks_settle(struct daemon *d)
{
	daemon_hooks_pump(d);
	/* the transitions without a hook since the last one started */
	if (qlen == 0 && !jpos_equal(&d->hooked, &d->hook_tail))
		daemon_journal_save(d, &d->hook_tail);
}

static char *envf(const char *k, const char *v)
{
	size_t n = strlen(k) + strlen(v) + 2;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s=%s", k, v);
	return s;
}

static int enqueue(struct pending *p)
{
	if (qlen == qcap) {
		size_t nc = qcap ? qcap * 2 : 64;
		struct pending *q = malloc(nc * sizeof(*q));
		if (!q)
			return -1;
		for (size_t i = 0; i < qlen; i++)
			q[i] = queue[(qhead + i) % (qcap ? qcap : 1)];
		free(queue);
		queue = q;
		qhead = 0;
		qcap = nc;
	}
	queue[(qhead + qlen) % qcap] = *p;
	qlen++;
	return 0;
}

void daemon_hook(struct daemon *d, const spool_transition *t,
		 const spool_jpos *after)
{
	const char *name = hook_name(t);
	char path[4096], rel[256], from[128], to[128];
	struct pending p = { 0 };
	const char *agent;

	d->hook_tail = *after;
	if (!name)
		return;
	snprintf(rel, sizeof(rel), ".spool/hooks/%s", name);
	if (faccessat(spool_rootfd(d->sp), rel, X_OK, 0) < 0)
		return;
	spool_loc_format(from, sizeof(from), &t->from);
	spool_loc_format(to, sizeof(to), &t->to);
	if (t->to.state != SPOOL_STATE_NONE &&
	    t->to.state != SPOOL_STATE_QUARANTINE) {
		char p2[256];
		spool_loc_path(p2, sizeof(p2), &t->to, t->id);
		snprintf(path, sizeof(path), "%s/%s", spool_root(d->sp), p2);
	} else {
		snprintf(path, sizeof(path), "%s/quarantine/%s",
			 spool_root(d->sp), t->id);
	}
	agent = t->to.state == SPOOL_STATE_CLAIMED ? t->to.agent
	      : t->from.state == SPOOL_STATE_CLAIMED ? t->from.agent
	      : t->actor;
	p.hook = strdup(name);
	p.pos = *after;
	p.env[0] = envf("SPOOL_TASK", t->id);
	p.env[1] = envf("SPOOL_PATH", path);
	p.env[2] = envf("SPOOL_EVENT", t->verb);
	p.env[3] = envf("SPOOL_AGENT", agent);
	p.env[4] = envf("SPOOL_DIR", spool_root(d->sp));
	p.env[5] = envf("SPOOL_FROM", from);
	p.env[6] = envf("SPOOL_TO", to);
	p.env[7] = envf("SPOOL_NOTE", t->note);
	p.env[8] = NULL;
	for (int i = 0; i < 8; i++)
		if (!p.env[i] || !p.hook) {
			WARN("hook %s %s: out of memory; not run", name, t->id);
			pending_free(&p);
			return;
		}
	if (enqueue(&p) < 0) {
		WARN("hook %s %s: out of memory; not run", name, t->id);
		pending_free(&p);
	}
}

void daemon_hooks_free(void)
{
	while (qlen > 0) {
		pending_free(&queue[qhead]);
		qhead = (qhead + 1) % qcap;
		qlen--;
	}
	free(queue);
	queue = NULL;
	qcap = qhead = 0;
}
