/* What 'spool ls' shows of each task, cached (see summary.c). */
#ifndef SPOOL_SUMMARY_H
#define SPOOL_SUMMARY_H

#include <stddef.h>
#include "state.h"
#include "task.h"
#include "root.h"

/* Titles longer than this many bytes are cut (UTF-8 safe). */
#define SPOOL_SUMMARY_TITLE_MAX 159

/* One task of a listing; the strings live as long as the listing. */
typedef struct {
	const char *id;
	const char *where;	/* "ready", "claimed/ann" */
	const spool_loc *loc;
	const char *title;	/* NULL: the file could not be read */
	const char *module;	/* "" when none */
	spool_priority priority;
} spool_lsrow;

typedef struct spool_listing spool_listing;

/*
 * The tasks in state (every state if SPOOL_STATE_NONE; only claimed/AGENT
 * if agent is set), by state, then id (T-9 before T-10). Files unchanged
 * since the last listing, in directories unchanged since, are shown from
 * .spool/run/summary.cache; the rest are read and the cache is updated.
 */
int spool_listing_new(spool_listing **out, spool *sp, spool_state state,
		      const char *agent);
void spool_listing_free(spool_listing *l);
size_t spool_listing_count(const spool_listing *l);
const spool_lsrow *spool_listing_rows(const spool_listing *l);

#endif
