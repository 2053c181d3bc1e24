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
#include <unistd.h>

#include "file.h"
#include "intent.h"
#include "lease.h"
#include "snapshot.h"
#include "transition.h"

struct rec_ctx {
	spool *sp;
	spool_commit *c;
	spool_map *map;
	spool_reconcile_stats *st;
	bool terminal;		/* something finished: release waiters */
	bool content;		/* compare fixed states with HEAD */
};

static const char *mover(const spool_loc *from, const spool_loc *to)
{
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
				SPOOL_TASK_MAX_BYTES * 16)) < 0)
		return rc == SPOOL_ENOTFOUND ? 0 : rc;
	snprintf(tmp, sizeof(tmp), "tmp/%s.rejected.json", id);
	rc = spool_fs_write(x->sp, tmp, buf, len, false);
	free(buf);
	if (rc == 0)
		rc = spool_quarantine(x->c, x->sp, tmp, why, "spool");
	return rc;
}

/* Undoes an illegal move and records the violation. */
static int revert(struct rec_ctx *x, const char *id, const spool_loc *from,
		  const spool_loc *to, const char *why)
{
	spool_transition t;
	int rc;

	rc = spool_move_task(x->sp, id, to, from, true);
	if (rc == SPOOL_ENOTFOUND)
		return 0;	/* moved again meanwhile; seen next time */
	if (rc < 0)
		return rc;
	spool_transition_init(&t, id, to, from, "revert", mover(from, to));
	snprintf(t.note, sizeof(t.note), "violation: %s", why);
	x->st->reverted++;
	return spool_commit_transition(x->c, &t);
}

static int revert_and_restore(struct rec_ctx *x, const char *id,
			      const spool_loc *from, const spool_loc *to,
			      const char *why);

/*
 * Without the daemon, an agent may claim and submit (or give up) between
 * two looks: the spool sees ready -> review. If exactly one agent could
 * have made the claim, and its claimed/ directory changed since the last
 * commit, both steps are recorded; otherwise the move stays illegal.
 */
/* When the branch last moved, to the nanosecond where the ref file
 * tells (libgit2 rewrites it on every commit), else to the second. */
static struct timespec last_commit_time(spool *sp, git_commit *head)
{
	struct timespec t = { .tv_sec = (time_t)git_commit_time(head) };
	git_reference *ref = NULL;
	char path[PATH_MAX];
	struct stat st;

	if (git_reference_lookup(&ref, sp->repo, "HEAD") == 0 &&
	    git_reference_type(ref) == GIT_REFERENCE_SYMBOLIC) {
		snprintf(path, sizeof(path), "%s%s",
			 git_repository_path(sp->repo),
			 git_reference_symbolic_target(ref));
		if (stat(path, &st) == 0)
			t = st.st_mtim;
	}
	git_reference_free(ref);
	return t;
}

/* One step of a raw move, as the table sees it. */
static void raw_step(spool_request *rq, const char *id, const spool_loc *from,
		     const spool_loc *to, json_t *task)
{
	memset(rq, 0, sizeof(*rq));
	rq->id = id;
	rq->from = *from;
	rq->to = *to;
	rq->actor = mover(from, to);
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

	raw_step(&rq, id, from, to, task);
	rc = spool_transition_check(&o, x->c, x->sp, &rq);
	if (row)
		*row = o.row;
	spool_outcome_clear(&o);
	spool_error_clear();
	return rc == 0;
}

static int unseen_claim(struct rec_ctx *x, json_t *task, const char *id,
			const spool_loc *from, const spool_loc *to)
{
	spool_loc mid = { .state = SPOOL_STATE_CLAIMED }, cand;
	git_commit *head = spool_commit_parent(x->c);
	const spool_row *second = NULL;
	struct timespec since;
	spool_request r1, r2;
	spool_outcome o1, o2;
	char **agents = NULL;
	size_t n = 0, found = 0;
	struct stat st;
	char dir[128], note[256];
	int rc;

	if (!head || from->state != SPOOL_STATE_READY ||
	    (to->state != SPOOL_STATE_REVIEW && to->state != SPOOL_STATE_FAILED))
		return SPOOL_EILLEGAL;
	if ((rc = spool_registry_names(&agents, &n, x->sp, "claimed")) < 0)
		return rc;
	since = last_commit_time(x->sp, head);
	cand.state = SPOOL_STATE_CLAIMED;
	for (size_t i = 0; i < n; i++) {
		snprintf(cand.agent, sizeof(cand.agent), "%s", agents[i]);
		spool_loc_format(dir, sizeof(dir), &cand);
		if (fstatat(spool_rootfd(x->sp), dir, &st, 0) < 0 ||
		    st.st_mtim.tv_sec < since.tv_sec ||
		    (st.st_mtim.tv_sec == since.tv_sec &&
		     st.st_mtim.tv_nsec < since.tv_nsec) ||
		    !raw_legal(x, task, id, from, &cand, NULL))
			continue;
		if (found++ == 0)
			mid = cand;
	}
	spool_names_free(agents, n);
	spool_error_clear();
	/* Both steps must be moves the agent may make by mv. */
	if (found != 1 || !raw_legal(x, task, id, &mid, to, &second))
		return SPOOL_EILLEGAL;
	raw_step(&r1, id, from, &mid, task);
	r1.at = to;
	snprintf(note, sizeof(note), "claimed and %s between two looks; "
		 "claimer inferred from claimed/%s/", second->verb, mid.agent);
	if ((rc = spool_transition_apply(&o1, x->c, x->sp, &r1)) == 0) {
		raw_step(&r2, id, &mid, to, o1.task);
		r2.recorded = o1.task;
		r2.note = note;
		rc = spool_transition_apply(&o2, x->c, x->sp, &r2);
		x->terminal |= o2.release;
		spool_outcome_clear(&o2);
	}
	spool_outcome_clear(&o1);
	if (rc < 0)
		return rc == SPOOL_ENOTFOUND ? 0 : rc;
	x->st->recorded += 2;
	return 0;
}

static int record_move(struct rec_ctx *x, const char *id,
		       const spool_loc *from, const spool_loc *to)
{
	spool_request rq;
	spool_outcome o;
	json_t *task = NULL;
	char why[512];
	int rc;

	rc = spool_task_load(&task, x->sp, to, id);
	if (rc == SPOOL_ENOTFOUND)
		return 0;
	if (rc == SPOOL_EINVALID) {
		/* Moved and broken: the committed version goes back. */
		snprintf(why, sizeof(why), "%s", spool_error_message());
		if ((rc = keep_aside(x, to, id, why)) < 0)
			return rc;
		return revert_and_restore(x, id, from, to, why);
	}
	if (rc < 0)
		return rc;
	/* The table decides; a release on the last attempt goes on to
	 * failed/ there, as spool release does. */
	raw_step(&rq, id, from, to, task);
	rc = spool_transition_apply(&o, x->c, x->sp, &rq);
	x->terminal |= rc == 0 && o.release;
	spool_outcome_clear(&o);
	if (rc == SPOOL_EILLEGAL) {
		snprintf(why, sizeof(why), "%s", spool_error_message());
		spool_error_clear();
		rc = unseen_claim(x, task, id, from, to);
		json_decref(task);
		if (rc != SPOOL_EILLEGAL)
			return rc;
		spool_error_clear();
		return revert(x, id, from, to, why);
	}
	json_decref(task);
	if (rc == SPOOL_ENOTFOUND)
		return 0;
	if (rc == 0)
		x->st->recorded++;
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
	if (unlinkat(spool_rootfd(x->sp), path, 0) < 0 && errno != ENOENT)
		return spool_error_sys(SPOOL_ERROR, "cannot remove '%s'", path);
	if ((rc = restore(x, id, from, why)) < 0)
		return rc;
	spool_transition_init(&t, id, to, from, "revert", mover(from, to));
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
	char path[PATH_MAX], abs[PATH_MAX], why[512], dir[128];
	git_oid disk;
	char *buf = NULL;
	size_t len;
	bool same;
	int rc;

	if (base && loc->state == SPOOL_STATE_CLAIMED) {
		/* The agent may write its own fields, not the spool's. */
		bool reverted;
		rc = spool_transition_police(&reverted, x->c, x->sp, e->id,
					     loc);
		x->st->reverted += reverted;
		return rc;
	}
	if (!base || !fixed_state(loc->state))
		return 0;
	spool_loc_path(path, sizeof(path), loc, e->id);
	if (git_tree_entry_bypath(&te, base, path) < 0)
		return 0;
	snprintf(abs, sizeof(abs), "%s/%s", spool_root(x->sp), path);
	if (git_odb_hashfile(&disk, abs, GIT_OBJECT_BLOB) < 0) {
		git_tree_entry_free(te);
		return 0;	/* moved meanwhile: the next pass sees where */
	}
	same = git_oid_equal(&disk, git_tree_entry_id(te));
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

/* A task that is on disk but was never recorded. */
static int adopt(struct rec_ctx *x, const char *id, const spool_loc *loc)
{
	const char *by;
	char path[PATH_MAX], why[1024], dir[128];
	spool_request rq = { .id = id, .verb = "add",
			     .via = SPOOL_VIA_SPOOL, .moved = true };
	spool_outcome o;
	json_t *task = NULL;
	int rc;

	spool_loc_path(path, sizeof(path), loc, id);
	rc = spool_task_load(&task, x->sp, loc, id);
	if (rc == SPOOL_ENOTFOUND)
		return 0;
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

static bool same_content(spool *sp, const char *a, const char *b)
{
	char *x = NULL, *y = NULL;
	size_t nx = 0, ny = 0;
	bool same;

	same = spool_fs_read(&x, &nx, sp, a, SPOOL_TASK_MAX_BYTES * 16) == 0 &&
	       spool_fs_read(&y, &ny, sp, b, SPOOL_TASK_MAX_BYTES * 16) == 0 &&
	       nx == ny && memcmp(x, y, nx) == 0;
	free(x);
	free(y);
	spool_error_clear();
	return same;
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
	if (faccessat(spool_rootfd(x->sp), cp, F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
	    errno == ENOENT)
		return spool_commit_path(x->c, cp);
	x->st->duplicates++;
	if (!same_content(x->sp, kp, cp))
		return spool_quarantine(x->c, x->sp, cp, "a second copy of the "
			"task, different from the one kept", "spool");
	if (unlinkat(spool_rootfd(x->sp), cp, 0) < 0 && errno != ENOENT)
		return spool_error_sys(SPOOL_ERROR, "cannot remove '%s'", cp);
	return spool_commit_path(x->c, cp);
}

/* cp instead of mv: the first copy that is a legal move is the move. */
static int resolve_copies(struct rec_ctx *x, spool_map_entry *e)
{
	const spool_loc *head = e->head >= 0 ? &x->map->dirs[e->head] : NULL;
	size_t n = e->ndisk < SPOOL_MAP_COPIES ? e->ndisk : SPOOL_MAP_COPIES;
	int keep = -1, rc = 0;
	json_t *task = NULL;

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
	return rc < 0 ? rc : record_move(x, e->id, head,
					 &x->map->dirs[e->disk[keep]]);
}

static bool needs_work(const spool_map_entry *e)
{
	return !(e->ndisk == 1 && e->head == e->disk[0]);
}

static int reconcile_entry(struct rec_ctx *x, spool_map_entry *e)
{
	const spool_loc *head = e->head >= 0 ? &x->map->dirs[e->head] : NULL;

	if (!needs_work(e))
		return x->content ? check_edit(x, e) : 0;
	if (e->ndisk == 0 && !head)
		return 0;	/* named by an event, gone everywhere */
	if (e->ndisk == 0) {
		spool_loc now;
		/* Not seen because it moved while the tree was read: restoring
		 * it would make a second, claimable copy. The next pass
		 * records where it went. */
		if (spool_task_find(&now, x->sp, e->id) != SPOOL_ENOTFOUND) {
			spool_error_clear();
			return 0;
		}
		spool_error_clear();
		return restore(x, e->id, head, "deleted; restored from git");
	}
	if (e->ndisk > 1)
		return resolve_copies(x, e);
	if (!head)
		return adopt(x, e->id, &x->map->dirs[e->disk[0]]);
	return record_move(x, e->id, head, &x->map->dirs[e->disk[0]]);
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

	fd = openat(spool_rootfd(sp), "new", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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

static int file_one(struct rec_ctx *x, const char *path, json_t *task,
		    const spool_file_batch *batch)
{
	spool_loc newloc = { .state = SPOOL_STATE_NEW };
	const char *by = spool_task_str(task, "created_by");
	spool_file_batch b = *batch;
	char id[SPOOL_ID_MAX + 1], why[600];
	bool existed;
	int rc;

	b.src = path;	/* so a crash before the commit files it once */
	rc = spool_file_task(id, sizeof(id), &existed, x->c, x->sp, task,
			     &newloc, by && spool_name_valid(by) ? by : "spool",
			     &b);
	if (rc == SPOOL_EINVALID || rc == SPOOL_EEXISTS) {
		snprintf(why, sizeof(why), "%s", spool_error_message());
		x->st->quarantined++;
		return spool_quarantine(x->c, x->sp, path, why, "spool");
	}
	if (rc < 0)
		return rc;
	if (unlinkat(spool_rootfd(x->sp), path, 0) < 0 && errno != ENOENT)
		return spool_error_sys(SPOOL_ERROR, "cannot remove '%s'", path);
	if (!existed)
		x->st->filed++;
	return spool_commit_path(x->c, path);
}

static int file_new(struct rec_ctx *x, struct path_list *paths)
{
	spool_file_batch batch = { 0 };
	json_t **tasks = calloc(paths->n ? paths->n : 1, sizeof(*tasks));
	char why[600];
	int rc = 0;

	batch.ids = calloc(paths->n ? paths->n : 1, sizeof(*batch.ids));
	if (!tasks || !batch.ids) {
		free(tasks);
		free(batch.ids);
		return spool_error_set(SPOOL_ERROR, "out of memory");
	}
	for (size_t i = 0; i < paths->n && rc == 0; i++) {
		char *buf = NULL;
		size_t len;
		rc = spool_fs_read(&buf, &len, x->sp, paths->v[i],
				   SPOOL_TASK_MAX_BYTES);
		if (rc == 0)
			rc = spool_task_parse(&tasks[i], buf, len, paths->v[i],
					      NULL);
		free(buf);
		if (rc == SPOOL_ENOTFOUND) {
			rc = 0;
		} else if (rc == SPOOL_EINVALID) {
			snprintf(why, sizeof(why), "%s", spool_error_message());
			x->st->quarantined++;
			rc = spool_quarantine(x->c, x->sp, paths->v[i], why,
					      "spool");
		} else if (rc == 0 && spool_task_str(tasks[i], "id")) {
			snprintf(batch.ids[batch.n++], SPOOL_ID_MAX + 1, "%s",
				 spool_task_str(tasks[i], "id"));
		}
	}
	for (size_t i = 0; i < paths->n && rc == 0; i++)
		if (tasks[i])
			rc = file_one(x, paths->v[i], tasks[i], &batch);
	for (size_t i = 0; i < paths->n; i++)
		json_decref(tasks[i]);
	free(tasks);
	free(batch.ids);
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
	fd = openat(spool_rootfd(x->sp), "claimed",
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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

	fd = openat(spool_rootfd(x->sp), dir,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
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
	exists = fstatat(spool_rootfd(x->sp), path, &st,
			 AT_SYMLINK_NOFOLLOW) == 0;
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
		if (fstatat(spool_rootfd(x->sp), path, &st,
			    AT_SYMLINK_NOFOLLOW) < 0)
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
			     .content = o->check_content };
	bool named = o->paths != NULL, want_new = !named;
	size_t work = 0;
	bool single;
	int rc;

	memset(x.st, 0, sizeof(*x.st));
	/* What a killed process was doing, before its moves look raw. */
	if ((rc = spool_intent_recover(&x.st->recorded, &x.terminal, sp)) < 0)
		goto out;
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
		if (!e->id[0] || (!needs_work(e) && !x.content))
			continue;
		before = spool_commit_count(x.c);
		rc = reconcile_entry(&x, e);
		if (rc == 0 && single && spool_commit_count(x.c) > before)
			rc = flush(&x, true);
	}
	if (rc == 0)
		rc = file_new(&x, &fresh);
	if (rc == 0 && single)
		rc = flush(&x, true);
	if (rc == 0 && (x.terminal || o->advance))
		rc = spool_advance(sp, x.c, &x.st->released);
	if (rc == 0)
		rc = flush(&x, false);
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
