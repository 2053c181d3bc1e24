/* Maps of task ids to their locations at HEAD and on disk. */
#ifndef SPOOL_SNAPSHOT_H
#define SPOOL_SNAPSHOT_H

#include <stddef.h>
#include <git2.h>
#include "state.h"
#include "root.h"

#define SPOOL_MAP_COPIES 4

typedef struct {
	char id[SPOOL_ID_MAX + 1];
	int16_t head;			/* dir index at HEAD, or -1 */
	uint8_t ndisk;			/* copies on disk (may exceed 4) */
	int16_t disk[SPOOL_MAP_COPIES];	/* dir indexes on disk */
} spool_map_entry;

typedef struct {
	spool_map_entry *slots;
	size_t cap, n;
	spool_loc *dirs;
	size_t ndirs, capdirs;
} spool_map;

/* Called for a directory entry that is not a task file. */
typedef int (*spool_map_visit)(void *data, const spool_loc *dir,
			       const char *name);

int spool_map_new(spool_map **out);
void spool_map_free(spool_map *m);
int spool_map_dir(spool_map *m, const spool_loc *loc);
int spool_map_get(spool_map_entry **out, spool_map *m, const char *id);
int spool_map_add_head(spool_map *m, git_repository *repo, git_tree *root);
/* Reads HEAD's state directories into libgit2's object cache: the trees
 * the last commit wrote are parsed now, not when the next event comes. */
void spool_map_warm(spool *sp);
int spool_map_add_disk(spool_map *m, spool *sp, spool_map_visit odd,
		       void *data);

#endif
