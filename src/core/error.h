/* Error codes and the one-line message of the last failure (error.c). */
#ifndef SPOOL_ERROR_H
#define SPOOL_ERROR_H

/*
 * libspool: the library shared by spool(1) and spoold(8).
 *
 * Conventions, as in libgit2: functions return 0 or a negative SPOOL_E*
 * code and record a one-line message (spool_error_message()); out
 * parameters come first; every _new/_open has a _free that accepts NULL.
 * Nothing in the library prints or exits.
 */

enum {
	SPOOL_OK = 0,
	SPOOL_ERROR = -1,	/* anything else: I/O, git, memory */
	SPOOL_ENOTFOUND = -2,	/* no such task, agent, spool */
	SPOOL_EEXISTS = -3,	/* already there */
	SPOOL_EINVALID = -4,	/* bad input: JSON, names, fields */
	SPOOL_EILLEGAL = -5,	/* the state machine refuses the move */
	SPOOL_ENOWORK = -6,	/* nothing to claim */
	SPOOL_ETIMEOUT = -7,	/* a wait ran out */
	SPOOL_ELOCKED = -8,	/* someone else holds the lock */
	SPOOL_ERACE = -9,	/* lost a race; the caller may retry */
	SPOOL_ESTOPPED = -10	/* not recording: branch rewritten */
};

/* Records a message (printf-style) and returns code. */
int spool_error_set(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Same, with ": strerror(errno)" appended. errno is preserved. */
int spool_error_sys(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Records the last libgit2 error (which may be absent) after fmt. */
int spool_error_git(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

const char *spool_error_message(void);

int spool_error_code(void);

void spool_error_clear(void);

#endif
