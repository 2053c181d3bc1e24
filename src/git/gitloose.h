/* Loose objects written without compression (gitloose.c). */
#ifndef SPOOL_GITLOOSE_H
#define SPOOL_GITLOOSE_H

#include <git2.h>

/* A write-only object backend for objects/ that stores loose objects
 * without compressing them (gitloose.c). */
int spool_odb_stored(git_odb_backend **out, const char *objects);

/* How many of its writes failed so far, and why the last one did. When
 * every backend refuses an object, libgit2 1.5 retries through a stream
 * that ignores write errors and may report success for an object it did
 * not store (seen on a full disk): a commit checks this count instead. */
unsigned spool_odb_failures(const char **why);

#endif
