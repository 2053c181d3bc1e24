/* Packing the loose objects of the history (gitpack.c). */
#ifndef SPOOL_GITPACK_H
#define SPOOL_GITPACK_H

#include <stddef.h>

#include "root.h"

/* An estimate of the loose objects in the repository and of the bytes
 * they take (from a sample; bytes may be NULL). */
size_t spool_loose_estimate(spool *sp, size_t *bytes);

/*
 * Packs the objects reachable from HEAD and not from the commit named in
 * .spool/run/packed into one pack with deltas (libgit2's packbuilder),
 * then deletes the loose copies it holds. Needs no lock: a concurrent
 * writer's new objects stay loose until the next time.
 */
int spool_pack(size_t *packed, spool *sp);

#endif
