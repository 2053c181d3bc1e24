/*
 * Notices: what the library saw and went on past (a name git refuses left
 * out of a commit), for the program to tell its user or its log. The
 * library never prints; without a receiver a notice goes nowhere.
 */
#include <stdarg.h>
#include <stdio.h>

#include "notice.h"

static spool_notice_fn receiver;
static void *receiver_payload;

void spool_notice_set(spool_notice_fn fn, void *payload)
{
	receiver = fn;
	receiver_payload = payload;
}

void spool_notice(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!receiver)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	receiver(msg, receiver_payload);
}

static spool_progress_fn progress_fn;
static void *progress_payload;

void spool_progress_set(spool_progress_fn fn, void *payload)
{
	progress_fn = fn;
	progress_payload = payload;
}

void spool_progress(const char *what, size_t done, size_t total)
{
	if (progress_fn)
		progress_fn(what, done, total, progress_payload);
}
