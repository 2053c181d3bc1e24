/*
 * Watching with raw inotify(7). Every event names a path whose task is
 * then compared with HEAD; the disk is the truth of where a task is. The
 * order of the events is the truth of how it got there: one inotify
 * descriptor queues the events of all its watches in order, so each
 * task's renames go to the move log (moves.c) as they come, a rename's
 * two halves paired by their cookie. A directory is watched before it is
 * scanned, so a file moved in between is seen one way or the other. A
 * queue overflow (IN_Q_OVERFLOW) makes the next batch reconcile
 * everything from snapshots.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "error.h"
#include "state.h"
#include "fsutil.h"
#include "moves.h"
#include "root.h"
#include "policy.h"
#include "daemon.h"

/* ---- a set of paths ---------------------------------------------------- */

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static int rehash(struct pathset *s, size_t nslots)
{
	char **slots = calloc(nslots, sizeof(*slots));

	if (!slots)
		return -1;
	for (size_t i = 0; i < s->n; i++) {
		size_t k = hash(s->v[i]) & (nslots - 1);
		while (slots[k])
			k = (k + 1) & (nslots - 1);
		slots[k] = s->v[i];
	}
	free(s->slots);
	s->slots = slots;
	s->nslots = nslots;
	return 0;
}

int pathset_add(struct pathset *s, const char *path)
{
	size_t k;

	if ((s->n + 1) * 2 > s->nslots &&
	    rehash(s, s->nslots ? s->nslots * 2 : 64) < 0)
		return -1;
	for (k = hash(path) & (s->nslots - 1); s->slots[k];
	     k = (k + 1) & (s->nslots - 1))
		if (strcmp(s->slots[k], path) == 0)
			return 0;
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 64;
		char **p = realloc(s->v, nc * sizeof(*p));
		if (!p)
			return -1;
		s->v = p;
		s->cap = nc;
	}
	if (!(s->v[s->n] = strdup(path)))
		return -1;
	s->slots[k] = s->v[s->n++];
	return 0;
}

void pathset_clear(struct pathset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	s->n = 0;
	if (s->nslots > 4096) {
		/* a burst is over: give the memory back */
		free(s->slots);
		free(s->v);
		s->slots = NULL;
		s->v = NULL;
		s->nslots = s->cap = 0;
	} else if (s->slots) {
		memset(s->slots, 0, s->nslots * sizeof(*s->slots));
	}
}

void pathset_free(struct pathset *s)
{
	pathset_clear(s);
	free(s->slots);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* ---- the watch table --------------------------------------------------- */

/* A directory swapped for a link is not watched through it. */
#define DIR_MASK (IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE | \
		  IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | \
		  IN_DONT_FOLLOW)
#define ROOT_MASK (IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE | \
		   IN_ONLYDIR)

static const char *const watched[] = {
	"new", "blocked", "ready", "claimed", "review", "done", "failed",
	"cancelled"
};

static bool state_dir(const char *name)
{
	for (size_t i = 0; i < sizeof(watched) / sizeof(*watched); i++)
		if (strcmp(watched[i], name) == 0)
			return true;
	return false;
}

static struct watch *find_wd(struct watcher *wt, int wd)
{
	for (size_t i = 0; i < wt->n; i++)
		if (wt->w[i].wd == wd)
			return &wt->w[i];
	return NULL;
}

static int add_watch(struct watcher *wt, spool *sp, const char *path,
		     uint32_t mask)
{
	char abs[PATH_MAX];
	int wd;

	snprintf(abs, sizeof(abs), "%s%s%s", spool_root(sp), *path ? "/" : "",
		 path);
	wd = inotify_add_watch(wt->fd, abs, mask);
	if (wd < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			WARN("cannot watch '%s': %s", path, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < wt->n; i++)
		if (wt->w[i].wd == wd) {
			if (strcmp(wt->w[i].path, path) != 0) {
				/* a directory renamed: its moves mean nothing */
				free(wt->w[i].path);
				wt->w[i].path = strdup(path);
				wt->w[i].tasks = false;
			}
			return 0;
		}
	if (wt->n == wt->cap) {
		size_t nc = wt->cap ? wt->cap * 2 : 32;
		struct watch *p = realloc(wt->w, nc * sizeof(*p));
		if (!p)
			return -1;
		wt->w = p;
		wt->cap = nc;
	}
	memset(&wt->w[wt->n], 0, sizeof(wt->w[wt->n]));
	wt->w[wt->n].wd = wd;
	wt->w[wt->n].path = strdup(path);
	/* new/ holds names of any kind, claimed/ only directories */
	wt->w[wt->n].tasks = *path &&
		spool_loc_parse(&wt->w[wt->n].loc, path) == 0 &&
		wt->w[wt->n].loc.state != SPOOL_STATE_NEW &&
		(wt->w[wt->n].loc.state != SPOOL_STATE_CLAIMED ||
		 wt->w[wt->n].loc.agent[0]);
	spool_error_clear();
	wt->n++;
	DEBUG("watching '%s'", *path ? path : ".");
	return 0;
}

static uint32_t mask_for(const char *path)
{
	/* In claimed/AGENT/ a touch is a heartbeat. */
	if (strncmp(path, "claimed/", 8) == 0)
		return DIR_MASK | IN_ATTRIB;
	return DIR_MASK;
}

/* Watches claimed/NAME, then names it for a scan. */
static int watch_agent_dir(struct watcher *wt, spool *sp, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "claimed/%s", name);
	add_watch(wt, sp, path, mask_for(path));
	return pathset_add(&wt->dirty, path);
}

static int watch_claimed(struct watcher *wt, spool *sp)
{
	struct dirent *de;
	DIR *d;
	int fd;

	add_watch(wt, sp, "claimed", DIR_MASK);
	fd = spool_fs_open(sp, "claimed",
		    O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' &&
		    (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN)) {
			char path[PATH_MAX];
			snprintf(path, sizeof(path), "claimed/%s", de->d_name);
			add_watch(wt, sp, path, mask_for(path));
		}
	closedir(d);
	return 0;
}

int watch_all(struct watcher *wt, spool *sp)
{
	add_watch(wt, sp, "", ROOT_MASK);
	for (size_t i = 0; i < sizeof(watched) / sizeof(*watched); i++) {
		if (strcmp(watched[i], "claimed") == 0)
			watch_claimed(wt, sp);
		else
			add_watch(wt, sp, watched[i], DIR_MASK);
	}
	return 0;
}

int watch_open(struct watcher *wt, spool *sp)
{
	(void)sp;
	memset(wt, 0, sizeof(*wt));
	wt->swap_wd = -1;
	if (spool_moves_new(&wt->moves, MOVES_MAX) < 0)
		return SPOOL_ERROR;
	wt->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (wt->fd < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot start inotify");
	return 0;
}

void watch_close(struct watcher *wt)
{
	if (wt->fd >= 0)
		close(wt->fd);
	for (size_t i = 0; i < wt->n; i++)
		free(wt->w[i].path);
	free(wt->w);
	pathset_free(&wt->dirty);
	pathset_free(&wt->later);
	spool_moves_free(wt->moves);
	memset(wt, 0, sizeof(*wt));
	wt->fd = -1;
}

static void forget(struct watcher *wt, int wd)
{
	for (size_t i = 0; i < wt->n; i++)
		if (wt->w[i].wd == wd) {
			free(wt->w[i].path);
			wt->w[i] = wt->w[--wt->n];
			return;
		}
}

/*
 * Which first half of a rename a drain must not end on (see watch_drain).
 * The spool rewrites a task by exchanging it with a file in tmp/, which
 * is not watched: the task arrives from out of sight and leaves at once,
 * the second half of that leave never comes, and waiting for it would
 * only slow every batch after a rewrite.
 */
static void track_half(struct watcher *wt, const struct inotify_event *ev,
		       const char *id)
{
	bool paired_to = (ev->mask & IN_MOVED_TO) && wt->half == ev->cookie;
	bool swapped = (ev->mask & IN_MOVED_FROM) && wt->swap_wd == ev->wd &&
		       strcmp(wt->swap_id, id) == 0;

	wt->half = 0;
	wt->swap_wd = -1;
	if ((ev->mask & IN_MOVED_FROM) && !swapped)
		wt->half = ev->cookie;
	if ((ev->mask & IN_MOVED_TO) && !paired_to) {
		wt->swap_wd = ev->wd;
		snprintf(wt->swap_id, sizeof(wt->swap_id), "%s", id);
	}
}

/* A task file came or went: logged in the order the kernel queued it. */
static void log_move(struct watcher *wt, const struct watch *w,
		     const struct inotify_event *ev)
{
	char id[SPOOL_ID_MAX + 1];

	if (!w->tasks || (ev->mask & IN_ISDIR) ||
	    !spool_id_from_name(id, ev->name))
		return;
	track_half(wt, ev, id);
	if (ev->mask & IN_MOVED_FROM)
		spool_moves_leave(wt->moves, id, &w->loc, ev->cookie);
	else if (ev->mask & IN_DELETE)
		spool_moves_leave(wt->moves, id, &w->loc, 0);
	else if (ev->mask & IN_MOVED_TO)
		spool_moves_arrive(wt->moves, id, &w->loc, ev->cookie);
	else if (ev->mask & IN_CREATE)
		spool_moves_arrive(wt->moves, id, &w->loc, 0);
	else
		return;
	if (spool_moves_full(wt->moves) && !wt->overflow) {
		wt->overflow = true;
		wt->lost = "more tasks moved than the move log holds";
	}
}

static void on_event(struct watcher *wt, spool *sp,
		     const struct inotify_event *ev)
{
	char path[PATH_MAX];
	struct watch *w;
	bool dir = ev->mask & IN_ISDIR;

	if (ev->mask & IN_Q_OVERFLOW) {
		wt->overflow = true;
		wt->lost = "the inotify queue overflowed";
		return;
	}
	if (!(w = find_wd(wt, ev->wd)))
		return;
	if (ev->mask & IN_IGNORED) {
		forget(wt, ev->wd);
		return;
	}
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
		/* The directory went: what HEAD had in it comes back. If
		 * it was renamed, its name no longer says where tasks are. */
		w->tasks = false;
		if (*w->path)
			pathset_add(&wt->dirty, w->path);
		return;
	}
	if (!ev->len)
		return;
	if (!*w->path) {
		/* The root: only state directories matter. */
		if (!state_dir(ev->name))
			return;
		if (dir && (ev->mask & (IN_CREATE | IN_MOVED_TO))) {
			if (strcmp(ev->name, "claimed") == 0)
				watch_claimed(wt, sp);
			else
				add_watch(wt, sp, ev->name, DIR_MASK);
		}
		pathset_add(&wt->dirty, ev->name);
		return;
	}
	log_move(wt, w, ev);
	snprintf(path, sizeof(path), "%s/%s", w->path, ev->name);
	if (dir && strcmp(w->path, "claimed") == 0 &&
	    (ev->mask & (IN_CREATE | IN_MOVED_TO))) {
		watch_agent_dir(wt, sp, ev->name);	/* watch, then scan */
		return;
	}
	if ((ev->mask & IN_CREATE) && !dir) {
		/* Being written, maybe: look once it is closed, or soon
		 * (a hard link or a symlink is never closed). */
		if (!wt->later.n)
			wt->later_due = spool_now_ms() + 200;
		pathset_add(&wt->later, path);
		return;
	}
	pathset_add(&wt->dirty, path);
}

/*
 * The kernel queues a rename's two halves one after the other, and a read
 * may fall between them. A batch cut there would see the task leave with
 * no place to go, and the next one see it arrive from nowhere: the place
 * HEAD has would then be looked for in the wrong part of its moves. So a
 * drain that ends on a first half waits, briefly, for the second. None
 * comes when the task went out of the watched tree.
 */
#define HALF_WAIT_MS 5

static bool second_half_came(struct watcher *wt)
{
	struct pollfd p = { .fd = wt->fd, .events = POLLIN };

	if (!wt->half)
		return false;
	wt->half = 0;
	wt->halves++;
	return poll(&p, 1, HALF_WAIT_MS) == 1;
}

int watch_drain(struct watcher *wt, spool *sp)
{
	char buf[64 * 1024]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	for (;;) {
		n = read(wt->fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && second_half_came(wt))
				continue;
			if (errno == EAGAIN)
				return 0;
			return spool_error_sys(SPOOL_ERROR,
					       "cannot read inotify events");
		}
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (void *)p;
			wt->events++;
			on_event(wt, sp, ev);
			p += sizeof(*ev) + ev->len;
		}
	}
}
