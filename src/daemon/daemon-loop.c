/*
 * The event loop: one epoll over inotify, signals (signalfd), the
 * deadline timer (timerfd) and the output of hooks and checks. Events are
 * drained, then one locked batch reconciles every path they named, so a
 * burst shares its commits; the history since the last batch is then
 * read back to run hooks, once per transition, whoever made it
 * (daemon-journal.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "state.h"
#include "fsutil.h"
#include "moves.h"
#include "root.h"
#include "branch.h"
#include "gitpack.h"
#include "history.h"
#include "journal.h"
#include "repo.h"
#include "snapshot.h"
#include "inspect.h"
#include "policy.h"
#include "reconcile.h"
#include "daemon.h"

/* Batches closer together than this are a burst: one commit each. */
#define BUSY_MS 20
/* A batch naming more paths than this reconciles the whole tree. */
#define PATHS_MAX 20000
#define PACK_CHECK_MS 1000
#define PACK_BUSY_FACTOR 4
#define PACK_BUSY_BYTES ((size_t)256 << 20)
#define PACK_QUIET_BYTES ((size_t)16 << 20)

/* ---- what other writers recorded --------------------------------------- */

/* Commits read back at most in one go for the move log (the newest). */
#define OTHERS_MAX 100000

/* Everything up to HEAD is recorded; what comes next is others'. */
static void others_seen(struct daemon *d)
{
	git_repository *repo;

	if (spool_repo(&repo, d->sp) == 0 &&
	    git_reference_name_to_id(&d->others.commit, repo, "HEAD") == 0) {
		d->others.k = SPOOL_JPOS_ALL;
		return;
	}
	git_error_clear();
	spool_error_clear();
}

static int on_other(void *data, const spool_transition *t,
		    const spool_jpos *after)
{
	(void)after;
	spool_moves_touched(data, t->id, &t->from, &t->to);
	return 0;
}

/*
 * The tasks other writers (commands, a check's verdict) recorded
 * transitions of since the last batch. The events of their moves are in
 * the move log too: for those tasks reconcile goes on from the last time
 * the events show the place HEAD has, so nothing is recorded twice.
 */
static void others_read(struct daemon *d)
{
	if (!spool_moves_count(d->wt.moves)) {
		others_seen(d);
		return;
	}
	if (spool_journal_since(&d->others, d->sp, OTHERS_MAX, on_other,
				d->wt.moves) < 0) {
		WARN("cannot read the history: %s", spool_error_message());
		spool_error_clear();
		others_seen(d);
	}
}

/* ---- packing ----------------------------------------------------------- */

static void packer_done(void *data, pid_t pid, int status)
{
	struct daemon *d = data;

	if (pid != d->packer)
		return;
	d->packer = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		INFO("packed the history");
	else
		WARN("packing failed (status %d)", status);
}

/*
 * Packing deletes the loose copies, hundreds of files at once, and a
 * file system then takes longer to create the next ones (ext4 without a
 * journal skips recently freed inodes one by one): the packer waits for a
 * quiet second, unless the pile grows far past the threshold. Big trees
 * are loose uncompressed, so once quiet their bytes count too.
 */
static bool pack_due(struct daemon *d, bool quiet)
{
	size_t bytes, loose = spool_loose_estimate(d->sp, &bytes);

	if (loose >= d->pack_threshold * PACK_BUSY_FACTOR ||
	    bytes >= PACK_BUSY_BYTES)
		return true;
	return quiet && (loose >= d->pack_threshold ||
			 bytes >= PACK_QUIET_BYTES);
}

static void maybe_pack(struct daemon *d)
{
	static int64_t last;
	int64_t now = spool_now_ms();
	bool quiet = now - d->last_work_ms >= INDEX_QUIET_MS;
	pid_t pid;

	/* The quiet look comes from the index deadline, once: not held
	 * back by a look during the last batch. */
	if (d->packer || (!quiet && now - last < PACK_CHECK_MS))
		return;
	last = now;
	if (!pack_due(d, quiet))
		return;
	DEBUG("packing the loose objects");
	pid = fork();
	if (pid < 0) {
		WARN("cannot fork the packer: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		/* A fresh handle: nothing shared with the loop but files. */
		spool *sp = NULL;
		size_t packed;
		sigset_t all;
		sigfillset(&all);
		sigprocmask(SIG_UNBLOCK, &all, NULL);
		close(d->lockfd);	/* the daemon's lock dies with it */
		if (spool_open(&sp, spool_root(d->sp)) < 0 ||
		    spool_pack(&packed, sp) < 0) {
			dprintf(2, "spoold: packer: %s\n",
				spool_error_message());
			_exit(1);
		}
		_exit(0);
	}
	d->packer = pid;
}

/* ---- batches ----------------------------------------------------------- */

static int full_reconcile(struct daemon *d, const char *why,
			  spool_moves *moves)
{
	spool_reconcile_opts o = { .check_content = true, .batch = true,
				   .advance = true, .moves = moves };
	spool_reconcile_stats st;
	int rc;

	INFO("reconciling the whole tree (%s)", why);
	if ((rc = spool_reconcile_ex(&st, d->sp, &o)) < 0)
		return rc;
	INFO("filed %zu, quarantined %zu, recorded %zu, reverted %zu, "
	     "restored %zu, duplicates %zu, released %zu", st.filed,
	     st.quarantined, st.recorded, st.reverted, st.restored,
	     st.duplicates, st.released);
	return 0;
}

/* A spool removed under the daemon leaves nothing to watch or record;
 * retrying would only spin on the missing lock. Its config is the mark:
 * an 'rm -rf' racing with the daemon may leave a directory or two. */
static bool spool_removed(struct daemon *d)
{
	struct stat st;

	if (fstat(spool_rootfd(d->sp), &st) == 0 && st.st_nlink > 0 &&
	    spool_present(d->sp))
		return false;
	d->gone = d->stop = true;
	return true;
}

/*
 * A branch that moved other than by a fast-forward (git reset, a rebase)
 * stops every writer until an operator accepts the new HEAD: the daemon
 * then moves no file, commits nothing and runs no timer, and drops the
 * events it gets. Once accepted, it looks at the whole tree again.
 */
static bool halted(struct daemon *d)
{
	/* A spool being removed looks like a branch gone: stop instead. */
	if (spool_removed(d))
		return true;
	if (spool_branch_verify(d->sp) == SPOOL_ESTOPPED) {
		if (!d->halted)
			WARN("%s", spool_error_message());
		spool_error_clear();
		d->halted = true;
		pathset_clear(&d->wt.dirty);
		pathset_clear(&d->wt.later);
		return true;
	}
	spool_error_clear();
	if (d->halted) {
		INFO("recording resumes: the operator accepted HEAD");
		d->halted = false;
		d->resumed = true;
	}
	return false;
}

/*
 * A state directory or tmp/ that is a symbolic link (swapped by an agent)
 * stops recording as a rewritten branch does: the daemon reads, moves and
 * deletes nothing behind it, and looks at the whole tree again once it
 * is a directory. A link at deliverables/ or claimed/A/ is said too; the
 * paths that would go through it refuse on their own.
 */
static bool layout_linked(struct daemon *d)
{
	char why[sizeof(d->links)];
	bool halt;

	spool_layout_links(why, sizeof(why), &halt, d->sp);
	if (strcmp(why, d->links) != 0) {
		if (why[0])
			WARN("%s%s", why, halt ? "; recording stops until "
			     "then" : "");
		else
			INFO("no directory of the layout is a symbolic link "
			     "any more; recording resumes");
		if (!why[0] && d->links[0])
			d->resumed = true;
		snprintf(d->links, sizeof(d->links), "%s", why);
	}
	if (!halt)
		return false;
	pathset_clear(&d->wt.dirty);
	pathset_clear(&d->wt.later);
	return true;
}

/* Halted, no lease or retry is acted on: only hooks still running may
 * need killing at their timeout. */
static void arm_halted(struct daemon *d)
{
	struct itimerspec its = { 0 };
	int64_t next = child_next_deadline(&d->kids);

	its.it_value.tv_sec = next / 1000;
	its.it_value.tv_nsec = (next % 1000) * 1000000;
	timerfd_settime(d->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/*
 * Events still queued after the whole tree was read tell of moves made
 * before that read or while it went on: HEAD has their outcome already,
 * or the files will show it. Their order would be replayed from HEAD's
 * place as if new (a task back in ready/ several times has each claim
 * and release recorded again), so only the paths they name are kept,
 * for the next batch to judge from the files.
 */
static void forget_queued(struct daemon *d)
{
	if (watch_drain(&d->wt, d->sp) < 0)
		ERROR("%s", spool_error_message());
	spool_moves_clear(d->wt.moves);
}

static void add_kept(void *data, const char *id, const spool_place *p,
		     size_t n)
{
	struct pathset *ps = data;
	char path[PATH_MAX];

	for (size_t i = 0; i < n; i++)
		if (p[i].loc.state != SPOOL_STATE_NONE) {
			spool_loc_path(path, sizeof(path), &p[i].loc, id);
			pathset_add(ps, path);
		}
}

/*
 * The moves of a task that moved on while they were being recorded wait
 * for the next batch (spool_moves_keep). Its next moves bring it on at
 * once; if none come, the places it went through are looked at soon.
 */
#define KEPT_LOOK_MS 50

static void keep_unrecorded(struct watcher *wt, int64_t now)
{
	spool_moves_next(wt->moves);
	if (!spool_moves_count(wt->moves))
		return;
	if (!wt->later.n || wt->later_due > now + KEPT_LOOK_MS)
		wt->later_due = now + KEPT_LOOK_MS;
	spool_moves_each(wt->moves, add_kept, &wt->later);
}

static void batch(struct daemon *d, bool timer)
{
	struct watcher *wt = &d->wt;
	int64_t now = spool_now_ms();
	bool full, resumed;
	int rc = 0;

	/* Under the lock: a git command run by hand finishes first. */
	if (spool_lock(d->sp, -1) < 0) {
		if (!spool_removed(d))
			ERROR("%s", spool_error_message());
		return;
	}
	if (halted(d) || layout_linked(d)) {
		spool_unlock(d->sp);
		return;
	}
	/* A command moves and commits under the lock: now that it is ours,
	 * every event of what a command did is queued. Read short of them,
	 * a command's move would be judged from its first half, as if an
	 * agent had made the rest. */
	if (watch_drain(wt, d->sp) < 0)
		ERROR("%s", spool_error_message());
	/* With "batch: reconcile" below: what a kill -9 may cost is the
	 * moves made after the last batch that got that far (the torture
	 * check reads both). */
	DEBUG("batch: events read, %zu paths, %zu waits for a rename's "
	      "second half in all", wt->dirty.n, wt->halves);
	resumed = d->resumed;
	d->resumed = false;
	full = resumed || wt->overflow || wt->dirty.n > PATHS_MAX;

	if (wt->later.n && (timer || full) && wt->later_due <= now) {
		for (size_t i = 0; i < wt->later.n; i++)
			pathset_add(&wt->dirty, wt->later.v[i]);
		pathset_clear(&wt->later);
	}
	/* What others committed since the last batch is recorded: some of
	 * the moves the events showed need no record of ours. */
	others_read(d);
	if (full) {
		if (wt->overflow)
			WARN("%s", wt->lost ? wt->lost : "events were lost");
		wt->overflow = false;
		wt->lost = NULL;
		pathset_clear(&wt->dirty);
		/* events were lost: only snapshots can be trusted */
		spool_moves_clear(wt->moves);
		watch_all(wt, d->sp);
		rc = full_reconcile(d, resumed ? "recording resumes"
					       : "events were lost", NULL);
		daemon_track_all(d);
	} else if (wt->dirty.n) {
		/* Kept from the last batch: looked at in this one. */
		spool_moves_each(wt->moves, add_kept, &wt->dirty);
		spool_reconcile_opts o = {
			.paths = (const char *const *)wt->dirty.v,
			.npaths = wt->dirty.n,
			.check_content = true,
			.batch = now - d->last_commit_ms < BUSY_MS,
			.moves = wt->moves,
		};
		spool_reconcile_stats st;
		DEBUG("batch of %zu paths", wt->dirty.n);
		rc = spool_reconcile_ex(&st, d->sp, &o);
		if (rc == 0 && st.deferred)
			DEBUG("batch: %zu tasks moved on while being recorded; "
			      "their moves wait for the next batch", st.deferred);
		if (rc == 0 && (st.reverted || st.restored || st.quarantined ||
				st.duplicates))
			INFO("policed: reverted %zu, restored %zu, "
			     "quarantined %zu, duplicates %zu", st.reverted,
			     st.restored, st.quarantined, st.duplicates);
	}
	if (rc < 0) {
		/* What this batch named may be left unrecorded: the next
		 * looks at everything. */
		ERROR("reconcile: %s", spool_error_message());
		wt->overflow = true;
		wt->lost = "the last batch failed";
	}
	if (full || wt->dirty.n)
		d->last_work_ms = now;
	if (rc == 0 && (full || wt->dirty.n)) {
		/* plain 'git status' in the spool, once things are quiet */
		spool_loc none = { .state = SPOOL_STATE_NONE };
		dl_set(&d->dl, DL_INDEX, "index", &none, now + INDEX_QUIET_MS);
	}
	int64_t t1 = spool_now_ms();
	if (timer)
		daemon_timers_fire(d);
	daemon_journal_sync(d);
	/* Recorded: the next batch starts from HEAD. */
	keep_unrecorded(wt, now);
	others_seen(d);
	int64_t t2 = spool_now_ms();
	spool_unlock(d->sp);
	/* The commit is out; the trees it wrote are parsed while nobody
	 * waits, not when the next move comes. */
	if (full || wt->dirty.n)
		spool_map_warm(d->sp);
	for (size_t i = 0; i < wt->dirty.n; i++)
		daemon_track_path(d, wt->dirty.v[i]);
	/* After a burst, give back what it needed: memory stays flat. */
	if (full || wt->dirty.n > 1000)
		malloc_trim(0);
	DEBUG("batch: reconcile %lld ms, timers and history %lld ms, "
	      "deadlines %lld ms", (long long)(t1 - now),
	      (long long)(t2 - t1), (long long)(spool_now_ms() - t2));
	pathset_clear(&wt->dirty);
	if (full)
		forget_queued(d);
	d->batches++;
	d->last_commit_ms = spool_now_ms();
	maybe_pack(d);
}

/* ---- the loop ---------------------------------------------------------- */

static int setup(struct daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	d->timerfd = timerfd_create(CLOCK_REALTIME,
				    TFD_NONBLOCK | TFD_CLOEXEC);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->sigfd < 0 || d->timerfd < 0 || d->epfd < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot set up the loop");
	if (watch_open(&d->wt, d->sp) < 0)
		return SPOOL_ERROR;
	d->kids.epfd = d->epfd;
	d->kids.orphan = packer_done;
	d->kids.orphan_data = d;
	ev.data.fd = d->wt.fd;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->wt.fd, &ev);
	ev.data.fd = d->sigfd;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->sigfd, &ev);
	ev.data.fd = d->timerfd;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->timerfd, &ev);
	return 0;
}

static void on_signals(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			if (!d->stop)
				INFO("signal %d: finishing the batch, then "
				     "stopping", (int)si.ssi_signo);
			d->stop = true;
			break;
		case SIGHUP:
			d->reload = true;
			break;
		case SIGCHLD:
			child_reap(&d->kids);
			break;
		}
	}
}

static void reload(struct daemon *d)
{
	d->reload = false;
	if (spool_config_reload(d->sp) < 0) {
		ERROR("keeping the old config: %s", spool_error_message());
		return;
	}
	d->hook_timeout = spool_config_long(d->sp, "hook_timeout_seconds", 10);
	d->pack_threshold = (size_t)spool_config_long(d->sp,
		"pack_loose_objects", 4096);
	INFO("reloaded .spool/config.json");
	if (spool_lock(d->sp, -1) == 0) {
		daemon_track_all(d);	/* leases and backoffs may differ */
		spool_unlock(d->sp);
	}
}

int daemon_run(struct daemon *d, int ready_fd)
{
	struct epoll_event evs[32];
	int rc;

	d->journalfd = -1;
	d->hook_timeout = spool_config_long(d->sp, "hook_timeout_seconds", 10);
	d->pack_threshold = (size_t)spool_config_long(d->sp,
		"pack_loose_objects", 4096);
	if ((rc = setup(d)) < 0)
		return rc;
	/* What is at HEAD before the first watch is recorded; a commit made
	 * after it may hold moves the events also show (a command that
	 * holds the lock while this waits for it), so it is another
	 * writer's. */
	others_seen(d);
	/* Watch first, then look: nothing falls between. */
	watch_all(&d->wt, d->sp);
	pathset_clear(&d->wt.dirty);
	if ((rc = spool_lock(d->sp, -1)) < 0)
		return rc;
	/* The lock may take a while (a command records what agents did
	 * while no spoold ran): the moves made meanwhile were watched, and
	 * their events name who made them, where the files alone would
	 * give an agent's submit to the one HEAD last saw holding the task.
	 * The look goes on from them; it still stands for everything
	 * before the watch. */
	if (watch_drain(&d->wt, d->sp) < 0)
		ERROR("%s", spool_error_message());
	others_read(d);
	pathset_clear(&d->wt.dirty);
	daemon_journal_load(d);
	rc = full_reconcile(d, "start", d->wt.moves);
	if (rc == SPOOL_ESTOPPED) {
		WARN("%s", spool_error_message());
		d->halted = true;
		rc = 0;
	} else if (rc == 0) {
		daemon_journal_sync(d);
		daemon_track_all(d);
	}
	others_seen(d);
	if (rc == 0)
		forget_queued(d);
	spool_unlock(d->sp);
	malloc_trim(0);	/* the whole tree's map is gone */
	if (rc < 0)
		return rc;
	if (serve_open(d) < 0)
		return SPOOL_ERROR;
	if (d->wt.dirty.n && !d->halted)
		batch(d, false);
	INFO("watching %s (%zu directories)", spool_root(d->sp), d->wt.n);
	daemon_notify("READY=1");
	if (ready_fd >= 0) {
		if (write(ready_fd, "", 1) < 0) {
			/* the parent is gone; carry on */
		}
		close(ready_fd);
	}
	daemon_timers_arm(d);
	while (!d->stop) {
		bool timer = false;
		int n = epoll_wait(d->epfd, evs, 32, -1);
		if (n < 0 && errno != EINTR)
			return spool_error_sys(SPOOL_ERROR, "epoll_wait");
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == d->wt.fd) {
				if (watch_drain(&d->wt, d->sp) < 0)
					ERROR("%s", spool_error_message());
			} else if (fd == d->sigfd) {
				on_signals(d);
			} else if (fd == d->servefd) {
				serve_accept(d);
			} else if (fd == d->timerfd) {
				uint64_t ticks;
				if (read(d->timerfd, &ticks, sizeof(ticks)) < 0) {
					/* spurious */
				}
				timer = true;
			} else if (!serve_read(d, fd)) {
				child_read(&d->kids, fd);
			}
		}
		/* What the loop just read may be followed closely by more. */
		if (d->wt.dirty.n && watch_drain(&d->wt, d->sp) < 0)
			ERROR("%s", spool_error_message());
		if (d->reload)
			reload(d);
		if (timer)
			child_expire(&d->kids, spool_now_ms());
		serve_expire(d);
		/* Halted, any wake-up looks whether to resume. */
		if (d->wt.overflow || d->wt.dirty.n || timer || d->halted)
			batch(d, timer);
		daemon_hooks_pump(d);
		if (d->halted) {
			arm_halted(d);
		} else {
			daemon_journal_catch_up(d);
			daemon_timers_arm(d);
		}
	}
	daemon_notify("STOPPING=1");
	INFO("stopping after %zu batches, %zu transitions", d->batches,
	     d->transitions);
	if (d->gone)
		return spool_error_set(SPOOL_ENOTFOUND, "the spool '%s' was "
				       "removed; nothing left to watch",
				       spool_root(d->sp));
	return 0;
}

void daemon_free(struct daemon *d)
{
	serve_close(d);
	child_kill_all(&d->kids);
	daemon_hooks_free();
	daemon_journal_close(d);
	if (d->packer) {
		int status;
		waitpid(d->packer, &status, 0);
	}
	watch_close(&d->wt);
	dl_free(&d->dl);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->timerfd >= 0)
		close(d->timerfd);
	if (d->epfd >= 0)
		close(d->epfd);
}
