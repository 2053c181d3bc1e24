/* Trees written with git's name rules (gittree.c). */
#ifndef SPOOL_GITTREE_H
#define SPOOL_GITTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <git2.h>

/* Writes base (NULL: the empty tree) with the updates applied, like
 * git_tree_create_updated; directories left empty go (gittree.c). */
int spool_tree_update(git_oid *out, git_repository *repo, git_tree *base,
		      size_t n, const git_tree_update *updates);

/* May a tree hold an entry of this name and mode? Not empty, ".", "..",
 * nor ".git" as any file system may read it (".GIT", ".git.", "git~1",
 * HFS+'s ignored code points), nor a link git would read as .gitmodules. */
bool spool_tree_name_valid(const char *name, size_t len,
			   git_filemode_t mode);

#endif
