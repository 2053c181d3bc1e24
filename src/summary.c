/*
 * What 'spool ls' shows of each task (priority, module, assignee, title),
 * without parsing every task file each time: a cache in
 * .spool/run/summary.cache keyed by inode, size and mtime. A rename keeps
 * all three, so a task moving between states stays cached; any rewrite
 * changes at least one.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool-int.h"
#include "summary.h"

#define CACHE_PATH ".spool/run/summary.cache"
#define CACHE_MAGIC "SPSUM1\n"

struct key {
	unsigned long long ino, size;
	long long mtime;
};

struct entry {
	struct key k;
	spool_summary s;
	bool seen;		/* listed in this run */
};

/* Open addressing over small slots; the summaries live densely apart. */
struct cache {
	uint32_t *slots;	/* index into e + 1, or 0 */
	size_t cap;
	struct entry *e;
	size_t n, max;
	bool dirty;
};

static size_t key_hash(const struct key *k)
{
	/* splitmix64's finalizer: inodes and times differ in few bits */
	unsigned long long h = k->ino ^ (k->size << 40) ^
			       (unsigned long long)k->mtime * 31;

	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
	return (size_t)(h ^ (h >> 31));
}

static bool key_eq(const struct key *a, const struct key *b)
{
	return a->ino == b->ino && a->size == b->size && a->mtime == b->mtime;
}

/* The slot where k is, or the empty one where it would go. */
static uint32_t *cache_slot(struct cache *c, const struct key *k)
{
	size_t i = key_hash(k) & (c->cap - 1);

	while (c->slots[i] && !key_eq(&c->e[c->slots[i] - 1].k, k))
		i = (i + 1) & (c->cap - 1);
	return &c->slots[i];
}

static struct entry *cache_get(struct cache *c, const struct key *k)
{
	uint32_t *sl = cache_slot(c, k);

	return *sl ? &c->e[*sl - 1] : NULL;
}

static int cache_init(struct cache *c, size_t want)
{
	memset(c, 0, sizeof(*c));
	c->max = want + 1024;
	c->cap = 1024;
	while (c->cap < c->max * 2)
		c->cap *= 2;
	c->slots = calloc(c->cap, sizeof(*c->slots));
	c->e = malloc(c->max * sizeof(*c->e));
	if (!c->slots || !c->e) {
		free(c->slots);
		free(c->e);
		return spool_error_set(SPOOL_ERROR, "out of memory");
	}
	return 0;
}

static void cache_free(struct cache *c)
{
	free(c->slots);
	free(c->e);
}

static void cache_put(struct cache *c, const struct key *k,
		      const spool_summary *s)
{
	uint32_t *sl;

	if (c->n == c->max)
		return;		/* full: the entry is simply not cached */
	sl = cache_slot(c, k);
	if (!*sl) {
		c->e[c->n].k = *k;
		c->e[c->n].seen = false;
		*sl = (uint32_t)++c->n;
	}
	c->e[*sl - 1].s = *s;
}

/* Splits off the next space-separated word of *p. */
static char *word(char **p)
{
	char *w = *p, *e;

	if (!w)
		return NULL;
	if ((e = strchr(w, ' '))) {
		*e = '\0';
		*p = e + 1;
	} else {
		*p = NULL;
	}
	return w;
}

/* "INO SIZE MTIME PRIO MODULE ASSIGNEE TITLE" per line, "-" for none. */
static int cache_load(struct cache *c, spool *sp, size_t room)
{
	char *buf = NULL, *line, *next;
	size_t lines = 0;

	if (spool_fs_read(&buf, NULL, sp, CACHE_PATH, 256u << 20) < 0 ||
	    strncmp(buf, CACHE_MAGIC, strlen(CACHE_MAGIC)) != 0) {
		free(buf);
		spool_error_clear();
		return cache_init(c, room);
	}
	for (line = buf; (line = strchr(line, '\n')); line++)
		lines++;
	if (cache_init(c, lines + room) < 0) {
		free(buf);
		return SPOOL_ERROR;
	}
	for (line = buf + strlen(CACHE_MAGIC); *line; line = next) {
		char *w[6], *p = line;
		spool_summary s = { 0 };
		struct key k;
		int i;
		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		else
			next = line + strlen(line);
		for (i = 0; i < 6 && (w[i] = word(&p)); i++)
			;
		if (i < 6 || !p)
			continue;
		k.ino = strtoull(w[0], NULL, 10);
		k.size = strtoull(w[1], NULL, 10);
		k.mtime = strtoll(w[2], NULL, 10);
		s.priority = (spool_priority)(w[3][0] - '0');
		if (s.priority > SPOOL_PRIO_URGENT)
			continue;
		if (strcmp(w[4], "-") != 0)
			snprintf(s.module, sizeof(s.module), "%s", w[4]);
		if (strcmp(w[5], "-") != 0)
			snprintf(s.assignee, sizeof(s.assignee), "%s", w[5]);
		snprintf(s.title, sizeof(s.title), "%s", p);
		s.valid = true;
		cache_put(c, &k, &s);
	}
	free(buf);
	return 0;
}

static void cache_save(struct cache *c, spool *sp, bool only_seen)
{
	size_t cap = 64 + c->n * (sizeof(spool_summary) + 80), len;
	char *buf = malloc(cap);

	if (!buf)
		return;
	len = (size_t)snprintf(buf, cap, "%s", CACHE_MAGIC);
	for (size_t i = 0; i < c->n; i++) {
		const struct entry *e = &c->e[i];
		if (only_seen && !e->seen)
			continue;
		len += (size_t)snprintf(buf + len, cap - len,
			"%llu %llu %lld %d %s %s %s\n", e->k.ino, e->k.size,
			e->k.mtime, (int)e->s.priority,
			e->s.module[0] ? e->s.module : "-",
			e->s.assignee[0] ? e->s.assignee : "-", e->s.title);
	}
	mkdirat(spool_rootfd(sp), ".spool/run", 0777);
	if (spool_fs_write(sp, CACHE_PATH, buf, len, false) < 0)
		spool_error_clear();
	free(buf);
}

static void summarize(spool_summary *s, json_t *task)
{
	const char *v;

	memset(s, 0, sizeof(*s));
	s->valid = true;
	s->priority = spool_task_priority(task);
	if ((v = spool_task_str(task, "module")))
		snprintf(s->module, sizeof(s->module), "%s", v);
	if ((v = spool_task_str(task, "assignee")))
		snprintf(s->assignee, sizeof(s->assignee), "%s", v);
	if ((v = spool_task_str(task, "title")))
		snprintf(s->title, sizeof(s->title), "%s", v);
	if (v && strlen(v) >= sizeof(s->title)) {
		/* cut before a whole character, then mark the cut */
		size_t end = sizeof(s->title) - 4;
		while (end > 0 && ((unsigned char)s->title[end] & 0xc0) == 0x80)
			end--;
		memcpy(s->title + end, "...", 4);
	}
	/* one line in the cache and on the terminal */
	for (char *p = s->title; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
}

int spool_summaries(spool_summary *out, spool *sp, const spool_entry *list,
		    size_t n, bool complete)
{
	struct cache c;
	char path[PATH_MAX], dir[128] = "";
	size_t seen = 0;
	int rc, dfd = -1;

	if ((rc = cache_load(&c, sp, n)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		struct key k;
		struct entry *hit;
		json_t *task = NULL;
		memset(&out[i], 0, sizeof(out[i]));
		/* one path lookup per directory, not per file */
		spool_loc_format(path, sizeof(path), &list[i].loc);
		if (dfd < 0 || strcmp(path, dir) != 0) {
			if (dfd >= 0)
				close(dfd);
			snprintf(dir, sizeof(dir), "%s", path);
			dfd = openat(spool_rootfd(sp), dir, O_RDONLY |
				     O_DIRECTORY | O_CLOEXEC);
		}
		snprintf(path, sizeof(path), "%s.json", list[i].id);
		if (dfd < 0 || fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		k.ino = st.st_ino;
		k.size = (unsigned long long)st.st_size;
		k.mtime = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
		if (!(hit = cache_get(&c, &k))) {
			if (spool_task_load(&task, sp, &list[i].loc,
					    list[i].id) < 0) {
				spool_error_clear();
				continue;	/* unreadable: never cached */
			}
			summarize(&out[i], task);
			json_decref(task);
			c.dirty = true;
			cache_put(&c, &k, &out[i]);
			hit = cache_get(&c, &k);
		}
		if (!hit)
			continue;	/* the cache is full */
		out[i] = hit->s;
		seen += !hit->seen;
		hit->seen = true;
	}
	if (dfd >= 0)
		close(dfd);
	/* A full listing keeps only what is on disk, so the cache does not
	 * grow; a partial one only adds. */
	if (c.dirty || (complete && seen != c.n))
		cache_save(&c, sp, complete);
	cache_free(&c);
	return 0;
}
