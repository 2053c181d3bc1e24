/*
 * Deadlines: leases on claimed tasks, retries of failed tasks. They are
 * learnt from events and from the history (never by scanning in a loop),
 * kept by task, and the one timerfd is set to the earliest. An idle spool
 * wakes the daemon only when a deadline is really due.
 */
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "error.h"
#include "state.h"
#include "task.h"
#include "fsutil.h"
#include "root.h"
#include "gitindex.h"
#include "archives.h"
#include "lease.h"
#include "policy.h"
#include "task-files.h"
#include "daemon.h"

/* ---- the table --------------------------------------------------------- */

static uint32_t timer_key(int kind, const char *id)
{
	uint32_t h = 2166136261u ^ (uint32_t)kind;

	while (*id)
		h = (h ^ (unsigned char)*id++) * 16777619u;
	return h;
}

static int32_t *chain_of(struct deadlines *d, int kind, const char *id)
{
	return &d->buckets[timer_key(kind, id) & (d->nbuckets - 1)];
}

static int32_t find(struct deadlines *d, int kind, const char *id)
{
	if (!d->nbuckets)
		return -1;
	for (int32_t i = *chain_of(d, kind, id); i >= 0; i = d->v[i].next)
		if (d->v[i].kind == kind && strcmp(d->v[i].id, id) == 0)
			return i;
	return -1;
}

static void rebuild(struct deadlines *d, size_t nb)
{
	int32_t *b = malloc(nb * sizeof(*b));

	if (!b)
		return;
	free(d->buckets);
	d->buckets = b;
	d->nbuckets = nb;
	for (size_t i = 0; i < nb; i++)
		b[i] = -1;
	for (size_t i = 0; i < d->n; i++) {
		int32_t *c = chain_of(d, d->v[i].kind, d->v[i].id);
		d->v[i].next = *c;
		*c = (int32_t)i;
	}
}

void dl_set(struct deadlines *d, int kind, const char *id,
	    const spool_loc *loc, int64_t due)
{
	int32_t i = find(d, kind, id);
	int32_t *c;

	if (i >= 0) {
		d->v[i].due = due;
		d->v[i].loc = *loc;
		return;
	}
	if (d->n == d->cap) {
		size_t nc = d->cap ? d->cap * 2 : 64;
		struct deadline *v = realloc(d->v, nc * sizeof(*v));
		if (!v)
			return;
		d->v = v;
		d->cap = nc;
	}
	if ((d->n + 1) * 2 > d->nbuckets)
		rebuild(d, d->nbuckets ? d->nbuckets * 2 : 64);
	if (!d->nbuckets)
		return;
	i = (int32_t)d->n++;
	memset(&d->v[i], 0, sizeof(d->v[i]));
	snprintf(d->v[i].id, sizeof(d->v[i].id), "%s", id);
	d->v[i].loc = *loc;
	d->v[i].kind = kind;
	d->v[i].due = due;
	c = chain_of(d, kind, id);
	d->v[i].next = *c;
	*c = i;
}

static void unlink_index(struct deadlines *d, int32_t i)
{
	int32_t *p = chain_of(d, d->v[i].kind, d->v[i].id);

	while (*p != i)
		p = &d->v[*p].next;
	*p = d->v[i].next;
}

void dl_drop(struct deadlines *d, int kind, const char *id)
{
	int32_t i = find(d, kind, id), last;

	if (i < 0)
		return;
	unlink_index(d, i);
	last = (int32_t)d->n - 1;
	if (i != last) {
		/* The last one takes the free place. */
		unlink_index(d, last);
		d->v[i] = d->v[last];
		int32_t *c = chain_of(d, d->v[i].kind, d->v[i].id);
		d->v[i].next = *c;
		*c = i;
	}
	d->n--;
	if (d->n == 0 && d->cap > 4096) {
		dl_free(d);	/* a burst is over: give the memory back */
	}
}

int64_t dl_next(const struct deadlines *d)
{
	int64_t next = 0;

	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].due && (!next || d->v[i].due < next))
			next = d->v[i].due;
	return next;
}

void dl_free(struct deadlines *d)
{
	free(d->v);
	free(d->buckets);
	memset(d, 0, sizeof(*d));
}

/* ---- learning deadlines ------------------------------------------------ */

/* What a task at loc means for the deadlines: a claimed one has a lease,
 * a failed one with attempts left a retry; anywhere else, neither. */
static void track(struct daemon *d, const char *id, const spool_loc *loc)
{
	char path[PATH_MAX];
	json_t *task = NULL;
	struct stat st;
	long attempt;

	spool_loc_path(path, sizeof(path), loc, id);
	if (spool_fs_lstat(d->sp, path, &st) < 0 ||
	    !S_ISREG(st.st_mode)) {
		/* Gone from here: a deadline kept for this place lapses. */
		int32_t i = find(&d->dl, loc->state == SPOOL_STATE_FAILED
				 ? DL_RETRY : DL_LEASE, id);
		if (i >= 0 && d->dl.v[i].loc.state == loc->state &&
		    strcmp(d->dl.v[i].loc.agent, loc->agent) == 0)
			dl_drop(&d->dl, d->dl.v[i].kind, id);
		return;
	}
	if (loc->state == SPOOL_STATE_CLAIMED) {
		/* A hint only, read from the file: the lease check decides
		 * on the recorded lease, and a lease an agent writes in its
		 * file is put back at once (its rewrite is tracked again). */
		if (spool_task_load(&task, d->sp, loc, id) < 0) {
			spool_error_clear();
			return;
		}
		dl_set(&d->dl, DL_LEASE, id, loc,
		       spool_lease_due_ms(d->sp, task, &st));
		dl_drop(&d->dl, DL_RETRY, id);
	} else if (loc->state == SPOOL_STATE_FAILED) {
		if (spool_task_load(&task, d->sp, loc, id) < 0) {
			spool_error_clear();
			return;
		}
		attempt = spool_task_int(task, "attempt", 1);
		dl_drop(&d->dl, DL_LEASE, id);
		if (attempt < spool_task_max_attempts(d->sp, task))
			dl_set(&d->dl, DL_RETRY, id, loc,
			       spool_retry_due_ms(d->sp, task, &st));
		else
			dl_drop(&d->dl, DL_RETRY, id);
	} else {
		dl_drop(&d->dl, DL_LEASE, id);
		dl_drop(&d->dl, DL_RETRY, id);
	}
	json_decref(task);
}

void daemon_track_path(struct daemon *d, const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX], id[SPOOL_ID_MAX + 1];
	spool_loc loc;

	if (!slash || (size_t)(slash - path) >= sizeof(dir) ||
	    !spool_id_from_name(id, slash + 1))
		return;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if (spool_loc_parse(&loc, dir) < 0) {
		spool_error_clear();
		return;
	}
	if (loc.state == SPOOL_STATE_CLAIMED ||
	    loc.state == SPOOL_STATE_FAILED)
		track(d, id, &loc);
}

static void scan_dir(struct daemon *d, const spool_loc *loc)
{
	char dir[128], id[SPOOL_ID_MAX + 1];
	struct dirent *de;
	DIR *dp;
	int fd;

	spool_loc_format(dir, sizeof(dir), loc);
	fd = spool_fs_open(d->sp, dir,
		    O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0 || !(dp = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(dp))) {
		if (loc->state == SPOOL_STATE_CLAIMED && !loc->agent[0]) {
			spool_loc sub = *loc;
			if (!spool_name_valid(de->d_name))
				continue;
			snprintf(sub.agent, sizeof(sub.agent), "%s",
				 de->d_name);
			scan_dir(d, &sub);
		} else if (spool_id_from_name(id, de->d_name)) {
			if (loc->state == SPOOL_STATE_REVIEW)
				daemon_check_start(d, id);
			else
				track(d, id, loc);
		}
	}
	closedir(dp);
}

/* How often the retention policy is applied: config
 * retention.interval_seconds, an hour by default. */
static int64_t retention_interval(struct daemon *d)
{
	json_t *r = json_object_get(spool_config(d->sp), "retention");
	json_t *v = json_object_get(r, "interval_seconds");

	return json_is_integer(v) && json_integer_value(v) > 0
		? (int64_t)json_integer_value(v) * 1000 : 3600 * 1000;
}

/* With a retention policy in the config, old finished work is archived
 * now and then: a timer like any other, no polling. */
static void retention_arm(struct daemon *d, int64_t due)
{
	spool_loc none = { .state = SPOOL_STATE_NONE };
	long after;

	if (spool_retention_after(&after, d->sp) < 0) {
		WARN("retention: %s", spool_error_message());
		return;
	}
	if (after >= 0)
		dl_set(&d->dl, DL_RETAIN, "retention", &none, due);
	else
		dl_drop(&d->dl, DL_RETAIN, "retention");
}

static void retention_run(struct daemon *d)
{
	spool_archive_stats st;
	long after;

	if (spool_retention_after(&after, d->sp) < 0 || after < 0)
		return;
	if (spool_archive_run(&st, d->sp, after, "spool", false) < 0)
		ERROR("retention: %s", spool_error_message());
	else if (st.tasks)
		INFO("retention: archived %zu finished tasks older than %lds",
		     st.tasks, after);
	retention_arm(d, spool_now_ms() + retention_interval(d));
}

void daemon_track_all(struct daemon *d)
{
	spool_loc claimed = { .state = SPOOL_STATE_CLAIMED };
	spool_loc failed = { .state = SPOOL_STATE_FAILED };
	spool_loc review = { .state = SPOOL_STATE_REVIEW };

	dl_free(&d->dl);
	scan_dir(d, &claimed);
	scan_dir(d, &failed);
	scan_dir(d, &review);
	retention_arm(d, spool_now_ms());
}

/* ---- acting on them ---------------------------------------------------- */

void daemon_timers_fire(struct daemon *d)
{
	int64_t now = spool_now_ms();
	size_t i = 0;

	/* Each action may drop entries: walk by index, re-reading n. */
	while (i < d->dl.n) {
		struct deadline e = d->dl.v[i];
		bool moved = false;
		int64_t due = 0;
		int rc;
		if (!e.due || e.due > now) {
			i++;
			continue;
		}
		if (e.kind == DL_RETAIN) {
			retention_run(d);	/* re-arms itself */
			i++;
			continue;
		}
		if (e.kind == DL_INDEX) {
			bool behind;
			/* A plain git command may hold index.lock: try again
			 * a little later rather than leave the index behind;
			 * each time later, for a failure that lasts (a name
			 * git refuses) must not rebuild it every second. */
			if (spool_index_update(&behind, d->sp) < 0 || behind) {
				DEBUG("index: %s", behind ? "behind, again "
				      "later" : spool_error_message());
				d->index_retry_ms = d->index_retry_ms
					? d->index_retry_ms * 2 : INDEX_QUIET_MS;
				if (d->index_retry_ms > INDEX_RETRY_MAX_MS)
					d->index_retry_ms = INDEX_RETRY_MAX_MS;
				dl_set(&d->dl, DL_INDEX, "index", &e.loc,
				       now + d->index_retry_ms);
				i++;
				continue;
			}
			d->index_retry_ms = 0;
			dl_drop(&d->dl, DL_INDEX, "index");
			/* The index of a big spool is megabytes in small
			 * pieces, freed but kept by malloc: give them back. */
			malloc_trim(0);
			continue;
		}
		if (e.kind == DL_LEASE)
			rc = spool_lease_check(&moved, &due, d->sp, e.id,
					       &e.loc, now);
		else
			rc = spool_retry_check(&moved, &due, d->sp, e.id, now);
		if (rc < 0)
			ERROR("%s %s: %s", e.kind == DL_LEASE ? "lease" :
			      "retry", e.id, spool_error_message());
		if (moved)
			INFO("%s %s", e.kind == DL_LEASE ? "lease expired:" :
			     "retry:", e.id);
		if (rc < 0 || moved || !due) {
			dl_drop(&d->dl, e.kind, e.id);
			continue;	/* the slot now holds another entry */
		}
		dl_set(&d->dl, e.kind, e.id, &e.loc, due);
		i++;
	}
}

void daemon_timers_arm(struct daemon *d)
{
	struct itimerspec its = { 0 };
	int64_t next = dl_next(&d->dl), c = child_next_deadline(&d->kids);

	if (c && (!next || c < next))
		next = c;
	if (d->wt.later.n && (!next || d->wt.later_due < next))
		next = d->wt.later_due;
	if (next) {
		if (next < 1)
			next = 1;
		its.it_value.tv_sec = next / 1000;
		its.it_value.tv_nsec = (next % 1000) * 1000000;
	}
	timerfd_settime(d->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}
