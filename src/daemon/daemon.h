/* spoold's parts: options and logging (spoold.c), the event loop
 * (daemon-loop.c), inotify watches (daemon-watch.c), child processes for
 * hooks and checks (daemon-hooks.c), the history read back to run hooks
 * (daemon-journal.c), deadlines (daemon-timers.c). */
#ifndef SPOOL_DAEMON_H
#define SPOOL_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "state.h"
#include "moves.h"
#include "root.h"
#include "history.h"
#include "journal.h"

enum { LOG_DEBUG_ = 0, LOG_INFO_, LOG_WARN_, LOG_ERROR_ };

extern int daemon_log_level;
void dlog(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define DEBUG(...) do { if (daemon_log_level <= LOG_DEBUG_) dlog(LOG_DEBUG_, __VA_ARGS__); } while (0)
#define INFO(...) dlog(LOG_INFO_, __VA_ARGS__)
#define WARN(...) dlog(LOG_WARN_, __VA_ARGS__)
#define ERROR(...) dlog(LOG_ERROR_, __VA_ARGS__)

/* ---- watches ----------------------------------------------------------- */

/* A set of paths (relative to the root) named by events since the last
 * batch; deduplicated. */
struct pathset {
	char **v;
	size_t n, cap;
	char **slots;		/* open addressing over v's strings */
	size_t nslots;
};
int pathset_add(struct pathset *s, const char *path);
void pathset_clear(struct pathset *s);
void pathset_free(struct pathset *s);

struct watch {
	int wd;
	char *path;		/* "" for the root, "ready", "claimed/bob" */
	spool_loc loc;		/* the state directory it is, if tasks: */
	bool tasks;		/* their moves are logged */
};

struct watcher {
	int fd;			/* inotify */
	struct watch *w;
	size_t n, cap;
	bool overflow;		/* events were lost: reconcile all */
	const char *lost;	/* how: "the inotify queue overflowed" */
	struct pathset dirty;	/* paths to reconcile */
	struct pathset later;	/* files created, maybe not written yet */
	int64_t later_due;
	spool_moves *moves;	/* each task's moves, in order */
	size_t events;
	uint32_t half;		/* cookie of a rename's first half, unpaired */
	int swap_wd;		/* where a task arrived from out of sight */
	char swap_id[SPOOL_ID_MAX + 1];
	size_t halves;		/* drains that waited for a second half */
};

/* Tasks whose moves are kept between two batches; beyond, the next batch
 * reconciles everything from snapshots. */
#define MOVES_MAX 32768

int watch_open(struct watcher *wt, spool *sp);
void watch_close(struct watcher *wt);
/* Reads every queued event; fills dirty (and later). */
int watch_drain(struct watcher *wt, spool *sp);
/* Watches every state directory (again): after start and overflow. */
int watch_all(struct watcher *wt, spool *sp);

/* ---- children: hooks and checks ----------------------------------------- */

struct child;
typedef void (*child_done_fn)(void *data, struct child *ch, int status,
			      bool timed_out, const char *output);

struct child {
	pid_t pid;
	int outfd;		/* stdout+stderr, non-blocking */
	int64_t deadline;	/* ms; killed after */
	char *label;		/* "hook on-ready T-1" */
	char *out;		/* collected output (capped) */
	size_t outlen;
	bool killed;
	child_done_fn done;
	void *data;
	char *arg;		/* the caller's: a task id */
	char *name;		/* the caller's: a check name */
};

struct children {
	struct child **v;
	size_t n, cap;
	int epfd;
	/* A process that is not one of these ended (the packer). */
	void (*orphan)(void *data, pid_t pid, int status);
	void *orphan_data;
};

/* A child that runs only once its start is recorded (see start_round in
 * daemon-hooks.c). */
struct gate {
	int rfd, wfd;		/* a byte on rfd: the start is recorded */
	int jfd;		/* the journal, locked shared */
	uint64_t seq;		/* this start's number in the journal */
};

/* Starts argv with env (NULL-terminated "K=V" added to ours) in dir. */
int child_start(struct children *cs, char *const argv[], char *const env[],
		const char *dir, long timeout_s, const char *label,
		child_done_fn done, void *data, const char *arg,
		const char *name);
/* Reads output from the child owning fd; false if not one of ours. */
bool child_read(struct children *cs, int fd);
/* Reaps finished children and calls their done functions. */
void child_reap(struct children *cs);
/* Kills children past their deadline. */
void child_expire(struct children *cs, int64_t now);
int64_t child_next_deadline(struct children *cs);
void child_kill_all(struct children *cs);

/* ---- deadlines --------------------------------------------------------- */

enum { DL_LEASE = 1, DL_RETRY = 2, DL_RETAIN = 3, DL_INDEX = 4 };
/* git's index is brought up to date once the spool is quiet this long. */
#define INDEX_QUIET_MS 1000
#define INDEX_RETRY_MAX_MS (5 * 60 * 1000)

struct deadline {
	char id[SPOOL_ID_MAX + 1];
	spool_loc loc;
	int kind;
	int64_t due;
	int32_t next;		/* hash chain */
};

/* Deadlines by (kind, id), with the earliest found by a scan: one per
 * claimed or failed task, so thousands at most. */
struct deadlines {
	struct deadline *v;
	size_t n, cap;
	int32_t *buckets;
	size_t nbuckets;
};

void dl_set(struct deadlines *d, int kind, const char *id,
	    const spool_loc *loc, int64_t due);
void dl_drop(struct deadlines *d, int kind, const char *id);
int64_t dl_next(const struct deadlines *d);
void dl_free(struct deadlines *d);

/* ---- the daemon -------------------------------------------------------- */

struct daemon {
	spool *sp;
	struct watcher wt;
	struct children kids;
	struct deadlines dl;
	int epfd, sigfd, timerfd;
	bool stop, reload;
	bool gone;		/* the spool was removed under us */
	bool halted;		/* not recording: branch rewritten */
	char links[512];	/* the layout's symbolic links, as said */
	bool resumed;		/* accepted since: reconcile all */
	spool_jpos journal;	/* the history is read up to here */
	spool_jpos others;	/* read for the move log up to here */
	bool journal_behind;	/* stopped early: too many hooks wait */
	spool_jpos hooked;	/* hooks started up to here (the file) */
	spool_jpos hook_tail;	/* after the last one given to hooks */
	uint64_t hook_seq;	/* hooks started, ever */
	int journalfd;		/* .spool/run/journal, or -1 */
	int64_t last_commit_ms;	/* for batching under load */
	int64_t last_work_ms;	/* the last batch with events: packing waits */
	int64_t index_retry_ms;	/* git's index left behind: the next wait */
	size_t batches, transitions;
	pid_t packer;
	size_t pack_threshold;
	long hook_timeout;
	size_t checks_running;
	bool journal_due;	/* a check moved a task: read the history */
	int lockfd;		/* .spool/run/daemon.pid, held while running */
	int servefd;		/* a shared spool's socket, or -1 */
	spool *serve_sp;	/* the spool as requests see it */
};

int daemon_run(struct daemon *d, int ready_fd);

/* Tells systemd state ("READY=1", "STOPPING=1") under Type=notify
 * (daemon-notify.c); nothing when not started so. */
void daemon_notify(const char *state);

/* A shared spool's socket (daemon-serve.c): opened at start (nothing in
 * a single-user spool), each connection served at once. */
int serve_open(struct daemon *d);
void serve_accept(struct daemon *d);
/* Reads a connection's request, serving it once whole; false if fd is
 * not one. serve_expire closes those that took too long. */
bool serve_read(struct daemon *d, int fd);
void serve_expire(struct daemon *d);
void serve_close(struct daemon *d);
void daemon_free(struct daemon *d);

/* Queues .spool/hooks/on-EVENT for a transition, if there is one;
 * after is the place in the history after it. */
void daemon_hook(struct daemon *d, const spool_transition *t,
		 const spool_jpos *after);
/* In a shared spool, whether rel (a hook, a check's program) is one no
 * agent could have written (shared.h); if not, says so in the log and
 * in the violations spool status shows. label names what would run. */
bool daemon_trusted(struct daemon *d, const char *rel, const char *label);
/* Starts queued hooks while fewer than the limit run. */
void daemon_hooks_pump(struct daemon *d);
/* After a read of the history: starts what it queued, and records the
 * place reached once no hook waits. */
void daemon_hooks_settle(struct daemon *d);
/* The queue is full: read no further. Room: read again. */
bool daemon_hooks_full(struct daemon *d);
bool daemon_hooks_room(struct daemon *d);
void daemon_hooks_free(void);

/* The journal (daemon-journal.c). Load reads where hooks stopped (the
 * first commit on a first start); sync reads the history since, under the
 * lock; catch_up reads on after the hook queue was full. */
void daemon_journal_load(struct daemon *d);
void daemon_journal_sync(struct daemon *d);
void daemon_journal_catch_up(struct daemon *d);
void daemon_journal_close(struct daemon *d);
/* Records that hooks started up to pos (d->hook_seq of them). */
void daemon_journal_save(struct daemon *d, const spool_jpos *pos);
/* The journal opened again and locked shared, for a round of hooks to
 * hold while they decide; -1 if it cannot be. */
int daemon_journal_share(struct daemon *d);
/* Whether the journal on fd records the start numbered seq. Called in
 * a forked child. */
bool daemon_journal_recorded(int fd, uint64_t seq);

/* Hooks and checks for one recorded transition. */
void daemon_on_transition(struct daemon *d, const spool_transition *t);
/* Refreshes deadlines for a task path named by an event. */
void daemon_track_path(struct daemon *d, const char *path);
/* Scans claimed/, failed/ and review/ after start or overflow. */
void daemon_track_all(struct daemon *d);
/* Acts on deadlines that have passed (under the lock). */
void daemon_timers_fire(struct daemon *d);
void daemon_timers_arm(struct daemon *d);
/* Starts the check of a task in review/, if it has one. */
void daemon_check_start(struct daemon *d, const char *id);

#endif
