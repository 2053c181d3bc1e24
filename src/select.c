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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spool-int.h"

#define IDX_PATH ".spool/run/select.idx"
/* Claims since the index was written, one "ID MTIME CHECKED" line each:
 * appending a line is much cheaper than rewriting the index per claim. */
#define TAKEN_PATH ".spool/run/select.taken"
#define IDX_MAGIC "SPIX2"
/* How long the index may stand in for a read of ready/ when ready/ has
 * not changed: a bound on how stale a pick can be. */
#define IDX_TRUST_NS 1000000000LL

struct rec {
	uint64_t ino;
	uint8_t prio;
	bool used;
	char id[SPOOL_ID_MAX + 1];
	char created[24];
	char assignee[SPOOL_NAME_MAX + 1];
	char *requires;		/* "a,b" or NULL */
};

struct idx {
	struct rec *v;
	size_t n, cap;
	size_t *slots;		/* hash of ids -> index + 1 */
	size_t nslots;
	bool dirty;
	long long mtime;	/* of ready/ when the index was last checked */
	long long checked;	/* when that was (CLOCK_REALTIME, ns) */
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

	if (fstatat(spool_rootfd(sp), "ready", &st, 0) < 0)
		return -1;
	return st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

/* Splits off the next space-separated word of *p. */
static char *word(char **p)
{
	char *w = *p, *e;

	if (!w || !*w)
		return NULL;
	e = strchr(w, ' ');
	if (e) {
		*e = '\0';
		*p = e + 1;
	} else {
		*p = NULL;
	}
	return w;
}

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static struct rec *idx_find(struct idx *x, const char *id)
{
	if (!x->nslots)
		return NULL;
	for (size_t i = hash(id) & (x->nslots - 1); x->slots[i];
	     i = (i + 1) & (x->nslots - 1))
		if (strcmp(x->v[x->slots[i] - 1].id, id) == 0)
			return &x->v[x->slots[i] - 1];
	return NULL;
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
		size_t i = hash(x->v[k].id) & (n - 1);
		while (x->slots[i])
			i = (i + 1) & (n - 1);
		x->slots[i] = k + 1;
	}
	return 0;
}

static struct rec *idx_push(struct idx *x)
{
	if (x->n == x->cap) {
		size_t nc = x->cap ? x->cap * 2 : 256;
		struct rec *p = realloc(x->v, nc * sizeof(*p));
		if (!p)
			return NULL;
		x->v = p;
		x->cap = nc;
	}
	memset(&x->v[x->n], 0, sizeof(x->v[0]));
	return &x->v[x->n++];
}

static void idx_free(struct idx *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->v[i].requires);
	free(x->v);
	free(x->slots);
}

static struct rec *idx_find(struct idx *x, const char *id);

static void taken_load(struct idx *x, spool *sp)
{
	char *buf = NULL, *line, *next, *p;

	if (spool_fs_read(&buf, NULL, sp, TAKEN_PATH, 64u << 20) < 0) {
		spool_error_clear();
		return;
	}
	for (line = buf; line && *line; line = next) {
		char *id;
		struct rec *r;
		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		p = line;
		if (!(id = word(&p)) || !p)
			continue;
		if ((r = idx_find(x, id)))
			r->used = false;
		x->mtime = strtoll(p, &p, 10);
		x->checked = strtoll(p, NULL, 10);
	}
	free(buf);
}

/*
 * A text file: a header "SPIX2 MTIME CHECKED", then one line per task:
 * "INO PRIO CREATED ID ASSIGNEE REQUIRES" ("-" for none).
 */
static void idx_load(struct idx *x, spool *sp)
{
	char *buf = NULL, *line, *next;

	if (spool_fs_read(&buf, NULL, sp, IDX_PATH, 64u << 20) < 0 ||
	    strncmp(buf, IDX_MAGIC " ", strlen(IDX_MAGIC) + 1) != 0) {
		free(buf);
		spool_error_clear();
		return;
	}
	line = buf + strlen(IDX_MAGIC) + 1;
	x->mtime = strtoll(line, &line, 10);
	x->checked = strtoll(line, &line, 10);
	for (line = strchr(line, '\n'); line; line = next) {
		char *w[6], *p = ++line;
		struct rec *r;
		int k;
		if ((next = strchr(line, '\n')))
			*next = '\0';
		for (k = 0; k < 6 && (w[k] = word(&p)); k++)
			;
		if (k < 6 || !spool_id_valid(w[3]) ||
		    strlen(w[2]) >= sizeof(r->created) ||
		    strlen(w[4]) > SPOOL_NAME_MAX || !(r = idx_push(x)))
			continue;
		r->ino = strtoull(w[0], NULL, 10);
		r->prio = (uint8_t)(w[1][0] - '0');
		strcpy(r->id, w[3]);
		strcpy(r->created, w[2]);
		if (strcmp(w[4], "-") != 0)
			strcpy(r->assignee, w[4]);
		if (strcmp(w[5], "-") != 0)
			r->requires = strdup(w[5]);
		r->used = true;
	}
	free(buf);
	idx_rehash(x);
	taken_load(x, sp);
}

static void put(char **p, const char *s)
{
	size_t n = strlen(s);

	memcpy(*p, s, n);
	*p += n;
}

static void idx_save(struct idx *x, spool *sp)
{
	size_t cap = 128;
	char *buf, *p;

	for (size_t i = 0; i < x->n; i++)
		cap += 120 + (x->v[i].requires ? strlen(x->v[i].requires) : 0);
	if (!(buf = malloc(cap)))
		return;
	p = buf + snprintf(buf, cap, "%s %lld %lld\n", IDX_MAGIC, x->mtime,
			   x->checked);
	for (size_t i = 0; i < x->n; i++) {
		struct rec *r = &x->v[i];
		char num[24];
		if (!r->used)
			continue;
		snprintf(num, sizeof(num), "%llu ", (unsigned long long)r->ino);
		put(&p, num);
		*p++ = (char)('0' + r->prio);
		*p++ = ' ';
		put(&p, r->created[0] ? r->created : "-");
		*p++ = ' ';
		put(&p, r->id);
		*p++ = ' ';
		put(&p, r->assignee[0] ? r->assignee : "-");
		*p++ = ' ';
		put(&p, r->requires ? r->requires : "-");
		*p++ = '\n';
	}
	mkdirat(spool_rootfd(sp), ".spool/run", 0777);
	/* A cache: losing it costs one slow pick, so no fsync dance. */
	if (spool_fs_write(sp, IDX_PATH, buf, (size_t)(p - buf), false) < 0)
		spool_error_clear();
	/* A claim logged between the write and this unlink is forgotten:
	 * its pick then fails to load and forces a fresh read. */
	unlinkat(spool_rootfd(sp), TAKEN_PATH, 0);
	free(buf);
}

/* Fills r from the task file. */
static int rec_read(struct rec *r, spool *sp, const char *id, uint64_t ino)
{
	spool_loc ready = { .state = SPOOL_STATE_READY };
	json_t *task = NULL, *req;
	const char *s;
	size_t i, len = 0;
	json_t *v;

	if (spool_task_load(&task, sp, &ready, id) < 0)
		return -1;
	free(r->requires);
	memset(r, 0, sizeof(*r));
	r->ino = ino;
	r->prio = (uint8_t)spool_task_priority(task);
	snprintf(r->id, sizeof(r->id), "%s", id);
	s = spool_task_str(task, "created");
	/* sortable and free of spaces, or "-" */
	snprintf(r->created, sizeof(r->created), "%s",
		 s && !strpbrk(s, " \n") ? s : "-");
	if ((s = spool_task_str(task, "assignee")))
		snprintf(r->assignee, sizeof(r->assignee), "%s", s);
	req = json_object_get(task, "requires");
	if (json_array_size(req) > 0) {
		r->requires = calloc(1, 1024);
		json_array_foreach(req, i, v)
			if (r->requires && len + 70 < 1024)
				len += (size_t)snprintf(r->requires + len,
					1024 - len, "%s%s", i ? "," : "",
					json_string_value(v));
	}
	json_decref(task);
	return 0;
}

static bool capable(json_t *agent, const char *requires)
{
	json_t *caps = json_object_get(agent, "capabilities");
	char *copy, *tok, *save = NULL;
	bool ok = true;

	if (!requires)
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

/* true if a should be taken before b, for agent */
static bool better(const struct rec *a, const struct rec *b)
{
	int c;

	if (!!a->assignee[0] != !!b->assignee[0])
		return a->assignee[0];
	if (a->prio != b->prio)
		return a->prio > b->prio;
	if ((c = strcmp(a->created, b->created)) != 0)
		return c < 0;
	if (strlen(a->id) != strlen(b->id))
		return strlen(a->id) < strlen(b->id);
	return strcmp(a->id, b->id) < 0;
}

/* Reads ready/ and brings the index up to date. */
static int idx_refresh(struct idx *x, spool *sp)
{
	char id[SPOOL_ID_MAX + 1];
	struct dirent *de;
	size_t seen = 0;
	DIR *d;
	int fd;

	/* Stamp first: a change made while we read shows up next time. */
	x->mtime = ready_mtime(sp);
	x->checked = now_ns();
	for (size_t i = 0; i < x->n; i++)
		x->v[i].used = false;
	fd = openat(spool_rootfd(sp), "ready", O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return spool_error_sys(SPOOL_ERROR, "cannot read 'ready'");
	}
	while ((de = readdir(d))) {
		struct rec *r;
		if (!spool_id_from_name(id, de->d_name))
			continue;
		r = idx_find(x, id);
		if (!r || r->ino != de->d_ino) {
			struct rec fresh = { 0 };
			if (rec_read(&fresh, sp, id, de->d_ino) < 0)
				continue;	/* reconcile's business */
			if (!r) {
				if (!(r = idx_push(x)))
					break;
				*r = fresh;
				if (x->n * 2 > x->nslots)
					idx_rehash(x);
				else {
					size_t i = hash(id) & (x->nslots - 1);
					while (x->slots[i])
						i = (i + 1) & (x->nslots - 1);
					x->slots[i] = x->n;
				}
			} else {
				free(r->requires);
				*r = fresh;
			}
		}
		r->used = true;
		seen++;
	}
	closedir(d);
	spool_error_clear();
	x->dirty = true;
	return 0;
}

/* Trusted when ready/ has not changed since it was read, lately. */
static bool idx_trusted(struct idx *x, spool *sp)
{
	return x->n > 0 && x->mtime == ready_mtime(sp) &&
	       now_ns() - x->checked < IDX_TRUST_NS;
}

void spool_select_free(spool *sp)
{
	struct idx *x = sp->select_idx;

	if (x) {
		idx_free(x);
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
		idx_load(x, sp);
	}
	if ((fresh || !idx_trusted(x, sp)) && (rc = idx_refresh(x, sp)) < 0)
		return rc;
	for (size_t i = 0; i < x->n; i++) {
		struct rec *r = &x->v[i];
		if (!r->used || (r->assignee[0] &&
				 strcmp(r->assignee, agent) != 0) ||
		    !capable(agentobj, r->requires))
			continue;
		if (!best || better(r, best))
			best = r;
	}
	if (best) {
		snprintf(out->id, sizeof(out->id), "%s", best->id);
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
	int fd;

	if (!x || !(r = idx_find(x, id)))
		return;
	r->used = false;
	x->mtime = ready_mtime(sp);
	x->checked = now_ns();
	snprintf(line, sizeof(line), "%s %lld %lld\n", id, x->mtime,
		 x->checked);
	/* One short append is atomic among concurrent claimers. */
	fd = openat(spool_rootfd(sp), TAKEN_PATH,
		    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line))
		idx_save(x, sp);
	if (fd >= 0)
		close(fd);
}
