/*
 * What 'spool ls' shows of each task (priority, module, title), without
 * parsing every task file each time: .spool/run/summary.cache keeps, per
 * state directory, the directory's stamp and, per task file, its stamp
 * and summary (spool_stamp: inode, size, mtime, ctime).
 *
 * A directory whose stamp is unchanged holds the same names: a rename in
 * or out, a new file and a deleted one all set its ctime. So its names
 * come from the cache and need no readdir. A file's content can change
 * without its directory (an agent rewriting it in place), so every file
 * still gets one stat; a write sets its ctime, which no one can set back,
 * so a summary is reused only while the stamp is the same. A stamp taken
 * within a clock tick of a change could miss the next one: only settled
 * ones are trusted (spool_stamp_settled).
 *
 * The file is mapped as it is, in the machine's byte order: a header,
 * the directories, the task records (per directory, in listing order),
 * then their strings. Anything that does not add up is ignored. Rows
 * point into the mapping, so a listing that changed nothing copies
 * nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "state.h"
#include "task.h"
#include "fsutil.h"
#include "root.h"
#include "registry.h"
#include "summary.h"
#include "task-files.h"

#define CACHE_PATH ".spool/run/summary.cache"
#define CACHE_MAGIC "SPSUM2\n"
#define CACHE_ORDER 0x01020304u
#define DIR_MAX (SPOOL_NAME_MAX + 16)

struct chead {
	char magic[8];
	uint32_t order;		/* CACHE_ORDER as the writer stored it */
	uint32_t ndirs, nrecs, strsize;
};

struct cdir {
	char where[DIR_MAX];
	spool_stamp st;
	int64_t taken;		/* spool_now_ns() before st was taken */
	uint32_t first, count;	/* its records */
};

struct crec {
	spool_stamp st;
	uint32_t id, title, module;	/* offsets into the strings */
	uint8_t priority, valid;
	uint16_t idlen;
};

/* The cache as read, mapped. */
struct old {
	void *map;
	size_t size;
	const struct cdir *dirs;
	const struct crec *recs;
	const char *str;
	uint32_t ndirs, nrecs, strsize;
	bool *visited;		/* per dir: listed again in this run */
};

/* Strings and stamps of the files read in this run: chunks never move. */
struct chunk {
	struct chunk *next;
	size_t used, size;
	char data[];
};

/* A directory of this listing. */
struct dirv {
	struct cdir c;		/* as the cache keeps it; first/count: rows */
	spool_loc loc;
};

struct spool_listing {
	spool_lsrow *rows;
	const spool_stamp **stamps;	/* per row, for the cache */
	size_t n, cap, capstamps;
	struct dirv **dirs;
	size_t ndirs, capdirs;
	struct chunk *chunks;
	struct old old;
	int64_t taken;
	bool dirty;		/* the cache no longer says what is on disk */
};

static int grow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t nc = *cap ? *cap : 64;
	void *q;

	if (need <= *cap)
		return 0;
	while (nc < need)
		nc *= 2;
	if (!(q = realloc(*(void **)p, nc * size)))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	*(void **)p = q;
	*cap = nc;
	return 0;
}

static void *chunk_alloc(spool_listing *l, size_t n)
{
	struct chunk *c = l->chunks;
	size_t size = n > 60000 ? n : 60000;

	n = (n + 7) & ~(size_t)7;	/* stamps are aligned */
	if (!c || c->size - c->used < n) {
		if (!(c = malloc(sizeof(*c) + size + 8)))
			return NULL;
		c->next = l->chunks;
		c->used = 0;
		c->size = size + 8;
		l->chunks = c;
	}
	c->used += n;
	return c->data + c->used - n;
}

static const char *chunk_str(spool_listing *l, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = chunk_alloc(l, n);

	return p ? memcpy(p, s, n) : NULL;
}

/* ---- the cache as read ------------------------------------------------- */

static bool old_fits(const struct old *o, size_t size)
{
	uint64_t need = sizeof(struct chead) +
			(uint64_t)o->ndirs * sizeof(struct cdir) +
			(uint64_t)o->nrecs * sizeof(struct crec) + o->strsize;

	if (need != size || o->strsize == 0 || o->str[0] != '\0' ||
	    o->str[o->strsize - 1] != '\0')
		return false;
	for (uint32_t i = 0; i < o->ndirs; i++)
		if (o->dirs[i].where[DIR_MAX - 1] != '\0' ||
		    o->dirs[i].first > o->nrecs ||
		    o->dirs[i].count > o->nrecs - o->dirs[i].first)
			return false;
	return true;
}

static void old_map(struct old *o)
{
	const struct chead *h = o->map;

	if (memcmp(h->magic, CACHE_MAGIC, sizeof(h->magic)) != 0 ||
	    h->order != CACHE_ORDER || h->ndirs >= (1u << 20) ||
	    h->nrecs >= (1u << 28))
		return;
	o->ndirs = h->ndirs;
	o->nrecs = h->nrecs;
	o->strsize = h->strsize;
	o->dirs = (const struct cdir *)(h + 1);
	o->recs = (const struct crec *)(o->dirs + o->ndirs);
	o->str = (const char *)(o->recs + o->nrecs);
	if (old_fits(o, o->size))
		o->visited = calloc(o->ndirs + 1, sizeof(bool));
}

/* Maps the cache; a missing or damaged one is simply empty. */
static void old_load(struct old *o, spool *sp)
{
	struct stat st;
	void *map = MAP_FAILED;
	int fd;

	memset(o, 0, sizeof(*o));
	fd = spool_fs_open(sp, CACHE_PATH, O_RDONLY, 0);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (size_t)st.st_size >= sizeof(struct chead))
		map = mmap(NULL, (size_t)st.st_size, PROT_READ,
			   MAP_PRIVATE | MAP_POPULATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return;
	o->map = map;
	o->size = (size_t)st.st_size;
	old_map(o);
	if (!o->visited) {
		munmap(o->map, o->size);
		memset(o, 0, sizeof(*o));
	}
}

static void old_free(struct old *o)
{
	if (o->map)
		munmap(o->map, o->size);
	free(o->visited);
}

static const struct cdir *old_dir(const struct old *o, const char *where)
{
	for (uint32_t i = 0; i < o->ndirs; i++)
		if (strcmp(o->dirs[i].where, where) == 0)
			return &o->dirs[i];
	return NULL;
}

static const char *old_str(const struct old *o, uint32_t off)
{
	return off < o->strsize ? o->str + off : NULL;
}

/* A record whose strings are all in bounds. */
static bool rec_usable(const struct old *o, const struct crec *r)
{
	const char *id = old_str(o, r->id);

	return id && strlen(id) == r->idlen && old_str(o, r->title) &&
	       old_str(o, r->module) && r->priority <= SPOOL_PRIO_URGENT;
}

/* Listing order: T-9 before T-10. */
static int id_cmp(const char *a, size_t la, const char *b, size_t lb)
{
	if (la != lb)
		return la < lb ? -1 : 1;
	return memcmp(a, b, la);
}

/* The record of id among the dir's (they are in listing order). */
static const struct crec *old_find(const struct old *o, const struct cdir *d,
				   const char *id, size_t len)
{
	size_t lo = 0, hi = d ? d->count : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct crec *r = &o->recs[d->first + mid];
		int c = rec_usable(o, r) ? id_cmp(o->str + r->id, r->idlen,
						  id, len) : -1;
		if (c == 0)
			return r;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- the names of a directory and their stats -------------------------- */

struct probe {
	const char *id;
	size_t len;
	const struct crec *cached;	/* what the cache says of it, or NULL */
	spool_stamp st;
	int err;			/* errno of the stat, or 0 */
};

struct probes {
	struct probe *v;
	size_t n, cap;
	int dfd;
};

static int probe_add(struct probes *p, const char *id, size_t len,
		     const struct crec *cached)
{
	int rc;

	if ((rc = grow(&p->v, &p->cap, p->n + 1, sizeof(*p->v))) < 0)
		return rc;
	p->v[p->n].id = id;
	p->v[p->n].len = len;
	p->v[p->n++].cached = cached;
	return 0;
}

static int probe_cmp(const void *a, const void *b)
{
	const struct probe *x = a, *y = b;

	return id_cmp(x->id, x->len, y->id, y->len);
}

/* The task files of a directory that changed, in listing order. */
static int names_read(struct probes *p, spool_listing *l, const char *where)
{
	struct dirent *de;
	int fd = dup(p->dfd), rc = 0;
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return spool_error_sys(SPOOL_ERROR, "cannot read '%s'", where);
	}
	/* the fd is shared with the dup: start from the first entry */
	rewinddir(d);
	while (rc == 0 && (de = readdir(d))) {
		char id[SPOOL_ID_MAX + 1];
		const char *s;
		if (!spool_id_from_name(id, de->d_name))
			continue;
		if (!(s = chunk_str(l, id)))
			rc = spool_error_set(SPOOL_ERROR, "out of memory");
		else
			rc = probe_add(p, s, strlen(s), NULL);
	}
	closedir(d);
	if (rc == 0 && p->n > 1)
		qsort(p->v, p->n, sizeof(*p->v), probe_cmp);
	return rc;
}

/* The names the cache has for an unchanged directory. */
static int names_cached(struct probes *p, const struct old *o,
			const struct cdir *od)
{
	for (uint32_t i = 0; i < od->count; i++) {
		const struct crec *r = &o->recs[od->first + i];
		if (!rec_usable(o, r) || !spool_id_valid(o->str + r->id))
			return SPOOL_EINVALID;	/* damaged: read the dir */
		if (probe_add(p, o->str + r->id, r->idlen, r) < 0)
			return SPOOL_ERROR;
	}
	return 0;
}

struct span {
	struct probes *p;
	size_t from, to;
	int dfd;
};

static void *stat_span(void *data)
{
	const struct span *s = data;

	for (size_t i = s->from; i < s->to; i++) {
		struct probe *pr = &s->p->v[i];
		char name[SPOOL_ID_MAX + 8];
		struct stat st;
		memcpy(name, pr->id, pr->len);
		memcpy(name + pr->len, ".json", 6);
		pr->err = 0;
		memset(&pr->st, 0, sizeof(pr->st));
		if (fstatat(s->dfd, name, &st,
			    AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT) < 0)
			pr->err = errno;
		else
			spool_stamp_of(&pr->st, &st);
	}
	return NULL;
}

/*
 * One stat per file, the bulk of a listing's time: a big directory is
 * shared with a second thread, as the kernel serves both in parallel. It
 * gets a descriptor of its own: two threads on one open directory would
 * contend for its reference count on every stat.
 */
static void stat_all(struct probes *p)
{
	struct span a = { p, 0, p->n / 2, p->dfd }, b = { p, p->n / 2, p->n, -1 };
	pthread_t th;

	if (p->n >= 2048)
		b.dfd = openat(p->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b.dfd < 0 || pthread_create(&th, NULL, stat_span, &b) != 0) {
		a.to = p->n;
		stat_span(&a);
	} else {
		stat_span(&a);
		pthread_join(th, NULL);
	}
	if (b.dfd >= 0)
		close(b.dfd);
}

/* ---- rows -------------------------------------------------------------- */

/* Cuts a title to fit, on a character boundary, and keeps it on a line. */
static void title_fit(char *out, const char *title)
{
	size_t len = strlen(title);

	if (len > SPOOL_SUMMARY_TITLE_MAX) {
		len = SPOOL_SUMMARY_TITLE_MAX - 3;
		while (len > 0 && ((unsigned char)title[len] & 0xc0) == 0x80)
			len--;
		memcpy(out, title, len);
		memcpy(out + len, "...", 4);
	} else {
		memcpy(out, title, len + 1);
	}
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
}

/* Reads the file; an unreadable one gets no title (and is read again
 * next time). */
static int row_read(spool_lsrow *row, spool_listing *l, spool *sp,
		    spool_stamp **st)
{
	char title[SPOOL_SUMMARY_TITLE_MAX + 1] = "";
	json_t *task = NULL;
	const char *v;

	if (!(*st = chunk_alloc(l, sizeof(**st))))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	if (spool_task_load(&task, sp, row->loc, row->id) < 0) {
		spool_error_clear();
		row->module = "";
		return 0;
	}
	if ((v = spool_task_str(task, "title")))
		title_fit(title, v);
	row->title = chunk_str(l, title);
	v = spool_task_str(task, "module");
	row->module = chunk_str(l, v && strlen(v) <= SPOOL_NAME_MAX ? v : "");
	row->priority = spool_task_priority(task);
	json_decref(task);
	l->dirty = true;
	return row->title && row->module ? 0 : spool_error_set(SPOOL_ERROR,
							      "out of memory");
}

/* A row for each file still there: from the cache when its stamp is
 * the same and settled, else read. */
static int rows_add(spool_listing *l, spool *sp, const struct dirv *d,
		    const struct cdir *od, const struct probes *p)
{
	int rc = 0;

	if ((rc = grow(&l->rows, &l->cap, l->n + p->n, sizeof(*l->rows))) < 0 ||
	    (rc = grow(&l->stamps, &l->capstamps, l->cap,
		       sizeof(*l->stamps))) < 0)
		return rc;
	for (size_t i = 0; i < p->n && rc == 0; i++) {
		const struct probe *pr = &p->v[i];
		const struct crec *r = pr->cached;
		spool_lsrow *row = &l->rows[l->n];
		spool_stamp *st;
		if (pr->err == ENOENT)
			continue;	/* gone since the listing */
		memset(row, 0, sizeof(*row));
		row->id = pr->id;
		row->where = d->c.where;
		row->loc = &d->loc;
		if (!r && od)
			r = old_find(&l->old, od, pr->id, pr->len);
		if (!pr->err && r && r->valid && rec_usable(&l->old, r) &&
		    spool_stamp_same(&r->st, &pr->st) &&
		    spool_stamp_settled(&r->st, od->taken)) {
			row->title = l->old.str + r->title;
			row->module = l->old.str + r->module;
			row->priority = (spool_priority)r->priority;
			l->stamps[l->n++] = &r->st;
			continue;
		}
		if ((rc = row_read(row, l, sp, &st)) == 0) {
			*st = pr->st;
			l->stamps[l->n++] = st;
		}
	}
	return rc;
}

/* ---- one directory ----------------------------------------------------- */

static int dir_add(struct dirv **out, spool_listing *l, const spool_loc *loc,
		   const char *where, const spool_stamp *st)
{
	struct dirv *d;
	int rc;

	if ((rc = grow(&l->dirs, &l->capdirs, l->ndirs + 1,
		       sizeof(*l->dirs))) < 0)
		return rc;
	if (!(d = calloc(1, sizeof(*d))))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	snprintf(d->c.where, sizeof(d->c.where), "%s", where);
	d->c.st = *st;
	d->c.taken = l->taken;
	d->c.first = (uint32_t)l->n;
	d->loc = *loc;
	l->dirs[l->ndirs++] = d;
	*out = d;
	return 0;
}

/* The names of the directory, stats of its files, and its rows. */
static int dir_rows(spool_listing *l, spool *sp, struct dirv *d,
		    struct probes *p)
{
	const struct cdir *od = old_dir(&l->old, d->c.where);
	int rc = SPOOL_EINVALID;

	if (od)
		l->old.visited[od - l->old.dirs] = true;
	p->n = 0;
	if (od && spool_stamp_same(&od->st, &d->c.st) &&
	    spool_stamp_settled(&od->st, od->taken))
		rc = names_cached(p, &l->old, od);
	if (rc == SPOOL_EINVALID) {
		p->n = 0;
		l->dirty = true;
		rc = names_read(p, l, d->c.where);
	}
	if (rc < 0)
		return rc;
	stat_all(p);
	rc = rows_add(l, sp, d, od, p);
	d->c.count = (uint32_t)(l->n - d->c.first);
	return rc;
}

static int visit_dir(spool_listing *l, spool *sp, const spool_loc *loc,
		     struct probes *p)
{
	char where[DIR_MAX];
	struct dirv *d = NULL;
	spool_stamp st;
	struct stat s;
	int rc;

	spool_loc_format(where, sizeof(where), loc);
	p->dfd = spool_fs_open(sp, where, O_RDONLY | O_DIRECTORY, 0);
	if (p->dfd < 0)
		return errno == ENOENT ? 0 : spool_error_sys(SPOOL_ERROR,
			"cannot read '%s'", where);
	/* stamped before it is read: a change while reading shows next time */
	if (fstat(p->dfd, &s) < 0)
		rc = spool_error_sys(SPOOL_ERROR, "cannot read '%s'", where);
	else {
		spool_stamp_of(&st, &s);
		if ((rc = dir_add(&d, l, loc, where, &st)) == 0)
			rc = dir_rows(l, sp, d, p);
	}
	close(p->dfd);
	return rc;
}

static int visit_claimed(spool_listing *l, spool *sp, const char *agent,
			 struct probes *p)
{
	spool_loc loc = { .state = SPOOL_STATE_CLAIMED };
	char **names = NULL;
	size_t n = 0;
	int rc;

	if (agent) {
		snprintf(loc.agent, sizeof(loc.agent), "%s", agent);
		return visit_dir(l, sp, &loc, p);
	}
	if ((rc = spool_registry_names(&names, &n, sp, "claimed")) < 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++) {
		snprintf(loc.agent, sizeof(loc.agent), "%s", names[i]);
		rc = visit_dir(l, sp, &loc, p);
	}
	spool_names_free(names, n);
	return rc;
}

static int visit_all(spool_listing *l, spool *sp, spool_state state,
		     const char *agent)
{
	struct probes p = { 0 };
	int rc = 0;

	for (int s = 0; s < SPOOL_STATE_COUNT && rc == 0; s++) {
		spool_loc loc = { .state = (spool_state)s };
		if ((state != SPOOL_STATE_NONE && state != s) ||
		    (agent && s != SPOOL_STATE_CLAIMED))
			continue;
		rc = s == SPOOL_STATE_CLAIMED ? visit_claimed(l, sp, agent, &p)
					      : visit_dir(l, sp, &loc, &p);
	}
	free(p.v);
	return rc;
}

/* ---- writing the cache ------------------------------------------------- */

struct image {
	char *buf;
	size_t len, cap;
	size_t dirs, recs, str;	/* where each part starts */
	uint32_t ndirs, nrecs;
};

static int img_put(struct image *img, size_t at, const void *data, size_t n)
{
	if (grow(&img->buf, &img->cap, at + n, 1) < 0)
		return SPOOL_ERROR;
	memcpy(img->buf + at, data, n);
	return 0;
}

static uint32_t img_str(struct image *img, const char *s)
{
	size_t n = strlen(s) + 1, at = img->len;

	if (n == 1)
		return 0;	/* the strings start with "" */
	if (img_put(img, at, s, n) < 0)
		return UINT32_MAX;	/* out of bounds: never usable */
	img->len += n;
	return (uint32_t)(at - img->str);
}

static int img_rec(struct image *img, const spool_stamp *st, const char *id,
		   const char *title, const char *module, int prio)
{
	struct crec r = { .st = *st, .priority = (uint8_t)prio,
			  .valid = title != NULL,
			  .idlen = (uint16_t)strlen(id) };

	r.id = img_str(img, id);
	r.title = title ? img_str(img, title) : 0;
	r.module = img_str(img, module);
	return img_put(img, img->recs + img->nrecs++ * sizeof(r), &r,
		       sizeof(r));
}

static int img_dir(struct image *img, const struct cdir *c, size_t count)
{
	struct cdir d = *c;

	d.first = img->nrecs;
	d.count = (uint32_t)count;
	return img_put(img, img->dirs + img->ndirs++ * sizeof(d), &d,
		       sizeof(d));
}

static int img_listed(struct image *img, const spool_listing *l)
{
	int rc = 0;

	for (size_t k = 0; k < l->ndirs && rc == 0; k++) {
		const struct dirv *d = l->dirs[k];
		rc = img_dir(img, &d->c, d->c.count);
		for (size_t i = d->c.first; i < d->c.first + d->c.count &&
					    rc == 0; i++) {
			const spool_lsrow *r = &l->rows[i];
			rc = img_rec(img, l->stamps[i], r->id, r->title,
				     r->module, r->priority);
		}
	}
	return rc;
}

/* What a partial listing did not visit stays as it was. */
static int img_carried(struct image *img, const struct old *o)
{
	int rc = 0;

	for (uint32_t k = 0; k < o->ndirs && rc == 0; k++) {
		const struct cdir *od = &o->dirs[k];
		uint32_t n = 0;
		if (o->visited[k])
			continue;
		for (uint32_t i = 0; i < od->count; i++)
			n += rec_usable(o, &o->recs[od->first + i]);
		rc = img_dir(img, od, n);
		for (uint32_t i = 0; i < od->count && rc == 0; i++) {
			const struct crec *r = &o->recs[od->first + i];
			if (rec_usable(o, r))
				rc = img_rec(img, &r->st, o->str + r->id,
					     r->valid ? o->str + r->title
						      : NULL,
					     o->str + r->module, r->priority);
		}
	}
	return rc;
}

static int img_build(struct image *img, const spool_listing *l,
		     bool complete)
{
	struct chead h = { .order = CACHE_ORDER };
	const struct old *o = &l->old;
	size_t ndirs = l->ndirs, nrecs = l->n;

	for (uint32_t k = 0; k < o->ndirs && !complete; k++) {
		ndirs += !o->visited[k];
		for (uint32_t i = 0; i < o->dirs[k].count && !o->visited[k];
		     i++)
			nrecs += rec_usable(o, &o->recs[o->dirs[k].first + i]);
	}
	memset(img, 0, sizeof(*img));
	img->dirs = sizeof(h);
	img->recs = img->dirs + ndirs * sizeof(struct cdir);
	img->str = img->len = img->recs + nrecs * sizeof(struct crec);
	if (img_put(img, img->len++, "", 1) < 0 || img_listed(img, l) < 0 ||
	    (!complete && img_carried(img, o) < 0))
		return SPOOL_ERROR;
	memcpy(h.magic, CACHE_MAGIC, sizeof(h.magic));
	h.ndirs = img->ndirs;
	h.nrecs = img->nrecs;
	h.strsize = (uint32_t)(img->len - img->str);
	return img_put(img, 0, &h, sizeof(h));
}

static void save(const spool_listing *l, spool *sp, bool complete)
{
	struct image img;

	if (img_build(&img, l, complete) == 0) {
		mkdirat(spool_rootfd(sp), ".spool/run", 0777);
		if (spool_fs_write_cache(sp, CACHE_PATH, img.buf, img.len) < 0)
			spool_error_clear();
	}
	free(img.buf);
}

/* ---- the listing ------------------------------------------------------- */

static int row_cmp(const void *a, const void *b)
{
	const spool_lsrow *x = a, *y = b;

	return id_cmp(x->id, strlen(x->id), y->id, strlen(y->id));
}

/* The claimed/AGENT directories of a state merge by id. */
static void merge_agents(spool_listing *l)
{
	size_t start = 0;

	while (start < l->n && l->rows[start].loc->state !=
			       SPOOL_STATE_CLAIMED)
		start++;
	for (size_t end = start; end <= l->n; end++)
		if (end == l->n || l->rows[end].loc->state !=
				   SPOOL_STATE_CLAIMED) {
			if (end - start > 1)
				qsort(l->rows + start, end - start,
				      sizeof(*l->rows), row_cmp);
			break;
		}
}

int spool_listing_new(spool_listing **out, spool *sp, spool_state state,
		      const char *agent)
{
	spool_listing *l = calloc(1, sizeof(*l));
	bool complete = state == SPOOL_STATE_NONE && !agent;
	int rc;

	*out = NULL;
	if (!l)
		return spool_error_set(SPOOL_ERROR, "out of memory");
	l->taken = spool_now_ns();
	old_load(&l->old, sp);
	if ((rc = visit_all(l, sp, state, agent)) < 0) {
		spool_listing_free(l);
		return rc;
	}
	/* a full listing also drops what is no longer on disk */
	for (uint32_t i = 0; i < l->old.ndirs; i++)
		l->dirty |= complete && !l->old.visited[i];
	if (l->dirty)
		save(l, sp, complete);
	merge_agents(l);
	*out = l;
	return 0;
}

void spool_listing_free(spool_listing *l)
{
	if (!l)
		return;
	while (l->chunks) {
		struct chunk *c = l->chunks;
		l->chunks = c->next;
		free(c);
	}
	for (size_t i = 0; i < l->ndirs; i++)
		free(l->dirs[i]);
	free(l->dirs);
	free(l->rows);
	free(l->stamps);
	old_free(&l->old);
	free(l);
}

size_t spool_listing_count(const spool_listing *l)
{
	return l->n;
}

const spool_lsrow *spool_listing_rows(const spool_listing *l)
{
	return l->rows;
}
