/* What the library went on past, told to one receiver (notice.c). */
#ifndef SPOOL_NOTICE_H
#define SPOOL_NOTICE_H

#include <stddef.h>

/* What the library went on past, told to one receiver per process (the
 * daemon logs it, spool(1) prints it); nowhere without one (notice.c). */
typedef void (*spool_notice_fn)(const char *msg, void *payload);

void spool_notice_set(spool_notice_fn fn, void *payload);
/* Progress of a long pass (reconcile, filing, archive): done of total
 * under a name, for the program to show on a terminal; called often,
 * so the receiver rate-limits. Nowhere without a receiver. */
typedef void (*spool_progress_fn)(const char *what, size_t done,
				  size_t total, void *payload);
void spool_progress_set(spool_progress_fn fn, void *payload);
void spool_progress(const char *what, size_t done, size_t total);

void spool_notice(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

#endif
