/*
 * A task file holding values the spool wrote before: not an edit.
 * Looked up in the history only when a file and its record disagree,
 * which no legal move makes: a cheat, or a write that missed the file.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <git2.h>

#include "stale.h"
#include "error.h"
#include "task.h"
#include "machine.h"
#include "state.h"
#include "repo.h"
#include "history-read.h"

#define VERSIONS 32	/* recorded versions looked at, newest first */
#define FIELDS	 32

struct version {
	git_oid commit;
	spool_loc loc;
};

struct look {
	struct version v[VERSIONS];	/* a ring of the last ones */
	size_t n, next;
	json_t *attempt;		/* the disk's, or NULL */
	bool attempt_seen;
};

static int on_event(void *data, const spool_event *ev)
{
	struct look *l = data;
	const git_oid *oid = git_commit_id(ev->commit);
	struct version *last;
	spool_loc loc;

	/* A revert's trailer carries no attempt (0). */
	if (strcmp(ev->g->verb, "revert") != 0 && ev->g->attempt > 0 &&
	    json_is_integer(l->attempt) &&
	    json_integer_value(l->attempt) == ev->g->attempt)
		l->attempt_seen = true;
	if (spool_loc_parse(&loc, ev->g->to) < 0) {
		spool_error_clear();	/* gone from the tree: no version */
		return 0;
	}
	last = l->n ? &l->v[(l->next + VERSIONS - 1) % VERSIONS] : NULL;
	if (last && git_oid_equal(&last->commit, oid)) {
		last->loc = loc;	/* the commit's tree has its last place */
		return 0;
	}
	git_oid_cpy(&l->v[l->next].commit, oid);
	l->v[l->next].loc = loc;
	l->next = (l->next + 1) % VERSIONS;
	if (l->n < VERSIONS)
		l->n++;
	return 0;
}

/* The task as commit recorded it at loc; NULL if it holds none there. */
static json_t *version_task(git_repository *repo, const struct version *v,
			    const char *id)
{
	git_commit *c = NULL;
	git_tree *tree = NULL;
	git_tree_entry *te = NULL;
	git_blob *blob = NULL;
	json_t *task = NULL;
	char path[PATH_MAX];

	spool_loc_path(path, sizeof(path), &v->loc, id);
	if (git_commit_lookup(&c, repo, &v->commit) == 0 &&
	    git_commit_tree(&tree, c) == 0 &&
	    git_tree_entry_bypath(&te, tree, path) == 0 &&
	    git_blob_lookup(&blob, repo, git_tree_entry_id(te)) == 0 &&
	    spool_task_parse(&task, git_blob_rawcontent(blob),
			     (size_t)git_blob_rawsize(blob), path, id) < 0)
		task = NULL;
	git_blob_free(blob);
	git_tree_entry_free(te);
	git_tree_free(tree);
	git_commit_free(c);
	git_error_clear();
	spool_error_clear();
	return task;
}

/* Splits "a, b, c" into names; the number of them, 0 if too many. */
static size_t split_fields(char (*names)[128], const char *fields)
{
	size_t n = 0;

	while (*fields) {
		size_t len = strcspn(fields, ",");
		if (n == FIELDS)
			return 0;
		snprintf(names[n++], 128, "%.*s", (int)len, fields);
		fields += len;
		fields += strspn(fields, ", ");
	}
	return n;
}

static bool same_value(json_t *disk, json_t *rec, const char *name)
{
	json_t *a = json_object_get(disk, name), *b = json_object_get(rec, name);

	return a ? b && json_equal(a, b) : !b;
}

/* Marks the fields whose disk value some recorded version holds. */
static size_t match_versions(bool *found, char (*names)[128], size_t n,
			     git_repository *repo, const struct look *l,
			     const char *id, json_t *disk)
{
	size_t left = n;

	for (size_t k = 0; k < n; k++)
		if (found[k])
			left--;
	for (size_t i = 0; i < l->n && left; i++) {
		const struct version *v =
			&l->v[(l->next + VERSIONS - 1 - i) % VERSIONS];
		json_t *rec = version_task(repo, v, id);
		for (size_t k = 0; rec && k < n; k++)
			if (!found[k] && same_value(disk, rec, names[k])) {
				found[k] = true;
				left--;
			}
		json_decref(rec);
	}
	return left;
}

bool spool_values_recorded(spool *sp, const char *id, json_t *disk,
			   const char *fields)
{
	char names[FIELDS][128];
	bool found[FIELDS] = { false };
	struct look l = { .attempt = json_object_get(disk, "attempt") };
	git_repository *repo;
	size_t n = split_fields(names, fields);

	if (!n || strlen(fields) + 1 >= SPOOL_CHANGED_MAX)
		return false;	/* none, or too many to say */
	if (spool_repo(&repo, sp) < 0 ||
	    spool_history_task(sp, id, on_event, &l) < 0) {
		spool_error_clear();
		return false;
	}
	for (size_t k = 0; k < n; k++)
		found[k] = strcmp(names[k], "attempt") == 0 && l.attempt_seen;
	return match_versions(found, names, n, repo, &l, id, disk) == 0;
}
