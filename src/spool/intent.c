/*
 * The intent log (.spool/run/intent/). Every rename the spool makes, and
 * every rewrite whose effect must not be applied twice, is announced
 * there first, durably (tmp/, fsync, rename, fsync), then done, then
 * committed; the intent goes with the commit. So a process killed at any
 * instruction leaves the next one enough to tell what it was doing:
 *
 *   - the task is still where it was: nothing happened, the intent goes;
 *   - the task is at the intent's destination, and HEAD still has it at
 *     the source: the transition is recorded as its command would have
 *     recorded it, from the content the task had before (so an attempt
 *     is counted once, feedback is added once);
 *   - anything else (HEAD already has it, or it moved on): the intent is
 *     stale and goes; reconcile records what the files say.
 *
 * Without it, a review -> done made by 'spool approve' and cut short
 * before its commit looks exactly like an agent's illegal mv.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "file.h"
#include "intent.h"
#include "transition.h"

#define INTENT_DIR ".spool/run/intent"

enum { KIND_MOVE, KIND_RECORD, KIND_FILE };
static const char *const kinds[] = { "move", "record", "file" };

struct intent {
	char name[128];		/* under INTENT_DIR */
	int kind;
	bool replayed;		/* a dead process's: kept if unwritten */
	char id[SPOOL_ID_MAX + 1];
	spool_loc from, to;
	spool_loc at;		/* move: where the rename starts (from) */
	char *before;		/* the task before (move, record), new/'s
				 * file (file); NULL if none */
	size_t beforelen;
	char src[PATH_MAX];	/* file: the file in new/, or "" */
	char key[PATH_MAX];	/* file: the key file it wrote, if new */
	char parent[SPOOL_ID_MAX + 1];
	char *parent_before;
	size_t parent_len;
};

struct spool_intents {
	struct intent *v;
	size_t n, cap;
};

static void intent_clear(struct intent *it)
{
	free(it->before);
	free(it->parent_before);
	memset(it, 0, sizeof(*it));
}

static struct intent *push(spool_commit *c)
{
	spool_intents **pin = spool_commit_intents(c), *in = *pin;

	if (!in && !(in = *pin = calloc(1, sizeof(*in)))) {
		spool_error_set(SPOOL_ERROR, "out of memory");
		return NULL;
	}
	if (in->n == in->cap) {
		size_t nc = in->cap ? in->cap * 2 : 4;
		struct intent *p = realloc(in->v, nc * sizeof(*p));
		if (!p) {
			spool_error_set(SPOOL_ERROR, "out of memory");
			return NULL;
		}
		in->v = p;
		in->cap = nc;
	}
	memset(&in->v[in->n], 0, sizeof(in->v[0]));
	return &in->v[in->n++];
}

static void pop(spool_commit *c)
{
	spool_intents *in = *spool_commit_intents(c);

	intent_clear(&in->v[--in->n]);
}

static bool carries(spool_commit *c, const char *id)
{
	spool_intents *in = *spool_commit_intents(c);

	for (size_t i = 0; in && i < in->n; i++)
		if (strcmp(in->v[i].id, id) == 0)
			return true;
	return false;
}

static void intent_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, INTENT_DIR "/%s", name);
}

/* Sorted by name, the intents of one process come in the order made. */
static void new_name(struct intent *it)
{
	static unsigned counter;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(it->name, sizeof(it->name), "%012lld%09ld-%06u-%s.json",
		 (long long)ts.tv_sec, ts.tv_nsec, counter++ % 1000000,
		 it->id);
}

static void set_str(json_t *o, const char *key, const char *s)
{
	if (s && *s)
		json_object_set_new(o, key, json_string(s));
}

static void set_loc(json_t *o, const char *key, const spool_loc *loc)
{
	char buf[128];

	if (loc->state == SPOOL_STATE_NONE)
		return;
	spool_loc_format(buf, sizeof(buf), loc);
	json_object_set_new(o, key, json_string(buf));
}

static int set_bytes(json_t *o, const char *key, const char *s, size_t n)
{
	json_t *v;

	if (!s)
		return 0;
	if (!(v = json_stringn(s, n)))
		return spool_error_set(SPOOL_EINVALID, "the task is not "
				       "UTF-8 text");
	json_object_set_new(o, key, v);
	return 0;
}

/* Writes it (and what only the record needs) durably. */
static int intent_write(spool *sp, struct intent *it,
			const spool_transition *t, const char *feedback)
{
	char path[PATH_MAX], *s;
	json_t *o = json_object();
	int rc;

	new_name(it);
	json_object_set_new(o, "kind", json_string(kinds[it->kind]));
	json_object_set_new(o, "id", json_string(it->id));
	set_loc(o, "from", &it->from);
	set_loc(o, "to", &it->to);
	set_str(o, "verb", t->verb);
	set_str(o, "actor", t->actor);
	set_str(o, "note", t->note);
	set_str(o, "feedback", feedback);
	set_str(o, "src", it->src);
	set_str(o, "key", it->key);
	set_str(o, "parent", it->parent);
	if ((rc = set_bytes(o, "before", it->before, it->beforelen)) < 0 ||
	    (rc = set_bytes(o, "parent_before", it->parent_before,
			    it->parent_len)) < 0) {
		json_decref(o);
		return rc;
	}
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (!s)
		return spool_error_set(SPOOL_ERROR, "out of memory");
	mkdirat(spool_rootfd(sp), ".spool/run", 0777);
	mkdirat(spool_rootfd(sp), INTENT_DIR, 0777);
	intent_path(path, sizeof(path), it->name);
	rc = spool_fs_write(sp, path, s, strlen(s), false);
	free(s);
	return rc;
}

static int read_task(char **out, size_t *len, spool *sp, const spool_loc *loc,
		     const char *id)
{
	char path[PATH_MAX];

	spool_loc_path(path, sizeof(path), loc, id);
	return spool_fs_read(out, len, sp, path, SPOOL_TASK_MAX_BYTES);
}

static int begin(struct intent **out, spool_commit *c, int kind,
		 const char *id)
{
	struct intent *it = push(c);

	*out = it;
	if (!it)
		return SPOOL_ERROR;
	it->kind = kind;
	snprintf(it->id, sizeof(it->id), "%s", id);
	it->from.state = it->to.state = SPOOL_STATE_NONE;
	return 0;
}

/*
 * An agent's claim for itself changes nothing in the task: cut short, it
 * is recorded from the files exactly as 'spool claim' records it (verb,
 * actor, effects), so it is kept in memory only, to be undone if its
 * commit fails, and the claim path spends no fsync on it.
 */
static bool own_claim(const spool_transition *t)
{
	return t->from.state == SPOOL_STATE_READY &&
	       t->to.state == SPOOL_STATE_CLAIMED &&
	       strcmp(t->verb, "claim") == 0 &&
	       strcmp(t->actor, t->to.agent) == 0;
}

int spool_intent_move(spool_commit *c, spool *sp, const spool_transition *t,
		      const char *feedback)
{
	return spool_intent_move_at(c, sp, t, feedback, &t->from);
}

int spool_intent_move_at(spool_commit *c, spool *sp,
			 const spool_transition *t, const char *feedback,
			 const spool_loc *at)
{
	struct intent *it;
	int rc;

	if ((rc = begin(&it, c, KIND_MOVE, t->id)) < 0)
		return rc;
	it->from = t->from;
	it->to = t->to;
	it->at = *at;
	if ((rc = read_task(&it->before, &it->beforelen, sp, at,
			    t->id)) < 0 ||
	    (!own_claim(t) && (rc = intent_write(sp, it, t, feedback)) < 0))
		pop(c);
	return rc;
}

int spool_intent_record(spool_commit *c, spool *sp,
			const spool_transition *t, const char *feedback)
{
	struct intent *it;
	int rc;

	if (carries(c, t->id))
		return 0;
	if ((rc = begin(&it, c, KIND_RECORD, t->id)) < 0)
		return rc;
	it->from = t->from;
	it->to = t->to;
	if ((rc = read_task(&it->before, &it->beforelen, sp, &t->to,
			    t->id)) < 0 ||
	    (rc = intent_write(sp, it, t, feedback)) < 0)
		pop(c);
	return rc;
}

int spool_intent_file(spool_commit *c, spool *sp,
		      const spool_intent_filing *f)
{
	spool_transition t;
	spool_loc ploc;
	struct intent *it;
	int rc;

	if ((rc = begin(&it, c, KIND_FILE, f->id)) < 0)
		return rc;
	it->to = *f->to;
	if (f->src) {
		it->from.state = SPOOL_STATE_NEW;
		snprintf(it->src, sizeof(it->src), "%s", f->src);
		if ((rc = spool_fs_read(&it->before, &it->beforelen, sp,
					f->src, SPOOL_TASK_MAX_BYTES)) < 0)
			goto out;
	}
	/* Only a key this filing creates is removed if it is undone. */
	if (f->key && faccessat(spool_rootfd(sp), f->key, F_OK, 0) < 0)
		snprintf(it->key, sizeof(it->key), "%s", f->key);
	if (f->parent) {
		snprintf(it->parent, sizeof(it->parent), "%s", f->parent);
		if (spool_task_find(&ploc, sp, f->parent) == 0)
			rc = read_task(&it->parent_before, &it->parent_len, sp,
				       &ploc, f->parent);
		spool_error_clear();
		rc = 0;
	}
	spool_transition_init(&t, f->id, f->src ? &it->from : NULL, f->to,
			      f->verb, f->actor);
	if (f->note)
		snprintf(t.note, sizeof(t.note), "%s", f->note);
	rc = intent_write(sp, it, &t, NULL);
out:
	if (rc < 0)
		pop(c);
	return rc;
}

static void intent_unlink(spool *sp, const struct intent *it)
{
	char path[PATH_MAX];

	if (!it->name[0])
		return;	/* kept in memory only */
	intent_path(path, sizeof(path), it->name);
	unlinkat(spool_rootfd(sp), path, 0);
}

void spool_intent_drop(spool_commit *c, spool *sp, const char *id)
{
	spool_intents *in = *spool_commit_intents(c);

	if (!in || in->n == 0 || strcmp(in->v[in->n - 1].id, id) != 0)
		return;
	intent_unlink(sp, &in->v[in->n - 1]);
	pop(c);
}

/* ---- undoing an operation that failed ----------------------------------- */

static bool same_bytes(spool *sp, const char *path, const char *want,
		       size_t len)
{
	char *buf = NULL;
	size_t n = 0;
	bool same;

	same = spool_fs_read(&buf, &n, sp, path, SPOOL_TASK_MAX_BYTES) == 0 &&
	       n == len && memcmp(buf, want, n) == 0;
	free(buf);
	return same;
}

/* Puts content back at path unless it is there already. */
static void put_back(spool *sp, const char *path, const char *want,
		     size_t len)
{
	if (want && !same_bytes(sp, path, want, len))
		spool_fs_rewrite(sp, path, want, len);
}

static void undo_file(spool *sp, struct intent *it)
{
	char to[PATH_MAX], ppath[PATH_MAX];
	spool_loc ploc;

	spool_loc_path(to, sizeof(to), &it->to, it->id);
	if (it->parent_before && spool_task_find(&ploc, sp, it->parent) == 0) {
		spool_loc_path(ppath, sizeof(ppath), &ploc, it->parent);
		put_back(sp, ppath, it->parent_before, it->parent_len);
	}
	if (it->key[0])
		unlinkat(spool_rootfd(sp), it->key, 0);
	/* The file in new/ comes back as it was dropped there. */
	if (it->src[0] && it->before &&
	    faccessat(spool_rootfd(sp), it->src, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		spool_fs_write(sp, it->src, it->before, it->beforelen, true);
	unlinkat(spool_rootfd(sp), to, 0);
}

static void undo(spool *sp, struct intent *it)
{
	char to[PATH_MAX];

	if (it->kind == KIND_FILE) {
		undo_file(sp, it);
		return;
	}
	spool_loc_path(to, sizeof(to), &it->to, it->id);
	if (faccessat(spool_rootfd(sp), to, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return;	/* moved on by its agent meanwhile */
	/* The content first: killed in between, the next process finds the
	 * task at the destination, as it was, and records the move. */
	put_back(sp, to, it->before, it->beforelen);
	if (it->kind == KIND_MOVE)
		spool_move_task(sp, it->id, &it->to, &it->at, true);
}

void spool_intents_settle(spool *sp, spool_intents *in, bool written)
{
	char msg[1024];
	int code = spool_error_code();

	if (!in)
		return;
	/* Undoing is best effort: the error that made the caller give up
	 * is the one to report. */
	snprintf(msg, sizeof(msg), "%s", spool_error_message());
	for (size_t i = in->n; i-- > 0;) {
		struct intent *it = &in->v[i];
		if (!written && it->replayed)
			continue;	/* the next process tries again */
		if (!written)
			undo(sp, it);
		intent_unlink(sp, it);
	}
	if (code)
		spool_error_set(code, "%s", msg);
	else
		spool_error_clear();
	for (size_t i = 0; i < in->n; i++)
		intent_clear(&in->v[i]);
	free(in->v);
	free(in);
}

/* ---- recovery ----------------------------------------------------------- */

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int jloc(spool_loc *out, json_t *o, const char *key)
{
	const char *s = jstr(o, key);

	memset(out, 0, sizeof(*out));
	out->state = SPOOL_STATE_NONE;
	if (!s)
		return 0;
	return spool_loc_parse(out, s);
}

static bool in_head(spool_commit *c, const spool_loc *loc, const char *id)
{
	git_tree *base = spool_commit_base(c);
	git_tree_entry *e = NULL;
	char path[PATH_MAX];

	spool_loc_path(path, sizeof(path), loc, id);
	if (!base || git_tree_entry_bypath(&e, base, path) < 0) {
		git_error_clear();
		return false;
	}
	git_tree_entry_free(e);
	return true;
}

static bool same_loc(const spool_loc *a, const spool_loc *b)
{
	return a->state == b->state && (a->state != SPOOL_STATE_CLAIMED ||
					strcmp(a->agent, b->agent) == 0);
}

/* The intent as it was in memory, so the commit removes its file. */
static int adopt_intent(struct intent **out, spool_commit *c, json_t *o,
			const char *name)
{
	struct intent *it;
	int rc;

	if ((rc = begin(&it, c, KIND_MOVE, jstr(o, "id"))) < 0)
		return rc;
	snprintf(it->name, sizeof(it->name), "%s", name);
	it->replayed = true;
	*out = it;
	return 0;
}

static int replay_move(bool *done, spool_commit *c, spool *sp, json_t *o,
		       const spool_transition *proto)
{
	spool_transition t = *proto;
	const char *before = jstr(o, "before");
	json_t *task = NULL;
	spool_loc now;
	int rc;

	*done = false;
	if (spool_task_find(&now, sp, t.id) < 0 || !same_loc(&now, &t.to) ||
	    in_head(c, &t.to, t.id) || !in_head(c, &t.from, t.id) || !before ||
	    spool_task_parse(&task, before, strlen(before), t.id, t.id) < 0) {
		spool_error_clear();
		return 0;	/* not moved, or already recorded */
	}
	rc = spool_record_move(c, sp, task, &t, jstr(o, "feedback"));
	json_decref(task);
	if (rc == SPOOL_ENOTFOUND) {
		/* its agent moved it on: reconcile records where to */
		spool_error_clear();
		return 0;
	}
	*done = rc == 0;
	return rc;
}

static int replay_file(bool *done, spool_commit *c, spool *sp, json_t *o,
		       const spool_transition *proto)
{
	spool_transition t = *proto;
	const char *src = jstr(o, "src"), *key = jstr(o, "key");
	const char *parent = jstr(o, "parent");
	char to[PATH_MAX];
	json_t *task = NULL;
	int rc;

	*done = false;
	spool_loc_path(to, sizeof(to), &t.to, t.id);
	if (in_head(c, &t.to, t.id) ||
	    spool_task_load(&task, sp, &t.to, t.id) < 0) {
		spool_error_clear();
		return 0;	/* never written, or already recorded */
	}
	rc = spool_record_move(c, sp, task, &t, NULL);
	json_decref(task);
	if (rc == 0 && src) {
		if (unlinkat(spool_rootfd(sp), src, 0) < 0 && errno != ENOENT)
			rc = spool_error_sys(SPOOL_ERROR, "cannot remove '%s'",
					     src);
		if (rc == 0)
			rc = spool_commit_path(c, src);
	}
	if (rc == 0 && key) {
		if (faccessat(spool_rootfd(sp), key, F_OK, 0) < 0)
			rc = spool_fs_write(sp, key, t.id, strlen(t.id), false);
		if (rc == 0)
			rc = spool_commit_path(c, key);
	}
	if (rc == 0 && parent)
		rc = spool_file_link_parent(c, sp, parent, t.id);
	*done = rc == 0;
	return rc;
}

static int replay(size_t *recorded, bool *terminal, spool *sp,
		  const char *name, json_t *o)
{
	const char *kind = jstr(o, "kind"), *id = jstr(o, "id");
	spool_transition t;
	spool_commit *c = NULL;
	struct intent *it;
	spool_loc from, to;
	bool done = false;
	int rc;

	if (!kind || !id || !spool_id_valid(id) || jloc(&from, o, "from") < 0 ||
	    jloc(&to, o, "to") < 0 || to.state == SPOOL_STATE_NONE)
		return SPOOL_EINVALID;
	if ((rc = spool_commit_new(&c, sp)) < 0)
		return rc;
	if ((rc = adopt_intent(&it, c, o, name)) < 0)
		goto out;
	spool_transition_init(&t, id, &from, &to, jstr(o, "verb") ?
			      jstr(o, "verb") : "move", jstr(o, "actor"));
	snprintf(t.note, sizeof(t.note), "%s", jstr(o, "note") ?
		 jstr(o, "note") : "");
	if (strcmp(kind, "file") == 0) {
		if (from.state == SPOOL_STATE_NONE)
			t.from.state = SPOOL_STATE_NONE;
		rc = replay_file(&done, c, sp, o, &t);
	} else if (from.state != SPOOL_STATE_NONE) {
		rc = replay_move(&done, c, sp, o, &t);
	}
	if (rc == 0 && done)
		rc = spool_commit_write(c, t.actor);
	if (rc == 0 && done) {
		(*recorded)++;
		*terminal |= spool_state_terminal(to.state);
	}
out:
	if (rc == 0 && !done) {
		/* Nothing to record: the intent was never carried out, or
		 * its commit was written. */
		char path[PATH_MAX];
		intent_path(path, sizeof(path), name);
		unlinkat(spool_rootfd(sp), path, 0);
	}
	spool_commit_free(c);
	return rc;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_intents(char ***out, size_t *n, spool *sp)
{
	size_t cap = 0;
	struct dirent *de;
	DIR *d;
	int fd;

	*out = NULL;
	*n = 0;
	fd = openat(spool_rootfd(sp), INTENT_DIR,
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : spool_error_sys(SPOOL_ERROR,
			"cannot read '" INTENT_DIR "'");
	if (!(d = fdopendir(fd))) {
		close(fd);
		return spool_error_sys(SPOOL_ERROR, "cannot read '"
				       INTENT_DIR "'");
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (*n == cap) {
			size_t nc = cap ? cap * 2 : 8;
			char **p = realloc(*out, nc * sizeof(*p));
			if (!p)
				break;
			*out = p;
			cap = nc;
		}
		if (((*out)[*n] = strdup(de->d_name)))
			(*n)++;
	}
	closedir(d);
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), cmp_name);
	return 0;
}

int spool_intent_recover(size_t *recorded, bool *terminal, spool *sp)
{
	char **names = NULL, path[PATH_MAX];
	size_t n = 0;
	int rc;

	if ((rc = list_intents(&names, &n, sp)) < 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++) {
		json_t *o = NULL;
		char *buf = NULL;
		size_t len;
		intent_path(path, sizeof(path), names[i]);
		if (spool_fs_read(&buf, &len, sp, path, 64 << 20) == 0)
			o = json_loadb(buf, len, 0, NULL);
		free(buf);
		spool_error_clear();
		rc = o ? replay(recorded, terminal, sp, names[i], o)
		       : SPOOL_EINVALID;
		json_decref(o);
		if (rc == SPOOL_EINVALID) {
			/* Not ours to understand: a record that cannot be
			 * read cannot be acted on either. */
			unlinkat(spool_rootfd(sp), path, 0);
			spool_error_clear();
			rc = 0;
		}
	}
	spool_names_free(names, n);
	return rc;
}
