/* The last error of this thread: a code and a one-line message. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <git2.h>

#include "error.h"

static _Thread_local char msg[1024];
static _Thread_local int code;

static int vset(int c, const char *suffix, const char *fmt, va_list ap)
{
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	if (suffix && n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, ": %s", suffix);
	code = c;
	return c;
}

int spool_error_set(int c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(c, NULL, fmt, ap);
	va_end(ap);
	return c;
}

int spool_error_sys(int c, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vset(c, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
	return c;
}

int spool_error_git(const char *fmt, ...)
{
	/* libgit2 1.5 may return NULL here. */
	const git_error *e = git_error_last();
	va_list ap;

	va_start(ap, fmt);
	vset(SPOOL_ERROR, e && e->message ? e->message : "unknown git error",
	     fmt, ap);
	va_end(ap);
	return SPOOL_ERROR;
}

const char *spool_error_message(void)
{
	return msg;
}

int spool_error_code(void)
{
	return code;
}

void spool_error_clear(void)
{
	msg[0] = '\0';
	code = 0;
}
