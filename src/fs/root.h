/* The open spool: its root directory, its config (root.c). */
#ifndef SPOOL_ROOT_H
#define SPOOL_ROOT_H

#include <stddef.h>
#include <stdbool.h>
#include <sys/types.h>
#include <stdint.h>
#include <jansson.h>
#include <git2.h>

#include "state.h"

typedef struct spool spool;

/*
 * Opens the spool at dir; NULL means $SPOOL_DIR, else the current
 * directory or the nearest parent that holds .spool/config.json.
 */
int spool_open(spool **out, const char *dir);

void spool_free(spool *sp);

const char *spool_root(const spool *sp);

int spool_rootfd(const spool *sp);

/* The parsed .spool/config.json (borrowed). */
json_t *spool_config(const spool *sp);

int spool_config_reload(spool *sp);

/* Config accessors with the documented defaults. */
long spool_config_lease(const spool *sp);

long spool_config_max_attempts(const spool *sp);

/* The sizes the spool takes in ("limits" in .spool/config.json). Each
 * is checked with fstat() on the opened file, by its apparent size,
 * before a byte of it is read. */
typedef struct {
	int64_t task_bytes;		/* a task file */
	int64_t file_bytes;		/* one file of a deliverable */
	int64_t submission_bytes;	/* all the files of a deliverable */
	int64_t submission_files;	/* how many files one may hold */
} spool_limits;

void spool_config_limits(spool_limits *out, const spool *sp);

/* limits.task_bytes, for a read of a task file. */
size_t spool_task_max(const spool *sp);

/* Internals shared by the library's files; not part of the API. */

struct spool {
	char *root;		/* absolute path */
	int rootfd;		/* O_PATH|O_DIRECTORY on root */
	json_t *config;
	git_repository *repo;	/* opened on first use */
	git_odb *blobs;		/* repo.c: where new blobs are written */
	struct spool_held *held;	/* fsutil.c: directories held open */
	int lockfd;		/* -1 when not held */
	int lock_depth;
	void *select_idx;	/* select.c's index, loaded on first use */
	void (*select_free)(spool *sp);	/* set with it */
	bool ids_cached;	/* ids.c: the archive's highest id number */
	int64_t ids_stamp;	/* archive/'s ctime when it was read */
	long ids_archived;
	char ids_prefix[SPOOL_ID_MAX + 1];
	bool caller_set;	/* shared.c: the verified caller */
	uid_t caller;
};

#endif
