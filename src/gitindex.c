/*
 * The spool commits trees directly and never needs git's index, but an
 * operator who types 'git status' in the spool expects it to match HEAD.
 */
#include "spool-int.h"

int spool_index_sync(spool *sp)
{
	git_repository *repo;
	git_index *index = NULL;
	git_object *tree = NULL;
	int rc;

	if ((rc = spool_repo(&repo, sp)) < 0)
		return rc;
	if (git_revparse_single(&tree, repo, "HEAD^{tree}") < 0) {
		git_error_clear();
		return 0;	/* nothing committed yet */
	}
	/* read_tree keeps the stat data of entries that did not change, so
	 * git status stays quick. */
	if (git_repository_index(&index, repo) < 0 ||
	    git_index_read_tree(index, (git_tree *)tree) < 0 ||
	    git_index_write(index) < 0)
		rc = spool_error_git("cannot write the git index");
	git_index_free(index);
	git_object_free(tree);
	return rc;
}
