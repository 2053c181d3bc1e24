/*
 * Reading history back: the Spool-* trailers history.c writes, walked with
 * libgit2's revwalk. A task's story is found through a small index of
 * "<commit> <time> <id>" lines (.spool/run/history/), kept in step
 * with HEAD by walking only the commits it has not seen and split in
 * buckets by id, so `spool log ID` reads a few hundred KB of index and a
 * handful of commits however long the history is.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "state.h"
#include "fsutil.h"
#include "root.h"
#include "history-read.h"
#include "history.h"
#include "repo.h"
#include "trailer.h"

/* ---- emitting the transitions of a commit ------------------------------ */

struct emit {
	spool_event ev;
	const char *id;		/* only this task's, if set */
	size_t skip;		/* from this index on */
	spool_event_fn fn;
	void *data;
};

static int emit_one(void *data, const spool_transition *t, size_t index,
		    size_t count)
{
	struct emit *e = data;
	spool_tgroup g;

	if (index < e->skip || (e->id && strcmp(t->id, e->id) != 0))
		return 0;
	memset(&g, 0, sizeof(g));
	snprintf(g.id, sizeof(g.id), "%s", t->id);
	spool_loc_format(g.from, sizeof(g.from), &t->from);
	spool_loc_format(g.to, sizeof(g.to), &t->to);
	snprintf(g.actor, sizeof(g.actor), "%s", t->actor);
	snprintf(g.verb, sizeof(g.verb), "%s", t->verb);
	g.attempt = t->attempt;
	g.note = t->note;
	e->ev.g = &g;
	e->ev.index = index;
	e->ev.count = count;
	return e->fn(e->data, &e->ev);
}

/* Calls fn for the transitions of c from skip on (only id's, if id). */
static int emit_commit(git_commit *c, const char *id, size_t skip,
		       spool_event_fn fn, void *data)
{
	const git_signature *a = git_commit_author(c);
	struct emit e;

	memset(&e, 0, sizeof(e));
	e.ev.commit = c;
	git_oid_tostr(e.ev.hex, sizeof(e.ev.hex), git_commit_id(c));
	e.ev.time = a ? a->when.time : git_commit_time(c);
	e.ev.offset = a ? a->when.offset : git_commit_time_offset(c);
	e.ev.author = a && a->name ? a->name : "";
	e.id = id;
	e.skip = skip;
	e.fn = fn;
	e.data = data;
	return spool_trailer_foreach(git_commit_message(c), id, emit_one, &e);
}

void spool_event_cursor(char *buf, size_t len, const spool_event *ev)
{
	if (ev->index + 1 >= ev->count)
		snprintf(buf, len, "%s", ev->hex);
	else
		snprintf(buf, len, "%s:%zu", ev->hex, ev->index + 1);
}

void spool_event_deliverables(char *hex, size_t len, spool *sp,
			      const spool_event *ev)
{
	git_tree *tree = NULL;
	git_tree_entry *e = NULL;
	char path[PATH_MAX];

	(void)sp;
	hex[0] = '\0';
	snprintf(path, sizeof(path), "deliverables/%s", ev->g->id);
	if (git_commit_tree(&tree, ev->commit) == 0 &&
	    git_tree_entry_bypath(&e, tree, path) == 0)
		git_oid_tostr(hex, len, git_tree_entry_id(e));
	git_tree_entry_free(e);
	git_tree_free(tree);
}

json_t *spool_event_json(spool *sp, const spool_event *ev)
{
	const spool_tgroup *g = ev->g;
	char cursor[GIT_OID_HEXSZ + 24], when[32], deliv[GIT_OID_HEXSZ + 1];
	time_t t = (time_t)ev->time;
	spool_state to = spool_state_parse(g->to);
	struct tm tm;
	json_t *o;

	spool_event_cursor(cursor, sizeof(cursor), ev);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}",
		      "cursor", cursor, "commit", ev->hex, "time", when,
		      "id", g->id, "verb", g->verb, "from", g->from,
		      "to", g->to, "actor", g->actor,
		      "attempt", (json_int_t)g->attempt);
	if (!o)
		return NULL;
	if (g->note[0]) {
		json_object_set_new(o, "note", json_string(g->note));
		if (strncmp(g->note, "feedback: ", 10) == 0)
			json_object_set_new(o, "feedback",
					    json_string(g->note + 10));
	}
	if (to == SPOOL_STATE_REVIEW || to == SPOOL_STATE_DONE) {
		spool_event_deliverables(deliv, sizeof(deliv), sp, ev);
		json_object_set_new(o, "deliverables",
				    deliv[0] ? json_string(deliv) : json_null());
	}
	return o;
}

/* ---- the index --------------------------------------------------------- */

/*
 * .spool/run/history/: "head" holds the commit the index is up to and the
 * length of each of 256 buckets; bucket XX holds the lines of the tasks
 * whose id hashes to XX, in history order. A task's lines are all in one
 * bucket of a few hundred KB at most, read with one pread. Buckets are
 * truncated to the recorded lengths before appending, so a crash in the
 * middle of an update only costs the lines it was adding.
 */
#define INDEX_DIR ".spool/run/history"
#define INDEX_HEAD INDEX_DIR "/head"
#define NBUCKETS 256
#define HEAD_LEN (64 + NBUCKETS * 11)

struct buf {
	char *p;
	size_t len, cap;
};

struct spool_hindex {
	int fd;			/* the head file, locked shared; -1 in memory */
	int dirfd;
	size_t len[NBUCKETS];
	struct buf mem[NBUCKETS];	/* read-only spools: all in memory */
	bool in_memory;
};

static int buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 4096;
		char *p;
		while (nc < b->len + n + 1)
			nc *= 2;
		if (!(p = realloc(b->p, nc)))
			return spool_error_set(SPOOL_ERROR, "out of memory");
		b->p = p;
		b->cap = nc;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static unsigned bucket_of(const char *id, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ (unsigned char)*id++) * 16777619u;
	return (h ^ (h >> 16)) & (NBUCKETS - 1);
}

struct index_ctx {
	struct buf *bs;
	char hex[GIT_OID_HEXSZ + 1];
	long long time;
};

static int index_line(void *data, const spool_transition *t, size_t index,
		      size_t count)
{
	struct index_ctx *x = data;
	char line[256];
	int n;

	(void)index;
	(void)count;
	n = snprintf(line, sizeof(line), "%s %lld %s\n", x->hex, x->time,
		     t->id);
	return buf_add(&x->bs[bucket_of(t->id, strlen(t->id))], line,
		       (size_t)n);
}

/* Adds the lines of the commits in HEAD not in tip, by bucket. */
static int index_walk(struct buf *bs, git_repository *repo,
		      const git_oid *head, const git_oid *tip)
{
	struct index_ctx x = { .bs = bs };
	git_revwalk *w = NULL;
	git_oid oid;
	int rc = 0, err;

	if (git_revwalk_new(&w, repo) < 0 ||
	    git_revwalk_sorting(w, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE) < 0 ||
	    git_revwalk_push(w, head) < 0 ||
	    (tip && git_revwalk_hide(w, tip) < 0)) {
		git_revwalk_free(w);
		return spool_error_git("cannot walk the history");
	}
	while (rc == 0 && (err = git_revwalk_next(&oid, w)) == 0) {
		git_commit *c = NULL;
		if (git_commit_lookup(&c, repo, &oid) < 0) {
			rc = spool_error_git("cannot read a commit");
			break;
		}
		git_oid_tostr(x.hex, sizeof(x.hex), &oid);
		x.time = (long long)git_commit_time(c);
		rc = spool_trailer_foreach(git_commit_message(c), NULL,
					   index_line, &x);
		git_commit_free(c);
	}
	if (rc == 0 && err != GIT_ITEROVER)
		rc = spool_error_git("cannot walk the history");
	git_revwalk_free(w);
	return rc;
}

static void head_format(char *h, const git_oid *tip, const size_t *len)
{
	char hex[GIT_OID_HEXSZ + 1];
	size_t off;

	git_oid_tostr(hex, sizeof(hex), tip);
	memset(h, ' ', HEAD_LEN);
	off = (size_t)snprintf(h, HEAD_LEN, "spool-history-index 3 %s\n", hex);
	for (int i = 0; i < NBUCKETS; i++)
		off += (size_t)snprintf(h + off, HEAD_LEN - off, "%010zu\n",
					len[i]);
	h[off] = ' ';
	h[HEAD_LEN - 1] = '\n';
}

static bool head_parse(git_oid *tip, size_t *len, const char *h)
{
	char hex[GIT_OID_HEXSZ + 1];
	const char *p;

	if (sscanf(h, "spool-history-index 3 %40s", hex) != 1 ||
	    git_oid_fromstr(tip, hex) < 0 || !(p = strchr(h, '\n')))
		return false;
	for (int i = 0; i < NBUCKETS; i++) {
		char *end;
		len[i] = strtoull(p + 1, &end, 10);
		if (*end != '\n')
			return false;
		p = end;
	}
	return true;
}

void spool_hindex_free(spool_hindex *h)
{
	if (!h)
		return;
	for (int i = 0; i < NBUCKETS; i++)
		free(h->mem[i].p);
	if (h->dirfd >= 0)
		close(h->dirfd);
	if (h->fd >= 0)
		close(h->fd);	/* and the lock with it */
	free(h);
}

/* Writes what the walk found after the recorded lengths; then the head. */
static int index_append(spool_hindex *h, struct buf *add, const git_oid *head)
{
	char name[8], hdr[HEAD_LEN];

	for (int i = 0; i < NBUCKETS; i++) {
		int fd;
		if (!add[i].len)
			continue;
		snprintf(name, sizeof(name), "%02x", i);
		fd = openat(h->dirfd, name, O_WRONLY | O_CREAT | O_CLOEXEC,
			    0644);
		if (fd < 0 || ftruncate(fd, (off_t)h->len[i]) < 0 ||
		    pwrite(fd, add[i].p, add[i].len, (off_t)h->len[i]) !=
		    (ssize_t)add[i].len || fdatasync(fd) < 0) {
			if (fd >= 0)
				close(fd);
			return spool_error_sys(SPOOL_ERROR, "cannot write '"
					       INDEX_DIR "/%s'", name);
		}
		close(fd);
		h->len[i] += add[i].len;
	}
	head_format(hdr, head, h->len);
	if (pwrite(h->fd, hdr, HEAD_LEN, 0) != HEAD_LEN)
		return spool_error_sys(SPOOL_ERROR, "cannot write '"
				       INDEX_HEAD "'");
	return 0;
}

int spool_hindex_open(spool_hindex **out, spool *sp)
{
	git_repository *repo;
	git_oid head, tip;
	spool_hindex *h;
	struct buf add[NBUCKETS];
	char hdr[HEAD_LEN + 1];
	bool have_tip = false, have_head, current;
	int rc = 0;

	*out = NULL;
	memset(add, 0, sizeof(add));
	if ((rc = spool_repo(&repo, sp)) < 0)
		return rc;
	if (!(h = calloc(1, sizeof(*h))))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	h->fd = h->dirfd = -1;
	mkdirat(spool_rootfd(sp), ".spool/run", 0777);
	mkdirat(spool_rootfd(sp), INDEX_DIR, 0777);
	h->fd = spool_fs_open(sp, INDEX_HEAD,
		       O_RDWR | O_CREAT, 0644);
	h->dirfd = spool_fs_open(sp, INDEX_DIR,
			  O_RDONLY | O_DIRECTORY, 0);
	if (h->fd < 0 || h->dirfd < 0) {
		/* Someone else's spool, read-only: build it in memory. */
		h->in_memory = true;
		if (h->fd >= 0)
			close(h->fd);
		h->fd = -1;
	}
	have_head = git_reference_name_to_id(&head, repo, "HEAD") == 0;
	spool_error_clear();
	if (!h->in_memory) {
		/* Shared first: the usual case is an index already current. */
		while (flock(h->fd, LOCK_SH) < 0 && errno == EINTR)
			;
		for (int pass = 0; pass < 2; pass++) {
			have_tip = pread(h->fd, hdr, HEAD_LEN, 0) == HEAD_LEN;
			hdr[HEAD_LEN] = '\0';
			have_tip = have_tip && head_parse(&tip, h->len, hdr);
			current = have_tip && have_head &&
				  git_oid_equal(&tip, &head);
			if (current || pass == 1)
				break;
			while (flock(h->fd, LOCK_EX) < 0 && errno == EINTR)
				;
		}
		if (current) {
			*out = h;
			return 0;
		}
	}
	if (!have_tip)
		memset(h->len, 0, sizeof(h->len));
	/* A tip that HEAD does not descend from: history was rewritten. */
	if (have_tip && (!have_head ||
			 git_graph_descendant_of(repo, &head, &tip) != 1)) {
		have_tip = false;
		memset(h->len, 0, sizeof(h->len));
	}
	spool_error_clear();
	if (have_head &&
	    (rc = index_walk(add, repo, &head, have_tip ? &tip : NULL)) < 0)
		goto out;
	if (h->in_memory) {
		memcpy(h->mem, add, sizeof(add));
		memset(add, 0, sizeof(add));
		for (int i = 0; i < NBUCKETS; i++)
			h->len[i] = h->mem[i].len;
	} else {
		git_oid zero;
		memset(&zero, 0, sizeof(zero));
		if ((rc = index_append(h, add, have_head ? &head
							 : &zero)) < 0)
			goto out;
		flock(h->fd, LOCK_SH);	/* others may read, not rewrite */
	}
out:
	for (int i = 0; i < NBUCKETS; i++)
		free(add[i].p);
	if (rc < 0) {
		spool_hindex_free(h);
		return rc;
	}
	*out = h;
	return 0;
}

/* The bucket's recorded content (malloc'd unless in memory). */
static const char *bucket_read(char **tofree, size_t *len, spool_hindex *h,
			       unsigned b)
{
	char name[8];
	char *p;
	int fd;

	*tofree = NULL;
	*len = h->len[b];
	if (h->in_memory)
		return h->mem[b].p ? h->mem[b].p : "";
	if (!*len)
		return "";
	snprintf(name, sizeof(name), "%02x", b);
	if ((fd = openat(h->dirfd, name, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	if (!(p = malloc(*len + 1)) ||
	    pread(fd, p, *len, 0) != (ssize_t)*len) {
		free(p);
		close(fd);
		return NULL;
	}
	close(fd);
	p[*len] = '\0';
	*tofree = p;
	return p;
}

typedef int (*line_fn)(void *data, const char *hex, int64_t time,
		       const char *id, size_t idlen);

static int bucket_foreach(const char *p, size_t len, line_fn fn, void *data)
{
	const char *end = p + len;
	int rc = 0;

	while (p < end && rc == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *sp1, *sp2;
		if (!nl)
			break;
		sp1 = memchr(p, ' ', (size_t)(nl - p));
		sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(nl - sp1 - 1)) : NULL;
		if (sp1 && sp2 && sp1 - p == GIT_OID_HEXSZ)
			rc = fn(data, p, strtoll(sp1 + 1, NULL, 10), sp2 + 1,
				(size_t)(nl - sp2 - 1));
		p = nl + 1;
	}
	return rc;
}

int spool_hindex_foreach(spool_hindex *h, line_fn fn, void *data)
{
	int rc = 0;

	for (unsigned b = 0; b < NBUCKETS && rc == 0; b++) {
		char *tofree;
		size_t len;
		const char *p = bucket_read(&tofree, &len, h, b);
		if (!p)
			return spool_error_sys(SPOOL_ERROR, "cannot read the "
					       "history index");
		rc = bucket_foreach(p, len, fn, data);
		free(tofree);
	}
	return rc > 0 ? 0 : rc;
}

/* Calls fn for each index line of id, oldest first. */
static int index_find(spool_hindex *h, const char *id,
		      int (*fn)(void *data, const char *line, int64_t time),
		      void *data)
{
	char pat[SPOOL_ID_MAX + 3], *tofree;
	size_t idlen = strlen(id), n, len;
	const char *base = bucket_read(&tofree, &len, h,
				       bucket_of(id, idlen));
	const char *p, *end, *m;
	int rc = 0;

	if (!base)
		return spool_error_sys(SPOOL_ERROR, "cannot read the history "
				       "index");
	n = (size_t)snprintf(pat, sizeof(pat), " %s\n", id);
	p = base;
	end = base + len;
	while (rc == 0 && p < end &&
	       (m = memmem(p, (size_t)(end - p), pat, n))) {
		const char *line = m;
		while (line > base && line[-1] != '\n')
			line--;
		if (m - line > GIT_OID_HEXSZ + 1)
			rc = fn(data, line, strtoll(line + GIT_OID_HEXSZ + 1,
						    NULL, 10));
		p = m + n;
	}
	free(tofree);
	return rc;
}

static int last_fn(void *data, const char *line, int64_t time)
{
	(void)line;
	*(int64_t *)data = time;
	return 0;
}

int64_t spool_hindex_last(spool_hindex *h, const char *id)
{
	int64_t t = 0;

	index_find(h, id, last_fn, &t);
	return t;
}

struct oids {
	git_oid *v;
	size_t n, cap;
};

static int oids_add(struct oids *o, const git_oid *id)
{
	if (o->n && git_oid_equal(&o->v[o->n - 1], id))
		return 0;
	if (o->n == o->cap) {
		size_t nc = o->cap ? o->cap * 2 : 16;
		git_oid *p = realloc(o->v, nc * sizeof(*p));
		if (!p)
			return spool_error_set(SPOOL_ERROR, "out of memory");
		o->v = p;
		o->cap = nc;
	}
	o->v[o->n++] = *id;
	return 0;
}

static int collect_fn(void *data, const char *line, int64_t time)
{
	git_oid id;

	(void)time;
	if (git_oid_fromstrn(&id, line, GIT_OID_HEXSZ) < 0)
		return 0;
	return oids_add(data, &id);
}

int spool_history_task(spool *sp, const char *id, spool_event_fn fn,
		       void *data)
{
	git_repository *repo;
	spool_hindex *h = NULL;
	struct oids o = { 0 };
	int rc;

	if ((rc = spool_repo(&repo, sp)) < 0 ||
	    (rc = spool_hindex_open(&h, sp)) < 0)
		return rc;
	rc = index_find(h, id, collect_fn, &o);
	spool_hindex_free(h);
	for (size_t i = 0; i < o.n && rc == 0; i++) {
		git_commit *c = NULL;
		if (git_commit_lookup(&c, repo, &o.v[i]) < 0) {
			rc = spool_error_git("cannot read a commit");
			break;
		}
		rc = emit_commit(c, id, 0, fn, data);
		git_commit_free(c);
	}
	free(o.v);
	return rc;
}

/* ---- walks ------------------------------------------------------------- */

static int walk_new(git_revwalk **w, git_repository *repo, unsigned sort)
{
	if (git_revwalk_new(w, repo) < 0 || git_revwalk_sorting(*w, sort) < 0)
		return spool_error_git("cannot walk the history");
	if (git_revwalk_push_head(*w) < 0) {
		git_revwalk_free(*w);
		*w = NULL;
		spool_error_clear();
		return 1;	/* no commit yet */
	}
	return 0;
}

int spool_history_since(spool *sp, const char *cursor, spool_event_fn fn,
			void *data)
{
	git_repository *repo;
	git_revwalk *w = NULL;
	git_commit *from = NULL;
	git_oid oid;
	size_t skip = 0;
	bool partial = false;
	int rc, err;

	if ((rc = spool_repo(&repo, sp)) < 0)
		return rc;
	if (cursor && *cursor) {
		char spec[128];
		const char *colon = strchr(cursor, ':');
		git_object *obj = NULL;
		size_t n = colon ? (size_t)(colon - cursor) : strlen(cursor);
		if (n >= sizeof(spec))
			n = sizeof(spec) - 1;
		memcpy(spec, cursor, n);
		spec[n] = '\0';
		if (colon) {
			char *end;
			skip = strtoul(colon + 1, &end, 10);
			partial = *end == '\0' && colon[1];
		}
		if ((colon && !partial) ||
		    git_revparse_single(&obj, repo, spec) < 0 ||
		    git_object_peel((git_object **)&from, obj,
				    GIT_OBJECT_COMMIT) < 0) {
			git_object_free(obj);
			return spool_error_set(SPOOL_EINVALID, "'%s' is not a "
				"cursor (a commit id, or COMMIT:N, as events "
				"print)", cursor);
		}
		git_object_free(obj);
	}
	if ((rc = walk_new(&w, repo, GIT_SORT_TOPOLOGICAL |
			   GIT_SORT_REVERSE)) != 0) {
		git_commit_free(from);
		return rc < 0 ? rc : 0;
	}
	if (from) {
		if (!partial) {
			err = git_revwalk_hide(w, git_commit_id(from));
		} else {
			err = 0;
			for (unsigned i = 0; i < git_commit_parentcount(from) &&
			     err == 0; i++)
				err = git_revwalk_hide(w,
					git_commit_parent_id(from, i));
		}
		if (err < 0) {
			rc = spool_error_git("cannot walk from the cursor");
			goto out;
		}
	}
	while (rc == 0 && (err = git_revwalk_next(&oid, w)) == 0) {
		git_commit *c = NULL;
		if (git_commit_lookup(&c, repo, &oid) < 0) {
			rc = spool_error_git("cannot read a commit");
			break;
		}
		rc = emit_commit(c, NULL,
				 partial && git_oid_equal(&oid,
					git_commit_id(from)) ? skip : 0,
				 fn, data);
		git_commit_free(c);
	}
	if (rc == 0 && err != GIT_ITEROVER)
		rc = spool_error_git("cannot walk the history");
out:
	git_revwalk_free(w);
	git_commit_free(from);
	return rc;
}

int spool_history_last(spool *sp, size_t want, spool_event_fn fn, void *data)
{
	git_repository *repo;
	git_revwalk *w = NULL;
	struct oids o = { 0 };
	size_t have = 0, first_skip = 0;
	git_oid oid;
	int rc, err = 0;

	if (want == 0)
		return spool_history_since(sp, NULL, fn, data);
	if ((rc = spool_repo(&repo, sp)) < 0)
		return rc;
	if ((rc = walk_new(&w, repo, GIT_SORT_TOPOLOGICAL)) != 0)
		return rc < 0 ? rc : 0;
	while (have < want && (err = git_revwalk_next(&oid, w)) == 0) {
		git_commit *c = NULL;
		size_t n;
		if (git_commit_lookup(&c, repo, &oid) < 0) {
			rc = spool_error_git("cannot read a commit");
			break;
		}
		n = spool_trailer_count(git_commit_message(c));
		git_commit_free(c);
		if (n == 0)
			continue;
		if ((rc = oids_add(&o, &oid)) < 0)
			break;
		first_skip = have + n > want ? have + n - want : 0;
		have += n;
	}
	git_revwalk_free(w);
	if (rc == 0 && err < 0 && err != GIT_ITEROVER)
		rc = spool_error_git("cannot walk the history");
	for (size_t i = o.n; i-- > 0 && rc == 0;) {
		git_commit *c = NULL;
		if (git_commit_lookup(&c, repo, &o.v[i]) < 0) {
			rc = spool_error_git("cannot read a commit");
			break;
		}
		rc = emit_commit(c, NULL, i == o.n - 1 ? first_skip : 0,
				 fn, data);
		git_commit_free(c);
	}
	free(o.v);
	return rc;
}
