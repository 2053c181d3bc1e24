/*
 * The move log: per task id, the renames inotify reported, in the order
 * the kernel queued them. One inotify descriptor delivers the events of
 * all its watches in order, and a rename is an IN_MOVED_FROM and an
 * IN_MOVED_TO with the same cookie, so a chain of steps per task is all
 * that is needed. A hash of ids to small arrays of steps, directory
 * names interned: a burst of thousands of moves costs a few hundred KB.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "state.h"
#include "moves.h"

#define DIR_NONE (-1)

struct step {
	int16_t from, to;	/* dir indexes; DIR_NONE: not seen */
	uint32_t cookie;	/* of a leave not yet paired */
};

struct chain {
	char id[SPOOL_ID_MAX + 1];
	bool broken;		/* moved too often: judged from snapshots */
	bool touched;		/* another writer recorded some of it */
	bool keep;		/* not recorded: for the next batch */
	bool carried;		/* kept from a batch before */
	uint8_t n, cap;
	struct step *v;
	uint8_t nrec;		/* others' records; past SPOOL_MOVES_STEPS,
				 * they cannot be followed */
	struct step *rec;
};

struct spool_moves {
	struct chain *slots;
	size_t cap, n, max;
	bool full;
	spool_loc *dirs;
	size_t ndirs, capdirs;
	size_t last;		/* the dir found last: events come in runs */
};

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

int spool_moves_new(spool_moves **out, size_t max_tasks)
{
	spool_moves *m = calloc(1, sizeof(*m));

	if (!m)
		return spool_error_set(SPOOL_ERROR, "out of memory");
	m->max = max_tasks ? max_tasks : 1;
	*out = m;
	return 0;
}

static void drop_chains(spool_moves *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		free(m->slots[i].v);
		free(m->slots[i].rec);
	}
}

void spool_moves_free(spool_moves *m)
{
	if (!m)
		return;
	drop_chains(m);
	free(m->slots);
	free(m->dirs);
	free(m);
}

void spool_moves_clear(spool_moves *m)
{
	drop_chains(m);
	if (m->cap > 4096) {
		/* a burst is over: give its memory back */
		free(m->slots);
		m->slots = NULL;
		m->cap = 0;
	} else if (m->slots) {
		memset(m->slots, 0, m->cap * sizeof(*m->slots));
	}
	m->n = 0;
	m->full = false;
}

bool spool_moves_full(const spool_moves *m)
{
	return m->full;
}

size_t spool_moves_count(const spool_moves *m)
{
	return m->n;
}

static int dir_index(spool_moves *m, const spool_loc *loc)
{
	if (m->last < m->ndirs && m->dirs[m->last].state == loc->state &&
	    strcmp(m->dirs[m->last].agent, loc->agent) == 0)
		return (int)m->last;
	for (size_t i = 0; i < m->ndirs; i++)
		if (m->dirs[i].state == loc->state &&
		    strcmp(m->dirs[i].agent, loc->agent) == 0)
			return (int)(m->last = i);
	if (m->ndirs == m->capdirs) {
		size_t nc = m->capdirs ? m->capdirs * 2 : 16;
		spool_loc *p;
		if (nc > INT16_MAX ||
		    !(p = realloc(m->dirs, nc * sizeof(*p))))
			return DIR_NONE;
		m->dirs = p;
		m->capdirs = nc;
	}
	m->dirs[m->ndirs] = *loc;
	return (int)(m->last = m->ndirs++);
}

static struct chain *find(const spool_moves *m, const char *id)
{
	if (!m->cap)
		return NULL;
	for (size_t i = hash(id) & (m->cap - 1); m->slots[i].id[0];
	     i = (i + 1) & (m->cap - 1))
		if (strcmp(m->slots[i].id, id) == 0)
			return &m->slots[i];
	return NULL;
}

static int grow(spool_moves *m)
{
	size_t oldcap = m->cap, nc = m->cap ? m->cap * 2 : 256;
	struct chain *old = m->slots, *p = calloc(nc, sizeof(*p));

	if (!p)
		return -1;
	m->slots = p;
	m->cap = nc;
	for (size_t i = 0; i < oldcap; i++) {
		size_t k;
		if (!old[i].id[0])
			continue;
		for (k = hash(old[i].id) & (nc - 1); p[k].id[0];
		     k = (k + 1) & (nc - 1))
			;
		p[k] = old[i];
	}
	free(old);
	return 0;
}

/* The chain of id, made if new; NULL when the log is full. */
static struct chain *get(spool_moves *m, const char *id)
{
	struct chain *c = find(m, id);
	size_t i;

	if (c)
		return c;
	if (m->n >= m->max) {
		m->full = true;
		return NULL;
	}
	if ((m->n + 1) * 2 > m->cap && grow(m) < 0) {
		m->full = true;
		return NULL;
	}
	for (i = hash(id) & (m->cap - 1); m->slots[i].id[0];
	     i = (i + 1) & (m->cap - 1))
		;
	c = &m->slots[i];
	snprintf(c->id, sizeof(c->id), "%s", id);
	m->n++;
	return c;
}

static void append(struct chain *c, int from, int to, uint32_t cookie)
{
	if (c->broken)
		return;
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 2;
		struct step *p;
		if (nc > SPOOL_MOVES_STEPS ||
		    !(p = realloc(c->v, nc * sizeof(*p)))) {
			free(c->v);
			c->v = NULL;
			c->n = c->cap = 0;
			c->broken = true;
			return;
		}
		c->v = p;
		c->cap = (uint8_t)nc;
	}
	c->v[c->n++] = (struct step){ .from = (int16_t)from,
				      .to = (int16_t)to, .cookie = cookie };
}

void spool_moves_leave(spool_moves *m, const char *id, const spool_loc *dir,
		       uint32_t cookie)
{
	struct chain *c = get(m, id);
	int d = dir_index(m, dir);

	if (!c)
		return;
	if (d == DIR_NONE)
		c->broken = true;
	append(c, d, DIR_NONE, cookie);
}

void spool_moves_arrive(spool_moves *m, const char *id, const spool_loc *dir,
			uint32_t cookie)
{
	struct chain *c = get(m, id);
	int d = dir_index(m, dir);

	if (!c)
		return;
	if (d == DIR_NONE)
		c->broken = true;
	if (cookie && !c->broken)
		for (size_t i = c->n; i-- > 0;)
			if (c->v[i].to == DIR_NONE && c->v[i].cookie == cookie &&
			    c->v[i].from != DIR_NONE) {
				c->v[i].to = (int16_t)d;
				c->v[i].cookie = 0;
				return;
			}
	append(c, DIR_NONE, d, 0);
}

static size_t push(spool_place *out, size_t n, const spool_moves *m, int d,
		   bool seen)
{
	/* Arriving where it was is no move: the spool rewriting a file
	 * swaps a new one in with RENAME_EXCHANGE, an arrival and a leave
	 * through tmp/, which is not watched. */
	if (n && !seen && d != DIR_NONE &&
	    out[n - 1].loc.state == m->dirs[d].state &&
	    strcmp(out[n - 1].loc.agent, m->dirs[d].agent) == 0)
		return n;
	if (d == DIR_NONE) {
		memset(&out[n], 0, sizeof(out[n]));
		out[n].loc.state = SPOOL_STATE_NONE;
	} else {
		out[n].loc = m->dirs[d];
	}
	out[n].seen = seen;
	return n + 1;
}

size_t spool_moves_places(spool_place *out, const spool_moves *m,
			  const char *id)
{
	const struct chain *c = find(m, id);
	int cur = DIR_NONE;
	bool gone = false;
	size_t n = 0;

	if (!c || c->broken || !c->n)
		return 0;
	for (size_t i = 0; i < c->n; i++) {
		const struct step *s = &c->v[i];
		if (s->from != DIR_NONE) {
			if (n == 0 || gone || cur != s->from)
				n = push(out, n, m, s->from, false);
			gone = s->to == DIR_NONE;
			if (!gone)
				n = push(out, n, m, s->to, true);
			cur = s->to;
		} else {
			n = push(out, n, m, s->to, false);
			cur = s->to;
			gone = false;
		}
	}
	if (gone)
		n = push(out, n, m, DIR_NONE, false);
	return n;
}

static int dir_or_none(spool_moves *m, const spool_loc *loc)
{
	return loc->state == SPOOL_STATE_NONE ? DIR_NONE : dir_index(m, loc);
}

void spool_moves_touched(spool_moves *m, const char *id,
			 const spool_loc *from, const spool_loc *to)
{
	struct chain *c = find(m, id);
	int f, t;

	if (!c)
		return;
	c->touched = true;
	if (c->nrec > SPOOL_MOVES_STEPS)
		return;
	f = dir_or_none(m, from);
	t = dir_or_none(m, to);
	if (c->nrec == SPOOL_MOVES_STEPS ||
	    (f == DIR_NONE) != (from->state == SPOOL_STATE_NONE) ||
	    (t == DIR_NONE) != (to->state == SPOOL_STATE_NONE) ||
	    (!c->rec &&
	     !(c->rec = malloc(SPOOL_MOVES_STEPS * sizeof(*c->rec))))) {
		c->nrec = SPOOL_MOVES_STEPS + 1;	/* not to be followed */
		return;
	}
	c->rec[c->nrec++] = (struct step){ .from = (int16_t)f,
					   .to = (int16_t)t };
}

bool spool_moves_is_touched(const spool_moves *m, const char *id)
{
	const struct chain *c = find(m, id);

	return c && c->touched;
}

static bool at_dir(const spool_place *p, const spool_moves *m, int d)
{
	if (d == DIR_NONE)
		return p->loc.state == SPOOL_STATE_NONE;
	return p->loc.state == m->dirs[d].state &&
	       strcmp(p->loc.agent, m->dirs[d].agent) == 0;
}

/*
 * The first place after *at that s ends at: reached from s's origin if
 * the places show that, else from anywhere (the table took the move on,
 * as a release on the last attempt goes on to failed/).
 */
static bool follow(size_t *at, const spool_moves *m, const struct step *s,
		   const spool_place *p, size_t n, bool first)
{
	size_t from = first ? 0 : *at + 1;

	for (size_t i = from; i < n; i++)
		if (at_dir(&p[i], m, s->to) && (s->from == DIR_NONE ||
		    (i > 0 && at_dir(&p[i - 1], m, s->from)))) {
			*at = i;
			return true;
		}
	for (size_t i = from; i < n; i++)
		if (at_dir(&p[i], m, s->to)) {
			*at = i;
			return true;
		}
	return false;
}

bool spool_moves_recorded_at(size_t *at, const spool_moves *m,
			     const char *id, const spool_place *p, size_t n)
{
	const struct chain *c = find(m, id);
	bool first = true;

	if (!c || !c->nrec || c->nrec > SPOOL_MOVES_STEPS || !n)
		return false;
	*at = 0;
	for (size_t i = 0; i < c->nrec; i++) {
		/* a record that moves nothing (a note, an edit undone) */
		if (c->rec[i].from == c->rec[i].to)
			continue;
		if (!follow(at, m, &c->rec[i], p, n, first))
			return false;
		first = false;
	}
	return !first;
}

bool spool_moves_showed(const spool_moves *m, const char *id,
			const spool_loc *from, const spool_loc *to)
{
	spool_place p[SPOOL_MOVES_STEPS * 2 + 1];
	size_t n = spool_moves_places(p, m, id), start = 0;

	/* Steps other writers recorded are theirs, not the one asked for.
	 * The step need not be one rename: a command rewrites a file by
	 * swapping a new one in, which can part a rename's two halves. */
	if (!spool_moves_recorded_at(&start, m, id, p, n))
		start = 0;
	for (size_t i = start; i + 1 < n; i++)
		if (spool_loc_same(&p[i].loc, from) &&
		    spool_loc_same(&p[i + 1].loc, to))
			return true;
	return false;
}

void spool_moves_keep(spool_moves *m, const char *id)
{
	struct chain *c = find(m, id);

	if (c && !c->broken)
		c->keep = true;
}

/* Takes the kept chains out of the table, which keeps none. */
static size_t take_kept(struct chain **out, spool_moves *m)
{
	size_t n = 0;

	*out = NULL;
	for (size_t i = 0; i < m->cap; i++)
		n += m->slots[i].id[0] && m->slots[i].keep;
	if (!n || !(*out = calloc(n, sizeof(**out))))
		return 0;
	n = 0;
	for (size_t i = 0; i < m->cap; i++) {
		struct chain *c = &m->slots[i];
		if (!c->id[0] || !c->keep)
			continue;
		(*out)[n] = *c;
		(*out)[n].carried = true;
		(*out)[n++].keep = false;
		c->v = NULL;
		c->rec = NULL;
	}
	return n;
}

void spool_moves_next(spool_moves *m)
{
	struct chain *kept, *c;
	size_t n = take_kept(&kept, m);

	spool_moves_clear(m);
	for (size_t i = 0; i < n; i++) {
		if ((c = get(m, kept[i].id))) {
			*c = kept[i];
		} else {
			free(kept[i].v);
			free(kept[i].rec);
		}
	}
	free(kept);
}

void spool_moves_each(const spool_moves *m,
		      void (*fn)(void *data, const char *id,
				 const spool_place *p, size_t n),
		      void *data)
{
	spool_place p[SPOOL_MOVES_STEPS * 2 + 1];

	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].id[0] && m->slots[i].carried)
			fn(data, m->slots[i].id, p,
			   spool_moves_places(p, m, m->slots[i].id));
}

bool spool_moves_arrived(const spool_moves *m, const char *id)
{
	const struct chain *c = find(m, id);

	return c && !c->broken && c->n && c->v[c->n - 1].to != DIR_NONE;
}

bool spool_moves_is_carried(const spool_moves *m, const char *id)
{
	const struct chain *c = find(m, id);

	return c && c->carried;
}
