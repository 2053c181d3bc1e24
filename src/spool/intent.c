/*
 * The intent log (.spool/run/intent/). Every rename the spool makes, and
 * every task it files, is announced there first, durably (tmp/, fsync,
 * rename, fsync; a batch of filings writes one intent for all of them,
 * synced with its files at once), then done, then committed; the intent
 * goes with the commit. So a process killed at any instruction leaves
 * the next one enough to tell what it was doing:
 *
 *   - the task is still where it was: nothing happened, the intent goes;
 *   - the task is at the intent's destination, and HEAD still has it at
 *     the source: the request is made again as a move already made, so
 *     the transition is recorded as its command would have recorded it
 *     (verb, actor, effects, from the task as it was: an attempt counts
 *     once, feedback is added once);
 *   - anything else (HEAD already has it, or it moved on): the intent is
 *     stale and goes; reconcile records what the files say.
 *
 * Without it, 'spool approve' cut short between its rename and its
 * commit looks exactly like an agent's review -> done by mv, which the
 * table refuses and reconcile reverts.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "machine.h"
#include "state.h"
#include "task.h"
#include "fsutil.h"
#include "root.h"
#include "history.h"
#include "repo.h"
#include "intent.h"
#include "task-files.h"

#define INTENT_DIR ".spool/run/intent"

/* A batch's own entry carries its file: its filings, each with what it
 * undoes, have none of their own. */
enum { KIND_MOVE, KIND_FILE, KIND_REWRITE, KIND_BATCH };

/* Looks for a task an agent keeps moving before giving up on it. */
#define FIND_TRIES 32

struct intent {
	char name[128];		/* under INTENT_DIR; "" in memory only */
	int kind;
	bool replayed;		/* a dead process's: kept if unwritten */
	char id[SPOOL_ID_MAX + 1];
	spool_loc from;		/* where the file was (NONE: not yet) */
	spool_loc to;		/* where it goes (NONE: not known yet) */
	char *before;		/* move, rewrite: the task file before;
				 * file: the file in new/ it came from */
	size_t beforelen;
	char *after;		/* rewrite: the task file it writes */
	size_t afterlen;
	char *src;		/* file: the file in new/, or NULL */
	char *key;		/* file: the key file it creates, or NULL */
	char parent[SPOOL_ID_MAX + 1];
	char *parent_before;
	size_t parent_len;
};

struct spool_intents {
	struct intent *v;
	size_t n, cap;
	char batch[128];	/* the batch intent carried, if any */
};

static void intent_clear(struct intent *it)
{
	free(it->before);
	free(it->after);
	free(it->parent_before);
	free(it->src);
	free(it->key);
	memset(it, 0, sizeof(*it));
}

static void settle(spool *sp, void *pending, bool written)
{
	spool_intents_settle(sp, pending, written);
}

/* The intents a commit carries: the commit settles them. */
static spool_intents *carried_by(spool_commit *c)
{
	return *spool_commit_pending(c, settle);
}

static struct intent *push(spool_commit *c, int kind, const char *id)
{
	spool_intents *in = carried_by(c);
	struct intent *it;

	if (!in && !(in = *spool_commit_pending(c, settle) =
		     calloc(1, sizeof(*in)))) {
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
	it = &in->v[in->n++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	snprintf(it->id, sizeof(it->id), "%s", id);
	it->from.state = it->to.state = SPOOL_STATE_NONE;
	return it;
}

static void pop(spool_commit *c)
{
	spool_intents *in = carried_by(c);

	if (in->v[in->n - 1].kind == KIND_BATCH)
		in->batch[0] = '\0';
	intent_clear(&in->v[--in->n]);
}

static struct intent *carried(spool_commit *c, int kind, const char *id)
{
	spool_intents *in = carried_by(c);

	for (size_t i = in ? in->n : 0; i-- > 0;)
		if (in->v[i].kind == kind && strcmp(in->v[i].id, id) == 0)
			return &in->v[i];
	return NULL;
}

static void intent_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, INTENT_DIR "/%s", name);
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

enum { INTENT_UNSYNCED, INTENT_DURABLE, INTENT_AHEAD };

/* Writes o for it under a name that sorts in the order made: durably,
 * unsynced, or ahead of a batch: created in place, as the batch syncs it
 * before doing anything it announces (cut short, it is unreadable and
 * dropped, and nothing was done for it). */
static int intent_write_ex(spool *sp, struct intent *it, json_t *o,
			   int how)
{
	static unsigned counter;
	struct timespec ts;
	char path[PATH_MAX], *s;
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(it->name, sizeof(it->name), "%012lld%09ld-%06u-%s.json",
		 (long long)ts.tv_sec, ts.tv_nsec, counter++ % 1000000,
		 it->id);
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	if (!s) {
		it->name[0] = '\0';
		return spool_error_set(SPOOL_ERROR, "out of memory");
	}
	mkdirat(spool_rootfd(sp), ".spool/run", 0777);
	mkdirat(spool_rootfd(sp), INTENT_DIR, 0777);
	intent_path(path, sizeof(path), it->name);
	if (how == INTENT_DURABLE)
		rc = spool_fs_write(sp, path, s, strlen(s), false);
	else if (how == INTENT_AHEAD)
		rc = spool_fs_create(sp, path, s, strlen(s));
	else
		rc = spool_fs_write_cache(sp, path, s, strlen(s));
	if (rc < 0)
		it->name[0] = '\0';
	free(s);
	return rc;
}

static int intent_write(spool *sp, struct intent *it, json_t *o)
{
	return intent_write_ex(sp, it, o, INTENT_DURABLE);
}

static int read_task(char **out, size_t *len, spool *sp, const spool_loc *loc,
		     const char *id)
{
	char path[PATH_MAX];

	spool_loc_path(path, sizeof(path), loc, id);
	return spool_fs_read(out, len, sp, path, spool_task_max(sp));
}

/* Where the file is before place() moves it. */
static spool_loc file_at(const spool_request *rq)
{
	if (!rq->moved)
		return rq->from;
	return rq->at ? *rq->at : rq->to;
}

/* A claim by the agent that asks for it changes nothing in the task: cut
 * short, it is recorded from the files as the command records it. */
static json_t *move_record(const spool_request *rq, const spool_row *row,
			   const spool_loc *to, const struct intent *it)
{
	spool_loc asked = *to;
	json_t *o = json_object(), *b;

	/* Replayed as a move already made: asked where the row asks, the
	 * file where the row ends (a release on the last attempt asks for
	 * ready/ and ends in failed/). */
	if (row->ask != SPOOL_STATE_NONE) {
		memset(&asked, 0, sizeof(asked));
		asked.state = row->ask;
	}
	json_object_set_new(o, "kind", json_string("move"));
	json_object_set_new(o, "id", json_string(rq->id));
	set_loc(o, "from", &rq->from);
	set_loc(o, "to", &asked);
	set_loc(o, "at", to);
	set_str(o, "verb", row->asked ? row->asked : row->verb);
	set_str(o, "actor", rq->actor);
	json_object_set_new(o, "via", json_integer(rq->via));
	set_str(o, "reason", rq->reason);
	set_str(o, "feedback", rq->feedback);
	set_str(o, "note", rq->note);
	if (!(b = json_stringn(it->before, it->beforelen))) {
		json_decref(o);
		return NULL;	/* not text: the task cannot be either */
	}
	json_object_set_new(o, "before", b);
	if (it->after && !(b = json_stringn(it->after, it->afterlen))) {
		json_decref(o);
		return NULL;
	}
	if (it->after)
		json_object_set_new(o, "after", b);
	return o;
}

bool spool_intent_own_claim(const spool_request *rq, const spool_row *row,
			    const spool_loc *to)
{
	return !rq->moved && strcmp(row->verb, "claim") == 0 &&
	       to->state == SPOOL_STATE_CLAIMED && rq->actor &&
	       strcmp(rq->actor, to->agent) == 0;
}

static int keep_after(struct intent *it, const char *after)
{
	size_t len = after ? strlen(after) : 0;

	if (!after)
		return 0;
	if (!(it->after = malloc(len + 1)))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	memcpy(it->after, after, len + 1);
	it->afterlen = len;
	return 0;
}

int spool_intent_place(spool_commit *c, spool *sp, const spool_request *rq,
		       const spool_row *row, const spool_loc *to,
		       const char *after)
{
	struct intent *it;
	json_t *o;
	int rc;

	if (!c)
		return 0;	/* a rename spoold records like an agent's */
	if (!rq->moved && (rq->from.state == SPOOL_STATE_NONE ||
			   rq->from.state == SPOOL_STATE_NEW)) {
		/* Filing: announced with what else it does (file.c). */
		if ((it = carried(c, KIND_FILE, rq->id)))
			it->to = *to;
		return 0;
	}
	if (!(it = push(c, KIND_MOVE, rq->id)))
		return SPOOL_ERROR;
	it->from = file_at(rq);
	it->to = *to;
	if ((rc = read_task(&it->before, &it->beforelen, sp, &it->from,
			    rq->id)) < 0 || (rc = keep_after(it, after)) < 0)
		goto fail;
	if (spool_intent_own_claim(rq, row, to))
		return 0;	/* in memory, to be undone if need be */
	if (!(o = move_record(rq, row, to, it))) {
		rc = spool_error_set(SPOOL_EINVALID, "'%s' is not UTF-8 text",
				     rq->id);
		goto fail;
	}
	rc = intent_write(sp, it, o);
	json_decref(o);
	if (rc == 0)
		return 0;
fail:
	pop(c);
	return rc;
}

int spool_intent_rewrite(spool_commit *c, spool *sp, const char *id,
			 const spool_loc *at, const char *after,
			 size_t afterlen)
{
	struct intent *it;
	json_t *o, *b, *a;
	int rc;

	if (!c)
		return 0;
	if (!(it = push(c, KIND_REWRITE, id)))
		return SPOOL_ERROR;
	it->to = *at;
	if ((rc = read_task(&it->before, &it->beforelen, sp, at, id)) < 0)
		goto fail;
	if (!(it->after = malloc(afterlen ? afterlen : 1))) {
		rc = spool_error_set(SPOOL_ERROR, "out of memory");
		goto fail;
	}
	memcpy(it->after, after, afterlen);
	it->afterlen = afterlen;
	b = json_stringn(it->before, it->beforelen);
	a = json_stringn(after, afterlen);
	o = json_pack("{s:s, s:s, s:o*, s:o*}", "kind", "rewrite", "id", id,
		      "before", b, "after", a);
	if (!o || !b || !a) {
		json_decref(o);
		rc = spool_error_set(SPOOL_EINVALID, "'%s' is not UTF-8 text",
				     id);
		goto fail;
	}
	set_loc(o, "at", at);
	/* Not synced: it guards against a process killed, on the hot path
	 * of every release and submit recorded. After a power cut the
	 * rewrite may outlive it; then it reads as an edit in place. */
	rc = intent_write_ex(sp, it, o, INTENT_UNSYNCED);
	json_decref(o);
	if (rc == 0)
		return 0;
fail:
	pop(c);
	return rc;
}

static json_t *filing_record(const spool_intent_filing *f)
{
	char *task = f->text ? NULL : spool_task_dump(f->task);
	json_t *o;

	if (!f->text && !task)
		return NULL;
	o = json_pack("{s:s, s:s, s:s, s:i, s:s}", "kind", "file", "id",
		      f->id, "verb", f->verb, "via", (int)f->via, "task",
		      f->text ? f->text : task);
	free(task);
	if (!o)
		return NULL;
	set_loc(o, "from", f->from);
	set_str(o, "actor", f->actor);
	set_str(o, "src", f->src);
	set_str(o, "key", f->key);
	set_str(o, "parent", f->parent);
	set_str(o, "staged", f->staged);
	return o;
}

int spool_intent_batch_add(json_t *filings, const spool_intent_filing *f)
{
	json_t *o = filing_record(f);

	if (!o || json_array_append_new(filings, o) < 0)
		return spool_error_set(SPOOL_ERROR, "out of memory");
	return 0;
}

int spool_intent_batch_write(char *name, size_t len, spool *sp,
			     json_t *filings)
{
	struct intent it;
	json_t *o = json_pack("{s:s, s:O}", "kind", "batch", "filings",
			      filings);
	int rc;

	if (!o)
		return spool_error_set(SPOOL_ERROR, "out of memory");
	memset(&it, 0, sizeof(it));
	snprintf(it.id, sizeof(it.id), "batch");
	rc = intent_write_ex(sp, &it, o, INTENT_AHEAD);
	json_decref(o);
	if (rc == 0)
		snprintf(name, len, "%s", it.name);
	return rc;
}

/* The batch's file, carried once by the commit of its filings, ahead of
 * them: undone, they go first, and the file last. */
static struct intent *push_batch(spool_commit *c, const char *name)
{
	struct intent *it = push(c, KIND_BATCH, "");
	spool_intents *in = carried_by(c);

	if (!it)
		return NULL;
	snprintf(it->name, sizeof(it->name), "%s", name);
	snprintf(in->batch, sizeof(in->batch), "%s", name);
	return it;
}

static int carry_batch(spool_commit *c, const char *name)
{
	spool_intents *in = carried_by(c);

	if (in && strcmp(in->batch, name) == 0)
		return 0;
	return push_batch(c, name) ? 0 : SPOOL_ERROR;
}

int spool_intent_file(spool_commit *c, spool *sp,
		      const spool_intent_filing *f)
{
	spool_loc ploc;
	struct intent *it;
	json_t *o;
	int rc;

	if (f->prepared && (rc = carry_batch(c, f->prepared)) < 0)
		return rc;
	if (!(it = push(c, KIND_FILE, f->id)))
		return SPOOL_ERROR;
	if (f->src) {
		if (!(it->src = strdup(f->src))) {
			rc = spool_error_set(SPOOL_ERROR, "out of memory");
			goto fail;
		}
		if (f->src_text)
			rc = (it->before = malloc(f->src_len + 1)) ? 0 :
			     spool_error_set(SPOOL_ERROR, "out of memory");
		else
			rc = spool_fs_read(&it->before, &it->beforelen, sp,
					   f->src, spool_task_max(sp));
		if (rc < 0)
			goto fail;
		if (f->src_text) {
			memcpy(it->before, f->src_text, f->src_len);
			it->beforelen = f->src_len;
		}
	}
	/* Only a key this filing creates goes if it is undone. */
	if (f->key && spool_fs_access(sp, f->key) < 0 &&
	    !(it->key = strdup(f->key))) {
		rc = spool_error_set(SPOOL_ERROR, "out of memory");
		goto fail;
	}
	if (f->parent) {
		snprintf(it->parent, sizeof(it->parent), "%s", f->parent);
		if (spool_task_find(&ploc, sp, f->parent) < 0 ||
		    read_task(&it->parent_before, &it->parent_len, sp, &ploc,
			      f->parent) < 0)
			spool_error_clear();	/* checked by the filing */
	}
	if (f->prepared)
		return 0;	/* its batch's file goes with the commit */
	if (!(o = filing_record(f))) {
		rc = spool_error_set(SPOOL_ERROR, "out of memory");
		goto fail;
	}
	rc = intent_write(sp, it, o);
	json_decref(o);
	if (rc == 0)
		return 0;
fail:
	pop(c);
	return rc;
}

static void intent_unlink(spool *sp, const struct intent *it)
{
	char path[PATH_MAX];

	if (!it->name[0])
		return;
	intent_path(path, sizeof(path), it->name);
	spool_fs_unlink(sp, path, 0);
}

void spool_intent_drop(spool_commit *c, spool *sp, const char *id)
{
	spool_intents *in = c ? carried_by(c) : NULL;

	if (!in || in->n == 0 || strcmp(in->v[in->n - 1].id, id) != 0)
		return;
	intent_unlink(sp, &in->v[in->n - 1]);
	pop(c);
}

static void undo(spool *sp, struct intent *it);

void spool_intent_abandon(spool_commit *c, spool *sp, const char *id)
{
	spool_intents *in = carried_by(c);
	struct intent *it = carried(c, KIND_FILE, id);
	int code = spool_error_code();
	char msg[1024];
	size_t k;

	if (!it)
		return;
	snprintf(msg, sizeof(msg), "%s", spool_error_message());
	/* It and what it started after it, newest first. */
	for (k = (size_t)(it - in->v); in->n > k;) {
		undo(sp, &in->v[in->n - 1]);
		intent_unlink(sp, &in->v[in->n - 1]);
		pop(c);
	}
	/* The refusal is what the caller reports. */
	spool_error_set(code, "%s", msg);
}

/* ---- undoing an operation that failed ----------------------------------- */

static bool same_bytes(spool *sp, const char *path, const char *want,
		       size_t len)
{
	char *buf = NULL;
	size_t n = 0;
	bool same;

	same = spool_fs_read(&buf, &n, sp, path, spool_task_max(sp)) == 0 &&
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

	if (it->parent_before && spool_task_find(&ploc, sp, it->parent) == 0) {
		spool_loc_path(ppath, sizeof(ppath), &ploc, it->parent);
		put_back(sp, ppath, it->parent_before, it->parent_len);
	}
	if (it->key)
		spool_fs_unlink(sp, it->key, 0);
	/* The file in new/ comes back as it was dropped there. */
	if (it->src && it->before &&
	    spool_fs_access(sp, it->src) < 0)
		spool_fs_write(sp, it->src, it->before, it->beforelen, true);
	if (it->to.state != SPOOL_STATE_NONE) {
		spool_loc_path(to, sizeof(to), &it->to, it->id);
		spool_fs_unlink(sp, to, 0);
	}
}

/* Whether HEAD has exactly these bytes at path. */
static bool head_has_bytes(spool *sp, const char *path, const char *want,
			   size_t len)
{
	git_repository *repo;
	git_object *obj = NULL;
	char spec[PATH_MAX + 8];
	bool yes = false;

	snprintf(spec, sizeof(spec), "HEAD:%s", path);
	if (spool_repo(&repo, sp) == 0 &&
	    git_revparse_single(&obj, repo, spec) == 0 &&
	    git_object_type(obj) == GIT_OBJECT_BLOB)
		yes = (size_t)git_blob_rawsize((git_blob *)obj) == len &&
		      memcmp(git_blob_rawcontent((git_blob *)obj), want,
			     len) == 0;
	git_object_free(obj);
	git_error_clear();
	spool_error_clear();
	return yes;
}

/*
 * The spool's own rewrite, not recorded: its bytes give way to those
 * before, wherever the task went since (an agent's mv moves the bytes as
 * they are). Bytes that are not the rewrite's are someone else's, and
 * stay; so do bytes HEAD has there, which are recorded.
 */
void spool_intent_unwrite(spool *sp, const char *id, const spool_loc *written,
			  const char *before, size_t blen, const char *after,
			  size_t alen)
{
	char path[PATH_MAX];
	spool_loc now;
	int rc;

	if (written && written->state != SPOOL_STATE_NONE) {
		spool_loc_path(path, sizeof(path), written, id);
		if (head_has_bytes(sp, path, after, alen))
			return;
	}

	/* An agent's mv may take the task out of a directory the look has
	 * yet to read into one it has read, or away between the look and
	 * the write: each is looked for again. */
	for (int i = 0; i < FIND_TRIES; i++) {
		if (spool_task_find(&now, sp, id) < 0) {
			spool_error_clear();
			continue;
		}
		spool_loc_path(path, sizeof(path), &now, id);
		if (!same_bytes(sp, path, after, alen)) {
			if (spool_fs_access(sp, path) < 0)
				continue;	/* moved meanwhile */
			return;
		}
		if (head_has_bytes(sp, path, after, alen))
			return;
		rc = spool_fs_rewrite(sp, path, before, blen);
		spool_error_clear();
		if (rc != SPOOL_ENOTFOUND)
			return;
	}
	spool_error_clear();
}

static void undo(spool *sp, struct intent *it)
{
	char to[PATH_MAX];

	if (it->kind == KIND_REWRITE) {
		spool_intent_unwrite(sp, it->id, NULL, it->before,
				     it->beforelen, it->after, it->afterlen);
		return;
	}

	if (it->kind == KIND_FILE) {
		undo_file(sp, it);
		return;
	}
	if (it->kind == KIND_BATCH)
		return;	/* its filings were undone before */
	spool_loc_path(to, sizeof(to), &it->to, it->id);
	if (spool_fs_access(sp, to) < 0) {
		/* Not moved, or moved on by its agent meanwhile: bytes
		 * written before the rename go wherever the task is. */
		if (it->after)
			spool_intent_unwrite(sp, it->id, NULL, it->before,
					     it->beforelen, it->after,
					     it->afterlen);
		return;
	}
	/* The content first: killed in between, the next process finds the
	 * task at the destination, as it was, and records the move. */
	put_back(sp, to, it->before, it->beforelen);
	spool_move_task(sp, it->id, &it->to, &it->from, true);
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

/* ---- what recovery reads ------------------------------------------------ */

int spool_intent_adopt(spool_commit *c, const char *name, bool filing,
		       const char *id)
{
	struct intent *it = push(c, filing ? KIND_FILE : KIND_MOVE, id);

	if (!it)
		return SPOOL_ERROR;
	snprintf(it->name, sizeof(it->name), "%s", name);
	it->replayed = true;
	return 0;
}

int spool_intent_adopt_batch(spool_commit *c, const char *name)
{
	struct intent *it = push_batch(c, name);

	if (!it)
		return SPOOL_ERROR;
	it->replayed = true;
	return 0;
}

void spool_intent_forget(spool *sp, const char *name)
{
	char path[PATH_MAX];

	intent_path(path, sizeof(path), name);
	spool_fs_unlink(sp, path, 0);
}

json_t *spool_intent_read(spool *sp, const char *name)
{
	char path[PATH_MAX], *buf = NULL;
	json_t *o = NULL;
	size_t len;

	intent_path(path, sizeof(path), name);
	/* A batch's holds all its tasks, as its writer held them. */
	if (spool_fs_read(&buf, &len, sp, path, SIZE_MAX / 2) == 0)
		o = json_loadb(buf, len, 0, NULL);
	free(buf);
	spool_error_clear();
	return o;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int spool_intent_list(char ***out, size_t *n, spool *sp)
{
	size_t cap = 0;
	struct dirent *de;
	DIR *d;
	int fd;

	*out = NULL;
	*n = 0;
	fd = spool_fs_open(sp, INTENT_DIR,
		    O_RDONLY | O_DIRECTORY, 0);
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

