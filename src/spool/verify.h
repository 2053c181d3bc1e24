/* spool verify: the history checked against the table (verify.c). */
#ifndef SPOOL_VERIFY_H
#define SPOOL_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include "root.h"

typedef struct {
	size_t commits, transitions, signed_commits;
	bool bad;		/* a problem was found */
	bool files_differ;	/* it is the files, not a commit */
	char commit[41];	/* the first bad commit */
	char why[512];
} spool_verify_result;

/* Walks the history from its first commit to HEAD; out says whether and
 * where it found the first problem. Fails only when it cannot read. */
int spool_verify(spool_verify_result *out, spool *sp);

#endif
