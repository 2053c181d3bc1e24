/*
 * Accepting a rewritten branch: the files are recorded as they are, in
 * one commit on top of the new HEAD, and recording resumes.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "fsutil.h"
#include "root.h"
#include "branch-accept.h"
#include "branch.h"
#include "history.h"
#include "repo.h"

/* Every versioned name at the top of the spool, on disk or at HEAD. */
static int stage_all(spool_commit *c, spool *sp)
{
	git_tree *base = spool_commit_base(c);
	struct dirent **names = NULL;
	int n, rc = 0;
	char path[PATH_MAX];

	n = scandirat(sp->rootfd, ".", &names, NULL, alphasort);
	if (n < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot read '%s'",
				       sp->root);
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		/* new/ is filed by the next reconcile, as always */
		if (rc == 0 && strcmp(name, ".") && strcmp(name, "..") &&
		    strcmp(name, "new")) {
			snprintf(path, sizeof(path), "%s", name);
			rc = spool_commit_path(c, path);
		}
		free(names[i]);
	}
	free(names);
	for (size_t i = 0; base && rc == 0 && i < git_tree_entrycount(base);
	     i++) {
		const char *name = git_tree_entry_name(
			git_tree_entry_byindex(base, i));
		if (strcmp(name, "new") != 0 &&
		    spool_fs_access(sp, name) < 0)
			rc = spool_commit_path(c, name);
	}
	return rc;
}

int spool_branch_accept(spool_branch_state *was, spool *sp,
			const char *actor)
{
	git_repository *repo;
	spool_commit *c = NULL;
	git_oid head;
	char subject[256], hex[GIT_OID_HEXSZ + 1] = "";
	bool have_head;
	int rc;

	if ((rc = spool_repo(&repo, sp)) < 0)
		return rc;
	have_head = git_reference_name_to_id(&head, repo, "HEAD") == 0;
	git_error_clear();
	if (have_head)
		git_oid_tostr(hex, sizeof(hex), &head);
	if ((rc = spool_branch_state_get(was, sp, hex)) < 0)
		return rc;
	if ((rc = spool_branch_resume(sp, have_head ? &head : NULL)) < 0)
		return rc;
	if (!was->stopped)
		return 0;
	/* The files are the truth: what they say now is recorded as it is,
	 * without judging moves HEAD no longer knows the start of. */
	snprintf(subject, sizeof(subject), "accept %.12s after the branch "
		 "moved from %.12s", have_head ? hex : "nothing", was->seen);
	if ((rc = spool_commit_new(&c, sp)) == 0 &&
	    (rc = stage_all(c, sp)) == 0 &&
	    (rc = spool_commit_subject(c, subject)) == 0)
		rc = spool_commit_write(c, actor);
	spool_commit_free(c);
	return rc;
}
