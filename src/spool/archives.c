/*
 * Archives of finished work, and the export of one task, with libarchive.
 *
 * `spool archive` moves finished tasks and their deliverables out of the
 * working tree into archive/YYYY-MM-DD[.N].tar.gz (the spool's own layout
 * inside: done/ID.json, deliverables/ID/...) beside archive/...tsv, a
 * plain index of "id state last-commit" lines, both committed in one
 * commit per archive. The state directories stay small, so commits stay
 * cheap; git keeps the archive as one compressed blob, and every earlier
 * version of the tasks stays in history.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "error.h"
#include "notice.h"
#include "state.h"
#include "fsutil.h"
#include "root.h"
#include "history-read.h"
#include "history.h"
#include "repo.h"
#include "archives.h"
#include "inspect.h"
#include "larchive.h"
#include "reconcile.h"
#include "task-files.h"

#define ARCHIVE_DIR "archive"

/* ---- writing archives -------------------------------------------------- */

static int write_entry(struct archive *ar, const char *name,
		       const struct stat *st, const char *data, size_t len,
		       const char *target)
{
	struct archive_entry *e = archive_entry_new();
	int rc = 0;

	if (!e)
		return spool_error_set(SPOOL_ERROR, "out of memory");
	archive_entry_set_pathname(e, name);
	archive_entry_set_mtime(e, st ? st->st_mtime : time(NULL), 0);
	if (target) {
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_perm(e, 0777);
		archive_entry_set_symlink(e, target);
	} else {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, st && (st->st_mode & 0111) ? 0755
								     : 0644);
		archive_entry_set_size(e, (la_int64_t)len);
	}
	if (archive_write_header(ar, e) != ARCHIVE_OK ||
	    (!target && len && archive_write_data(ar, data, len) !=
	     (la_ssize_t)len))
		rc = spool_error_set(SPOOL_ERROR, "cannot archive '%s': %s",
				     name, archive_error_string(ar));
	archive_entry_free(e);
	return rc;
}

/* Adds a file or a directory tree from the spool under its own name. */
static int add_disk(struct archive *ar, spool *sp, const char *path)
{
	struct stat st;
	int rc = 0;

	/* Gone, or behind a link: nothing of it goes in. */
	if (spool_fs_lstat(sp, path, &st) < 0)
		return errno == ENOENT || errno == ELOOP || errno == EXDEV
		       ? 0 : spool_error_sys(SPOOL_ERROR, "cannot stat '%s'",
					     path);
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		const char *name;
		ssize_t n = -1;
		int fd = spool_fs_open_parent(&name, sp, path);
		if (fd >= 0) {
			n = readlinkat(fd, name, target, sizeof(target) - 1);
			close(fd);
		}
		if (n < 0)
			return spool_error_sys(SPOOL_ERROR, "cannot read link "
					       "'%s'", path);
		target[n] = '\0';
		return write_entry(ar, path, &st, NULL, 0, target);
	}
	if (S_ISREG(st.st_mode)) {
		char *buf = NULL;
		size_t len;
		if ((rc = spool_fs_read(&buf, &len, sp, path,
					(size_t)1 << 32)) < 0)
			return rc;
		rc = write_entry(ar, path, &st, buf, len, NULL);
		free(buf);
		return rc;
	}
	if (S_ISDIR(st.st_mode)) {
		char child[PATH_MAX];
		struct dirent *de;
		DIR *d;
		int fd = spool_fs_open(sp, path, O_RDONLY |
				O_DIRECTORY, 0);
		if (fd < 0 || !(d = fdopendir(fd))) {
			if (fd >= 0)
				close(fd);
			return spool_error_sys(SPOOL_ERROR, "cannot read '%s'",
					       path);
		}
		while (rc == 0 && (de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			snprintf(child, sizeof(child), "%s/%s", path,
				 de->d_name);
			rc = add_disk(ar, sp, child);
		}
		closedir(d);
	}
	return rc;	/* FIFOs and the like are not archived */
}

/* Removes name in the directory at, and all below it; a link is removed,
 * never followed. */
static int remove_at(int at, const char *name)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int fd;

	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(at, name, 0);
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			remove_at(dirfd(d), de->d_name);
	closedir(d);
	return unlinkat(at, name, AT_REMOVEDIR);
}

/* Removes a file or a directory tree (relative to the root), in its
 * directory reached with no link followed: a deliverables/ that is a
 * link to elsewhere is never emptied. */
static int remove_tree(spool *sp, const char *path)
{
	const char *name;
	int fd, rc, saved;

	if ((fd = spool_fs_open_parent(&name, sp, path)) < 0)
		return errno == ENOENT ? 0 : -1;
	rc = remove_at(fd, name);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* id -> (time, commit) of the last transition, for finished tasks. */
struct cand {
	char id[SPOOL_ID_MAX + 1];
	spool_state state;
	int64_t time;
	char commit[GIT_OID_HEXSZ + 1];
	bool keep;	/* referenced by open work */
};

struct cset {
	struct cand *v;
	size_t n, cap;
	size_t *slots;	/* open addressing: index + 1, 0 empty */
	size_t nslots;
};

static uint32_t hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static struct cand *cset_get(struct cset *s, const char *id, size_t n)
{
	if (!s->nslots)
		return NULL;
	for (size_t i = hash(id, n) & (s->nslots - 1); s->slots[i];
	     i = (i + 1) & (s->nslots - 1)) {
		struct cand *c = &s->v[s->slots[i] - 1];
		if (strlen(c->id) == n && memcmp(c->id, id, n) == 0)
			return c;
	}
	return NULL;
}

static int cset_index(struct cset *s)
{
	s->nslots = 64;
	while (s->nslots < s->n * 2)
		s->nslots *= 2;
	if (!(s->slots = calloc(s->nslots, sizeof(*s->slots))))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	for (size_t k = 0; k < s->n; k++) {
		size_t i = hash(s->v[k].id, strlen(s->v[k].id)) &
			   (s->nslots - 1);
		while (s->slots[i])
			i = (i + 1) & (s->nslots - 1);
		s->slots[i] = k + 1;
	}
	return 0;
}

static int last_fn(void *data, const char *hex, int64_t time, const char *id,
		   size_t idlen)
{
	struct cand *c = cset_get(data, id, idlen);

	if (c) {
		c->time = time;
		memcpy(c->commit, hex, GIT_OID_HEXSZ);
		c->commit[GIT_OID_HEXSZ] = '\0';
	}
	return 0;
}

static void keep_id(struct cset *s, json_t *v)
{
	struct cand *c;

	if (json_is_string(v) &&
	    (c = cset_get(s, json_string_value(v),
			  strlen(json_string_value(v)))))
		c->keep = true;
}

/* Finished tasks that waiting work still needs (a dependency or a
 * subtask of a task in blocked/ or new/) stay in the tree: the spool
 * releases waiting work by finding them on disk. Work past blocked/ has
 * already passed that gate. */
static int mark_referenced(struct cset *s, spool *sp)
{
	static const spool_state waiting[] = { SPOOL_STATE_NEW,
					       SPOOL_STATE_BLOCKED };

	for (size_t w = 0; w < SPOOL_ARRAY_SIZE(waiting); w++) {
		spool_entry *list = NULL;
		size_t n = 0;
		int rc;
		if ((rc = spool_list(&list, &n, sp, waiting[w], NULL)) < 0)
			return rc;
		for (size_t i = 0; i < n; i++) {
			json_t *task = NULL, *v;
			size_t k;
			if (spool_task_load(&task, sp, &list[i].loc,
					    list[i].id) < 0)
				continue;
			json_array_foreach(json_object_get(task, "depends_on"),
					   k, v)
				keep_id(s, v);
			json_array_foreach(json_object_get(task, "children"),
					   k, v)
				keep_id(s, v);
			json_decref(task);
		}
		free(list);
	}
	spool_error_clear();
	return 0;
}

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	size_t lx = strlen(x->id), ly = strlen(y->id);

	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* archive/YYYY-MM-DD.tar.gz, or .2, .3 ... if taken today. */
static void archive_name(char *base, size_t len, spool *sp)
{
	char date[16], path[PATH_MAX];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	snprintf(base, len, ARCHIVE_DIR "/%s", date);
	for (int n = 2;; n++) {
		snprintf(path, sizeof(path), "%s.tar.gz", base);
		if (spool_fs_access(sp, path) < 0)
			break;
		snprintf(base, len, ARCHIVE_DIR "/%s.%d", date, n);
	}
}

/*
 * The archive is a gzip'd tar made of several gzip members, a new one
 * every MEMBER_TASKS tasks (gzip and tar read it as one stream). The
 * .tsv gives the offset of the member a task's entries begin in, so a
 * lookup inflates a few hundred KB at most.
 */
#define MEMBER_TASKS 64

struct gzw {
	int fd;
	bool open;
	z_stream z;
	long long out;		/* compressed bytes written */
	unsigned char buf[65536];
};

static int gz_pump(struct gzw *g, int flush)
{
	int ret;

	do {
		size_t have;
		g->z.next_out = g->buf;
		g->z.avail_out = sizeof(g->buf);
		ret = deflate(&g->z, flush);
		if (ret == Z_STREAM_ERROR)
			return -1;
		have = sizeof(g->buf) - g->z.avail_out;
		if (have && write(g->fd, g->buf, have) != (ssize_t)have)
			return -1;
		g->out += (long long)have;
	} while (g->z.avail_out == 0 ||
		 (flush == Z_FINISH && ret != Z_STREAM_END));
	return 0;
}

static la_ssize_t gz_cb(struct archive *a, void *data, const void *buf,
			size_t n)
{
	struct gzw *g = data;

	(void)a;
	if (!g->open) {
		memset(&g->z, 0, sizeof(g->z));
		if (deflateInit2(&g->z, 6, Z_DEFLATED, 15 + 16, 8,
				 Z_DEFAULT_STRATEGY) != Z_OK)
			return -1;
		g->open = true;
	}
	g->z.next_in = (unsigned char *)(uintptr_t)buf;
	g->z.avail_in = (uInt)n;
	return gz_pump(g, Z_NO_FLUSH) < 0 ? -1 : (la_ssize_t)n;
}

/* Ends the current member; the next write starts a new one. */
static int gz_end(struct gzw *g)
{
	int rc;

	if (!g->open)
		return 0;
	g->z.next_in = NULL;
	g->z.avail_in = 0;
	rc = gz_pump(g, Z_FINISH);
	deflateEnd(&g->z);
	g->open = false;
	return rc;
}

/* Writes one archive of cands[0..n), removes them, commits. */
static int archive_chunk(spool_archive_stats *st, spool *sp,
			 struct cand *cands, size_t n, const char *actor)
{
	char base[128], tarpath[PATH_MAX], tsvpath[PATH_MAX], tmp[PATH_MAX];
	char path[PATH_MAX], subject[256];
	struct archive *ar = NULL;
	spool_commit *c = NULL;
	char *tsv = NULL;
	size_t tsvlen = 0, tsvcap = 0;
	struct gzw gz;
	long long member = 0;
	int fd = -1, rc = 0;

	memset(&gz, 0, sizeof(gz));
	archive_name(base, sizeof(base), sp);
	snprintf(tarpath, sizeof(tarpath), "%s.tar.gz", base);
	snprintf(tsvpath, sizeof(tsvpath), "%s.tsv", base);
	snprintf(tmp, sizeof(tmp), "tmp/archive.%d.tar.gz", (int)getpid());
	if ((rc = spool_fs_mkdirs(sp, ARCHIVE_DIR)) < 0 ||
	    (rc = spool_fs_mkdirs(sp, "tmp")) < 0)
		return rc;
	fd = spool_fs_open(sp, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot create '%s'", tmp);
	gz.fd = fd;
	ar = archive_write_new();
	if (!ar || archive_write_set_format_pax_restricted(ar) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(ar, 0) != ARCHIVE_OK ||
	    archive_write_open2(ar, &gz, NULL, gz_cb, NULL, NULL) !=
	    ARCHIVE_OK) {
		rc = spool_error_set(SPOOL_ERROR, "cannot write '%s': %s", tmp,
				     ar ? archive_error_string(ar) : "no memory");
		goto out;
	}
	/* The index: one line per task; '#' first so every line follows a
	 * newline. */
	{
		const char *h = "# id\tstate\tlast commit\tgzip member\n";
		tsvcap = 64 + n * (SPOOL_ID_MAX + GIT_OID_HEXSZ + 40);
		if (!(tsv = malloc(tsvcap))) {
			rc = spool_error_set(SPOOL_ERROR, "out of memory");
			goto out;
		}
		tsvlen = (size_t)snprintf(tsv, tsvcap, "%s", h);
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		spool_loc loc = { .state = cands[i].state };
		spool_progress("writing the archive", i, n);
		/* A new gzip member every MEMBER_TASKS tasks: finding one
		 * task inflates one member, not the whole archive. */
		if (i % MEMBER_TASKS == 0 && i > 0 &&
		    (archive_write_finish_entry(ar) != ARCHIVE_OK ||
		     gz_end(&gz) < 0)) {
			rc = spool_error_sys(SPOOL_ERROR, "cannot write '%s'",
					     tmp);
			break;
		}
		if (i % MEMBER_TASKS == 0)
			member = gz.out;	/* where the next member starts */
		spool_loc_path(path, sizeof(path), &loc, cands[i].id);
		tsvlen += (size_t)snprintf(tsv + tsvlen, tsvcap - tsvlen,
					   "%s\t%s\t%s\t%lld\n", cands[i].id,
					   spool_state_name(cands[i].state),
					   cands[i].commit, member);
		if ((rc = add_disk(ar, sp, path)) < 0)
			break;
		snprintf(path, sizeof(path), "deliverables/%s", cands[i].id);
		rc = add_disk(ar, sp, path);
	}
	if (rc < 0)
		goto out;
	spool_progress("writing the archive", n, n);
	if (archive_write_close(ar) != ARCHIVE_OK || gz_end(&gz) < 0) {
		rc = spool_error_set(SPOOL_ERROR, "cannot write '%s': %s", tmp,
				     archive_error_string(ar));
		goto out;
	}
	if (fsync(fd) < 0) {
		rc = spool_error_sys(SPOOL_ERROR, "cannot sync '%s'", tmp);
		goto out;
	}
	close(fd);
	fd = -1;
	if ((rc = spool_fs_move(sp, tmp, tarpath)) < 0 ||
	    (rc = spool_fs_write(sp, tsvpath, tsv, tsvlen, true)) < 0 ||
	    (rc = spool_fs_fsync_dir(sp, ARCHIVE_DIR)) < 0)
		goto out;
	/* Safe in the archive: out of the tree, and into one commit. */
	if ((rc = spool_commit_new(&c, sp)) < 0 ||
	    (rc = spool_commit_path(c, tarpath)) < 0 ||
	    (rc = spool_commit_path(c, tsvpath)) < 0)
		goto out;
	for (size_t i = 0; i < n && rc == 0; i++) {
		spool_loc loc = { .state = cands[i].state };
		spool_transition t;
		spool_progress("removing archived", i, n);
		memset(&t, 0, sizeof(t));
		snprintf(t.id, sizeof(t.id), "%s", cands[i].id);
		t.from = loc;
		t.to.state = SPOOL_STATE_NONE;
		snprintf(t.actor, sizeof(t.actor), "%s", actor);
		snprintf(t.verb, sizeof(t.verb), "archive");
		t.attempt = 1;
		snprintf(t.note, sizeof(t.note), "into %s", tarpath);
		spool_loc_path(path, sizeof(path), &loc, cands[i].id);
		if (remove_tree(sp, path) < 0) {
			rc = spool_error_sys(SPOOL_ERROR, "cannot remove '%s'",
					     path);
			break;
		}
		if ((rc = spool_commit_path(c, path)) < 0)
			break;
		snprintf(path, sizeof(path), "deliverables/%s", cands[i].id);
		remove_tree(sp, path);
		if ((rc = spool_commit_path(c, path)) < 0 ||
		    (rc = spool_commit_transition(c, &t)) < 0)
			break;
	}
	if (rc == 0)
		spool_progress("removing archived", n, n);
	snprintf(subject, sizeof(subject), "archive %zu tasks into %s", n,
		 tarpath);
	if (rc == 0 && n > 1)
		rc = spool_commit_subject(c, subject);
	if (rc == 0)
		rc = spool_commit_write(c, actor);
	if (rc == 0) {
		st->tasks += n;
		st->archives++;
		snprintf(st->last, sizeof(st->last), "%s", tarpath);
	}
out:
	spool_commit_free(c);
	if (ar)
		archive_write_free(ar);
	if (gz.open)
		deflateEnd(&gz.z);
	if (fd >= 0) {
		close(fd);
		spool_fs_unlink(sp, tmp, 0);
	}
	free(tsv);
	return rc;
}

int spool_archive_run(spool_archive_stats *st, spool *sp, long older_than,
		      const char *actor, bool dry_run)
{
	static const spool_state finished[] = { SPOOL_STATE_DONE,
		SPOOL_STATE_FAILED, SPOOL_STATE_CANCELLED };
	spool_archive_stats dummy;
	struct cset s = { 0 };
	spool_hindex *h = NULL;
	int64_t cutoff = (int64_t)time(NULL) - older_than;
	size_t m = 0;
	int rc;

	if ((rc = spool_larchive_load()) < 0)
		return rc;

	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	if ((rc = spool_lock(sp, -1)) < 0)
		return rc;
	if ((rc = spool_reconcile(NULL, sp)) < 0)
		goto out;
	for (size_t k = 0; k < SPOOL_ARRAY_SIZE(finished); k++) {
		spool_entry *list = NULL;
		size_t n = 0;
		if ((rc = spool_list(&list, &n, sp, finished[k], NULL)) < 0)
			goto out;
		if (s.n + n > s.cap) {
			size_t nc = s.n + n + 16;
			struct cand *p = realloc(s.v, nc * sizeof(*p));
			if (!p) {
				free(list);
				rc = spool_error_set(SPOOL_ERROR,
						     "out of memory");
				goto out;
			}
			s.v = p;
			s.cap = nc;
		}
		for (size_t i = 0; i < n; i++) {
			struct cand *c = &s.v[s.n++];
			memset(c, 0, sizeof(*c));
			snprintf(c->id, sizeof(c->id), "%s", list[i].id);
			c->state = list[i].loc.state;
		}
		free(list);
	}
	if (s.n == 0)
		goto out;
	if ((rc = cset_index(&s)) < 0 ||
	    (rc = spool_hindex_open(&h, sp)) < 0 ||
	    (rc = spool_hindex_foreach(h, last_fn, &s)) < 0 ||
	    (rc = mark_referenced(&s, sp)) < 0)
		goto out;
	/* Keep the candidates, in id order. */
	for (size_t i = 0; i < s.n; i++) {
		struct cand *c = &s.v[i];
		if (c->time == 0) {
			/* Never recorded: judge by the file itself. */
			struct stat fst;
			char path[PATH_MAX];
			spool_loc loc = { .state = c->state };
			spool_loc_path(path, sizeof(path), &loc, c->id);
			if (spool_fs_lstat(sp, path, &fst) == 0)
				c->time = fst.st_mtime;
		}
		if (c->time > cutoff)
			continue;
		if (c->keep) {
			st->kept++;
			continue;
		}
		s.v[m++] = *c;
	}
	if (m > 1)
		qsort(s.v, m, sizeof(*s.v), cmp_cand);
	if (dry_run) {
		st->tasks = m;
		st->archives = (m + SPOOL_ARCHIVE_MAX - 1) / SPOOL_ARCHIVE_MAX;
		goto out;
	}
	for (size_t i = 0; i < m && rc == 0; i += SPOOL_ARCHIVE_MAX)
		rc = archive_chunk(st, sp, s.v + i,
				   m - i < SPOOL_ARCHIVE_MAX ? m - i
							     : SPOOL_ARCHIVE_MAX,
				   actor);
out:
	spool_hindex_free(h);
	free(s.v);
	free(s.slots);
	spool_unlock(sp);
	return rc;
}

int spool_retention_after(long *secs, spool *sp)
{
	json_t *r = json_object_get(spool_config(sp), "retention");
	json_t *v = json_object_get(r, "archive_after");

	*secs = -1;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*secs = (long)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v))
		return spool_duration_parse(secs, json_string_value(v));
	return spool_error_set(SPOOL_EINVALID, "retention.archive_after in "
			       "'.spool/config.json' must be a duration such "
			       "as \"7d\"");
}
