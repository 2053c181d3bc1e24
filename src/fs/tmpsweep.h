/* What killed writers left in tmp/ (tmpsweep.c). */
#ifndef SPOOL_TMPSWEEP_H
#define SPOOL_TMPSWEEP_H

#include <stddef.h>

#include "root.h"

/*
 * Removes the files in tmp/ that a spool process wrote (their names are
 * those spool_fs_tmpname gives, and hold its pid) and that no running
 * process on this host can still rename: their pid is gone. Anything
 * else in tmp/, such as an agent's task on its way to new/, is left.
 * The count goes to *removed when not NULL. Never fails: a file it
 * cannot remove is left for the next sweep.
 */
void spool_fs_sweep_tmp(size_t *removed, const spool *sp);

#endif
