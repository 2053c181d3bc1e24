/* A task as a commit's tree holds it (tree-task.c). */
#ifndef SPOOL_TREE_TASK_H
#define SPOOL_TREE_TASK_H

#include <jansson.h>
#include <git2.h>
#include "root.h"

/* The task id that tree holds at path, parsed; SPOOL_ENOTFOUND if the
 * tree has no file there. */
int spool_tree_task(json_t **out, spool *sp, git_tree *tree,
		    const char *path, const char *id);

#endif
