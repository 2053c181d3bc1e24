/* A task as a commit's tree holds it: what the spool recorded. */
#include "error.h"
#include "task.h"
#include "repo.h"
#include "tree-task.h"

int spool_tree_task(json_t **out, spool *sp, git_tree *tree,
		    const char *path, const char *id)
{
	git_repository *repo;
	git_tree_entry *te = NULL;
	git_blob *blob = NULL;
	int rc;

	*out = NULL;
	if ((rc = spool_repo(&repo, sp)) < 0)
		return rc;
	if (git_tree_entry_bypath(&te, tree, path) < 0 ||
	    git_tree_entry_type(te) != GIT_OBJECT_BLOB) {
		git_tree_entry_free(te);
		git_error_clear();
		return SPOOL_ENOTFOUND;
	}
	if (git_blob_lookup(&blob, repo, git_tree_entry_id(te)) < 0) {
		git_tree_entry_free(te);
		return spool_error_git("cannot read '%s' at HEAD", path);
	}
	rc = spool_task_parse(out, git_blob_rawcontent(blob),
			      (size_t)git_blob_rawsize(blob), path, id);
	git_blob_free(blob);
	git_tree_entry_free(te);
	return rc;
}
