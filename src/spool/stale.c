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
#include "machine.h"
#include "state.h"
#include "repo.h"
#include "trailer.h"
#include "tree-task.h"

#define VERSIONS 32	/* recorded versions looked at, newest first */
#define COMMITS	 2000	/* commits looked through, newest first */
#define FIELDS	 32

struct version {
	git_oid commit;
	spool_loc loc;
};

struct look {
	struct version v[VERSIONS];	/* newest first */
	size_t n;
	const git_oid *commit;		/* the one being read */
	json_t *attempt;		/* the disk's, or NULL */
	bool attempt_seen;
};

static int on_transition(void *data, const spool_transition *t,
			 size_t index, size_t count)
{
	struct look *l = data;
	struct version *last = l->n ? &l->v[l->n - 1] : NULL;

	(void)index;
	(void)count;
	/* A revert's trailer carries no attempt (0). */
	if (strcmp(t->verb, "revert") != 0 && t->attempt > 0 &&
	    json_is_integer(l->attempt) &&
	    json_integer_value(l->attempt) == t->attempt)
		l->attempt_seen = true;
	/* The commit's tree has it where its last step put it: the first
	 * step read of a commit names the version, the later ones move it. */
	if (last && git_oid_equal(&last->commit, l->commit)) {
		last->loc = t->to;
		return 0;
	}
	if (l->n == VERSIONS)
		return 1;
	git_oid_cpy(&l->v[l->n].commit, l->commit);
	l->v[l->n++].loc = t->to;
	return 0;
}

/* The task's last recorded versions and attempts, from the trailers of
 * the last COMMITS commits: the values a write missed are recent. */
static int read_history(struct look *l, git_repository *repo, const char *id)
{
	git_revwalk *w = NULL;
	git_oid oid;
	int rc = 0;

	if (git_revwalk_new(&w, repo) < 0 || git_revwalk_push_head(w) < 0) {
		git_revwalk_free(w);
		return spool_error_git("cannot walk the history");
	}
	for (int i = 0; i < COMMITS && l->n < VERSIONS &&
			(rc = git_revwalk_next(&oid, w)) == 0; i++) {
		git_commit *c = NULL;
		if (git_commit_lookup(&c, repo, &oid) < 0) {
			rc = -1;
			break;
		}
		l->commit = &oid;
		spool_trailer_foreach(git_commit_message(c), id, on_transition,
				      l);
		git_commit_free(c);
	}
	git_revwalk_free(w);
	if (rc < 0 && rc != GIT_ITEROVER)
		return spool_error_git("cannot read the history");
	return 0;
}

/* The task as commit recorded it at loc; NULL if it holds none there. */
static json_t *version_task(git_repository *repo, spool *sp,
			    const struct version *v, const char *id)
{
	git_commit *c = NULL;
	git_tree *tree = NULL;
	json_t *task = NULL;
	char path[PATH_MAX];

	spool_loc_path(path, sizeof(path), &v->loc, id);
	if (git_commit_lookup(&c, repo, &v->commit) < 0 ||
	    git_commit_tree(&tree, c) < 0 ||
	    spool_tree_task(&task, sp, tree, path, id) < 0)
		task = NULL;
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
			     spool *sp, git_repository *repo,
			     const struct look *l, const char *id,
			     json_t *disk)
{
	size_t left = n;

	for (size_t k = 0; k < n; k++)
		if (found[k])
			left--;
	for (size_t i = 0; i < l->n && left; i++) {
		json_t *rec = version_task(repo, sp, &l->v[i], id);
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
	if (spool_repo(&repo, sp) < 0 || read_history(&l, repo, id) < 0) {
		spool_error_clear();
		return false;
	}
	for (size_t k = 0; k < n; k++)
		found[k] = strcmp(names[k], "attempt") == 0 && l.attempt_seen;
	return match_versions(found, names, n, sp, repo, &l, id, disk) == 0;
}
