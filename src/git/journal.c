/*
 * The history read back for the daemon: the transitions recorded in
 * commits, from their Spool-* trailers (trailer.c), from a place in the
 * history on. The daemon runs hooks from here, so a transition made by
 * spool(1), by the daemon itself or while the daemon was down wakes
 * agents the same way, once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "root.h"
#include "history.h"
#include "journal.h"
#include "repo.h"
#include "trailer.h"

void spool_jpos_format(char *buf, size_t len, const spool_jpos *pos)
{
	char hex[GIT_OID_HEXSZ + 1];

	if (git_oid_is_zero(&pos->commit)) {
		snprintf(buf, len, "%s", "");
		return;
	}
	git_oid_tostr(hex, sizeof(hex), &pos->commit);
	if (pos->k == SPOOL_JPOS_ALL)
		snprintf(buf, len, "%s", hex);
	else
		snprintf(buf, len, "%s:%zu", hex, pos->k);
}

int spool_jpos_parse(spool_jpos *out, const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");
	char *end;

	memset(out, 0, sizeof(*out));
	out->k = SPOOL_JPOS_ALL;
	if (!*s)
		return 0;
	if (n != GIT_OID_HEXSZ || git_oid_fromstrn(&out->commit, s, n) < 0)
		goto bad;
	if (!s[n])
		return 0;
	if (s[n] != ':' || s[n + 1] < '0' || s[n + 1] > '9')
		goto bad;
	out->k = (size_t)strtoull(s + n + 1, &end, 10);
	if (!*end && out->k != SPOOL_JPOS_ALL)
		return 0;
bad:
	memset(out, 0, sizeof(*out));
	return spool_error_set(SPOOL_EINVALID, "'%s' is not a place in the "
			       "history (COMMIT or COMMIT:N)", s);
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
 * trailers. Without since, back to the first commit. Returns 1 when the
 * line does not lead there (a merge, another root): then the graph is
 * walked.
 */
static int first_parents(git_oid **ids, size_t *n, size_t *cap,
			 git_repository *repo, const git_oid *head,
			 const git_oid *since, size_t max)
{
	git_oid id = *head;
	int rc = 0;

	while (*n < max && rc == 0 && !(since && git_oid_equal(&id, since))) {
		git_commit *commit = NULL;
		unsigned parents;
		if (git_commit_lookup(&commit, repo, &id) < 0) {
			git_error_clear();
			return 1;
		}
		parents = git_commit_parentcount(commit);
		if (parents > 1) {
			git_commit_free(commit);
			return 1;
		}
		rc = push_id(ids, n, cap, &id);
		if (parents == 1)
			git_oid_cpy(&id, git_commit_parent_id(commit, 0));
		git_commit_free(commit);
		if (parents == 0)
			return since ? 1 : rc;
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
	    (since && git_revwalk_hide(walk, since) < 0)) {
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

struct reader {
	spool_jpos *pos;
	const git_oid *id;
	size_t skip;
	spool_journal_fn fn;
	void *data;
};

static int read_one(void *data, const spool_transition *t, size_t index,
		    size_t count)
{
	struct reader *r = data;
	spool_jpos after;
	int rc;

	if (index < r->skip)
		return 0;
	git_oid_cpy(&after.commit, r->id);
	after.k = index + 1 == count ? SPOOL_JPOS_ALL : index + 1;
	if ((rc = r->fn(r->data, t, &after)) == 0)
		*r->pos = after;
	return rc;
}

/* The transitions of one commit from skip on; *pos past each. */
static int read_commit(spool_jpos *pos, git_repository *repo,
		       const git_oid *id, size_t skip, spool_journal_fn fn,
		       void *data)
{
	struct reader r = { pos, id, skip, fn, data };
	git_commit *commit = NULL;
	int rc;

	if (git_commit_lookup(&commit, repo, id) < 0)
		return spool_error_git("cannot read a commit");
	rc = spool_trailer_foreach(git_commit_message(commit), NULL,
				   read_one, &r);
	git_commit_free(commit);
	if (rc == 0) {
		git_oid_cpy(&pos->commit, id);
		pos->k = SPOOL_JPOS_ALL;
	}
	return rc;
}

int spool_journal_since(spool_jpos *pos, spool *sp, size_t max,
			spool_journal_fn fn, void *data)
{
	git_repository *repo;
	git_oid head, *ids = NULL;
	const git_oid *since = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if ((rc = spool_repo(&repo, sp)) < 0)
		return rc;
	if ((rc = git_reference_name_to_id(&head, repo, "HEAD")) < 0) {
		if (rc != GIT_ENOTFOUND && rc != GIT_EUNBORNBRANCH)
			return spool_error_git("cannot read HEAD");
		git_error_clear();	/* no commit yet: nothing to read */
		return 0;
	}
	if (!git_oid_is_zero(&pos->commit))
		since = &pos->commit;
	if (since && pos->k == SPOOL_JPOS_ALL && git_oid_equal(since, &head))
		return 0;
	rc = first_parents(&ids, &n, &cap, repo, &head, since, max);
	if (rc == 1) {
		n = 0;
		rc = walk_graph(&ids, &n, &cap, repo, &head, since, max);
	}
	if (rc == 1) {
		/* a commit the history does not hold: nothing to read */
		free(ids);
		git_oid_cpy(&pos->commit, &head);
		pos->k = SPOOL_JPOS_ALL;
		return 0;
	}
	/* The rest of a commit read in part, then the newer ones. */
	if (rc == 0 && since && pos->k != SPOOL_JPOS_ALL) {
		git_oid part = pos->commit;
		rc = read_commit(pos, repo, &part, pos->k, fn, data);
	}
	while (n-- > 0 && rc == 0)
		rc = read_commit(pos, repo, &ids[n], 0, fn, data);
	free(ids);
	if (rc == 0) {
		/* all read; HEAD may also have moved back (a reset) */
		git_oid_cpy(&pos->commit, &head);
		pos->k = SPOOL_JPOS_ALL;
	}
	return rc;
}
