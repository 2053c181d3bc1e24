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

#include "daemon.h"

#define OUTPUT_MAX (16 * 1024)

int child_start(struct children *cs, char *const argv[], char *const env[],
		const char *dir, long timeout_s, const char *label,
		child_done_fn done, void *data, const char *arg,
		const char *name)
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

/* Hooks wait here when too many run at once. */
struct pending {
	char *hook;
	char *env[9];
};

static struct pending *queue;
static size_t qhead, qlen, qcap;

#define HOOKS_RUNNING_MAX 16
#define HOOKS_QUEUED_MAX 100000

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

static void spawn(struct daemon *d, struct pending *p)
{
	char path[4096], label[256];
	char *argv[3];
	const char *id = p->env[0] + strlen("SPOOL_TASK=");

	snprintf(path, sizeof(path), "%s/.spool/hooks/%s", spool_root(d->sp),
		 p->hook);
	snprintf(label, sizeof(label), "hook %s %s", p->hook, id);
	argv[0] = path;
	argv[1] = (char *)id;
	argv[2] = NULL;
	if (child_start(&d->kids, argv, p->env, spool_root(d->sp),
			d->hook_timeout, label, NULL, NULL, id, NULL) < 0)
		WARN("%s: %s", label, spool_error_message());
	pending_free(p);
}

void daemon_hooks_pump(struct daemon *d)
{
	while (qlen > 0 && hooks_running(d) < HOOKS_RUNNING_MAX) {
		struct pending p = queue[qhead];
		qhead = (qhead + 1) % qcap;
		qlen--;
		spawn(d, &p);
	}
}

static char *envf(const char *k, const char *v)
{
	size_t n = strlen(k) + strlen(v) + 2;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s=%s", k, v);
	return s;
}

void daemon_hook(struct daemon *d, const spool_transition *t)
{
	const char *name = hook_name(t);
	char path[4096], rel[256], from[128], to[128];
	struct pending p = { 0 };
	const char *agent;

	if (!name)
		return;
	snprintf(rel, sizeof(rel), ".spool/hooks/%s", name);
	if (faccessat(spool_rootfd(d->sp), rel, X_OK, 0) < 0)
		return;
	if (qlen >= HOOKS_QUEUED_MAX) {
		WARN("hook %s %s: %zu hooks are waiting; not run", name, t->id,
		     qlen);
		return;
	}
	if (qlen == qcap) {
		size_t nc = qcap ? qcap * 2 : 64;
		struct pending *q = malloc(nc * sizeof(*q));
		if (!q)
			return;
		for (size_t i = 0; i < qlen; i++)
			q[i] = queue[(qhead + i) % (qcap ? qcap : 1)];
		free(queue);
		queue = q;
		qhead = 0;
		qcap = nc;
	}
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
			pending_free(&p);
			return;
		}
	queue[(qhead + qlen) % qcap] = p;
	qlen++;
	daemon_hooks_pump(d);
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
