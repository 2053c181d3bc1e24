/*
 * The runner behind `spool work`: one command per claimed task, run in a
 * process group of its own that cannot outlive the runner, its output
 * kept in a capped log, its task's lease renewed while it lives.
 *
 * Same conventions as spool.h. Nothing here prints or exits, except the
 * forked processes themselves, which end with _exit.
 */
#ifndef SPOOL_WORK_H
#define SPOOL_WORK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "root.h"
#include "task-files.h"

/*
 * The guard: a small process, started once per runner, that kills the
 * current command's whole process group when the runner dies however it
 * dies (kill -9 included). PR_SET_PDEATHSIG reaches only the command
 * itself; the guard reaches its descendants too. It learns the group
 * through a pipe whose end of file is the runner's death.
 */
typedef struct spool_guard spool_guard;

int spool_guard_start(spool_guard **out);
/* The group the guard kills if the runner dies (0: none). */
int spool_guard_set(spool_guard *g, pid_t pgid);
/* Stops the guard (it kills nothing) and waits for it. */
void spool_guard_free(spool_guard *g);

/*
 * What a runner knows of its claim. The task's attempt on disk changes
 * when the spool records the claim (a raw release before it counts an
 * attempt), and when the lease expires and the task is claimed again,
 * perhaps for the same agent by another runner. Only the second can
 * happen after the lease went unrenewed for a whole lease: so an
 * attempt that changed after such a gap means the claim is lost.
 */
typedef struct {
	long attempt;		/* the last seen while the lease held */
	long renewed_ms;	/* CLOCK_BOOTTIME of the claim or renewal */
	long lease_ms;		/* <= 0: no lease known */
	bool lost;
} spool_work_claim;

void spool_work_claim_init(spool_work_claim *cl, long attempt,
			   long lease_ms);
/* Whether the task is still this claim: claimed by agent, and not taken
 * again after a gap. Sets cl->lost when it was taken again. */
bool spool_work_claim_check(spool_work_claim *cl, spool *sp, const char *id,
			    const char *agent);
/* Renews the lease (spool_op_heartbeat) if the claim is still ours. */
int spool_work_claim_renew(spool_work_claim *cl, spool *sp, const char *id,
			   const char *agent);

/*
 * Run locks, flock(2) on .spool/run/runners/NAME.lock: a runner holds its
 * task's lock while it runs it, and the agent's lock while it picks one
 * (claims, or adopts), so that a task in claimed/AGENT/ whose lock is
 * free is run by nobody. The kernel drops the locks of a runner that
 * died. NAME is task.ID or agent.NAME. wait: block for it; else
 * SPOOL_ELOCKED when it is held.
 */
int spool_work_lock(int *fd, spool *sp, const char *name, bool wait);
void spool_work_unlock(int fd);

/*
 * A task in claimed/AGENT/ that no runner runs (sent back by a reject or
 * a plan approval, or left by a runner that died), with its run lock
 * taken into *lockfd. SPOOL_ENOWORK if there is none. Call under the
 * agent's lock.
 */
int spool_work_adopt(spool_entry *out, int *lockfd, spool *sp,
		     const char *agent);

/* How a command ended. */
typedef enum {
	SPOOL_WORK_EXITED,	/* status: the exit status */
	SPOOL_WORK_SIGNALED,	/* status: the signal that killed it */
	SPOOL_WORK_TIMED_OUT,	/* ran past its timeout and was stopped */
	SPOOL_WORK_STOPPED	/* the runner was asked to stop */
} spool_work_end;

typedef struct {
	char *const *argv;	/* the command; argv[0] looked up in PATH */
	char *const *env;	/* its whole environment */
	const char *dir;	/* where it runs */
	int logfd;		/* its stdout and stderr go here, capped */
	size_t log_max;		/* bytes kept in logfd (0: none) */
	long timeout_ms;	/* <= 0: none */
	long grace_ms;		/* from SIGTERM to SIGKILL */
	long heartbeat_ms;	/* <= 0: no heartbeat */
	/* The task whose lease is renewed. */
	spool *sp;
	const char *id;
	const char *agent;
	spool_work_claim *claim;	/* renewed every heartbeat_ms */
	/* Readable when the runner is asked to stop (a signalfd); -1 none */
	int stopfd;
	spool_guard *guard;	/* may be NULL */
} spool_work_cmd;

typedef struct {
	spool_work_end end;
	int status;		/* exit status, or signal number */
	int stop_signal;	/* STOPPED: the signal the runner got */
	bool killed;		/* it took SIGKILL after the grace period */
	size_t log_bytes;	/* kept in the log */
	size_t log_dropped;	/* past log_max, not kept */
	long elapsed_ms;
	unsigned heartbeats;	/* leases renewed */
	pid_t pid;
} spool_work_outcome;

/*
 * Runs c->argv to its end: starts it in a new process group (with
 * PR_SET_PDEATHSIG, stdin from /dev/null), copies its output into the
 * log, renews the lease, stops it at the timeout or when stopfd becomes
 * readable (SIGTERM to the group, SIGKILL after the grace period), and
 * kills whatever is left of its group before it returns, on every path.
 * A command that cannot be started ends as EXITED with 127 (126 if its
 * directory cannot be entered), the reason in its log.
 */
int spool_work_exec(spool_work_outcome *out, const spool_work_cmd *c);

/*
 * The environment of a task's command: the runner's own, with SPOOL_DIR,
 * SPOOL_AGENT, SPOOL_TASK, SPOOL_TASK_FILE, SPOOL_DELIVERABLES and
 * SPOOL_WORKSPACE set (paths absolute). Free with spool_work_env_free.
 */
int spool_work_env(char ***out, const spool *sp, const char *agent,
		   const char *id, const char *task_file,
		   const char *deliverables, const char *workspace);
void spool_work_env_free(char **env);

/* "exit status 3", "killed by signal 9 (SIGKILL)", "timed out after 30s"
 * ...: how the command ended, as a release's reason says it. */
void spool_work_describe(char *buf, size_t len, const spool_work_outcome *o,
			 long timeout_ms);

#endif
