/*
 * Which ready task an agent should take next: tasks assigned to it first,
 * then by priority, then the oldest. Only tasks it may claim (assignee,
 * capabilities) are considered.
 *
 * Reading ten thousand task files per claim would take tens of
 * milliseconds, so the fields the choice needs are kept in an index,
 * .spool/run/select.idx, keyed by file name and inode. The spool writes
 * tasks by rename, so a changed task has a new inode and is read again.
 * The index is only a hint: the chosen task is loaded and checked before
 * it is claimed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "state.h"
#include "task.h"
#include "fsutil.h"
#include "root.h"
#include "select.h"
#include "task-files.h"

#define IDX_PATH ".spool/run/select.idx"
/* Claims since the index was written, one "ID POS MTIME CHECKED" line
 * each, and looks that found ready/ as the index has it ("-" for ID):
 * appending a line is much cheaper than rewriting the index. */
#define TAKEN_PATH ".spool/run/select.taken"
#define TAKEN_MAX 1000
#define IDX_MAGIC "SPIX3\n"
/* Larger is damage, rebuilt from ready/. */
#define IDX_MAX ((size_t)256 << 20)
/* How long the index may stand in for a read of ready/ when ready/ has
 * not changed but was changed just before it was read: a bound on how
 * stale a pick can be. */
#define IDX_TRUST_NS 1000000000LL
/* A directory's mtime comes from a clock that ticks every few ms: a
 * change in the tick of the last read may not change it. An index read
 * this long after the last change needs no such bound. */
#define IDX_SETTLED_NS 50000000LL

/*
 * The file is this header, n records and then their strings, each
 * ending in a NUL; it is read whole and used as it is, with no parsing,
 * so that a claim among ten thousand ready tasks stays cheap.
 */
struct head {
	char magic[8];
	uint32_t n;
	uint32_t strsize;
	int64_t mtime;		/* of ready/ when the index was last checked */
	int64_t checked;	/* when that was (CLOCK_REALTIME, ns) */
};

/* Strings are offsets into the string table; 0 is the empty string. */
struct rec {
	uint64_t ino;
	uint32_t id, created, assignee, requires;
	uint8_t prio;
	uint8_t pad[7];
};

struct idx {
	void *mem;		/* the file, mapped read-only, or NULL */
	size_t memlen;
	struct rec *v;		/* records: in mem, or owned */
	char *str;		/* strings: in mem, or owned */
	size_t n, cap, strsize, strcap;
	uint8_t *used;		/* per record: still in ready/ */
	uint32_t *slots;	/* hash of ids -> index + 1, built on demand */
	size_t nslots;
	size_t pick;		/* the record spool_select chose last */
	bool dirty;
	long long mtime;
	long long checked;
};

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long ready_mtime(spool *sp)
{
	struct stat st;

	if (spool_fs_lstat(sp, "ready", &st) < 0)
		return -1;
	return st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

static const char *S(const struct idx *x, uint32_t off)
{
	return x->str + off;
}

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static int idx_rehash(struct idx *x)
{
	size_t n = 64;

	while (n < x->n * 2)
		n *= 2;
	free(x->slots);
	if (!(x->slots = calloc(n, sizeof(*x->slots))))
		return -1;
	x->nslots = n;
	for (size_t k = 0; k < x->n; k++) {
		size_t i = hash(S(x, x->v[k].id)) & (n - 1);
		while (x->slots[i])
			i = (i + 1) & (n - 1);
		x->slots[i] = (uint32_t)k + 1;
	}
	return 0;
}

static struct rec *idx_find(struct idx *x, const char *id)
{
	if (!x->slots && idx_rehash(x) < 0)
		return NULL;
	for (size_t i = hash(id) & (x->nslots - 1); x->slots[i];
	     i = (i + 1) & (x->nslots - 1))
		if (strcmp(S(x, x->v[x->slots[i] - 1].id), id) == 0)
			return &x->v[x->slots[i] - 1];
	return NULL;
}

static void idx_clear(struct idx *x)
{
	if (x->mem) {
		munmap(x->mem, x->memlen);
	} else {
		free(x->v);
		free(x->str);
	}
	free(x->used);
	free(x->slots);
	memset(x, 0, sizeof(*x));
}

static void taken_load(struct idx *x, spool *sp)
{
	char *buf = NULL, *line, *next;
	size_t lines = 0;

	if (spool_fs_read(&buf, NULL, sp, TAKEN_PATH, 64u << 20) < 0) {
		spool_error_clear();
		return;
	}
	for (line = buf; line && *line; line = next, lines++) {
		char id[SPOOL_ID_MAX + 1];
		unsigned long pos;
		long long mtime, checked;
		struct rec *r;
		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		if (sscanf(line, "%64s %lu %lld %lld", id, &pos, &mtime,
			   &checked) != 4)
			continue;
		/* the position saves a hash of all ids; the id checks it */
		if (pos < x->n && strcmp(S(x, x->v[pos].id), id) == 0)
			r = &x->v[pos];
		else
			r = idx_find(x, id);
		if (r)
			x->used[r - x->v] = 0;
		x->mtime = mtime;
		x->checked = checked;
	}
	/* read by every pick: past this, the index is written again */
	x->dirty = lines > TAKEN_MAX;
	free(buf);
}

static bool idx_valid(const struct head *h, size_t len)
{
	const char *str;

	if (len < sizeof(*h) || memcmp(h->magic, IDX_MAGIC,
				       sizeof(IDX_MAGIC) - 1) != 0 ||
	    (len - sizeof(*h)) / sizeof(struct rec) < h->n ||
	    len - sizeof(*h) - h->n * sizeof(struct rec) != h->strsize ||
	    h->strsize == 0)
		return false;
	str = (const char *)(h + 1) + h->n * sizeof(struct rec);
	if (str[0] != '\0' || str[h->strsize - 1] != '\0')
		return false;
	for (uint32_t i = 0; i < h->n; i++) {
		const struct rec *r = (const struct rec *)(h + 1) + i;
		if (r->id >= h->strsize || r->created >= h->strsize ||
		    r->assignee >= h->strsize || r->requires >= h->strsize)
			return false;
	}
	return true;
}

/*
 * The index mapped, not read: a read copies it into fresh pages, a fault
 * each, which costs a claim more than all else it does. The spool
 * replaces the file by rename, never in place, so the mapping stays
 * whole.
 */
static void *idx_map(size_t *len, spool *sp)
{
	struct stat st;
	void *p = MAP_FAILED;
	/* non-blocking: a FIFO put in its place must not hang a claim */
	int fd = spool_fs_open(sp, IDX_PATH, O_RDONLY | O_NONBLOCK, 0);

	if (fd < 0) {
		spool_error_clear();
		return NULL;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    st.st_size <= (off_t)IDX_MAX)
		p = mmap(NULL, (size_t)st.st_size, PROT_READ,
			 MAP_PRIVATE | MAP_POPULATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return NULL;
	*len = (size_t)st.st_size;
	return p;
}

/* A missing or damaged index is no error: it is rebuilt from ready/. */
static void idx_load(struct idx *x, spool *sp)
{
	struct head *h;
	size_t len = 0;
	char *buf = idx_map(&len, sp);

	if (!buf)
		return;
	if (!idx_valid((struct head *)buf, len) ||
	    !(x->used = malloc(((struct head *)buf)->n + 1))) {
		munmap(buf, len);
		return;
	}
	h = (struct head *)buf;
	x->mem = buf;
	x->memlen = len;
	x->v = (struct rec *)(h + 1);
	x->n = x->cap = h->n;
	x->str = (char *)(x->v + h->n);
	x->strsize = x->strcap = h->strsize;
	x->mtime = h->mtime;
	x->checked = h->checked;
	memset(x->used, 1, x->n);
	taken_load(x, sp);
}

static void idx_save(struct idx *x, spool *sp)
{
	struct head h = { .magic = IDX_MAGIC, .mtime = x->mtime,
			  .checked = x->checked };
	size_t n = 0, len;
	char *buf, *p;

	for (size_t i = 0; i < x->n; i++)
		n += x->used[i];
	len = sizeof(h) + n * sizeof(struct rec) + x->strsize;
	if (!(buf = malloc(len)))
		return;
	h.n = (uint32_t)n;
	h.strsize = (uint32_t)x->strsize;
	memcpy(buf, &h, sizeof(h));
	p = buf + sizeof(h);
	for (size_t i = 0; i < x->n; i++)
		if (x->used[i]) {
			memcpy(p, &x->v[i], sizeof(x->v[i]));
			p += sizeof(x->v[i]);
		}
	/* strings of taken records stay until the next read of ready/ */
	if (x->strsize)
		memcpy(p, x->str, x->strsize);
	mkdirat(spool_rootfd(sp), ".spool/run", 0777);
	if (spool_fs_write_cache(sp, IDX_PATH, buf, len) < 0)
		spool_error_clear();
	/* A claim logged between the write and this unlink is forgotten:
	 * its pick then fails to load and forces a fresh read. */
	spool_fs_unlink(sp, TAKEN_PATH, 0);
	free(buf);
}

/* Appends s to the string table; returns its offset (0 for "" or NULL). */
static uint32_t str_add(struct idx *x, const char *s)
{
	size_t n = s ? strlen(s) + 1 : 0;
	uint32_t off = (uint32_t)x->strsize;

	if (n <= 1)
		return 0;
	if (x->strsize + n > x->strcap) {
		size_t cap = x->strcap ? x->strcap * 2 : 4096;
		char *p;
		while (cap < x->strsize + n)
			cap *= 2;
		if (!(p = realloc(x->str, cap)))
			return 0;
		x->str = p;
		x->strcap = cap;
	}
	memcpy(x->str + x->strsize, s, n);
	x->strsize += n;
	return off;
}

static struct rec *idx_push(struct idx *x)
{
	if (x->n == x->cap) {
		size_t nc = x->cap ? x->cap * 2 : 256;
		struct rec *p = realloc(x->v, nc * sizeof(*p));
		uint8_t *u;
		if (!p)
			return NULL;
		x->v = p;
		if (!(u = realloc(x->used, nc)))
			return NULL;
		x->used = u;
		x->cap = nc;
	}
	memset(&x->v[x->n], 0, sizeof(x->v[0]));
	x->used[x->n] = 1;
	return &x->v[x->n++];
}

/* Adds the task ready/ID.json to the index, read from its file. */
static int rec_read(struct idx *x, spool *sp, const char *id, uint64_t ino)
{
	spool_loc ready = { .state = SPOOL_STATE_READY };
	json_t *task = NULL, *req, *v;
	char created[64], requires[1024] = "";
	const char *s;
	struct rec *r;
	size_t i, len = 0;

	if (spool_task_load(&task, sp, &ready, id) < 0)
		return -1;
	s = spool_task_str(task, "created");
	/* sortable and free of spaces, or empty */
	snprintf(created, sizeof(created), "%s",
		 s && !strpbrk(s, " \n") ? s : "");
	req = json_object_get(task, "requires");
	json_array_foreach(req, i, v)
		if (len + 70 < sizeof(requires))
			len += (size_t)snprintf(requires + len,
				sizeof(requires) - len, "%s%s", i ? "," : "",
				json_string_value(v));
	if ((r = idx_push(x))) {
		r->ino = ino;
		r->prio = (uint8_t)spool_task_priority(task);
		r->id = str_add(x, id);
		r->created = str_add(x, created);
		r->assignee = str_add(x, spool_task_str(task, "assignee"));
		r->requires = str_add(x, requires);
	}
	json_decref(task);
	return r ? 0 : -1;
}

/* Adds a copy of record r of index old to x. */
static int rec_copy(struct idx *x, const struct idx *old, const struct rec *r)
{
	struct rec *c = idx_push(x);

	if (!c)
		return -1;
	c->ino = r->ino;
	c->prio = r->prio;
	c->id = str_add(x, S(old, r->id));
	c->created = str_add(x, S(old, r->created));
	c->assignee = str_add(x, S(old, r->assignee));
	c->requires = str_add(x, S(old, r->requires));
	return 0;
}

static bool capable(json_t *agent, const char *requires)
{
	json_t *caps = json_object_get(agent, "capabilities");
	char *copy, *tok, *save = NULL;
	bool ok = true;

	if (!*requires)
		return true;
	if (!(copy = strdup(requires)))
		return false;
	for (tok = strtok_r(copy, ",", &save); tok && ok;
	     tok = strtok_r(NULL, ",", &save)) {
		size_t i;
		json_t *c;
		bool has = false;
		json_array_foreach(caps, i, c)
			has |= json_is_string(c) &&
			       strcmp(json_string_value(c), tok) == 0;
		ok = has;
	}
	free(copy);
	return ok;
}

/* true if a should be taken before b */
static bool better(const struct idx *x, const struct rec *a,
		   const struct rec *b)
{
	const char *ida = S(x, a->id), *idb = S(x, b->id);
	int c;

	if (!a->assignee != !b->assignee)
		return a->assignee;
	if (a->prio != b->prio)
		return a->prio > b->prio;
	/* a task without a creation time sorts after those with one */
	if (!a->created != !b->created)
		return a->created;
	if ((c = strcmp(S(x, a->created), S(x, b->created))) != 0)
		return c < 0;
	if (strlen(ida) != strlen(idb))
		return strlen(ida) < strlen(idb);
	return strcmp(ida, idb) < 0;
}

/* Reads ready/ and builds the index anew, reusing the records of files
 * that have not changed (same inode: the spool rewrites by rename). */
static int idx_refresh(struct idx *x, spool *sp)
{
	char id[SPOOL_ID_MAX + 1];
	struct idx nx = { 0 };
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	/* Stamp first: a change made while we read shows up next time. */
	nx.mtime = ready_mtime(sp);
	nx.checked = now_ns();
	fd = spool_fs_open(sp, "ready", O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return spool_error_sys(SPOOL_ERROR, "cannot read 'ready'");
	}
	/* offset 0: the empty string */
	if ((nx.str = malloc(nx.strcap = 4096)))
		nx.str[nx.strsize++] = '\0';
	else
		rc = spool_error_set(SPOOL_ERROR, "out of memory");
	while (rc == 0 && (de = readdir(d))) {
		struct rec *r;
		if (!spool_id_from_name(id, de->d_name))
			continue;
		r = x->n ? idx_find(x, id) : NULL;
		if (r && r->ino == de->d_ino)
			rc = rec_copy(&nx, x, r);
		else if (rec_read(&nx, sp, id, de->d_ino) < 0)
			spool_error_clear();	/* reconcile's business */
		if (rc < 0)
			rc = spool_error_set(SPOOL_ERROR, "out of memory");
	}
	closedir(d);
	if (rc < 0) {
		idx_clear(&nx);
		return rc;
	}
	idx_clear(x);
	*x = nx;
	x->dirty = true;
	return 0;
}

/* Trusted while ready/ has not changed since it was read. */
static bool idx_trusted(struct idx *x, spool *sp)
{
	if (x->n == 0 || x->mtime != ready_mtime(sp))
		return false;
	return x->checked - x->mtime >= IDX_SETTLED_NS ||
	       now_ns() - x->checked < IDX_TRUST_NS;
}

/* One short line appended: atomic among concurrent claimers. */
static bool journal_append(spool *sp, const char *line)
{
	int fd = spool_fs_open(sp, TAKEN_PATH, O_WRONLY | O_CREAT | O_APPEND,
			       0644);
	bool ok = fd >= 0 &&
		  write(fd, line, strlen(line)) == (ssize_t)strlen(line);

	if (fd >= 0)
		close(fd);
	spool_error_clear();
	return ok;
}

/* Whether ready/ holds exactly the files the index has in use. */
static bool idx_matches(struct idx *x, spool *sp)
{
	char id[SPOOL_ID_MAX + 1];
	size_t used = 0, seen = 0;
	struct dirent *de;
	bool same = true;
	DIR *d;
	int fd = spool_fs_open(sp, "ready", O_RDONLY | O_DIRECTORY, 0);

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		spool_error_clear();
		return false;
	}
	for (size_t i = 0; i < x->n; i++)
		used += x->used[i];
	while (same && (de = readdir(d))) {
		struct rec *r;
		if (!spool_id_from_name(id, de->d_name))
			continue;
		r = idx_find(x, id);
		same = r && x->used[r - x->v] && r->ino == de->d_ino;
		seen++;
	}
	closedir(d);
	return same && seen == used;
}

/*
 * Not trusted only for its age: ready/ has not changed since the last
 * look, which came too soon after a change to be sure of it (a claim's
 * own rename). Its names and inodes, compared with the index, settle it
 * for a fraction of a rebuild: a stamp goes to the journal, and the
 * index is trusted until ready/ changes again.
 */
static bool idx_confirm(struct idx *x, spool *sp)
{
	long long mtime = ready_mtime(sp), checked = now_ns();
	char line[96];

	if (x->n == 0 || mtime != x->mtime || !idx_matches(x, sp))
		return false;
	x->checked = checked;
	snprintf(line, sizeof(line), "- 0 %lld %lld\n", mtime, checked);
	journal_append(sp, line);
	return true;
}

void spool_select_free(spool *sp)
{
	struct idx *x = sp->select_idx;

	if (x) {
		idx_clear(x);
		free(x);
	}
	sp->select_idx = NULL;
}

int spool_select(spool_entry *out, spool *sp, const char *agent,
		 json_t *agentobj, bool fresh)
{
	struct idx *x = sp->select_idx;
	struct rec *best = NULL;
	int rc = 0;

	if (!x) {
		if (!(x = sp->select_idx = calloc(1, sizeof(*x))))
			return spool_error_set(SPOOL_ERROR, "out of memory");
		/* The handle frees what it holds without knowing of us. */
		sp->select_free = spool_select_free;
		idx_load(x, sp);
	}
	if ((fresh || !(idx_trusted(x, sp) || idx_confirm(x, sp))) &&
	    (rc = idx_refresh(x, sp)) < 0)
		return rc;
	for (size_t i = 0; i < x->n; i++) {
		struct rec *r = &x->v[i];
		if (!x->used[i] || (r->assignee &&
				    strcmp(S(x, r->assignee), agent) != 0) ||
		    !capable(agentobj, S(x, r->requires)))
			continue;
		if (!best || better(x, r, best))
			best = r;
	}
	if (best) {
		snprintf(out->id, sizeof(out->id), "%s", S(x, best->id));
		x->pick = (size_t)(best - x->v);
		out->loc.state = SPOOL_STATE_READY;
		out->loc.agent[0] = '\0';
	} else {
		rc = spool_error_set(SPOOL_ENOWORK, "nothing to claim for "
				     "'%s'", agent);
	}
	if (x->dirty)
		idx_save(x, sp);
	x->dirty = false;
	return rc;
}

/*
 * After our own claim only our rename changed ready/ (a change by someone
 * else in the same instant may hide behind it: the trust bound above
 * limits how long, and a pick that is gone forces a fresh read).
 */
void spool_select_taken(spool *sp, const char *id)
{
	struct idx *x = sp->select_idx;
	struct rec *r;
	char line[160];

	if (!x || !x->n)
		return;
	if (x->pick < x->n && strcmp(S(x, x->v[x->pick].id), id) == 0)
		r = &x->v[x->pick];
	else if (!(r = idx_find(x, id)))
		return;
	x->used[r - x->v] = 0;
	x->mtime = ready_mtime(sp);
	x->checked = now_ns();
	snprintf(line, sizeof(line), "%s %zu %lld %lld\n", id,
		 (size_t)(r - x->v), x->mtime, x->checked);
	if (!journal_append(sp, line))
		idx_save(x, sp);
}
