/*
 * Task ids are never given twice: not to a new task while an old one is
 * in the tree, in an archive, or anywhere in the history. The counter in
 * .spool/run/next-id is only a cache (a fresh clone has none): the next
 * number is also past the archive's highest, and a counter rebuilt from
 * nothing is past everything the history ever recorded.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "state.h"
#include "fsutil.h"
#include "root.h"
#include "history-read.h"
#include "archive-find.h"
#include "ids.h"
#include "task-files.h"

#define ARCHIVE_DIR "archive"

long spool_id_number(const char *id, const char *prefix)
{
	size_t n = strlen(prefix);
	char *end;
	long v;

	if (strncmp(id, prefix, n) != 0 || !id[n] || id[n] < '0' ||
	    id[n] > '9')
		return -1;
	v = strtol(id + n, &end, 10);
	return *end ? -1 : v;
}

/* The highest number of prefix in the "ID\tstate..." lines of an index. */
static long index_max(const char *buf, size_t len, const char *prefix)
{
	const char *p = buf, *end = buf + len;
	char id[SPOOL_ID_MAX + 1];
	long max = -1;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		const char *tab = memchr(p, '\t', (size_t)(eol - p));
		if (tab && (size_t)(tab - p) <= SPOOL_ID_MAX) {
			long v;
			memcpy(id, p, (size_t)(tab - p));
			id[tab - p] = '\0';
			if ((v = spool_id_number(id, prefix)) > max)
				max = v;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return max;
}

static long archive_scan(spool *sp, const char *prefix)
{
	char path[PATH_MAX];
	struct dirent *de;
	long max = -1;
	DIR *d;
	int fd;

	fd = spool_fs_open(sp, ARCHIVE_DIR, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char *buf = NULL;
		size_t len;
		long v;
		if (de->d_name[0] == '.' || n < 5 ||
		    strcmp(de->d_name + n - 4, ".tsv") != 0)
			continue;
		snprintf(path, sizeof(path), ARCHIVE_DIR "/%s", de->d_name);
		if (spool_fs_read(&buf, &len, sp, path, 1 << 28) == 0 &&
		    (v = index_max(buf, len, prefix)) > max)
			max = v;
		free(buf);
	}
	closedir(d);
	spool_error_clear();
	return max;
}

/* Kept while archive/ does not change: a rename into it, or any write to
 * it, changes its ctime. */
long spool_ids_archived_max(spool *sp, const char *prefix)
{
	struct stat st;
	int64_t stamp;

	if (spool_fs_lstat(sp, ARCHIVE_DIR, &st) < 0)
		return -1;
	stamp = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
	if (!sp->ids_cached || sp->ids_stamp != stamp ||
	    strcmp(sp->ids_prefix, prefix) != 0) {
		sp->ids_archived = archive_scan(sp, prefix);
		sp->ids_stamp = stamp;
		snprintf(sp->ids_prefix, sizeof(sp->ids_prefix), "%s", prefix);
		sp->ids_cached = true;
	}
	return sp->ids_archived;
}

struct hmax {
	const char *prefix;
	long max;
};

static int hmax_fn(void *data, const char *hex, int64_t time, const char *id,
		   size_t idlen)
{
	struct hmax *h = data;
	char buf[SPOOL_ID_MAX + 1];
	long v;

	(void)hex;
	(void)time;
	if (idlen > SPOOL_ID_MAX)
		return 0;
	memcpy(buf, id, idlen);
	buf[idlen] = '\0';
	if ((v = spool_id_number(buf, h->prefix)) > h->max)
		h->max = v;
	return 0;
}

long spool_ids_history_max(spool *sp, const char *prefix)
{
	struct hmax h = { .prefix = prefix, .max = -1 };
	spool_hindex *hi = NULL;

	if (spool_hindex_open(&hi, sp) == 0)
		spool_hindex_foreach(hi, hmax_fn, &h);
	spool_hindex_free(hi);
	spool_error_clear();
	return h.max;
}

int spool_id_check_unused(spool *sp, const char *id)
{
	spool_archived arc;
	spool_hindex *h = NULL;
	spool_loc loc;
	int64_t last = 0;

	if (spool_task_find(&loc, sp, id) != SPOOL_ENOTFOUND)
		return spool_error_set(SPOOL_EEXISTS, "task id '%s' is already "
			"in use; drop the id field to get a fresh one", id);
	if (spool_archive_find(&arc, NULL, NULL, sp, id) == 0)
		return spool_error_set(SPOOL_EEXISTS, "task id '%s' was used "
			"before (archived in %s); ids are never reused: drop "
			"the id field to get a fresh one", id, arc.archive);
	if (spool_hindex_open(&h, sp) == 0)
		last = spool_hindex_last(h, id);
	spool_hindex_free(h);
	spool_error_clear();
	if (last > 0)
		return spool_error_set(SPOOL_EEXISTS, "task id '%s' was used "
			"before (it is in the history); ids are never reused: "
			"drop the id field to get a fresh one", id);
	return 0;
}

/* The first number the counter allows, rebuilt when there is none. */
static long next_number(spool *sp, const char *prefix)
{
	long next = 0, high;
	char *s = NULL;

	if (spool_fs_read(&s, NULL, sp, ".spool/run/next-id", 64) == 0)
		next = strtol(s, NULL, 10);
	free(s);
	if (next <= 0) {
		/* No counter yet (a fresh clone): start after the highest id
		 * in the tree and in the whole history. */
		spool_entry *all = NULL;
		size_t n = 0;
		if (spool_list(&all, &n, sp, SPOOL_STATE_NONE, NULL) == 0)
			for (size_t i = 0; i < n; i++)
				if (spool_id_number(all[i].id, prefix) >= next)
					next = spool_id_number(all[i].id,
							       prefix) + 1;
		free(all);
		if ((high = spool_ids_history_max(sp, prefix)) >= next)
			next = high + 1;
		if (next <= 0)
			next = 1;
	}
	/* Archived ids have left the tree, not the spool. */
	if ((high = spool_ids_archived_max(sp, prefix)) >= next)
		next = high + 1;
	return next;
}

/* The names in use, read once for a batch: each state directory's task
 * ids and deliverables/, where spool_task_find would look for one id. */
struct taken {
	char **v;
	size_t n, cap;
};

static int taken_add(struct taken *t, const char *name, size_t len)
{
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 256;
		char **p = realloc(t->v, nc * sizeof(*p));
		if (!p)
			return -1;
		t->v = p;
		t->cap = nc;
	}
	if (!(t->v[t->n] = strndup(name, len)))
		return -1;
	t->n++;
	return 0;
}

/* The entries of dir (without ".json" if tasks); a missing dir has none.
 * With sub, each entry's own entries instead (claimed/AGENT/). */
static int taken_dir(struct taken *t, spool *sp, const char *dir, bool tasks,
		     bool sub)
{
	char path[PATH_MAX];
	struct dirent *de;
	int fd, rc = 0;
	DIR *d;

	fd = spool_fs_open(sp, dir, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return -1;
	}
	while (rc == 0 && (de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.')
			continue;
		if (sub) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			rc = taken_dir(t, sp, path, tasks, false);
		} else if (!tasks) {
			rc = taken_add(t, de->d_name, len);
		} else if (len > 5 && strcmp(de->d_name + len - 5, ".json") == 0) {
			rc = taken_add(t, de->d_name, len - 5);
		}
	}
	closedir(d);
	return rc;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void taken_free(struct taken *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
}

static int taken_read(struct taken *t, spool *sp)
{
	int rc = 0;

	memset(t, 0, sizeof(*t));
	for (int s = 0; s < SPOOL_STATE_COUNT && rc == 0; s++)
		rc = taken_dir(t, sp, spool_state_name(s), true,
			       s == SPOOL_STATE_CLAIMED);
	if (rc == 0)
		rc = taken_dir(t, sp, "deliverables", false, false);
	if (rc < 0) {
		taken_free(t);
		return -1;
	}
	if (t->n > 1)
		qsort(t->v, t->n, sizeof(*t->v), cmp_name);
	return 0;
}

/* Whether id is free: in the names read for the batch, or, without
 * them, where spool_task_find looks. */
static bool id_free(spool *sp, const struct taken *t, const char *id)
{
	char path[PATH_MAX];
	spool_loc loc;

	if (t)
		return !t->n ||
		       !bsearch(&id, t->v, t->n, sizeof(*t->v), cmp_name);
	snprintf(path, sizeof(path), "deliverables/%s", id);
	return spool_task_find(&loc, sp, id) == SPOOL_ENOTFOUND &&
	       spool_fs_access(sp, path) < 0;
}

int spool_task_new_ids(char (*out)[SPOOL_ID_MAX + 1], size_t n, spool *sp,
		       bool durable)
{
	const char *prefix = json_string_value(
		json_object_get(sp->config, "id_prefix"));
	struct taken names, *t = NULL;
	char buf[64];
	long next;

	if (!prefix || !spool_id_valid(prefix))
		prefix = "T-";
	next = next_number(sp, prefix);
	/* One id: a few lookups. Many: one listing instead of each's. */
	if (n > 1 && taken_read(&names, sp) == 0)
		t = &names;
	for (size_t i = 0; i < n; i++, next++) {
		for (;; next++) {
			snprintf(out[i], SPOOL_ID_MAX + 1, "%s%04ld", prefix,
				 next);
			if (id_free(sp, t, out[i]))
				break;
		}
	}
	if (t)
		taken_free(t);
	snprintf(buf, sizeof(buf), "%ld\n", next);
	mkdirat(sp->rootfd, ".spool/run", 0777);
	spool_error_clear();
	if (!durable)
		return spool_fs_write_cache(sp, ".spool/run/next-id", buf,
					    strlen(buf));
	return spool_fs_write(sp, ".spool/run/next-id", buf, strlen(buf),
			      false);
}

int spool_task_new_id(char *out, size_t len, spool *sp)
{
	char id[1][SPOOL_ID_MAX + 1];
	int rc;

	if ((rc = spool_task_new_ids(id, 1, sp, true)) == 0)
		snprintf(out, len, "%s", id[0]);
	return rc;
}
