/*
 * The runner's process handling (see work.h): a command per task in a
 * process group of its own, a guard that kills that group if the runner
 * dies, the log, the lease, the timeout. One poll loop over the
 * command's pidfd, its output and the runner's stop signals: nothing
 * here polls on a clock but the heartbeat itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "state.h"
#include "task.h"
#include "fsutil.h"
#include "root.h"
#include "inspect.h"
#include "ops.h"
#include "task-files.h"
#include "work.h"

extern char **environ;

static long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* ---- the guard --------------------------------------------------------- */

struct spool_guard {
	pid_t pid;
	int wfd;
};

/* The guard's whole life: remember the group, kill it when its socket
 * says the runner is gone. It holds no other file of the runner (a lock
 * it kept open would outlive the runner) and ignores the signals meant
 * for the runner. */
static void __attribute__((noreturn)) guard_main(int rfd)
{
	static const int ignored[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
				       SIGPIPE, SIGTSTP };
	sigset_t all;
	pid_t pgid = 0, v;
	ssize_t n;

	if (rfd > 0)
		close_range(0, (unsigned)rfd - 1, 0);
	close_range((unsigned)rfd + 1, ~0U, 0);
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		signal(ignored[i], SIG_IGN);
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	setsid();
	for (;;) {
		n = read(rfd, &v, sizeof(v));
		if (n == (ssize_t)sizeof(v))
			pgid = v;
		else if (n < 0 && errno == EINTR)
			continue;
		else
			break;
	}
	if (pgid > 0)
		kill(-pgid, SIGKILL);
	_exit(0);
}

int spool_guard_start(spool_guard **out)
{
	spool_guard *g;
	int p[2];

	*out = NULL;
	if (!(g = calloc(1, sizeof(*g))))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	/* A socket rather than a pipe: a send to a guard that died fails
	 * with EPIPE instead of raising SIGPIPE in the runner. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0) {
		free(g);
		return spool_error_sys(SPOOL_ERROR, "cannot make a socket "
				       "pair");
	}
	g->pid = fork();
	if (g->pid < 0) {
		close(p[0]);
		close(p[1]);
		free(g);
		return spool_error_sys(SPOOL_ERROR, "cannot fork");
	}
	if (g->pid == 0) {
		free(g);
		guard_main(p[0]);
	}
	close(p[0]);
	g->wfd = p[1];
	*out = g;
	return 0;
}

int spool_guard_set(spool_guard *g, pid_t pgid)
{
	if (!g)
		return 0;
	if (send(g->wfd, &pgid, sizeof(pgid), MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(pgid))
		return spool_error_sys(SPOOL_ERROR, "cannot tell the guard "
				       "(pid %d) about process group %d",
				       (int)g->pid, (int)pgid);
	return 0;
}

void spool_guard_free(spool_guard *g)
{
	if (!g)
		return;
	spool_guard_set(g, 0);
	close(g->wfd);
	while (waitpid(g->pid, NULL, 0) < 0 && errno == EINTR)
		;
	free(g);
}

/* ---- the command ------------------------------------------------------- */

/*
 * The child's side of the fork: a group of its own, death with its
 * parent, signals as a fresh process has them, then the gate: it waits
 * until the guard knows its group, so nothing it starts can escape the
 * guard. Errors go to the log, which is its stderr.
 */
static void __attribute__((noreturn)) child_main(const spool_work_cmd *c,
						 pid_t parent, int gate,
						 int out)
{
	sigset_t all;
	char b;
	int null;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);	/* the runner died before the prctl */
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	if (read(gate, &b, 1) != 1)
		_exit(127);
	if ((null = open("/dev/null", O_RDONLY)) >= 0) {
		dup2(null, 0);
		if (null != 0)
			close(null);
	}
	dup2(out, 1);
	dup2(out, 2);
	if (c->dir && chdir(c->dir) < 0) {
		dprintf(2, "spool: work: cannot enter '%s': %s\n", c->dir,
			strerror(errno));
		_exit(126);
	}
	execvpe(c->argv[0], c->argv, c->env ? c->env : environ);
	dprintf(2, "spool: work: cannot run '%s': %s\n", c->argv[0],
		strerror(errno));
	_exit(errno == EACCES || errno == ENOEXEC ? 126 : 127);
}

/*
 * A descriptor that becomes readable when the child exits: its pidfd,
 * or where pidfd_open(2) is missing (kernels before 5.3, valgrind) a
 * signalfd for SIGCHLD, blocked since before the fork so that no exit
 * is missed. *chld tells which.
 */
static int exit_fd(bool *chld, pid_t pid)
{
	sigset_t m;
	int fd;

	*chld = false;
	if ((fd = pidfd_open(pid, 0)) >= 0 || errno != ENOSYS)
		return fd;
	sigemptyset(&m);
	sigaddset(&m, SIGCHLD);
	*chld = true;
	return signalfd(-1, &m, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Whether the child has exited, leaving it to be reaped. */
static bool exited_now(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT)
		== 0 && si.si_pid == pid;
}

static int spawn(pid_t *pid, int *outfd, int *pidfd, bool *chld,
		 const spool_work_cmd *c)
{
	pid_t parent = getpid();
	int out[2] = { -1, -1 }, gate[2] = { -1, -1 }, rc = 0;

	*pid = -1;
	*outfd = *pidfd = -1;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(gate, O_CLOEXEC) < 0) {
		rc = spool_error_sys(SPOOL_ERROR, "cannot make a pipe");
		goto out;
	}
	if ((*pid = fork()) < 0) {
		rc = spool_error_sys(SPOOL_ERROR, "cannot fork");
		goto out;
	}
	if (*pid == 0)
		child_main(c, parent, gate[0], out[1]);
	setpgid(*pid, *pid);	/* both sides: kill(-pid) works at once */
	if ((*pidfd = exit_fd(chld, *pid)) < 0) {
		rc = spool_error_sys(SPOOL_ERROR, "cannot watch process %d",
				     (int)*pid);
		kill(*pid, SIGKILL);	/* still at its gate */
		waitpid(*pid, NULL, 0);
		*pid = -1;
		goto out;
	}
	/* The guard first, then the gate: a runner killed in between
	 * leaves a child that reads end of file and exits. */
	if ((rc = spool_guard_set(c->guard, *pid)) == 0 &&
	    write(gate[1], "g", 1) != 1)
		rc = spool_error_sys(SPOOL_ERROR, "cannot start process %d",
				     (int)*pid);
	if (rc < 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		close(*pidfd);
		*pidfd = -1;
		*pid = -1;
		goto out;
	}
	*outfd = out[0];
	out[0] = -1;
	fcntl(*outfd, F_SETFL, O_NONBLOCK);
out:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (gate[i] >= 0)
			close(gate[i]);
	}
	return rc;
}

/* Copies what the command wrote into the log, up to the cap; true at
 * end of file. What is past the cap is read and counted, so that a
 * command never blocks on a full pipe. */
static bool drain(spool_work_outcome *o, const spool_work_cmd *c, int fd)
{
	char buf[65536];
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return true;
		if (n < 0)
			return errno != EINTR && errno != EAGAIN;
		size_t keep = c->log_max > o->log_bytes
			? c->log_max - o->log_bytes : 0;
		if (keep > (size_t)n)
			keep = (size_t)n;
		for (size_t done = 0; done < keep;) {
			ssize_t w = write(c->logfd, buf + done, keep - done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				/* A full disk: the rest is counted dropped. */
				keep = done;
				break;
			}
			done += (size_t)w;
		}
		o->log_bytes += keep;
		o->log_dropped += (size_t)n - keep;
	}
}

static long earliest(long a, long b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

/* SIGTERM to the group now, SIGKILL at the returned time. */
static long terminate(pid_t pid, long now, long grace_ms)
{
	kill(-pid, SIGTERM);
	return now + (grace_ms > 0 ? grace_ms : 0);
}

static long boot_ms(void)
{
	struct timespec ts;

	/* BOOTTIME: a runner stopped or a machine suspended is a gap */
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

void spool_work_claim_init(spool_work_claim *cl, long attempt,
			   long lease_ms)
{
	cl->attempt = attempt;
	cl->renewed_ms = boot_ms();
	cl->lease_ms = lease_ms;
	cl->lost = false;
}

bool spool_work_claim_check(spool_work_claim *cl, spool *sp, const char *id,
			    const char *agent)
{
	json_t *task = NULL;
	spool_loc loc;
	long attempt;
	bool gap;

	if (cl->lost)
		return false;
	if (spool_task_find(&loc, sp, id) < 0 ||
	    loc.state != SPOOL_STATE_CLAIMED || strcmp(loc.agent, agent) ||
	    spool_task_load(&task, sp, &loc, id) < 0) {
		spool_error_clear();	/* moved on: not ours to settle */
		return false;
	}
	attempt = spool_task_int(task, "attempt", 1);
	json_decref(task);
	gap = cl->lease_ms > 0 && boot_ms() - cl->renewed_ms >= cl->lease_ms;
	if (gap && attempt != cl->attempt) {
		cl->lost = true;
		return false;
	}
	cl->attempt = attempt;
	return true;
}

int spool_work_claim_renew(spool_work_claim *cl, spool *sp, const char *id,
			   const char *agent)
{
	int rc;

	if (!spool_work_claim_check(cl, sp, id, agent))
		return spool_error_set(SPOOL_ENOTFOUND, "'%s' is no longer "
				       "claimed by this run", id);
	if ((rc = spool_op_heartbeat(sp, id, agent)) == 0)
		cl->renewed_ms = boot_ms();
	return rc;
}

static void heartbeat(spool_work_outcome *o, const spool_work_cmd *c,
		      long *next, long now)
{
	int rc = spool_work_claim_renew(c->claim, c->sp, c->id, c->agent);

	/* Handed over (submitted, blocked, cancelled) or taken back: no
	 * lease of ours is left to renew. How the command ends decides. */
	if (rc == SPOOL_ENOTFOUND) {
		spool_error_clear();
		*next = -1;
		return;
	}
	if (rc == 0)
		o->heartbeats++;
	spool_error_clear();	/* a failed touch: the next one may do */
	*next = now + c->heartbeat_ms;
}

/* Waits for the leader, kills what is left of its group while the
 * leader, a zombie, still holds the group's id, then reaps it. */
static int reap(pid_t pid)
{
	siginfo_t si;
	int st = 0;

	memset(&si, 0, sizeof(si));
	while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0 &&
	       errno == EINTR)
		;
	kill(-pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return st;
}

int spool_work_exec(spool_work_outcome *o, const spool_work_cmd *c)
{
	struct pollfd p[3];
	long start, now, next_hb = -1, deadline = -1, kill_at = -1, wake;
	bool exited = false, timed_out = false, stopped = false, chld = false;
	sigset_t m, was;
	int outfd, pidfd, rc, st;
	pid_t pid;

	memset(o, 0, sizeof(*o));
	sigemptyset(&m);
	sigaddset(&m, SIGCHLD);
	sigprocmask(SIG_BLOCK, &m, &was);
	if ((rc = spawn(&pid, &outfd, &pidfd, &chld, c)) < 0) {
		sigprocmask(SIG_SETMASK, &was, NULL);
		return rc;
	}
	o->pid = pid;
	start = now = mono_ms();
	if (c->heartbeat_ms > 0 && c->claim)
		next_hb = start + c->heartbeat_ms;
	if (c->timeout_ms > 0)
		deadline = start + c->timeout_ms;
	p[0] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = outfd, .events = POLLIN };
	p[2] = (struct pollfd){ .fd = c->stopfd, .events = POLLIN };
	while (!exited) {
		wake = earliest(earliest(next_hb, kill_at),
				timed_out || stopped ? -1 : deadline);
		if (poll(p, 3, wake < 0 ? -1 : (int)(wake > now ?
			 (wake - now > INT_MAX ? INT_MAX : wake - now) : 0))
		    < 0 && errno != EINTR) {
			rc = spool_error_sys(SPOOL_ERROR, "cannot wait for "
					     "process %d", (int)pid);
			kill(-pid, SIGKILL);
			break;
		}
		if (p[1].fd >= 0 && p[1].revents && drain(o, c, p[1].fd))
			p[1].fd = -1;
		now = mono_ms();
		if (p[2].fd >= 0 && (p[2].revents & POLLIN)) {
			struct signalfd_siginfo si;
			if (read(p[2].fd, &si, sizeof(si)) ==
			    (ssize_t)sizeof(si) && !stopped) {
				o->stop_signal = (int)si.ssi_signo;
				stopped = true;
				if (kill_at < 0)
					kill_at = terminate(pid, now,
							    c->grace_ms);
			}
		}
		if (deadline >= 0 && now >= deadline && !timed_out &&
		    !stopped) {
			timed_out = true;
			kill_at = terminate(pid, now, c->grace_ms);
		}
		if (kill_at >= 0 && now >= kill_at) {
			kill(-pid, SIGKILL);
			o->killed = true;
			kill_at = -1;
		}
		if (next_hb >= 0 && now >= next_hb)
			heartbeat(o, c, &next_hb, now);
		if (p[0].revents & POLLIN) {
			if (chld) {
				struct signalfd_siginfo si;
				while (read(pidfd, &si, sizeof(si)) > 0)
					;
			}
			exited = !chld || exited_now(pid);
		}
	}
	st = reap(pid);
	spool_guard_set(c->guard, 0);
	if (p[1].fd >= 0)
		drain(o, c, p[1].fd);
	close(outfd);
	close(pidfd);
	sigprocmask(SIG_SETMASK, &was, NULL);
	o->elapsed_ms = mono_ms() - start;
	if (stopped)
		o->end = SPOOL_WORK_STOPPED;
	else if (timed_out)
		o->end = SPOOL_WORK_TIMED_OUT;
	else if (WIFSIGNALED(st))
		o->end = SPOOL_WORK_SIGNALED;
	else
		o->end = SPOOL_WORK_EXITED;
	o->status = WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st);
	return rc;
}

/* ---- run locks --------------------------------------------------------- */

int spool_work_lock(int *fd, spool *sp, const char *name, bool wait)
{
	char path[PATH_MAX];
	int rc;

	*fd = -1;
	if ((rc = spool_fs_mkdirs(sp, ".spool/run/runners")) < 0)
		return rc;
	snprintf(path, sizeof(path), ".spool/run/runners/%s.lock", name);
	*fd = openat(spool_rootfd(sp), path, O_RDWR | O_CREAT | O_NOFOLLOW |
		     O_CLOEXEC, 0644);
	if (*fd < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot open '%s'", path);
	while (flock(*fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
		if (errno == EINTR)
			continue;
		rc = errno == EWOULDBLOCK
			? spool_error_set(SPOOL_ELOCKED, "'%s' is held", path)
			: spool_error_sys(SPOOL_ERROR, "cannot lock '%s'",
					  path);
		close(*fd);
		*fd = -1;
		return rc;
	}
	return 0;
}

void spool_work_unlock(int fd)
{
	if (fd >= 0)
		close(fd);	/* drops the flock */
}

int spool_work_adopt(spool_entry *out, int *lockfd, spool *sp,
		     const char *agent)
{
	spool_entry *list = NULL;
	size_t n = 0;
	int rc;

	*lockfd = -1;
	if ((rc = spool_list(&list, &n, sp, SPOOL_STATE_CLAIMED, agent)) < 0)
		return rc;
	rc = SPOOL_ENOWORK;
	for (size_t i = 0; i < n && rc == SPOOL_ENOWORK; i++) {
		char name[SPOOL_ID_MAX + 8];
		spool_loc loc;
		int r;

		snprintf(name, sizeof(name), "task.%s", list[i].id);
		r = spool_work_lock(lockfd, sp, name, false);
		if (r == 0 && spool_task_find(&loc, sp, list[i].id) == 0 &&
		    loc.state == SPOOL_STATE_CLAIMED &&
		    strcmp(loc.agent, agent) == 0) {
			*out = list[i];
			rc = 0;
		} else if (r == 0) {
			spool_work_unlock(*lockfd);	/* moved meanwhile */
			*lockfd = -1;
		} else if (r != SPOOL_ELOCKED) {
			rc = r;
		}
	}
	free(list);
	if (rc == SPOOL_ENOWORK)
		spool_error_clear();
	return rc;
}

/* ---- environment and words --------------------------------------------- */

static const char *const env_names[] = {
	"SPOOL_DIR", "SPOOL_AGENT", "SPOOL_TASK", "SPOOL_TASK_FILE",
	"SPOOL_DELIVERABLES", "SPOOL_WORKSPACE"
};
#define NENV (sizeof(env_names) / sizeof(env_names[0]))

static bool ours(const char *kv)
{
	for (size_t i = 0; i < NENV; i++) {
		size_t n = strlen(env_names[i]);
		if (strncmp(kv, env_names[i], n) == 0 && kv[n] == '=')
			return true;
	}
	return false;
}

int spool_work_env(char ***out, const spool *sp, const char *agent,
		   const char *id, const char *task_file,
		   const char *deliverables, const char *workspace)
{
	const char *vals[NENV] = { spool_root(sp), agent, id, task_file,
				   deliverables, workspace };
	size_t n = 0, k = 0;
	char **env;

	*out = NULL;
	while (environ && environ[n])
		n++;
	if (!(env = calloc(n + NENV + 1, sizeof(*env))))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (!ours(environ[i]) && !(env[k++] = strdup(environ[i])))
			goto oom;
	for (size_t i = 0; i < NENV; i++) {
		if (!vals[i])
			continue;
		if (asprintf(&env[k], "%s=%s", env_names[i], vals[i]) < 0) {
			env[k] = NULL;
			goto oom;
		}
		k++;
	}
	*out = env;
	return 0;
oom:
	spool_work_env_free(env);
	return spool_error_set(SPOOL_ERROR, "out of memory");
}

void spool_work_env_free(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

void spool_work_describe(char *buf, size_t len, const spool_work_outcome *o,
			 long timeout_ms)
{
	char d[64];
	const char *sig;

	switch (o->end) {
	case SPOOL_WORK_EXITED:
		snprintf(buf, len, "exit status %d", o->status);
		break;
	case SPOOL_WORK_SIGNALED:
		sig = sigabbrev_np(o->status);
		snprintf(buf, len, "killed by signal %d (SIG%s)", o->status,
			 sig ? sig : "?");
		break;
	case SPOOL_WORK_TIMED_OUT:
		spool_duration_format(d, sizeof(d), (timeout_ms + 999) / 1000);
		snprintf(buf, len, "timed out after %s%s", d, o->killed
			 ? "; killed with SIGKILL after the grace period" : "");
		break;
	case SPOOL_WORK_STOPPED:
		sig = sigabbrev_np(o->stop_signal);
		snprintf(buf, len, "stopped: the runner got SIG%s%s",
			 sig ? sig : "?", o->killed
			 ? "; killed with SIGKILL after the grace period" : "");
		break;
	}
}
