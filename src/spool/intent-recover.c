/*
 * Recovery from the intent log: what a killed process was about to do is
 * recorded by the next one to take the lock, through the transition
 * entry point, as the killed command would have recorded it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "machine.h"
#include "state.h"
#include "task.h"
#include "fsutil.h"
#include "root.h"
#include "history.h"
#include "file.h"
#include "intent-recover.h"
#include "intent.h"
#include "moves.h"
#include "registry.h"
#include "task-files.h"
#include "transition.h"

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
	return s ? spool_loc_parse(out, s) : 0;
}

static bool in_head(spool_commit *c, const spool_loc *loc, const char *id)
{
	git_tree *base = spool_commit_base(c);
	git_tree_entry *e = NULL;
	char path[PATH_MAX];

	if (loc->state == SPOOL_STATE_NONE)
		return false;
	spool_loc_path(path, sizeof(path), loc, id);
	if (!base || git_tree_entry_bypath(&e, base, path) < 0) {
		git_error_clear();
		return false;
	}
	git_tree_entry_free(e);
	return true;
}

/* The request the killed process made, as a move already made. */
static void request_of(spool_request *rq, json_t *o, const char *id)
{
	memset(rq, 0, sizeof(*rq));
	rq->id = id;
	rq->verb = jstr(o, "verb");
	rq->actor = jstr(o, "actor");
	rq->via = (unsigned)json_integer_value(json_object_get(o, "via"));
	rq->reason = jstr(o, "reason");
	rq->feedback = jstr(o, "feedback");
	rq->note = jstr(o, "note");
	rq->moved = true;
}

/* A task found at its intent's source: how it got there. */
enum at_source { NOT_MOVED, UNSURE, CAME_BACK };

/* Whether an agent's mv may take a task out of state s. */
static bool agents_move_from(spool_state s)
{
	return s == SPOOL_STATE_READY || s == SPOOL_STATE_CLAIMED;
}

/*
 * A task at the source of a command killed after it wrote the intent:
 * the rename was never made, or it was and agents brought the task back
 * (a reject, then a claim and a submit). The events settle it. Without
 * them, bytes that are neither the ones before nor the command's say it
 * left (a claim rewrote it); either of those says nothing, and a
 * command's recovery leaves it to spoold, which has the events.
 */
static enum at_source at_source(spool *sp, const spool_recover_opts *opts,
				const char *id, const spool_loc *now,
				const spool_loc *from, const spool_loc *at,
				const char *before, const char *after)
{
	char path[PATH_MAX], *buf = NULL;
	size_t n = 0;
	enum at_source sure = NOT_MOVED;

	if (opts && opts->moves &&
	    spool_moves_showed(opts->moves, id, from, at))
		return CAME_BACK;
	spool_loc_path(path, sizeof(path), now, id);
	if (spool_fs_read(&buf, &n, sp, path, spool_task_max(sp)) < 0) {
		spool_error_clear();
		return NOT_MOVED;
	}
	if ((n == strlen(after) && memcmp(buf, after, n) == 0) ||
	    (n == strlen(before) && memcmp(buf, before, n) == 0))
		sure = opts && opts->wait ? UNSURE : NOT_MOVED;
	else
		sure = CAME_BACK;
	free(buf);
	return sure;
}

static int replay_move(bool *done, bool *release, bool *keep,
		       spool_commit *c, spool *sp,
		       const spool_recover_opts *opts, json_t *o,
		       const char *id)
{
	const char *before = jstr(o, "before"), *after = jstr(o, "after");
	enum at_source sure = NOT_MOVED;
	spool_loc now, at;
	spool_request rq;
	spool_outcome out;
	json_t *task = NULL;
	bool back;
	int rc;

	request_of(&rq, o, id);
	if (jloc(&rq.from, o, "from") < 0 || jloc(&rq.to, o, "to") < 0 ||
	    jloc(&at, o, "at") < 0 || at.state == SPOOL_STATE_NONE ||
	    spool_task_find(&now, sp, id) < 0) {
		spool_error_clear();
		return 0;
	}
	back = spool_loc_same(&now, &rq.from) && !spool_loc_same(&now, &at) && before &&
	       after && in_head(c, &rq.from, id) && !in_head(c, &at, id);
	if (back && (sure = at_source(sp, opts, id, &now, &rq.from, &at,
				      before, after)) != CAME_BACK) {
		/* Killed between a command's rewrite and its rename: what
		 * was written for a move that did not happen goes. */
		if (sure == NOT_MOVED)
			spool_intent_unwrite(sp, id, NULL, before,
					     strlen(before), after,
					     strlen(after));
		*keep = sure == UNSURE;
		return 0;
	}
	if (back) {
		/* Renamed, then agents brought it back (claimed and
		 * submitted it after a reject): recorded as the command
		 * left it; their moves go on from there. */
		rq.written = after;
	} else if (!agents_move_from(rq.from.state) &&
		   !spool_loc_same(&now, &rq.from) && !spool_loc_same(&now, &at) &&
		   before && in_head(c, &rq.from, id) &&
		   !in_head(c, &at, id)) {
		/* The command's rename was made, then an agent moved the
		 * task on (a claim from ready/ after a reject): recorded as
		 * the command left it, with the bytes it wrote; the agent's
		 * move is recorded from there by the next look. Only where
		 * no agent could have moved it from: there, it went nowhere
		 * unless the command's rename was made. */
		rq.written = after ? after : before;
	} else if (!spool_loc_same(&now, &at) || !in_head(c, &rq.from, id) ||
		   in_head(c, &at, id) || !before) {
		return 0;	/* not moved, or already recorded */
	} else if (after) {
		/* The rename carried what the command wrote: recorded as it
		 * is, not written again. An agent may take the task on at
		 * any moment (a claim from ready/ right after a reject); a
		 * rewrite would then find nothing and the move would go
		 * unrecorded, to be reverted as an agent's. */
		rq.written = after;
	}
	if (spool_task_parse(&task, before, strlen(before), id, id) < 0) {
		spool_error_clear();
		return 0;
	}
	if (!spool_loc_same(&at, &rq.to))
		rq.at = &at;
	rq.task = task;
	rc = spool_transition_apply(&out, c, sp, &rq);
	*release = rc == 0 && out.release;
	spool_outcome_clear(&out);
	json_decref(task);
	*done = rc == 0;
	if (rc == 0 && back && opts && opts->moves)
		spool_moves_touched(opts->moves, id, &rq.from, &at);
	if (rc == SPOOL_EILLEGAL || rc == SPOOL_ENOTFOUND) {
		/* no longer what it was: reconcile records what it is */
		spool_error_clear();
		rc = 0;
	}
	return rc;
}

/* What filing does besides the transition, done again. */
static int refile(spool_commit *c, spool *sp, json_t *o, const char *id)
{
	const char *src = jstr(o, "src"), *key = jstr(o, "key");
	const char *parent = jstr(o, "parent");
	int rc = 0;

	if (src) {
		if (spool_fs_unlink(sp, src, 0) < 0 && errno != ENOENT)
			return spool_error_sys(SPOOL_ERROR, "cannot remove "
					       "'%s'", src);
		if ((rc = spool_commit_path(c, src)) < 0)
			return rc;
	}
	if (key) {
		if (spool_fs_access(sp, key) < 0 &&
		    ((rc = spool_fs_mkdirs(sp, ".spool/keys")) < 0 ||
		     (rc = spool_fs_write(sp, key, id, strlen(id), false)) < 0))
			return rc;
		if ((rc = spool_commit_path(c, key)) < 0)
			return rc;
	}
	return parent ? spool_file_link_parent(c, sp, parent, id) : 0;
}

/* Where an agent's own mv takes a task that was filed. */
static bool moved_on(const spool_loc *loc)
{
	return loc->state == SPOOL_STATE_CLAIMED ||
	       loc->state == SPOOL_STATE_REVIEW;
}

/* Whether HEAD has the task anywhere. */
static bool recorded_anywhere(spool_commit *c, spool *sp, const char *id)
{
	json_t *task = NULL;
	int rc = spool_task_recorded(&task, sp, spool_commit_base(c), id,
				     NULL);

	json_decref(task);
	spool_error_clear();
	return rc != SPOOL_ENOTFOUND;
}

static int replay_file(bool *done, bool *release, spool_commit *c,
		       spool *sp, json_t *o, const char *id)
{
	const char *text = jstr(o, "task");
	spool_request rq;
	spool_outcome out;
	json_t *task = NULL;
	int rc;

	request_of(&rq, o, id);
	if (jloc(&rq.from, o, "from") < 0 ||
	    spool_task_find(&rq.to, sp, id) < 0) {
		spool_error_clear();
		return 0;	/* never written */
	}
	if (moved_on(&rq.to) && !recorded_anywhere(c, sp, id)) {
		/* Filed and taken by its agent before the record: reconcile
		 * adopts it where it is; its source is not filed again. */
		rc = refile(c, sp, o, id);
		*done = rc == 0;
		return rc;
	}
	if ((rq.to.state != SPOOL_STATE_READY &&
	     rq.to.state != SPOOL_STATE_BLOCKED) ||
	    in_head(c, &rq.to, id) || !text ||
	    spool_task_parse(&task, text, strlen(text), id, id) < 0) {
		spool_error_clear();
		return 0;	/* already recorded */
	}
	rq.task = task;
	rc = spool_transition_apply(&out, c, sp, &rq);
	*release = rc == 0 && out.release;
	spool_outcome_clear(&out);
	json_decref(task);
	if (rc == 0)
		rc = refile(c, sp, o, id);
	*done = rc == 0;
	if (rc == SPOOL_EILLEGAL || rc == SPOOL_ENOTFOUND) {
		spool_error_clear();
		rc = 0;
	}
	return rc;
}

/* What a batch wrote ahead for a filing and did not rename into place. */
static void drop_staged(spool *sp, json_t *o)
{
	const char *staged = jstr(o, "staged");

	if (staged && strncmp(staged, "tmp/", 4) == 0 &&
	    !strchr(staged + 4, '/') && spool_fs_unlink(sp, staged, 0) < 0)
		spool_error_clear();
}

/* Each filing of a batch as a single one's intent, in one commit. */
static int replay_filings(size_t *done, bool *release, spool_commit *c,
			  spool *sp, json_t *all)
{
	size_t i;
	json_t *f;
	int rc;

	json_array_foreach(all, i, f) {
		const char *id = jstr(f, "id");
		bool one = false, rel = false;
		if (!id || !spool_id_valid(id))
			continue;	/* never written by a batch */
		if ((rc = replay_file(&one, &rel, c, sp, f, id)) < 0)
			return rc;
		*done += one;
		*release |= rel;
	}
	return 0;
}

/*
 * A batch's intent: its staged files go first, all of them, then its
 * filings are recorded as single ones' would be. Cut short, the intent
 * is replayed again: the filings written by then are in HEAD, or are
 * recorded again from the files as they are.
 */
static int replay_batch(size_t *recorded, bool *terminal, spool *sp,
			const char *name, json_t *o)
{
	json_t *all = json_object_get(o, "filings"), *f;
	spool_commit *c = NULL;
	bool release = false;
	size_t i, done = 0;
	int rc;

	if (!json_is_array(all))
		return SPOOL_EINVALID;
	json_array_foreach(all, i, f)
		drop_staged(sp, f);
	if ((rc = spool_commit_new(&c, sp)) < 0)
		return rc;
	/* Carried by this commit, so that writing it removes the file. */
	if ((rc = spool_intent_adopt_batch(c, name)) == 0)
		rc = replay_filings(&done, &release, c, sp, all);
	if (rc == 0 && done)
		rc = spool_commit_write(c, "spool");
	if (rc == 0 && done) {
		*recorded += done;
		*terminal |= release;
	}
	if (rc == 0 && !done)
		spool_intent_forget(sp, name);
	spool_commit_free(c);
	return rc;
}

static int replay(size_t *recorded, bool *terminal, spool *sp,
		  const spool_recover_opts *opts, const char *name, json_t *o)
{
	const char *kind = jstr(o, "kind"), *id = jstr(o, "id");
	spool_commit *c = NULL;
	bool done = false, release = false, keep = false;
	int rc;

	if (kind && strcmp(kind, "batch") == 0)
		return replay_batch(recorded, terminal, sp, name, o);
	if (!kind || !id || !spool_id_valid(id))
		return SPOOL_EINVALID;
	/* Gone before the intent that names it: a process killed between
	 * the two leaves the intent, never a file nobody names. Nothing
	 * below reads it: a filing is replayed from the intent. */
	drop_staged(sp, o);
	if ((rc = spool_commit_new(&c, sp)) < 0)
		return rc;
	/* Carried by this commit, so that writing it removes the file. */
	if ((rc = spool_intent_adopt(c, name, strcmp(kind, "file") == 0,
				     id)) < 0)
		goto out;
	if (strcmp(kind, "file") == 0)
		rc = replay_file(&done, &release, c, sp, o, id);
	else
		rc = replay_move(&done, &release, &keep, c, sp, opts, o,
				 id);
	if (rc == 0 && done)
		rc = spool_commit_write(c, jstr(o, "actor"));
	if (rc == 0 && done) {
		(*recorded)++;
		*terminal |= release;
	}
	if (rc == 0 && !done && !keep) {
		/* Nothing to record: never carried out, or written. */
		spool_intent_forget(sp, name);
	}
out:
	spool_commit_free(c);
	return rc;
}

static bool is_rewrite(json_t *o)
{
	const char *kind = jstr(o, "kind");

	return kind && strcmp(kind, "rewrite") == 0;
}

/* A killed process's rewrites, newest first: each gives way to the bytes
 * before it, so the files are as agents left them; unless its commit
 * has them where they were written (killed after the commit). */
static void undo_rewrites(spool *sp, char **names, size_t n)
{
	for (size_t i = n; i-- > 0;) {
		json_t *o = spool_intent_read(sp, names[i]);
		json_t *b = json_object_get(o, "before");
		json_t *a = json_object_get(o, "after");
		const char *id = jstr(o, "id");
		spool_loc at;
		if (!o || !is_rewrite(o)) {
			json_decref(o);
			continue;
		}
		if (jloc(&at, o, "at") < 0)
			spool_error_clear();	/* where: not known */
		if (id && spool_id_valid(id) && json_is_string(a) &&
		    json_is_string(b))
			spool_intent_unwrite(sp, id, &at, json_string_value(b),
					     json_string_length(b),
					     json_string_value(a),
					     json_string_length(a));
		json_decref(o);
		spool_intent_forget(sp, names[i]);
	}
}

int spool_intent_recover(size_t *recorded, bool *terminal, spool *sp,
			 const spool_recover_opts *opts)
{
	char **names = NULL;
	size_t n = 0;
	int rc;

	if ((rc = spool_intent_list(&names, &n, sp)) < 0)
		return rc;
	undo_rewrites(sp, names, n);
	for (size_t i = 0; i < n && rc == 0; i++) {
		json_t *o = spool_intent_read(sp, names[i]);
		if (o && is_rewrite(o)) {
			json_decref(o);
			continue;	/* undone above */
		}
		rc = o ? replay(recorded, terminal, sp, opts, names[i], o)
		       : SPOOL_EINVALID;
		json_decref(o);
		if (rc == SPOOL_EINVALID) {
			/* A record that cannot be read cannot be acted on. */
			spool_intent_forget(sp, names[i]);
			spool_error_clear();
			rc = 0;
		}
	}
	spool_names_free(names, n);
	return rc;
}
