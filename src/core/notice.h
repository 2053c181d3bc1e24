/* What the library went on past, told to one receiver (notice.c). */
#ifndef SPOOL_NOTICE_H
#define SPOOL_NOTICE_H

/* What the library went on past, told to one receiver per process (the
 * daemon logs it, spool(1) prints it); nowhere without one (notice.c). */
typedef void (*spool_notice_fn)(const char *msg, void *payload);

void spool_notice_set(spool_notice_fn fn, void *payload);

void spool_notice(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

#endif
