/*
 * Reconcile: the tree on disk against the last commit. Every difference is
 * a move somebody made with mv (record it, or undo it if the rules refuse
 * it), a deletion (restore it from git), a copy (keep one), or a new file
 * (file it). The same code runs for spool reconcile, before every mutating
 * command, and in the daemon after a restart or a queue overflow.
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

#include "error.h"
#include "machine.h"
#include "notice.h"
#include "state.h"
#include "task.h"
#include "fsutil.h"
#include "tmpsweep.h"
#include "moves.h"
#include "root.h"
#include "history.h"
#include "repo.h"
#include "snapshot.h"
#include "file.h"
#include "intent-recover.h"
#include "reconcile.h"
#include "stale.h"
#include "registry.h"
#include "shared.h"
#include "task-files.h"
#include "transition.h"

struct rec_ctx {
	spool *sp;
	spool_commit *c;
	spool_map *map;
	spool_moves *moves;	/* what the events showed, or NULL */
	spool_reconcile_stats *st;
	bool terminal;		/* something finished: release waiters */
	bool content;		/* compare fixed states with HEAD */
};

/* Who made a raw move, as its directories tell. In a shared spool a
 * move that touched no claimed/ was made by some member of the group:
 * the history says unknown, not operator. */
static const char *mover(const spool *sp, const spool_loc *from,
			 const spool_loc *to)
{
	if (spool_shared(sp) && from->state != SPOOL_STATE_CLAIMED &&
	    to->state != SPOOL_STATE_CLAIMED)
		return SPOOL_AGENT_UNKNOWN;
	return spool_machine_mover(from, to);
}

int spool_head_read(char **out, size_t *len, spool *sp, const char *path)
{
	git_repository *repo;
	git_object *obj = NULL;
	char spec[PATH_MAX];
	int rc;

	*out = NULL;
	if ((rc = spool_repo(&repo, sp)) < 0)
		return rc;
	snprintf(spec, sizeof(spec), "HEAD:%s", path);
	if (git_revparse_single(&obj, repo, spec) < 0 ||
	    git_object_type(obj) != GIT_OBJECT_BLOB) {
		git_object_free(obj);
		return spool_error_set(SPOOL_ENOTFOUND, "'%s' is not in the "
				       "last commit", path);
	}
	*len = (size_t)git_blob_rawsize((git_blob *)obj);
	if ((*out = malloc(*len + 1))) {
		memcpy(*out, git_blob_rawcontent((git_blob *)obj), *len);
		(*out)[*len] = '\0';
	}
	git_object_free(obj);
	return *out ? 0 : spool_error_set(SPOOL_ERROR, "out of memory");
}

/* Puts the committed version of a task back at loc. */
static int restore(struct rec_ctx *x, const char *id, const spool_loc *loc,
		   const char *why)
{
	spool_transition t;
	char path[PATH_MAX], dir[128];
	char *buf;
	size_t len;
	int rc;

	spool_loc_path(path, sizeof(path), loc, id);
	if ((rc = spool_head_read(&buf, &len, x->sp, path)) < 0)
		return rc;
	spool_loc_format(dir, sizeof(dir), loc);
	rc = spool_fs_mkdirs(x->sp, dir);
	if (rc == 0)
		rc = spool_fs_write(x->sp, path, buf, len, true);
	free(buf);
	if (rc < 0)
		return rc == SPOOL_EEXISTS ? 0 : rc;
	spool_transition_init(&t, id, loc, loc, "restore", "spool");
	snprintf(t.note, sizeof(t.note), "%s", why);
	x->st->restored++;
	return spool_commit_transition(x->c, &t);
}

/* Keeps a copy of content that is about to be replaced, so nothing an
 * agent wrote is lost, even when its move is undone. */
static int keep_aside(struct rec_ctx *x, const spool_loc *loc, const char *id,
		      const char *why)
{
	char src[PATH_MAX], tmp[PATH_MAX];
	char *buf;
	size_t len;
	int rc;

	spool_loc_path(src, sizeof(src), loc, id);
	if ((rc = spool_fs_read(&buf, &len, x->sp, src,
				spool_task_max(x->sp))) < 0)
		return rc == SPOOL_ENOTFOUND ? 0 : rc;
	snprintf(tmp, sizeof(tmp), "tmp/%s.rejected.json", id);
	rc = spool_fs_write(x->sp, tmp, buf, len, false);
	free(buf);
	if (rc == 0)
		rc = spool_quarantine(x->c, x->sp, tmp, why, "spool");
	return rc;
}

static int revert_and_restore(struct rec_ctx *x, const char *id,
			      const spool_loc *from, const spool_loc *to,
			      const char *why);

/* One step of a raw move, as the table sees it. */
static void raw_step(spool_request *rq, const spool *sp, const char *id,
		     const spool_loc *from, const spool_loc *to, json_t *task)
{
	memset(rq, 0, sizeof(*rq));
	rq->id = id;
	rq->from = *from;
	rq->to = *to;
	rq->actor = mover(sp, from, to);
	rq->via = SPOOL_VIA_MV;
	rq->moved = true;
	rq->task = task;
}

/* Whether the table allows a raw move from -> to of this task. */
static bool raw_legal(struct rec_ctx *x, json_t *task, const char *id,
		      const spool_loc *from, const spool_loc *to,
		      const spool_row **row)
{
	spool_request rq;
	spool_outcome o;
	int rc;

	raw_step(&rq, x->sp, id, from, to, task);
	rc = spool_transition_check(&o, x->c, x->sp, &rq);
	if (row)
		*row = o.row;
	spool_outcome_clear(&o);
	spool_error_clear();
	return rc == 0;
}

/* ---- recording a task's moves ------------------------------------------ */

/*
 * A task is at X in HEAD and at Y on disk. The events (when the daemon
 * watched) say which places it went through between, in order; each step
 * is asked of the table as a raw move and recorded with its own agent.
 * Where nothing was seen (events lost, the daemon down, 'spool reconcile'
 * by hand) the files are the truth: a jump that a sequence of agents'
 * moves explains is kept and recorded as those moves, with the agent
 * where it can be known and "unknown" otherwise. Only what no such
 * sequence explains is undone.
 */

#define MAX_PLACES (SPOOL_MOVES_STEPS * 2 + 4)

struct route {
	spool_place p[MAX_PLACES];
	size_t n;
	bool departed;		/* the events lost it after the last place */
};

/* One task's steps being recorded. */
struct walk {
	const char *id;
	spool_loc at;		/* where the file is */
	spool_loc end;		/* where the steps so far put it */
	json_t *task;		/* as the spool keeps it after them */
	json_t *recorded;	/* for the next decision; NULL: HEAD's */
	size_t steps;		/* transitions recorded */
	bool moved_on;		/* it moved on meanwhile, or was sent back */
	spool_loc via[MAX_PLACES];	/* where steps put it, in no route:
					 * a release or claim not seen */
	size_t nvia;
	json_t *was[2 * MAX_PLACES];	/* the task before and after each
					 * step */
	size_t nwas;
};

static void remember(struct walk *w)
{
	if (w->nwas < sizeof(w->was) / sizeof(*w->was))
		w->was[w->nwas++] = json_incref(w->task);
}

static bool same_loc(const spool_loc *a, const spool_loc *b)
{
	return a->state == b->state && strcmp(a->agent, b->agent) == 0;
}

/* A step staged the task at loc: the end must take it out again. */
static void passed(struct walk *w, const spool_loc *loc)
{
	for (size_t i = 0; i < w->nvia; i++)
		if (same_loc(&w->via[i], loc))
			return;
	if (w->nvia < MAX_PLACES)
		w->via[w->nvia++] = *loc;
}

/*
 * One step from where the walk is to to, through the one entry point, as
 * a raw move already made. The file is where the walk last saw it; if an
 * agent moved it on meanwhile, the step is asked again where it went.
 */
static int apply_step(struct rec_ctx *x, struct walk *w, const spool_loc *to,
		      const char *note)
{
	spool_request rq;
	spool_outcome o;
	json_t *task;
	int rc;

	for (int tries = 0;; tries++) {
		if (!(task = json_deep_copy(w->task)))
			return spool_error_set(SPOOL_ERROR, "out of memory");
		raw_step(&rq, x->sp, w->id, &w->end, to, task);
		rq.note = note;
		rq.recorded = w->recorded;
		rq.at = same_loc(&w->at, to) ? NULL : &w->at;
		rc = spool_transition_apply(&o, x->c, x->sp, &rq);
		json_decref(task);
		if (rc != SPOOL_ENOTFOUND || tries == 3 ||
		    spool_task_find(&w->at, x->sp, w->id) < 0)
			break;
		spool_outcome_clear(&o);
		spool_error_clear();
		w->moved_on = true;
	}
	if (rc == 0) {
		json_decref(w->task);
		w->task = json_incref(o.task);
		w->recorded = w->task;
		remember(w);
		if (!same_loc(&o.to, to))
			w->at = o.to;	/* the table took it on: failed/ */
		w->end = o.to;
		passed(w, &o.to);
		w->steps++;
		x->terminal |= o.release;
	}
	spool_outcome_clear(&o);
	return rc;
}

/* A claim nobody saw, by one of several agents: recorded as by
 * "unknown", which no agent may be, said in the note. The table was
 * asked for each agent who could have made it (unseen_claim). */
static int unknown_claim(struct rec_ctx *x, struct walk *w, const char *note)
{
	spool_loc mid = { .state = SPOOL_STATE_CLAIMED };
	spool_transition t;
	char path[PATH_MAX];
	int rc;

	snprintf(mid.agent, sizeof(mid.agent), SPOOL_AGENT_UNKNOWN);
	spool_transition_init(&t, w->id, &w->end, &mid, "claim",
			      SPOOL_AGENT_UNKNOWN);
	snprintf(t.note, sizeof(t.note), "%s", note);
	t.attempt = spool_task_int(w->task, "attempt", 1);
	spool_loc_path(path, sizeof(path), &w->end, w->id);
	if ((rc = spool_commit_remove(x->c, path)) < 0 ||
	    (rc = spool_commit_transition(x->c, &t)) < 0)
		return rc;
	w->end = mid;
	w->steps++;
	w->moved_on = true;	/* staged as the steps say, at the end */
	return 0;
}

/*
 * ready -> review with the claim unseen. The claimer is known when only
 * one registered agent could have claimed it; otherwise it is "unknown",
 * said in the note, for the reviewer to see. Which claimed/ directories
 * changed since the last commit tells nothing: the claim and the submit
 * may both come before a commit that recorded other tasks (spoold busy,
 * or a command's), while another agent's directory changed after it.
 * Such a guess gave one agent's work to another.
 */
static int unseen_claim(struct rec_ctx *x, struct walk *w,
			const spool_loc *to)
{
	spool_loc mid = { .state = SPOOL_STATE_CLAIMED }, cand = mid;
	size_t n = 0, able = 0;
	char **agents = NULL, note[256];
	int rc;

	if ((rc = spool_registry_names(&agents, &n, x->sp, "agents")) < 0)
		return rc;
	for (size_t i = 0; i < n && able < 2; i++) {
		snprintf(cand.agent, sizeof(cand.agent), "%s", agents[i]);
		if (!raw_legal(x, w->task, w->id, &w->end, &cand, NULL) ||
		    !raw_legal(x, w->task, w->id, &cand, to, NULL))
			continue;
		if (able++ == 0)
			mid = cand;
	}
	spool_names_free(agents, n);
	spool_error_clear();
	if (able == 0)
		return SPOOL_EILLEGAL;
	if (able == 1) {
		snprintf(note, sizeof(note), "claim not seen; claimer inferred "
			 "from claimed/%s/", mid.agent);
		rc = apply_step(x, w, &mid, note);
	} else {
		snprintf(note, sizeof(note), "claim not seen; claimer unknown");
		rc = unknown_claim(x, w, note);
	}
	return rc < 0 ? rc : apply_step(x, w, to, note);
}

/* claimed/A -> claimed/B: A released it, then B claimed it; not on A's
 * last attempt, where a release ends in failed/. */
static int unseen_release(struct rec_ctx *x, struct walk *w,
			  const spool_loc *to)
{
	spool_loc ready = { .state = SPOOL_STATE_READY };
	const spool_row *row = NULL;
	char note[256];
	int rc;

	if (!raw_legal(x, w->task, w->id, &w->end, &ready, &row) ||
	    !row || row->to != SPOOL_STATE_READY ||
	    !raw_legal(x, w->task, w->id, &ready, to, NULL))
		return SPOOL_EILLEGAL;
	snprintf(note, sizeof(note), "release not seen; it went from "
		 "claimed/%s/ to claimed/%s/", w->end.agent, to->agent);
	if ((rc = apply_step(x, w, &ready, note)) < 0)
		return rc;
	return apply_step(x, w, to, note);
}

/* One leg of the route. seen: the events showed this very rename; else a
 * sequence of agents' moves may explain it. The reason for a refusal is
 * left in why. */
static int add_leg(struct rec_ctx *x, struct walk *w, const spool_loc *to,
		   bool seen, char *why, size_t whylen)
{
	spool_state from = w->end.state;
	const char *note = NULL;
	int rc;

	/* Unseen, the holder's submit cannot be told from its release, a
	 * claim by another agent and that agent's submit: it is credited
	 * to the holder, and the note says so for the reviewer. */
	if (!seen && from == SPOOL_STATE_CLAIMED &&
	    to->state == SPOOL_STATE_REVIEW)
		note = SPOOL_NOTE_SUBMIT_UNSEEN;
	if ((rc = apply_step(x, w, to, note)) != SPOOL_EILLEGAL)
		return rc;
	snprintf(why, whylen, "%s", spool_error_message());
	spool_error_clear();
	if (seen)
		return SPOOL_EILLEGAL;
	if (from == SPOOL_STATE_READY && to->state == SPOOL_STATE_REVIEW)
		rc = unseen_claim(x, w, to);
	else if (from == SPOOL_STATE_CLAIMED &&
		 to->state == SPOOL_STATE_CLAIMED)
		rc = unseen_release(x, w, to);
	return rc;
}

/*
 * Where the events go on from the place HEAD has: after the first time
 * they show it; when another writer recorded some of them meanwhile,
 * after the place its records leave the task, or failing that after the
 * last time they show it (an agent's claim and release right after a
 * command's release are then not seen). n: they never show it.
 */
static size_t after_head(struct rec_ctx *x, const char *id,
			 const spool_place *ev, size_t n,
			 const spool_loc *head)
{
	bool touched = n && spool_moves_is_touched(x->moves, id);
	size_t start = n, at;

	if (touched && spool_moves_recorded_at(&at, x->moves, id, ev, n) &&
	    same_loc(&ev[at].loc, head))
		return at + 1;
	for (size_t i = 0; i < n; i++)
		if (same_loc(&ev[i].loc, head)) {
			start = i + 1;
			if (!touched)
				break;
		}
	return start;
}

/*
 * The places from HEAD's to where the task is, the events taken from
 * the place HEAD has (after_head). They end where the events last saw
 * the task, which may be short of the disk (moves not read yet: the next
 * batch records them); where they lost it, or there are none, the disk
 * is the end, across a gap.
 */
static void route_of(struct route *r, struct rec_ctx *x, const char *id,
		     const spool_loc *head, const spool_loc *disk)
{
	spool_place ev[SPOOL_MOVES_STEPS * 2 + 1];
	size_t n = x->moves ? spool_moves_places(ev, x->moves, id) : 0;
	size_t start = after_head(x, id, ev, n, head);

	r->n = 0;
	r->departed = false;
	r->p[r->n++] = (spool_place){ .loc = *head };
	if (start == n && n && !same_loc(&ev[n - 1].loc, head)) {
		/* HEAD's place is not among them. When another writer
		 * recorded moves of the task meanwhile, HEAD may be past
		 * them (a half of a rename missed as spoold started
		 * watching): walked again from their start, a move it
		 * recorded would come out as a round trip never made. */
		if (spool_moves_is_touched(x->moves, id)) {
			if (disk && !same_loc(head, disk))
				r->p[r->n++] = (spool_place){ .loc = *disk };
			return;
		}
		start = 0;
		ev[0].seen = false;
	}
	for (size_t i = start; i < n; i++) {
		if (ev[i].loc.state == SPOOL_STATE_NONE) {
			r->departed = true;
			break;
		}
		r->p[r->n++] = ev[i];
	}
	if ((n == 0 || r->departed) && disk &&
	    !same_loc(&r->p[r->n - 1].loc, disk))
		r->p[r->n++] = (spool_place){ .loc = *disk };
}

/* The task's bytes, where the disk has it, else wherever it went. */
static int read_task(char **buf, size_t *len, spool_loc *at,
		     struct rec_ctx *x, const char *id, const spool_loc *disk)
{
	char path[PATH_MAX];
	int rc = SPOOL_ENOTFOUND;

	if (disk) {
		*at = *disk;
		spool_loc_path(path, sizeof(path), at, id);
		rc = spool_fs_read(buf, len, x->sp, path, spool_task_max(x->sp));
	}
	if (rc == SPOOL_ENOTFOUND && spool_task_find(at, x->sp, id) == 0) {
		spool_loc_path(path, sizeof(path), at, id);
		rc = spool_fs_read(buf, len, x->sp, path, spool_task_max(x->sp));
	}
	if (rc == SPOOL_ENOTFOUND)
		spool_error_set(rc, "task '%s' is nowhere", id);
	return rc;
}

/*
 * The tree says what the steps recorded: the task where they put it,
 * nowhere else on the route, whatever the disk holds by now. Each step
 * staged its places as the disk had them when it was recorded, and an
 * agent may have moved the file on, or back, in between.
 */
static int stage_end(struct rec_ctx *x, const struct walk *w,
		     const struct route *r)
{
	char path[PATH_MAX], *buf = NULL, *dump = NULL;
	size_t len = 0;
	int rc = 0;

	if (!w->steps && !w->moved_on)
		return 0;
	for (size_t i = 0; i < r->n && rc == 0; i++)
		if (!same_loc(&r->p[i].loc, &w->end)) {
			spool_loc_path(path, sizeof(path), &r->p[i].loc, w->id);
			rc = spool_commit_remove(x->c, path);
		}
	/* A step between two places of the route (ready/ for a release not
	 * seen) staged the file as the disk had it then: an agent's file
	 * passing through, which must not stay in the tree as a copy. */
	for (size_t i = 0; i < w->nvia && rc == 0; i++)
		if (!same_loc(&w->via[i], &w->end)) {
			spool_loc_path(path, sizeof(path), &w->via[i], w->id);
			rc = spool_commit_remove(x->c, path);
		}
	if (rc == 0 && !same_loc(&w->at, &w->end)) {
		spool_loc_path(path, sizeof(path), &w->at, w->id);
		rc = spool_commit_remove(x->c, path);
	}
	if (rc < 0)
		return rc;
	/* The content as the steps left it in the file, wherever it is. */
	spool_loc_path(path, sizeof(path), &w->at, w->id);
	if (spool_fs_read(&buf, &len, x->sp, path, spool_task_max(x->sp)) < 0) {
		spool_error_clear();
		if (!(dump = spool_task_dump(w->task)))
			return spool_error_set(SPOOL_ERROR, "out of memory");
		len = strlen(dump);
	}
	spool_loc_path(path, sizeof(path), &w->end, w->id);
	rc = spool_commit_blob(x->c, path, buf ? buf : dump, len);
	free(buf);
	free(dump);
	return rc;
}

/*
 * An illegal step: the task goes back to the last place the steps
 * reached legally, and the violation is recorded. If the agent already
 * brought it back, there is nothing to undo.
 */
static int undo(struct rec_ctx *x, struct walk *w, const spool_loc *bad,
		const char *why)
{
	spool_transition t;
	int rc;

	if (same_loc(&w->at, &w->end))
		return 0;
	rc = spool_move_task(x->sp, w->id, &w->at, &w->end, true);
	if (rc == SPOOL_ENOTFOUND || rc == SPOOL_EEXISTS) {
		/* moved on, or copied: the next pass sees it */
		spool_error_clear();
		return 0;
	}
	if (rc < 0)
		return rc;
	spool_transition_init(&t, w->id, &w->at, &w->end, "revert",
			      mover(x->sp, &w->end, bad));
	snprintf(t.note, sizeof(t.note), "violation: %s", why);
	if ((rc = spool_commit_transition(x->c, &t)) < 0)
		return rc;
	w->at = w->end;
	w->moved_on = true;	/* staged where it went back */
	x->st->reverted++;
	return 0;
}

/* Walks the route: each legal leg is recorded; at the first illegal one
 * the task goes back, unless the route comes back there by itself. */
static int walk(struct rec_ctx *x, struct walk *w, const struct route *r)
{
	char why[512];
	size_t k;
	int rc;

	for (size_t i = 1; i < r->n; i++) {
		rc = add_leg(x, w, &r->p[i].loc, r->p[i].seen, why,
			     sizeof(why));
		if (rc == 0)
			continue;
		if (rc != SPOOL_EILLEGAL)
			return rc;
		spool_error_clear();
		for (k = i + 1; k < r->n && !same_loc(&r->p[k].loc, &w->end);
		     k++)
			;
		if (k < r->n) {
			i = k;	/* it came back: carry on from there */
			continue;
		}
		return undo(x, w, &r->p[i].loc, why);
	}
	return 0;
}

/* Filed by the spool (it wrote the fields a filing writes) into an open
 * state an agent can move it on from. */
static bool looks_filed(json_t *task, const spool_loc *loc)
{
	return (loc->state == SPOOL_STATE_CLAIMED ||
		loc->state == SPOOL_STATE_REVIEW) &&
	       json_is_string(json_object_get(task, "created")) &&
	       json_is_integer(json_object_get(task, "attempt"));
}

/* A task the spool filed but had not committed when it was stopped, then
 * taken by an agent: added to ready/, where filing put it. */
static int add_filed(struct rec_ctx *x, struct walk *w)
{
	spool_loc ready = { .state = SPOOL_STATE_READY };
	const char *by = spool_task_str(w->task, "created_by");
	spool_request rq = { .id = w->id, .verb = "add", .via = SPOOL_VIA_SPOOL,
			     .moved = true, .at = &w->at, .task = w->task,
			     .note = "filed before spoold stopped; recorded "
				     "on its return" };
	spool_outcome o;
	int rc;

	rq.actor = by && spool_name_valid(by) ? by : "operator";
	rq.from.state = SPOOL_STATE_NONE;
	rq.to = ready;
	if ((rc = spool_transition_apply(&o, x->c, x->sp, &rq)) == 0) {
		json_decref(w->task);
		w->task = json_incref(o.task);
		w->recorded = w->task;
		remember(w);
		w->end = ready;
		w->moved_on = true;
		w->steps++;
	}
	spool_outcome_clear(&o);
	return rc;
}

/*
 * The task as the spool keeps it before the walk: the recorded fields,
 * with the ones its agent may write taken from disk. *changed lists the
 * others the disk version changed. They are judged once the walk is
 * done, against where its steps leave them: a field a later step writes
 * (submitted_by, attempt) may already hold that value, written by a
 * spool stopped before it committed the same steps.
 */
static int trusted_start(json_t **out, char *changed, size_t len,
			 struct rec_ctx *x, const char *id,
			 const spool_loc *head, json_t *disk)
{
	json_t *rec = NULL;
	int rc;

	changed[0] = '\0';
	*out = NULL;
	rc = spool_task_recorded(&rec, x->sp, spool_commit_base(x->c), id,
				 head);
	if (rc == SPOOL_ENOTFOUND) {
		spool_error_clear();
		*out = json_incref(disk);
		return 0;
	}
	if (rc < 0)
		return rc;
	*out = spool_machine_merge(rec, disk, changed, len);
	json_decref(rec);
	return *out ? 0 : spool_error_set(SPOOL_ERROR, "out of memory");
}

/*
 * Whether the steps gave the field this value on their way. A spool that
 * took back steps it could not finish (defer) had written some of them
 * into the file already: the value of a step before the last is no edit.
 */
static bool value_passed(const struct walk *w, const char *name, json_t *value)
{
	if (json_equal(value, json_object_get(w->task, name)))
		return true;
	for (size_t i = 0; i < w->nwas; i++)
		if (json_equal(value, json_object_get(w->was[i], name)))
			return true;
	return false;
}

/* The spool's values back in the file, wherever it went. */
static int put_back(struct rec_ctx *x, struct walk *w)
{
	int rc = spool_task_store(x->sp, &w->at, w->id, w->task);

	if (rc == SPOOL_ENOTFOUND) {
		spool_error_clear();	/* moved on: staged from the record */
		rc = 0;
	}
	w->moved_on = true;
	return rc;
}

/* The fields of changed an agent edited to something else than the walk
 * gave them: a violation, and the spool's values go back in the file.
 * For a task whose steps were taken back before (defer), or whose file
 * holds values the spool recorded before (stale.h), the values are the
 * spool's own: they go back with no violation. */
static int judge_edit(struct rec_ctx *x, struct walk *w, const char *changed,
		      json_t *disk, const struct route *r)
{
	spool_loc where = r->p[0].loc;
	char bad[256] = "", name[128];
	const char *p = changed, *agent;
	spool_transition v;
	int rc;

	while (*p) {
		size_t n = strcspn(p, ",");
		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		p += n;
		p += strspn(p, ", ");
		if (!value_passed(w, name, json_object_get(disk, name)))
			snprintf(bad + strlen(bad), sizeof(bad) - strlen(bad),
				 "%s%s", bad[0] ? ", " : "", name);
	}
	if (!bad[0])
		return 0;
	if (x->moves && spool_moves_is_carried(x->moves, w->id))
		return put_back(x, w);
	if (spool_values_recorded(x->sp, w->id, disk, bad))
		return put_back(x, w);
	for (size_t i = 0; i < r->n && where.state != SPOOL_STATE_CLAIMED;
	     i++)
		if (r->p[i].loc.state == SPOOL_STATE_CLAIMED)
			where = r->p[i].loc;
	agent = where.state == SPOOL_STATE_CLAIMED ? where.agent
		: mover(x->sp, &r->p[0].loc, &r->p[r->n - 1].loc);
	spool_transition_init(&v, w->id, &where, &where, "revert", agent);
	snprintf(v.note, sizeof(v.note), "violation: '%s' changed %s, which "
		 "only the spool writes; the recorded values stand", agent,
		 bad);
	if ((rc = spool_commit_transition(x->c, &v)) < 0)
		return rc;
	x->st->reverted++;
	return put_back(x, w);
}

static int record_steps(struct rec_ctx *x, struct walk *w,
			const struct route *r, const spool_loc *head,
			json_t *task)
{
	char changed[SPOOL_CHANGED_MAX] = "";
	int rc;

	if (!head) {
		w->task = json_incref(task);
		if (!looks_filed(task, &w->at))
			return SPOOL_EILLEGAL;
		rc = add_filed(x, w);
	} else {
		rc = trusted_start(&w->task, changed, sizeof(changed), x,
				   w->id, head, task);
	}
	if (rc == 0)
		remember(w);
	if (rc < 0 || (rc = walk(x, w, r)) < 0 ||
	    (changed[0] && (rc = judge_edit(x, w, changed, task, r)) < 0) ||
	    (rc = stage_end(x, w, r)) < 0)
		return rc;
	x->st->recorded += w->steps;
	return 0;
}

/*
 * It moved on while it was being recorded, faster than the steps could
 * follow it: what was staged for it is taken back (the savepoint of its
 * entry), and its moves wait for the next batch, which has the events of
 * where it went. Recording a part would leave the rest of these moves,
 * read already, out of the history.
 */
static int defer(struct rec_ctx *x, const char *id)
{
	spool_commit_rollback(x->c);
	x->st->deferred++;
	if (x->moves)
		spool_moves_keep(x->moves, id);
	spool_error_clear();
	return 1;	/* taken care of: its file is not judged now */
}

/* A task named ID.json that HEAD has at head, and the disk at disk (NULL:
 * not seen where the events pointed). head NULL: one never recorded, in
 * claimed/ or review/ (see add_filed). Returns 1 if it recorded
 * something or left it for the next batch (defer), 0 if not,
 * SPOOL_ENOTFOUND if disk is NULL and the events do not say where the
 * task is, SPOOL_EILLEGAL if a task never recorded is not one the spool
 * filed. */
static int record_task(struct rec_ctx *x, const char *id,
		       const spool_loc *head, const spool_loc *disk)
{
	spool_loc ready = { .state = SPOOL_STATE_READY };
	size_t before = spool_commit_count(x->c);
	struct walk w = { .id = id };
	struct route r;
	json_t *task = NULL;
	char path[PATH_MAX], why[512], *buf = NULL;
	size_t len = 0;
	int rc;

	route_of(&r, x, id, head ? head : &ready, disk);
	if (!disk && (r.departed || r.n == 1))
		return SPOOL_ENOTFOUND;	/* lost: the caller looks for it */
	if (r.n == 1 && head)
		return 0;	/* moved back, or on: the next events say */
	if ((rc = read_task(&buf, &len, &w.at, x, id, disk)) < 0)
		return rc == SPOOL_ENOTFOUND && disk ? defer(x, id) : rc;
	spool_loc_path(path, sizeof(path), &w.at, id);
	rc = spool_task_parse(&task, buf, len, path, id);
	free(buf);
	if (rc == SPOOL_EINVALID && head && !same_loc(&w.at, head)) {
		/* Moved and broken: the committed version goes back. */
		snprintf(why, sizeof(why), "%s", spool_error_message());
		if ((rc = keep_aside(x, &w.at, id, why)) < 0)
			return rc;
		rc = revert_and_restore(x, id, head, &w.at, why);
		return rc < 0 ? rc : 1;
	}
	if (rc < 0)
		return rc;
	w.end = r.p[0].loc;
	rc = record_steps(x, &w, &r, head, task);
	if (rc == SPOOL_ENOTFOUND)
		rc = defer(x, id);
	else if (rc == 0)
		rc = spool_commit_count(x->c) > before;
	for (size_t i = 0; i < w.nwas; i++)
		json_decref(w.was[i]);
	json_decref(w.task);
	json_decref(task);
	return rc;
}

static int revert_and_restore(struct rec_ctx *x, const char *id,
			      const spool_loc *from, const spool_loc *to,
			      const char *why)
{
	char path[PATH_MAX];
	spool_transition t;
	int rc;

	spool_loc_path(path, sizeof(path), to, id);
	if (spool_fs_unlink(x->sp, path, 0) < 0 && errno != ENOENT)
		return spool_error_sys(SPOOL_ERROR, "cannot remove '%s'", path);
	if ((rc = restore(x, id, from, why)) < 0)
		return rc;
	spool_transition_init(&t, id, to, from, "revert",
			      mover(x->sp, from, to));
	snprintf(t.note, sizeof(t.note), "violation: %s", why);
	x->st->reverted++;
	return spool_commit_transition(x->c, &t);
}

/* States whose files only the spool rewrites (in the same commit as the
 * move): there a task's content must equal HEAD's. */
static bool fixed_state(spool_state s)
{
	return s == SPOOL_STATE_BLOCKED || s == SPOOL_STATE_READY ||
	       s == SPOOL_STATE_REVIEW || spool_state_terminal(s);
}

/* A task edited in place where the protocol forbids it: the committed
 * content goes back, the edited version is kept aside in quarantine/. */
static int check_edit(struct rec_ctx *x, const spool_map_entry *e)
{
	const spool_loc *loc = &x->map->dirs[e->head];
	git_tree *base = spool_commit_base(x->c);
	git_tree_entry *te = NULL;
	spool_transition t;
	char path[PATH_MAX], why[512], dir[128];
	git_oid disk;
	char *buf = NULL;
	size_t len;
	bool same;
	int rc;

	if (base && loc->state == SPOOL_STATE_CLAIMED) {
		/* The agent may write its own fields, not the spool's. */
		bool reverted;
		rc = spool_transition_police(&reverted, x->c, x->sp, e->id,
					     loc, true);
		x->st->reverted += reverted;
		return rc;
	}
	if (!base || !fixed_state(loc->state))
		return 0;
	spool_loc_path(path, sizeof(path), loc, e->id);
	if (git_tree_entry_bypath(&te, base, path) < 0)
		return 0;
	/* Read within the task limit, with no link followed: a file
	 * grown past it, or swapped for a link, is an edit too. */
	rc = spool_fs_read(&buf, &len, x->sp, path, spool_task_max(x->sp));
	if (rc == SPOOL_ENOTFOUND || (rc < 0 && rc != SPOOL_EINVALID)) {
		spool_error_clear();
		git_tree_entry_free(te);
		return 0;	/* moved meanwhile: the next pass sees where */
	}
	spool_error_clear();
	same = rc == 0 &&
	       git_odb_hash(&disk, buf, len, GIT_OBJECT_BLOB) == 0 &&
	       git_oid_equal(&disk, git_tree_entry_id(te));
	free(buf);
	buf = NULL;
	git_tree_entry_free(te);
	if (same)
		return 0;
	spool_loc_format(dir, sizeof(dir), loc);
	snprintf(why, sizeof(why), "'%s' was edited in place; a task in %s/ "
		 "changes only by moving it (the edit is kept in quarantine/)",
		 path, dir);
	if ((rc = keep_aside(x, loc, e->id, why)) < 0 ||
	    (rc = spool_head_read(&buf, &len, x->sp, path)) < 0)
		return rc;
	rc = spool_fs_rewrite(x->sp, path, buf, len);
	free(buf);
	if (rc == SPOOL_ENOTFOUND) {
		spool_error_clear();
		return 0;
	}
	if (rc < 0)
		return rc;
	spool_transition_init(&t, e->id, loc, loc, "revert", "operator");
	snprintf(t.note, sizeof(t.note), "violation: %s", why);
	x->st->reverted++;
	return spool_commit_transition(x->c, &t);
}

/*
 * A task that is on disk but was never recorded: added where the table
 * allows (ready/, blocked/). In claimed/ or review/ it may be one the
 * spool filed but had not committed when it was stopped, which an agent
 * then took: added, and its moves recorded. Anything else goes to
 * quarantine/.
 */
/* How long an empty file counts as one being written. */
#define WRITING_MS 2000

/*
 * cp makes the file, then writes it: read in between, a copy looks empty
 * and would be taken for a broken task. An empty file that young is left
 * alone; its writer closing it is an event that brings it back.
 */
static bool being_written(const spool *sp, const char *path)
{
	struct timespec now;
	struct stat st;

	if (spool_fs_lstat(sp, path, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size != 0)
		return false;
	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)(now.tv_sec - st.st_mtim.tv_sec) * 1000 +
	       (now.tv_nsec - st.st_mtim.tv_nsec) / 1000000 < WRITING_MS;
}

static int adopt(struct rec_ctx *x, const char *id, const spool_loc *loc)
{
	const char *by;
	char path[PATH_MAX], why[1024], dir[128];
	spool_request rq = { .id = id, .verb = "add",
			     .via = SPOOL_VIA_SPOOL, .moved = true };
	spool_outcome o;
	json_t *task = NULL;
	int rc;

	if (loc->state == SPOOL_STATE_CLAIMED ||
	    loc->state == SPOOL_STATE_REVIEW) {
		rc = record_task(x, id, NULL, loc);
		if (rc >= 0)
			return 0;
		if (rc != SPOOL_EILLEGAL && rc != SPOOL_EINVALID)
			return rc;
		spool_error_clear();
	}
	spool_loc_path(path, sizeof(path), loc, id);
	rc = spool_task_load(&task, x->sp, loc, id);
	if (rc == SPOOL_ENOTFOUND)
		return 0;
	if (rc == SPOOL_EINVALID && being_written(x->sp, path)) {
		spool_error_clear();
		return 0;
	}
	if (rc == SPOOL_EINVALID) {
		snprintf(why, sizeof(why), "%s", spool_error_message());
		x->st->quarantined++;
		return spool_quarantine(x->c, x->sp, path, why, "spool");
	}
	if (rc < 0)
		return rc;
	by = spool_task_str(task, "created_by");
	rq.actor = by && spool_name_valid(by) ? by : "operator";
	rq.from.state = SPOOL_STATE_NONE;
	rq.to = *loc;
	rq.task = task;
	rc = spool_transition_apply(&o, x->c, x->sp, &rq);
	spool_outcome_clear(&o);
	json_decref(task);
	if (rc == SPOOL_EILLEGAL) {
		spool_loc_format(dir, sizeof(dir), loc);
		snprintf(why, sizeof(why), "'%s' appeared in %s/ without being "
			 "filed (%s); write new tasks to tmp/ and move them to "
			 "new/", path, dir, spool_error_message());
		spool_error_clear();
		x->st->quarantined++;
		return spool_quarantine(x->c, x->sp, path, why, "spool");
	}
	if (rc == 0)
		x->st->recorded++;
	return rc == SPOOL_ENOTFOUND ? 0 : rc;
}

/* Not where HEAD has it, nor anywhere the tree was read: moved on, or
 * deleted. */
static int moved_away(struct rec_ctx *x, const char *id,
		      const spool_loc *head)
{
	spool_loc now;
	int rc;

	/* The events may say where it went. */
	rc = record_task(x, id, head, NULL);
	if (rc != SPOOL_ENOTFOUND)
		return rc < 0 ? rc : 0;
	spool_error_clear();
	/* Not seen because it moved while the tree was read, or while it
	 * was looked for: restoring it would make a second, claimable
	 * copy. A deletion is an event too; until the events show the task
	 * leaving the spool, it is on its way, and the next batch records
	 * where it went. */
	if (spool_task_find(&now, x->sp, id) != SPOOL_ENOTFOUND ||
	    (x->moves && spool_moves_arrived(x->moves, id))) {
		spool_error_clear();
		if (x->moves)
			defer(x, id);
		return 0;
	}
	spool_error_clear();
	return restore(x, id, head, "deleted; restored from git");
}

static bool same_content(spool *sp, const char *a, const char *b)
{
	char *x = NULL, *y = NULL;
	size_t nx = 0, ny = 0;
	bool same;

	same = spool_fs_read(&x, &nx, sp, a, spool_task_max(sp)) == 0 &&
	       spool_fs_read(&y, &ny, sp, b, spool_task_max(sp)) == 0 &&
	       nx == ny && memcmp(x, y, nx) == 0;
	free(x);
	free(y);
	spool_error_clear();
	return same;
}

/*
 * The same file under two names, seen at each because it moved between
 * the two looks: one inode with one link. A copy has an inode of its own;
 * a hard link shares it, with two links.
 */
static bool same_inode(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	       a->st_nlink == 1 && b->st_nlink == 1;
}

static bool same_file(spool *sp, const char *a, const char *b)
{
	struct stat sa, sb;

	return spool_fs_lstat(sp, a, &sa) == 0 &&
	       spool_fs_lstat(sp, b, &sb) == 0 && same_inode(&sa, &sb);
}

/* Removes a copy; one that differs from the kept file is kept aside. */
static int drop_copy(struct rec_ctx *x, const char *id, const spool_loc *keep,
		     const spool_loc *copy)
{
	char kp[PATH_MAX], cp[PATH_MAX];

	spool_loc_path(kp, sizeof(kp), keep, id);
	spool_loc_path(cp, sizeof(cp), copy, id);
	/* Seen in two places because it moved while the tree was read:
	 * the one that is gone was no copy. */
	if (spool_fs_access(x->sp, cp) < 0 &&
	    errno == ENOENT)
		return spool_commit_path(x->c, cp);
	/* The kept one went on meanwhile: this may be it, not a copy. */
	if (spool_fs_access(x->sp, kp) < 0 &&
	    errno == ENOENT)
		return 0;
	if (being_written(x->sp, cp) || same_file(x->sp, kp, cp))
		return 0;
	x->st->duplicates++;
	if (!same_content(x->sp, kp, cp))
		return spool_quarantine(x->c, x->sp, cp, "a second copy of the "
			"task, different from the one kept", "spool");
	if (spool_fs_unlink(x->sp, cp, 0) < 0 && errno != ENOENT)
		return spool_error_sys(SPOOL_ERROR, "cannot remove '%s'", cp);
	return spool_commit_path(x->c, cp);
}

/*
 * Seen in two places because it moved while the tree was read (from a
 * directory read first to one read later): only one is still there, and
 * it is no copy. The place still there, or NULL if there is none or more
 * than one; *present says how many are.
 */
static const spool_loc *moved_while_read(size_t *present, struct rec_ctx *x,
					 const spool_map_entry *e)
{
	const spool_loc *found = NULL;
	char path[PATH_MAX];
	struct stat st, first;

	*present = SPOOL_MAP_COPIES;
	if (e->ndisk > SPOOL_MAP_COPIES)
		return NULL;
	*present = 0;
	for (size_t i = 0; i < e->ndisk; i++) {
		const spool_loc *loc = &x->map->dirs[e->disk[i]];
		spool_loc_path(path, sizeof(path), loc, e->id);
		if (spool_fs_lstat(x->sp, path, &st) < 0)
			continue;
		if (*present && same_inode(&first, &st)) {
			found = loc;	/* it again, moved on meanwhile */
			continue;
		}
		if ((*present)++ == 0) {
			found = loc;
			first = st;
		}
	}
	return *present == 1 ? found : NULL;
}

/* cp instead of mv: the first copy that is a legal move is the move. */
static int resolve_copies(struct rec_ctx *x, spool_map_entry *e)
{
	const spool_loc *head = e->head >= 0 ? &x->map->dirs[e->head] : NULL;
	size_t present, n = e->ndisk < SPOOL_MAP_COPIES ? e->ndisk
							 : SPOOL_MAP_COPIES;
	const spool_loc *one = moved_while_read(&present, x, e);
	int keep = -1, rc = 0;
	json_t *task = NULL;

	/* It moved on from every place it was seen in: no copies, a task
	 * on its way, whose moves the events hold. */
	if (present == 0 && head)
		return moved_away(x, e->id, head);
	if (one && !head)
		return adopt(x, e->id, one);
	if (one) {
		rc = record_task(x, e->id, head, one);
		return rc < 0 ? rc : 0;
	}

	for (size_t i = 0; i < n && keep < 0; i++) {
		const spool_loc *d = &x->map->dirs[e->disk[i]];
		if (!head || e->disk[i] == e->head)
			continue;
		if (spool_task_load(&task, x->sp, d, e->id) == 0 &&
		    raw_legal(x, task, e->id, head, d, NULL))
			keep = (int)i;
		json_decref(task);
		task = NULL;
	}
	spool_error_clear();
	if (keep < 0) {
		/* No legal move among them: the recorded place wins. */
		for (size_t i = 0; i < n && keep < 0; i++)
			if (e->disk[i] == e->head)
				keep = (int)i;
		if (keep < 0)
			keep = 0;
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		if ((int)i != keep && e->disk[i] != e->head)
			rc = drop_copy(x, e->id, &x->map->dirs[e->disk[keep]],
				       &x->map->dirs[e->disk[i]]);
	if (rc < 0 || !head || e->disk[keep] == e->head)
		return rc;
	/* The kept copy is a move from head: drop the original, record. */
	for (size_t i = 0; i < n && rc == 0; i++)
		if (e->disk[i] == e->head)
			rc = drop_copy(x, e->id, &x->map->dirs[e->disk[keep]],
				       head);
	if (rc == 0)
		rc = record_task(x, e->id, head, &x->map->dirs[e->disk[keep]]);
	return rc < 0 ? rc : 0;
}

static bool needs_work(const spool_map_entry *e)
{
	return !(e->ndisk == 1 && e->head == e->disk[0]);
}

static int reconcile_entry(struct rec_ctx *x, spool_map_entry *e)
{
	const spool_loc *head = e->head >= 0 ? &x->map->dirs[e->head] : NULL;
	const spool_loc *disk = e->ndisk == 1 ? &x->map->dirs[e->disk[0]]
					      : NULL;
	bool quietly;
	int rc;

	if (!needs_work(e)) {
		/* Where HEAD has it, unless the events saw it go and come
		 * back (a release and a claim, say). */
		if (x->moves && (rc = record_task(x, e->id, head, disk)) != 0)
			return rc < 0 ? rc : 0;
		/* Steps of it taken back (defer) may have left the spool's
		 * own values in the file: they go back with no violation. */
		if (x->moves && spool_moves_is_carried(x->moves, e->id))
			return spool_transition_police(&quietly, x->c, x->sp,
						       e->id, head, false);
		return x->content ? check_edit(x, e) : 0;
	}
	if (e->ndisk == 0 && !head)
		return 0;	/* named by an event, gone everywhere */
	if (e->ndisk == 0)
		return moved_away(x, e->id, head);
	if (e->ndisk > 1)
		return resolve_copies(x, e);
	if (!head)
		return adopt(x, e->id, disk);
	rc = record_task(x, e->id, head, disk);
	return rc < 0 ? rc : 0;
}

/* ---- odd entries and new/ ---------------------------------------------- */

struct path_list {
	char **v;
	size_t n, cap;
};

static int path_list_add(struct path_list *l, const char *path)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		char **p = realloc(l->v, nc * sizeof(*p));
		if (!p)
			return spool_error_set(SPOOL_ERROR, "out of memory");
		l->v = p;
		l->cap = nc;
	}
	if (!(l->v[l->n] = strdup(path)))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	l->n++;
	return 0;
}

static void path_list_free(struct path_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static int collect_odd(void *data, const spool_loc *dir, const char *name)
{
	char path[PATH_MAX], d[128];

	if (name[0] == '.')
		return 0;	/* editors' and agents' hidden scratch files */
	spool_loc_format(d, sizeof(d), dir);
	snprintf(path, sizeof(path), "%s/%s", d, name);
	return path_list_add(data, path);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_new(struct path_list *out, spool *sp)
{
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	fd = spool_fs_open(sp, "new", O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return errno == ENOENT ? 0 : spool_error_sys(SPOOL_ERROR,
			"cannot read 'new'");
	if (!(d = fdopendir(fd))) {
		close(fd);
		return spool_error_sys(SPOOL_ERROR, "cannot read 'new'");
	}
	while (rc == 0 && (de = readdir(d)))
		if (de->d_name[0] != '.')
			rc = collect_odd(out, &(spool_loc){ .state =
					 SPOOL_STATE_NEW }, de->d_name);
	closedir(d);
	if (rc == 0 && out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), cmp_str);
	return rc;
}

static int remove_source(struct rec_ctx *x, const char *path)
{
	if (spool_fs_unlink(x->sp, path, 0) < 0 && errno != ENOENT)
		return spool_error_sys(SPOOL_ERROR, "cannot remove '%s'", path);
	return spool_commit_path(x->c, path);
}

static int file_one(struct rec_ctx *x, const char *path, json_t *task,
		    const spool_file_batch *batch, struct path_list *gone)
{
	spool_loc newloc = { .state = SPOOL_STATE_NEW };
	spool_file_batch b = *batch;
	char id[SPOOL_ID_MAX + 1], why[600];
	bool existed;
	int rc;

	b.src = path;	/* so a crash before the commit files it once */
	rc = spool_file_task(id, sizeof(id), &existed, x->c, x->sp, task,
			     &newloc, spool_file_actor(task), &b);
	if (rc == SPOOL_EINVALID || rc == SPOOL_EEXISTS) {
		snprintf(why, sizeof(why), "%s", spool_error_message());
		x->st->quarantined++;
		return spool_quarantine(x->c, x->sp, path, why, "spool");
	}
	if (rc < 0)
		return rc;
	if (!existed)
		x->st->filed++;
	if (gone)
		return path_list_add(gone, path);
	return remove_source(x, path);
}

/* A batch's sources go once the tasks filed from them are on disk (their
 * renames were not synced: one sync for all), and are gone on disk before
 * the commit and the removal of the intents: a source that came back
 * after a power cut would be filed twice. */
static int remove_sources(struct rec_ctx *x, struct path_list *gone)
{
	int rc = 0;

	if (gone->n == 0)
		return 0;
	if ((rc = spool_fs_syncfs(x->sp)) < 0)
		return rc;
	for (size_t i = 0; i < gone->n; i++)
		if (spool_fs_unlink(x->sp, gone->v[i], 0) < 0 &&
		    errno != ENOENT)
			return spool_error_sys(SPOOL_ERROR, "cannot remove "
					       "'%s'", gone->v[i]);
	if ((rc = spool_fs_fsync_dir(x->sp, "new")) < 0)
		return rc;
	/* Files, and gone: no need to look at them again. */
	for (size_t i = 0; i < gone->n && rc == 0; i++)
		rc = spool_commit_remove(x->c, gone->v[i]);
	return rc;
}

/* Below this many files in new/, each is filed with syncs of its own. */
#define FILE_BATCH_MIN 2

/* Each file's task and bytes (kept for the intent that files it). */
static int read_new(struct rec_ctx *x, struct path_list *paths,
		    json_t **tasks, char **bufs, size_t *lens,
		    spool_file_batch *batch)
{
	char why[600];
	int rc = 0;

	for (size_t i = 0; i < paths->n && rc == 0; i++) {
		spool_progress("reading new/", i, paths->n);
		rc = spool_fs_read(&bufs[i], &lens[i], x->sp, paths->v[i],
				   spool_task_max(x->sp));
		if (rc == 0)
			rc = spool_task_parse(&tasks[i], bufs[i], lens[i],
					      paths->v[i], NULL);
		if (rc == SPOOL_ENOTFOUND) {
			rc = 0;
		} else if (rc == SPOOL_EINVALID) {
			snprintf(why, sizeof(why), "%s", spool_error_message());
			x->st->quarantined++;
			rc = spool_quarantine(x->c, x->sp, paths->v[i], why,
					      "spool");
		} else if (rc == 0 && spool_task_str(tasks[i], "id")) {
			snprintf(batch->ids[batch->n++], SPOOL_ID_MAX + 1, "%s",
				 spool_task_str(tasks[i], "id"));
		}
	}
	return rc;
}

static int file_all(struct rec_ctx *x, struct path_list *paths,
		    json_t **tasks, char **bufs, size_t *lens,
		    spool_file_batch *batch, spool_file_prep *preps)
{
	struct path_list gone = { 0 };
	int rc = 0;

	if (preps)
		rc = spool_file_prepare(preps, x->sp, tasks, paths->v,
					paths->n, batch);
	for (size_t i = 0; i < paths->n && rc == 0; i++) {
		spool_progress("filing new/", i, paths->n);
		batch->prep = preps ? &preps[i] : NULL;
		batch->src_text = bufs[i];
		batch->src_len = lens[i];
		if (tasks[i])
			rc = file_one(x, paths->v[i], tasks[i], batch,
				      preps ? &gone : NULL);
	}
	batch->prep = NULL;
	batch->src_text = NULL;
	if (rc == 0)
		rc = remove_sources(x, &gone);
	if (rc == 0 && paths->n)
		spool_progress("filing new/", paths->n, paths->n);
	if (preps)
		spool_file_prep_clear(preps, paths->n, batch, x->sp);
	path_list_free(&gone);
	return rc;
}

static int file_new(struct rec_ctx *x, struct path_list *paths)
{
	spool_file_batch batch = { 0 };
	size_t n = paths->n ? paths->n : 1;
	json_t **tasks = calloc(n, sizeof(*tasks));
	char **bufs = calloc(n, sizeof(*bufs));
	size_t *lens = calloc(n, sizeof(*lens));
	spool_file_prep *preps = NULL;
	int rc;

	batch.ids = calloc(n, sizeof(*batch.ids));
	if (paths->n >= FILE_BATCH_MIN)
		preps = calloc(n, sizeof(*preps));
	if (!tasks || !bufs || !lens || !batch.ids ||
	    (paths->n >= FILE_BATCH_MIN && !preps)) {
		rc = spool_error_set(SPOOL_ERROR, "out of memory");
		goto out;
	}
	if ((rc = read_new(x, paths, tasks, bufs, lens, &batch)) == 0)
		rc = file_all(x, paths, tasks, bufs, lens, &batch, preps);
out:
	for (size_t i = 0; tasks && bufs && i < paths->n; i++) {
		json_decref(tasks[i]);
		free(bufs[i]);
	}
	free(tasks);
	free(bufs);
	free(lens);
	free(batch.ids);
	free(preps);
	return rc;
}

/* ---- a pass limited to what events named ------------------------------ */

/* Every directory a task can be in, on disk or at HEAD, with its tree. */
struct dirset {
	git_tree **trees;	/* by map dir index; NULL where absent */
	size_t n;
};

static int add_dir(struct rec_ctx *x, struct dirset *ds, const spool_loc *loc)
{
	git_tree *base = spool_commit_base(x->c);
	git_tree_entry *te = NULL;
	char dir[128];
	int i;

	if ((i = spool_map_dir(x->map, loc)) < 0)
		return i;
	if ((size_t)i < ds->n)
		return 0;
	{
		git_tree **p = realloc(ds->trees, (i + 1) * sizeof(*p));
		if (!p)
			return spool_error_set(SPOOL_ERROR, "out of memory");
		ds->trees = p;
		ds->trees[i] = NULL;
		ds->n = (size_t)i + 1;
	}
	spool_loc_format(dir, sizeof(dir), loc);
	if (base && git_tree_entry_bypath(&te, base, dir) == 0) {
		if (git_tree_entry_type(te) == GIT_OBJECT_TREE &&
		    git_tree_lookup(&ds->trees[i], x->sp->repo,
				    git_tree_entry_id(te)) < 0)
			ds->trees[i] = NULL;
		git_tree_entry_free(te);
	}
	return 0;
}

static int collect_dirs(struct rec_ctx *x, struct dirset *ds)
{
	git_tree *base = spool_commit_base(x->c), *claimed = NULL;
	git_tree_entry *te = NULL;
	spool_loc loc;
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	for (int s = 0; s < SPOOL_STATE_COUNT && rc == 0; s++) {
		memset(&loc, 0, sizeof(loc));
		loc.state = (spool_state)s;
		if (s != SPOOL_STATE_NEW && s != SPOOL_STATE_QUARANTINE &&
		    s != SPOOL_STATE_CLAIMED)
			rc = add_dir(x, ds, &loc);
	}
	loc.state = SPOOL_STATE_CLAIMED;
	fd = spool_fs_open(x->sp, "claimed",
		    O_RDONLY | O_DIRECTORY, 0);
	if (fd >= 0 && (d = fdopendir(fd))) {
		while (rc == 0 && (de = readdir(d)))
			if (spool_name_valid(de->d_name) &&
			    (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN)) {
				snprintf(loc.agent, sizeof(loc.agent), "%s",
					 de->d_name);
				rc = add_dir(x, ds, &loc);
			}
		closedir(d);
	} else if (fd >= 0) {
		close(fd);
	}
	if (rc == 0 && base &&
	    git_tree_entry_bypath(&te, base, "claimed") == 0 &&
	    git_tree_entry_type(te) == GIT_OBJECT_TREE &&
	    git_tree_lookup(&claimed, x->sp->repo, git_tree_entry_id(te)) == 0) {
		for (size_t i = 0; i < git_tree_entrycount(claimed) && rc == 0;
		     i++) {
			const git_tree_entry *e =
				git_tree_entry_byindex(claimed, i);
			if (git_tree_entry_type(e) != GIT_OBJECT_TREE ||
			    !spool_name_valid(git_tree_entry_name(e)))
				continue;
			snprintf(loc.agent, sizeof(loc.agent), "%s",
				 git_tree_entry_name(e));
			rc = add_dir(x, ds, &loc);
		}
	}
	git_tree_free(claimed);
	git_tree_entry_free(te);
	return rc;
}

static void dirset_free(struct dirset *ds)
{
	for (size_t i = 0; i < ds->n; i++)
		git_tree_free(ds->trees[i]);
	free(ds->trees);
}

static int name_path(struct rec_ctx *x, struct dirset *ds, const char *path,
		     struct path_list *odd, bool *fresh, int depth);

static void add_disk(spool_map_entry *e, int16_t dir)
{
	size_t n = e->ndisk < SPOOL_MAP_COPIES ? e->ndisk : SPOOL_MAP_COPIES;

	for (size_t i = 0; i < n; i++)
		if (e->disk[i] == dir)
			return;
	if (e->ndisk < SPOOL_MAP_COPIES)
		e->disk[e->ndisk] = dir;
	if (e->ndisk < UINT8_MAX)
		e->ndisk++;
}

/* A state directory named by an event (created, deleted, moved): every
 * name in it, on disk and at HEAD. */
static int expand_dir(struct rec_ctx *x, struct dirset *ds, const char *dir,
		      int dirindex, struct path_list *odd, bool *fresh,
		      int depth)
{
	char child[PATH_MAX];
	struct dirent *de;
	git_tree *t = NULL;
	git_tree_entry *te = NULL;
	DIR *d;
	int fd, rc = 0;

	fd = spool_fs_open(x->sp, dir,
		    O_RDONLY | O_DIRECTORY, 0);
	if (fd >= 0 && (d = fdopendir(fd))) {
		while (rc == 0 && (de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(child, sizeof(child), "%s/%s", dir,
				 de->d_name);
			rc = name_path(x, ds, child, odd, fresh, depth + 1);
		}
		closedir(d);
	} else if (fd >= 0) {
		close(fd);
	}
	if (dirindex >= 0) {
		t = ds->trees[dirindex];
	} else if (spool_commit_base(x->c) &&
		   git_tree_entry_bypath(&te, spool_commit_base(x->c),
					 dir) == 0 &&
		   git_tree_entry_type(te) == GIT_OBJECT_TREE &&
		   git_tree_lookup(&t, x->sp->repo, git_tree_entry_id(te)) < 0) {
		t = NULL;
	}
	for (size_t i = 0; t && i < git_tree_entrycount(t) && rc == 0; i++) {
		snprintf(child, sizeof(child), "%s/%s", dir,
			 git_tree_entry_name(git_tree_entry_byindex(t, i)));
		rc = name_path(x, ds, child, odd, fresh, depth + 1);
	}
	if (dirindex < 0)
		git_tree_free(t);
	git_tree_entry_free(te);
	return rc;
}

static int name_path(struct rec_ctx *x, struct dirset *ds, const char *path,
		     struct path_list *odd, bool *fresh, int depth)
{
	char dir[PATH_MAX], id[SPOOL_ID_MAX + 1];
	const char *slash = strrchr(path, '/'), *name;
	spool_map_entry *e;
	spool_loc loc;
	struct stat st;
	bool exists;
	int rc;

	if (depth > 2)
		return 0;
	if (strncmp(path, "new", 3) == 0 && (!path[3] || path[3] == '/')) {
		*fresh = true;
		return 0;
	}
	exists = spool_fs_lstat(x->sp, path, &st) == 0;
	if (strcmp(path, "claimed") == 0)
		return expand_dir(x, ds, path, -1, odd, fresh, depth);
	if (spool_loc_parse(&loc, path) == 0) {
		if (loc.state == SPOOL_STATE_QUARANTINE)
			return 0;
		if (exists && !S_ISDIR(st.st_mode)) {
			if (slash && slash[1] != '.')
				return collect_odd(odd, &(spool_loc){ .state =
					SPOOL_STATE_CLAIMED }, slash + 1);
			return 0;
		}
		rc = spool_map_dir(x->map, &loc);
		return expand_dir(x, ds, path, rc >= 0 && (size_t)rc < ds->n
				  ? rc : -1, odd, fresh, depth);
	}
	spool_error_clear();
	if (!slash || (size_t)(slash - path) >= sizeof(dir))
		return 0;	/* not inside a state directory */
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	name = slash + 1;
	if (name[0] == '.' || strcmp(dir, "claimed") == 0)
		return 0;	/* a stray file in claimed/: handled above */
	if (spool_loc_parse(&loc, dir) < 0 ||
	    loc.state == SPOOL_STATE_QUARANTINE ||
	    loc.state == SPOOL_STATE_NEW) {
		spool_error_clear();
		return 0;
	}
	if (!spool_id_from_name(id, name))
		return exists ? collect_odd(odd, &loc, name) : 0;
	/* Only the places events named are looked at on disk (and the
	 * place at HEAD): a copy or a move anywhere else is an event too. */
	if ((rc = spool_map_get(&e, x->map, id)) < 0 ||
	    (rc = spool_map_dir(x->map, &loc)) < 0)
		return rc;
	if (exists && !S_ISREG(st.st_mode))
		return collect_odd(odd, &loc, name);
	if (exists)
		add_disk(e, (int16_t)rc);
	return 0;
}

/* Where each named task is at HEAD, and whether it is still there. */
static int locate_named(struct rec_ctx *x, struct dirset *ds,
			struct path_list *odd)
{
	char path[PATH_MAX];
	struct stat st;
	int rc = 0;

	for (size_t i = 0; i < x->map->cap && rc == 0; i++) {
		spool_map_entry *e = &x->map->slots[i];
		char name[SPOOL_ID_MAX + 8];
		if (!e->id[0])
			continue;
		snprintf(name, sizeof(name), "%s.json", e->id);
		for (size_t k = 0; k < ds->n; k++)
			if (ds->trees[k] &&
			    git_tree_entry_byname(ds->trees[k], name))
				e->head = (int16_t)k;
		if (e->head < 0)
			continue;
		spool_loc_path(path, sizeof(path), &x->map->dirs[e->head],
			       e->id);
		if (spool_fs_lstat(x->sp, path, &st) < 0)
			continue;
		if (S_ISREG(st.st_mode))
			add_disk(e, e->head);
		else
			rc = collect_odd(odd, &x->map->dirs[e->head], name);
	}
	return rc;
}

static int map_named(struct rec_ctx *x, const spool_reconcile_opts *o,
		     struct path_list *odd, bool *fresh)
{
	struct dirset ds = { 0 };
	int rc;

	if ((rc = collect_dirs(x, &ds)) < 0)
		goto out;
	for (size_t i = 0; i < o->npaths && rc == 0; i++)
		rc = name_path(x, &ds, o->paths[i], odd, fresh, 0);
	if (rc == 0)
		rc = locate_named(x, &ds, odd);
out:
	dirset_free(&ds);
	return rc;
}

/* ---- the whole pass ---------------------------------------------------- */

/* Few changes get a commit each, so each has its author; a burst shares
 * one commit that still lists every transition. */
#define SINGLE_COMMIT_MAX 16

static int flush(struct rec_ctx *x, bool reopen)
{
	int rc = spool_commit_write(x->c, "spool");

	spool_commit_free(x->c);
	x->c = NULL;
	if (rc == 0 && reopen)
		rc = spool_commit_new(&x->c, x->sp);
	return rc;
}

int spool_reconcile_ex(spool_reconcile_stats *stats, spool *sp,
		       const spool_reconcile_opts *opts)
{
	static const spool_reconcile_opts whole = { 0 };
	const spool_reconcile_opts *o = opts ? opts : &whole;
	spool_reconcile_stats local = { 0 };
	struct path_list odd = { 0 }, fresh = { 0 };
	struct rec_ctx x = { .sp = sp, .st = stats ? stats : &local,
			     .content = o->check_content,
			     .moves = o->moves };
	const spool_recover_opts recover = { .moves = o->moves };
	bool named = o->paths != NULL, want_new = !named;
	size_t work = 0;
	bool single;
	int rc;

	memset(x.st, 0, sizeof(*x.st));
	/* What a killed process was doing, before its moves look raw. */
	if ((rc = spool_intent_recover(&x.st->recorded, &x.terminal, sp,
					&recover)) < 0)
		goto out;
	/* A whole look also clears what killed writers left in tmp/. */
	if (!named)
		spool_fs_sweep_tmp(NULL, sp);
	if ((rc = spool_commit_new(&x.c, sp)) < 0 ||
	    (rc = spool_map_new(&x.map)) < 0)
		goto out;
	if (named) {
		if ((rc = map_named(&x, o, &odd, &want_new)) < 0)
			goto out;
	} else {
		if (spool_commit_base(x.c) &&
		    (rc = spool_map_add_head(x.map, sp->repo,
					     spool_commit_base(x.c))) < 0)
			goto out;
		if ((rc = spool_map_add_disk(x.map, sp, collect_odd,
					     &odd)) < 0)
			goto out;
	}
	if (want_new && (rc = list_new(&fresh, sp)) < 0)
		goto out;
	for (size_t i = 0; i < x.map->cap; i++)
		work += x.map->slots[i].id[0] && needs_work(&x.map->slots[i]);
	single = !o->batch && work + odd.n + fresh.n <= SINGLE_COMMIT_MAX;
	for (size_t i = 0; i < odd.n && rc == 0; i++) {
		char why[PATH_MAX + 128];
		snprintf(why, sizeof(why), "'%s' is not a task file (a task is "
			 "a regular file named ID.json)", odd.v[i]);
		x.st->quarantined++;
		rc = spool_quarantine(x.c, sp, odd.v[i], why, "spool");
		if (rc == SPOOL_ENOTFOUND) {
			rc = 0;	/* gone meanwhile */
			spool_error_clear();
		}
		if (rc == 0 && single)
			rc = flush(&x, true);
	}
	for (size_t i = 0; i < x.map->cap && rc == 0; i++) {
		spool_map_entry *e = &x.map->slots[i];
		size_t before;
		spool_progress("checking tasks", i, x.map->cap);
		if (!e->id[0] || (!needs_work(e) && !x.content))
			continue;
		before = spool_commit_count(x.c);
		if ((rc = spool_commit_begin(x.c)) == 0)
			rc = reconcile_entry(&x, e);
		spool_commit_end(x.c);
		if (rc == 0 && single && spool_commit_count(x.c) > before)
			rc = flush(&x, true);
	}
	if (rc == 0)
		spool_progress("checking tasks", x.map->cap, x.map->cap);
	/* A batch works in a few directories, thousands of times, until
	 * its commit removes the intents. */
	if (fresh.n >= FILE_BATCH_MIN)
		spool_fs_hold(sp);
	if (rc == 0)
		rc = file_new(&x, &fresh);
	if (rc == 0 && single)
		rc = flush(&x, true);
	if (rc == 0 && (x.terminal || o->advance))
		rc = spool_advance(sp, x.c, &x.st->released);
	if (rc == 0)
		rc = flush(&x, false);
	if (fresh.n >= FILE_BATCH_MIN)
		spool_fs_release(sp);
out:
	path_list_free(&odd);
	path_list_free(&fresh);
	spool_map_free(x.map);
	spool_commit_free(x.c);
	return rc;
}

int spool_reconcile(spool_reconcile_stats *stats, spool *sp)
{
	return spool_reconcile_ex(stats, sp, NULL);
}

int spool_reconcile_locked(spool_reconcile_stats *stats, spool *sp)
{
	spool_reconcile_opts o = { .advance = true };
	int rc;

	if ((rc = spool_lock(sp, -1)) < 0)
		return rc;
	rc = spool_reconcile_ex(stats, sp, &o);
	spool_unlock(sp);
	return rc;
}
