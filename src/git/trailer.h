/*
 * The Spool-* trailers: how a commit message records its transitions.
 * The one place they are written and read, by history.c (write), the
 * history read back for events, log and the history index, and the
 * daemon's journal that runs hooks.
 *
 * A message is a subject line, an optional body of free text and, as its
 * final paragraph, one group of trailers per transition:
 *
 *	claim T-0001 by devbot
 *
 *	    free text, every line indented
 *
 *	Spool-Task: T-0001
 *	Spool-From: ready
 *	Spool-To: claimed/devbot
 *	Spool-Agent: devbot
 *	Spool-Verb: claim
 *	Spool-Attempt: 1
 *	Spool-Note: one line
 *
 * Reading takes the final trailer block exactly as git interpret-trailers
 * does (libgit2's git_message_trailers), so what plain git shows and what
 * spool reads agree. Nothing a user wrote can end up in that block: the
 * body is indented and kept apart from it, and every value is folded
 * onto one line.
 */
#ifndef SPOOL_TRAILER_H
#define SPOOL_TRAILER_H

#include <stddef.h>
#include <git2.h>

#include "history.h"

/*
 * Writes the message for n transitions into *out (malloc'd). subject is
 * folded onto one line ("update" if empty); body (may be NULL) is free
 * text, kept line by line but indented. Every transition needs a name
 * without '/' (its id, or the file name of what was quarantined; folded
 * as a value), a verb, and agents' places with valid agent names, or
 * SPOOL_EINVALID.
 */
int spool_trailer_encode(char **out, const char *subject, const char *body,
			 const spool_transition *t, size_t n);

/*
 * Calls fn for each transition in msg's final trailer block, in order
 * (only those of task id, if id is not NULL): index counts every
 * transition from 0, count is how many there are. A group is the run of
 * Spool-* trailers from a Spool-Task to the next; one that lacks a key,
 * repeats one or holds a value that does not parse is not a transition
 * and is skipped. Unknown Spool-* keys are ignored. A commit of one
 * transition written before Spool-Note was always written keeps its note
 * in the body: it is read from there, as text only. fn returns non-zero
 * to stop (returned as is). Needs libgit2 initialised.
 */
typedef int (*spool_trailer_fn)(void *data, const spool_transition *t,
				size_t index, size_t count);
int spool_trailer_foreach(const char *msg, const char *id,
			  spool_trailer_fn fn, void *data);

/* How many transitions msg records (0 when it cannot be read). */
size_t spool_trailer_count(const char *msg);

/*
 * Free text as a trailer value: control characters and runs of white
 * space become one space, the ends are trimmed, bytes that are not UTF-8
 * become '?', and it is cut to fit len at a character boundary.
 */
void spool_trailer_value(char *dst, size_t len, const char *src);

#endif
