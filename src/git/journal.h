/*
 * The journal: the transitions recorded in git read back in order, from a
 * place in the history, for the daemon that runs hooks from them.
 */
#ifndef SPOOL_JOURNAL_H
#define SPOOL_JOURNAL_H

#include <stddef.h>
#include <git2.h>
#include "root.h"
#include "history.h"

/* A place in the history: after the first k transitions of commit, or
 * after all of them when k is SPOOL_JPOS_ALL. A zero commit is before
 * the first commit. */
typedef struct {
	git_oid commit;
	size_t k;
} spool_jpos;

#define SPOOL_JPOS_ALL SIZE_MAX

/* "<commit>" or "<commit>:<k>", as spool events prints cursors; "" for
 * the beginning. */
void spool_jpos_format(char *buf, size_t len, const spool_jpos *pos);
/* Parses what spool_jpos_format wrote; SPOOL_EINVALID otherwise. */
int spool_jpos_parse(spool_jpos *out, const char *s);

/* Return > 0 to stop the read there (returned as is), < 0 for an error. */
typedef int (*spool_journal_fn)(void *data, const spool_transition *t,
				const spool_jpos *after);

/*
 * Calls fn for every transition recorded after *pos up to HEAD, oldest
 * first along first parents (the graph when they do not lead there), and
 * moves *pos past each one read and each commit without transitions. A
 * zero *pos starts at the first commit. At most max commits are read, the
 * newest. Once all is read *pos is HEAD, also when HEAD moved back; a
 * commit the history does not hold (rewritten) moves *pos to HEAD
 * without reading anything.
 */
int spool_journal_since(spool_jpos *pos, spool *sp, size_t max,
			spool_journal_fn fn, void *data);

#endif
