/* What 'spool ls' shows of a task, cached (see summary.c). */
#ifndef SPOOL_SUMMARY_H
#define SPOOL_SUMMARY_H

#include "spool.h"

typedef struct {
	bool valid;		/* false: the file could not be read */
	spool_priority priority;
	char module[SPOOL_NAME_MAX + 1];
	char assignee[SPOOL_NAME_MAX + 1];
	char title[160];		/* longer titles are cut (UTF-8 safe) */
} spool_summary;

/* Fills out[i] for list[i], reading only the files not in the cache.
 * complete: list is every task on disk (the cache drops the rest). */
int spool_summaries(spool_summary *out, spool *sp, const spool_entry *list,
		    size_t n, bool complete);

#endif
