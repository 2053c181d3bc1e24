/*
 * Filing: a task that arrives (spool add, or a file dropped in new/) is
 * checked, given an id and the fields the spool owns, and written to
 * ready/ or blocked/. Refused input goes to quarantine/ with a reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "error.h"
#include "machine.h"
#include "notice.h"
#include "state.h"
#include "task.h"
#include "fsutil.h"
#include "root.h"
#include "history.h"
#include "archive-find.h"
#include "file.h"
#include "ids.h"
#include "intent.h"
#include "task-files.h"
#include "transition.h"

static void key_path(char *buf, size_t len, const char *key)
{
	git_oid oid;
	char hex[GIT_OID_HEXSZ + 1];

	git_odb_hash(&oid, key, strlen(key), GIT_OBJECT_BLOB);
	git_oid_tostr(hex, sizeof(hex), &oid);
	snprintf(buf, len, ".spool/keys/%s", hex);
}

/* The id already filed under this idempotency key, if any. */
static bool key_lookup(char *id, size_t len, spool *sp, const char *key)
{
	char path[PATH_MAX];
	char *s = NULL;
	bool found = false;

	key_path(path, sizeof(path), key);
	if (spool_fs_read(&s, NULL, sp, path, 256) == 0) {
		s[strcspn(s, "\n")] = '\0';
		if (spool_id_valid(s)) {
			snprintf(id, len, "%s", s);
			found = true;
		}
	}
	free(s);
	spool_error_clear();
	return found;
}

static int check_ref(spool *sp, const char *kind, const char *name,
		     const char *field)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s.json", kind, name);
	if (spool_fs_access(sp, path) == 0)
		return 0;
	return spool_error_set(SPOOL_EINVALID, "field '%s': %s '%s' is not "
		"registered; add it with 'spool %s add %s'", field,
		strcmp(kind, "agents") == 0 ? "agent" : "module", name,
		strcmp(kind, "agents") == 0 ? "agent" : "module", name);
}

static int check_refs(spool *sp, json_t *task, const char *id,
		      const spool_file_batch *batch)
{
	const char *s;
	spool_loc loc;
	size_t i;
	json_t *d;
	int rc;

	if ((s = spool_task_str(task, "assignee")) &&
	    (rc = check_ref(sp, "agents", s, "assignee")) < 0)
		return rc;
	if ((s = spool_task_str(task, "module")) &&
	    (rc = check_ref(sp, "modules", s, "module")) < 0)
		return rc;
	if ((s = spool_task_str(task, "parent"))) {
		if (strcmp(s, id) == 0)
			return spool_error_set(SPOOL_EINVALID, "field 'parent':"
				" a task cannot be its own parent");
		if (spool_task_find(&loc, sp, s) == SPOOL_ENOTFOUND)
			return spool_error_set(SPOOL_EINVALID, "field 'parent'"
				": no task '%s'", s);
		if (spool_state_terminal(loc.state))
			return spool_error_set(SPOOL_EINVALID, "field 'parent'"
				": task '%s' is already %s", s,
				spool_state_name(loc.state));
	}
	json_array_foreach(json_object_get(task, "depends_on"), i, d) {
		const char *dep = json_string_value(d);
		bool pending = false;
		if (strcmp(dep, id) == 0)
			return spool_error_set(SPOOL_EINVALID, "field "
				"'depends_on': a task cannot depend on itself");
		for (size_t k = 0; batch && k < batch->n; k++)
			pending |= strcmp(batch->ids[k], dep) == 0;
		spool_archived arc;
		if (!pending && spool_task_find(&loc, sp, dep) ==
				SPOOL_ENOTFOUND &&
		    spool_archive_find(&arc, NULL, NULL, sp, dep) < 0)
			return spool_error_set(SPOOL_EINVALID, "field "
				"'depends_on': no task '%s'", dep);
	}
	spool_error_clear();
	return 0;
}

static bool has_child(json_t *children, const char *id)
{
	size_t i;
	json_t *v;

	json_array_foreach(children, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), id) == 0)
			return true;
	return false;
}

/* Records the child in its parent and holds the parent until its
 * children are done. Done again after a crash, it adds nothing twice. */
int spool_file_link_parent(spool_commit *c, spool *sp, const char *parent,
			   const char *id)
{
	spool_request rq = { .id = parent, .verb = "block", .actor = "spool",
			     .via = SPOOL_VIA_SPOOL };
	spool_outcome o;
	json_t *task = NULL, *children;
	char path[PATH_MAX], note[128];
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = spool_task_find(&rq.from, sp, parent)) < 0 ||
	    (rc = spool_task_load(&task, sp, &rq.from, parent)) < 0)
		return rc;
	children = json_object_get(task, "children");
	if (!json_is_array(children)) {
		children = json_array();
		json_object_set_new(task, "children", children);
	}
	if (!has_child(children, id)) {
		json_array_append_new(children, json_string(id));
		if ((rc = spool_task_store(sp, &rq.from, parent, task)) < 0)
			goto out;
	}
	if (rq.from.state == SPOOL_STATE_READY) {
		rq.to.state = SPOOL_STATE_BLOCKED;
		rq.task = task;
		snprintf(note, sizeof(note), "waits for subtask %s", id);
		rq.note = note;
		rc = spool_transition_apply(&o, c, sp, &rq);
	} else {
		spool_loc_path(path, sizeof(path), &rq.from, parent);
		rc = spool_commit_path(c, path);
	}
out:
	spool_outcome_clear(&o);
	json_decref(task);
	return rc;
}

/* Fields only the spool writes start afresh whatever a new task says:
 * a task filed with "plan_approved": true would skip its plan's review. */
static void reset_owned(json_t *task)
{
	static const char *const owned[] = { "plan_approved", "submitted_by",
					     "feedback", "errors",
					     "children" };

	for (size_t i = 0; i < SPOOL_ARRAY_SIZE(owned); i++)
		json_object_del(task, owned[i]);
	json_object_set_new(task, "attempt", json_integer(1));
}

/* In a batch the key is synced with the task, before its source goes:
 * lost before that, the intent writes it again (intent-recover.c). */
static int write_key(spool *sp, const char *path, const char *id,
		     bool batch)
{
	if (batch)
		return spool_fs_write_cache(sp, path, id, strlen(id));
	return spool_fs_write(sp, path, id, strlen(id), false);
}

int spool_file_task(char *idout, size_t idlen, bool *existed,
		    spool_commit *c, spool *sp, json_t *task,
		    const spool_loc *from, const char *actor,
		    const spool_file_batch *batch)
{
	spool_request rq = { .verb = from ? "file" : "add", .actor = actor,
			     .via = from ? SPOOL_VIA_SPOOL : SPOOL_VIA_CMD,
			     .task = task };
	const char *key = spool_task_str(task, "idempotency_key");
	const char *parent = spool_task_str(task, "parent");
	spool_file_prep *p = batch ? batch->prep : NULL;
	char id[SPOOL_ID_MAX + 1], kpath[PATH_MAX], now[32];
	spool_outcome o;
	spool_loc loc;
	int rc;

	memset(&o, 0, sizeof(o));
	if (existed)
		*existed = false;
	if (key && key_lookup(id, sizeof(id), sp, key) &&
	    spool_task_find(&loc, sp, id) != SPOOL_ENOTFOUND) {
		snprintf(idout, idlen, "%s", id);
		if (existed)
			*existed = true;
		spool_error_clear();
		return 0;
	}
	if (json_is_string(json_object_get(task, "id"))) {
		snprintf(id, sizeof(id), "%s", spool_task_str(task, "id"));
		if ((rc = spool_id_check_unused(sp, id)) < 0 ||
		    (rc = check_refs(sp, task, id, batch)) < 0)
			return rc;
	} else {
		/* Checked before an id is spent on a task that is refused;
		 * a fresh id cannot be among its own references. */
		if ((rc = check_refs(sp, task, "", batch)) < 0)
			return rc;
		if (p && p->id[0])
			snprintf(id, sizeof(id), "%s", p->id);
		else if ((rc = spool_task_new_id(id, sizeof(id), sp)) < 0)
			return rc;
	}
	/* What the batch prepared is this filing's only under its id. */
	if (p && strcmp(p->id, id) != 0)
		p = NULL;
	json_object_set_new(task, "id", json_string(id));
	if (!json_object_get(task, "created")) {
		spool_now_iso(now, sizeof(now));
		json_object_set_new(task, "created", json_string(now));
	}
	if (!json_object_get(task, "created_by"))
		json_object_set_new(task, "created_by", json_string(actor));
	reset_owned(task);
	/* Written to ready/ or blocked/ as the table says, and recorded. */
	rq.id = id;
	if (from)
		rq.from = *from;
	else
		rq.from.state = SPOOL_STATE_NONE;
	rq.to.state = SPOOL_STATE_NONE;
	if (key)
		key_path(kpath, sizeof(kpath), key);
	/* Announced with what filing does besides: a crash before the
	 * commit files it once, a failure leaves nothing behind. */
	if ((rc = spool_intent_file(c, sp, &(spool_intent_filing){
			.id = id, .from = &rq.from, .verb = rq.verb,
			.actor = actor, .via = rq.via, .task = task,
			.src = batch ? batch->src : NULL,
			.key = key ? kpath : NULL, .parent = parent,
			.staged = p ? p->staged : NULL,
			.prepared = p ? batch->intent : NULL,
			.src_text = batch ? batch->src_text : NULL,
			.src_len = batch ? batch->src_len : 0 })) < 0)
		goto out;
	if (p) {
		p->adopted = true;
		rq.staged = p->staged;
		rq.staged_text = p->text;
	}
	if ((rc = spool_transition_apply(&o, c, sp, &rq)) < 0) {
		/* Refused, nothing is staged: the caller may go on with the
		 * commit (quarantining the file), so this filing goes now. */
		if (p && spool_fs_unlink(sp, p->staged, 0) == 0)
			p->placed = true;	/* gone before its intent */
		spool_intent_abandon(c, sp, id);
		goto out;
	}
	if (p)
		p->placed = true;	/* create() took or removed it */
	if (key) {
		if ((rc = spool_fs_mkdirs(sp, ".spool/keys")) < 0 ||
		    (rc = write_key(sp, kpath, id, p != NULL)) < 0 ||
		    (rc = spool_commit_path(c, kpath)) < 0)
			goto out;
	}
	if (parent && (rc = spool_file_link_parent(c, sp, parent, id)) < 0)
		goto out;
	snprintf(idout, idlen, "%s", id);
out:
	spool_outcome_clear(&o);
	return rc;
}

const char *spool_file_actor(json_t *task)
{
	const char *by = spool_task_str(task, "created_by");

	return by && spool_name_valid(by) ? by : "spool";
}

/* ---- a batch from new/, prepared ahead ---------------------------------- */

static int cmp_id(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Whether an id a task names is named by another task of the batch. */
static bool named_twice(const char *const *sorted, size_t n, const char *id)
{
	const char *const *hit = bsearch(&id, sorted, n, sizeof(*sorted),
					 cmp_id);

	return hit && ((hit > sorted && strcmp(hit[-1], id) == 0) ||
		       (hit + 1 < sorted + n && strcmp(hit[1], id) == 0));
}

/*
 * Whether the batch can tell what filing task gives: not for a known
 * idempotency key (nothing is filed) or references that refuse it. An id
 * the task names must be its own alone: an intent written ahead under an
 * id another task holds would, after a crash, take that task's record
 * for its own.
 */
static bool preparable(spool *sp, json_t *task, const spool_file_batch *batch,
		       const char *const *named, size_t nnamed)
{
	const char *key = spool_task_str(task, "idempotency_key");
	const char *own = spool_task_str(task, "id");
	char id[SPOOL_ID_MAX + 1];
	spool_loc loc;
	bool yes;

	if (key && key_lookup(id, sizeof(id), sp, key) &&
	    spool_task_find(&loc, sp, id) != SPOOL_ENOTFOUND) {
		spool_error_clear();
		return false;
	}
	if (own)
		yes = spool_id_valid(own) && !named_twice(named, nnamed, own) &&
		      spool_id_check_unused(sp, own) == 0 &&
		      check_refs(sp, task, own, batch) == 0;
	else
		yes = check_refs(sp, task, "", batch) == 0;
	spool_error_clear();
	return yes;
}

/* The task as spool_file_task will write it, announced in filings; its
 * file in tmp/ is written once the batch's intent is. */
static int prepare_one(spool_file_prep *p, json_t *filings, json_t *task,
		       const char *src, const char *now)
{
	static const spool_loc from = { .state = SPOOL_STATE_NEW };
	const char *key = spool_task_str(task, "idempotency_key");
	const char *actor = spool_file_actor(task);
	char kpath[PATH_MAX];
	json_t *filed;
	int rc;

	/* Set on the task itself, so that filing it keeps the same. */
	if (!json_object_get(task, "created"))
		json_object_set_new(task, "created", json_string(now));
	if (!json_object_get(task, "created_by"))
		json_object_set_new(task, "created_by", json_string(actor));
	if (!(filed = json_deep_copy(task)))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	json_object_set_new(filed, "id", json_string(p->id));
	reset_owned(filed);
	if (key)
		key_path(kpath, sizeof(kpath), key);
	spool_fs_tmpname(p->staged, sizeof(p->staged));
	if (!(p->text = spool_task_dump(filed)))
		rc = spool_error_set(SPOOL_ERROR, "out of memory");
	else
		rc = spool_intent_batch_add(filings, &(spool_intent_filing){
			.id = p->id, .from = &from, .verb = "file",
			.actor = actor, .via = SPOOL_VIA_SPOOL, .task = filed,
			.text = p->text, .src = src, .key = key ? kpath : NULL,
			.parent = spool_task_str(task, "parent"),
			.staged = p->staged });
	json_decref(filed);
	return rc;
}

/* The intent first: cut short, it names the files, which the next
 * process removes; never a file no intent names. */
static int write_ahead(spool_file_prep *preps, size_t n, spool *sp,
		       json_t *filings, spool_file_batch *batch)
{
	int rc;

	if (json_array_size(filings) == 0)
		return 0;
	if ((rc = spool_intent_batch_write(batch->intent,
					   sizeof(batch->intent), sp,
					   filings)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (!preps[i].id[0])
			continue;
		rc = spool_fs_create(sp, preps[i].staged, preps[i].text,
				     strlen(preps[i].text));
		if (rc < 0) {
			/* not written, or already removed */
			for (size_t k = i; k < n; k++)
				preps[k].staged[0] = '\0';
			return rc;
		}
	}
	return 0;
}

/*
 * Fresh ids for the tasks marked (id "-") that have none, at once. One a
 * file of the batch names for itself (no task has it yet) is not used:
 * that task is filed the slow way, with an id of its own, and the
 * batch's intent names each of its tasks once.
 */
static int prepare_ids(spool_file_prep *preps, size_t n, spool *sp,
		       const char *const *named, size_t nnamed)
{
	char (*ids)[SPOOL_ID_MAX + 1];
	size_t m = 0, k = 0;
	int rc;

	for (size_t i = 0; i < n; i++)
		m += strcmp(preps[i].id, "-") == 0;
	if (m == 0)
		return 0;
	if (!(ids = calloc(m, sizeof(*ids))))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	if ((rc = spool_task_new_ids(ids, m, sp, false)) == 0)
		for (size_t i = 0; i < n; i++) {
			const char *id;
			if (strcmp(preps[i].id, "-") != 0)
				continue;
			id = ids[k++];
			if (nnamed && bsearch(&id, named, nnamed,
					      sizeof(*named), cmp_id))
				id = "";
			snprintf(preps[i].id, sizeof(preps[i].id), "%s", id);
		}
	free(ids);
	return rc;
}

/* The tasks the batch can tell about, each with its id. */
static int choose(spool_file_prep *preps, spool *sp, json_t **tasks,
		  size_t n, const spool_file_batch *batch)
{
	const char **named = NULL;
	size_t nnamed = 0;
	int rc;

	if (batch->n && !(named = calloc(batch->n, sizeof(*named))))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	for (size_t i = 0; i < batch->n; i++)
		named[nnamed++] = batch->ids[i];
	if (nnamed > 1)
		qsort(named, nnamed, sizeof(*named), cmp_id);
	for (size_t i = 0; i < n; i++) {
		const char *id = tasks[i] ? spool_task_str(tasks[i], "id")
					  : NULL;
		if (!tasks[i] || !preparable(sp, tasks[i], batch, named,
					     nnamed))
			continue;
		snprintf(preps[i].id, sizeof(preps[i].id), "%s",
			 id ? id : "-");
	}
	rc = prepare_ids(preps, n, sp, named, nnamed);
	free(named);
	return rc;
}

int spool_file_prepare(spool_file_prep *preps, spool *sp, json_t **tasks,
		       char **srcs, size_t n, spool_file_batch *batch)
{
	char now[32];
	json_t *filings = NULL;
	int rc;

	memset(preps, 0, n * sizeof(*preps));
	if ((rc = spool_fs_mkdirs(sp, "tmp")) < 0)
		return rc;
	if ((rc = choose(preps, sp, tasks, n, batch)) < 0)
		goto fail;
	if (!(filings = json_array())) {
		rc = spool_error_set(SPOOL_ERROR, "out of memory");
		goto fail;
	}
	spool_now_iso(now, sizeof(now));
	for (size_t i = 0; i < n; i++) {
		spool_progress("preparing new/", i, n);
		if (preps[i].id[0] &&
		    (rc = prepare_one(&preps[i], filings, tasks[i], srcs[i],
				      now)) < 0)
			goto fail;
	}
	rc = write_ahead(preps, n, sp, filings, batch);
	json_decref(filings);
	filings = NULL;
	/* The ids, the files and the intent on disk before any task is
	 * renamed into place: one sync for the batch. */
	if (rc == 0 && (rc = spool_fs_syncfs(sp)) == 0)
		return 0;
fail:
	json_decref(filings);
	spool_file_prep_clear(preps, n, batch, sp);
	return rc;
}

void spool_file_prep_clear(spool_file_prep *preps, size_t n,
			   spool_file_batch *batch, spool *sp)
{
	bool adopted = false;

	for (size_t i = 0; i < n; i++) {
		if (preps[i].staged[0] && !preps[i].placed)
			spool_fs_unlink(sp, preps[i].staged, 0);
		adopted |= preps[i].adopted;
		free(preps[i].text);
		memset(&preps[i], 0, sizeof(preps[i]));
	}
	/* Its files are gone: nothing it names is left to remove. */
	if (batch->intent[0] && !adopted)
		spool_intent_forget(sp, batch->intent);
	batch->intent[0] = '\0';
}

/* One line of text whatever a refused name held. */
static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* A name safe to keep in quarantine/: no slashes, newlines or dots first. */
static void safe_name(char *out, size_t len, const char *name)
{
	size_t i, j = 0;

	for (i = 0; name[i] && j + 1 < len && j < 200; i++) {
		char ch = name[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
			  (ch == '.' && j > 0);
		out[j++] = ok ? ch : '_';
	}
	if (j == 0)
		out[j++] = '_';
	out[j] = '\0';
}

int spool_quarantine(spool_commit *c, spool *sp, const char *path,
		     const char *reason, const char *actor)
{
	const char *base = strrchr(path, '/');
	char name[256], dst[PATH_MAX], rpath[PATH_MAX], text[1400];
	char was[PATH_MAX];
	spool_transition t;
	spool_loc from = { .state = SPOOL_STATE_NEW };
	spool_loc q = { .state = SPOOL_STATE_QUARANTINE };
	int rc;

	safe_name(name, sizeof(name), base ? base + 1 : path);
	snprintf(dst, sizeof(dst), "quarantine/%s", name);
	for (int n = 2; spool_fs_access(sp, dst) == 0; n++)
		snprintf(dst, sizeof(dst), "quarantine/%s.%d", name, n);
	if ((rc = spool_fs_mkdirs(sp, "quarantine")) < 0 ||
	    (rc = spool_fs_move(sp, path, dst)) < 0)
		return rc;
	snprintf(rpath, sizeof(rpath), "%s.reason", dst);
	snprintf(text, sizeof(text), "%s", reason);
	printable(text);
	snprintf(was, sizeof(was), "%s", path);
	printable(was);
	snprintf(text + strlen(text), sizeof(text) - strlen(text),
		 "\nwas: %s\nfix the file and move it back to new/ to file it "
		 "again\n", was);
	if ((rc = spool_fs_write(sp, rpath, text, strlen(text), false)) < 0)
		return rc;
	if (base && (size_t)(base - path) < sizeof(name)) {
		memcpy(name, path, (size_t)(base - path));
		name[base - path] = '\0';
		if (spool_loc_parse(&from, name) < 0)
			from.state = SPOOL_STATE_NEW;
	}
	spool_error_clear();
	spool_transition_init(&t, dst + strlen("quarantine/"), &from, &q,
			      "quarantine", actor);
	snprintf(t.note, sizeof(t.note), "%s", reason);
	if ((rc = spool_commit_path(c, path)) < 0 ||
	    (rc = spool_commit_path(c, dst)) < 0 ||
	    (rc = spool_commit_path(c, rpath)) < 0)
		return rc;
	return spool_commit_transition(c, &t);
}
