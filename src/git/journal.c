/*
 * The history read back: the transitions recorded in commits, from their
 * Spool-* trailers. The daemon runs hooks from here, so a transition made
 * by spool(1), by the daemon itself or while the daemon was down wakes
 * agents the same way, once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lease.h"

static bool trailer(const char *line, size_t len, const char *key,
		    char *out, size_t outlen)
{
	size_t k = strlen(key);

	if (len <= k + 2 || strncmp(line, key, k) != 0 || line[k] != ':' ||
	    line[k + 1] != ' ')
		return false;
	len -= k + 2;
	if (len >= outlen)
		len = outlen - 1;
	memcpy(out, line + k + 2, len);
	out[len] = '\0';
	return true;
}

static void parse_loc(spool_loc *loc, const char *s)
{
	if (spool_loc_parse(loc, s) < 0) {
		memset(loc, 0, sizeof(*loc));
		loc->state = SPOOL_STATE_NONE;
		spool_error_clear();
	}
}

/* A commit of one transition keeps its note in the body, between the
 * subject and the trailers. */
static void body_note(char *out, size_t len, const char *msg)
{
	const char *start = strstr(msg, "\n\n"), *end;
	size_t n;

	out[0] = '\0';
	if (!start || strncmp(start + 2, "Spool-", 6) == 0)
		return;
	start += 2;
	end = strstr(start, "\n\nSpool-Task: ");
	if (!end)
		return;
	n = (size_t)(end - start);
	if (n >= len)
		n = len - 1;
	memcpy(out, start, n);
	out[n] = '\0';
	for (char *p = out; *p; p++)
		if (*p == '\n')
			*p = ' ';
}

struct one {
	spool_journal_fn fn;
	void *data;
	size_t n;
	spool_transition first;
};

static int count(void *data, const spool_transition *t)
{
	struct one *o = data;

	if (o->n++ == 0)
		o->first = *t;
	return 0;
}

static int parse(const char *msg, spool_journal_fn fn, void *data);

int spool_journal_parse(const char *msg, spool_journal_fn fn, void *data)
{
	struct one o;
	int rc;

	memset(&o, 0, sizeof(o));
	o.fn = fn;
	o.data = data;
	rc = parse(msg, count, &o);
	if (rc < 0 || o.n != 1)
		return rc < 0 ? rc : parse(msg, fn, data);
	if (!o.first.note[0])
		body_note(o.first.note, sizeof(o.first.note), msg);
	return fn(data, &o.first);
}

static int parse(const char *msg, spool_journal_fn fn, void *data)
{
	spool_transition t;
	bool open = false;
	char val[256];
	int rc = 0;

	memset(&t, 0, sizeof(t));
	for (const char *p = msg; *p && rc == 0;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (trailer(p, len, "Spool-Task", val, sizeof(val))) {
			if (open)
				rc = fn(data, &t);
			memset(&t, 0, sizeof(t));
			t.from.state = t.to.state = SPOOL_STATE_NONE;
			snprintf(t.id, sizeof(t.id), "%s", val);
			open = true;
		} else if (open && trailer(p, len, "Spool-From", val,
					   sizeof(val))) {
			parse_loc(&t.from, val);
		} else if (open && trailer(p, len, "Spool-To", val,
					   sizeof(val))) {
			parse_loc(&t.to, val);
		} else if (open && trailer(p, len, "Spool-Agent", val,
					   sizeof(val))) {
			snprintf(t.actor, sizeof(t.actor), "%s", val);
		} else if (open && trailer(p, len, "Spool-Verb", val,
					   sizeof(val))) {
			snprintf(t.verb, sizeof(t.verb), "%s", val);
		} else if (open && trailer(p, len, "Spool-Attempt", val,
					   sizeof(val))) {
			t.attempt = strtol(val, NULL, 10);
		} else if (open && trailer(p, len, "Spool-Note", val,
					   sizeof(val))) {
			snprintf(t.note, sizeof(t.note), "%s", val);
		}
		p = nl ? nl + 1 : p + len;
	}
	if (rc == 0 && open)
		rc = fn(data, &t);
	return rc;
}

static int push_id(git_oid **ids, size_t *n, size_t *cap, const git_oid *id)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		git_oid *p = realloc(*ids, nc * sizeof(*p));
		if (!p)
			return spool_error_set(SPOOL_ERROR, "out of memory");
		*ids = p;
		*cap = nc;
	}
	(*ids)[(*n)++] = *id;
	return 0;
}

/*
 * Newest first, along first parents back to since, which is never read
 * itself: the commit that adopted a big spool's tasks holds megabytes of
 * trailers. Returns 1 when the line does not lead there (a merge, the
 * root): then the graph is walked.
 */
static int first_parents(git_oid **ids, size_t *n, size_t *cap,
			 git_repository *repo, const git_oid *head,
			 const git_oid *since, size_t max)
{
	git_oid id = *head;
	int rc = 0;

	while (*n < max && rc == 0 && !git_oid_equal(&id, since)) {
		git_commit *commit = NULL;
		if (git_commit_lookup(&commit, repo, &id) < 0) {
			git_error_clear();
			return 1;
		}
		if (git_commit_parentcount(commit) != 1) {
			git_commit_free(commit);
			return 1;
		}
		rc = push_id(ids, n, cap, &id);
		git_oid_cpy(&id, git_commit_parent_id(commit, 0));
		git_commit_free(commit);
	}
	return rc;
}

/* Returns 1 for a since that is not a commit: history was rewritten. */
static int walk_graph(git_oid **ids, size_t *n, size_t *cap,
		      git_repository *repo, const git_oid *head,
		      const git_oid *since, size_t max)
{
	git_revwalk *walk = NULL;
	git_oid id;
	int rc = 0;

	if (git_revwalk_new(&walk, repo) < 0)
		return spool_error_git("cannot walk the history");
	git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL);
	if (git_revwalk_push(walk, head) < 0 ||
	    git_revwalk_hide(walk, since) < 0) {
		git_revwalk_free(walk);
		git_error_clear();
		return 1;
	}
	/* Newest first; the newest max are kept. */
	while (*n < max && rc == 0 && git_revwalk_next(&id, walk) == 0)
		rc = push_id(ids, n, cap, &id);
	git_revwalk_free(walk);
	return rc;
}

int spool_journal_since(git_oid *head, spool *sp, const git_oid *since,
			size_t max, spool_journal_fn fn, void *data)
{
	git_repository *repo;
	git_oid *ids = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if ((rc = spool_repo(&repo, sp)) < 0)
		return rc;
	if (git_reference_name_to_id(head, repo, "HEAD") < 0)
		return spool_error_git("cannot read HEAD");
	if (!since || git_oid_is_zero(since) || git_oid_equal(since, head))
		return 0;
	rc = first_parents(&ids, &n, &cap, repo, head, since, max);
	if (rc == 1) {
		n = 0;
		rc = walk_graph(&ids, &n, &cap, repo, head, since, max);
	}
	if (rc == 1) {
		free(ids);
		return 0;	/* an unknown commit: nothing to replay */
	}
	/* Oldest first. */
	while (n-- > 0 && rc == 0) {
		git_commit *commit = NULL;
		if (git_commit_lookup(&commit, repo, &ids[n]) < 0) {
			rc = spool_error_git("cannot read a commit");
			break;
		}
		rc = spool_journal_parse(git_commit_message(commit), fn, data);
		git_commit_free(commit);
	}
	free(ids);
	return rc;
}
