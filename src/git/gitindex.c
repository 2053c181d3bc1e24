/*
 * The spool commits trees directly and never needs git's index, but an
 * operator who types 'git status' in the spool expects it to match HEAD.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "notice.h"
#include "fsutil.h"
#include "root.h"
#include "gitindex.h"
#include "repo.h"

#define SYNCED ".spool/run/index-tree"

int spool_index_sync(spool *sp)
{
	bool behind;

	return spool_index_update(&behind, sp);
}

int spool_index_update(bool *behind, spool *sp)
{
	git_repository *repo;
	git_index *index = NULL;
	git_object *tree = NULL;
	int rc;

	*behind = false;
	if ((rc = spool_repo(&repo, sp)) < 0)
		return rc;
	char hex[GIT_OID_HEXSZ + 2], path[4096];
	char *was = NULL;

	if (git_revparse_single(&tree, repo, "HEAD^{tree}") < 0) {
		git_error_clear();
		return 0;	/* nothing committed yet */
	}
	/* Rebuilding the index costs milliseconds per thousand files: not
	 * again for the tree it already holds. */
	git_oid_tostr(hex, sizeof(hex), git_object_id(tree));
	snprintf(path, sizeof(path), "%sindex", git_repository_path(repo));
	if (spool_fs_read(&was, NULL, sp, SYNCED, 128) == 0 &&
	    strncmp(was, hex, GIT_OID_HEXSZ) == 0 && access(path, F_OK) == 0) {
		free(was);
		git_object_free(tree);
		return 0;
	}
	free(was);
	spool_error_clear();
	/* read_tree keeps the stat data of entries that did not change, so
	 * git status stays quick. Opened apart from the repository, which
	 * would keep it (megabytes in a big spool) for the daemon's life. */
	if (git_index_open(&index, path) < 0 ||
	    git_index_read_tree(index, (git_tree *)tree) < 0 ||
	    git_index_write(index) < 0) {
		/* Only 'git status' reads it: the commit before stands, and
		 * must not be reported failed. A tree of an older spool with
		 * a name git refuses (a nested .git) cannot be in an index
		 * until a commit takes the name out. */
		const git_error *e = git_error_last();
		spool_notice("git's index is not updated: %s",
			     e && e->message ? e->message : "unknown error");
		git_error_clear();
		*behind = true;
	} else if (spool_fs_write(sp, SYNCED, hex, strlen(hex), false) < 0)
		spool_error_clear();	/* only costs a rebuild next time */
	git_index_free(index);
	git_object_free(tree);
	return rc;
}
