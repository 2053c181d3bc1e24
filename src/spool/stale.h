/* Values the spool wrote before, found again in a task file (stale.c). */
#ifndef SPOOL_STALE_H
#define SPOOL_STALE_H

#include <stdbool.h>
#include <jansson.h>
#include "root.h"

/*
 * Whether every field named in fields ("attempt, lease", as
 * spool_machine_merge lists them) holds in disk a value the spool itself
 * recorded for task id before: in one of its last 32 recorded versions,
 * or, for attempt, in the trailer of one of their transitions (a commit
 * of several steps keeps only the last version in its tree). Only the
 * last 2,000 commits are read: the writes that miss a file are recent.
 *
 * Such a file is not an agent's edit: the spool's writes did not reach
 * it (an agent moved it on while a process recorded its steps from the
 * record, or a killed process's rewrite was undone after a later one was
 * recorded). The recorded values still stand; only no violation is
 * recorded. A field whose value the spool never wrote is an edit; so
 * is every field when the history cannot be read (false, the error
 * cleared): the spool's values stand either way.
 */
bool spool_values_recorded(spool *sp, const char *id, json_t *disk,
			   const char *fields);

#endif
