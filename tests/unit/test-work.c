/* Unit tests for the runner's process handling (src/spool/work.c): how a
 * command ended, the capped log, the timeout with SIGKILL after the
 * grace period, a stop asked through the stop descriptor, a command that
 * cannot start, the group killed on the way out, the environment and
 * the words a release's reason uses. Real processes, no spool. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "work.h"

static char logpath[4096];

static int run_sh(spool_work_outcome *o, const char *script, size_t log_max,
		  long timeout_ms, int stopfd)
{
	char *argv[] = { "sh", "-c", (char *)script, NULL };
	spool_work_cmd c = { .argv = argv, .dir = "/", .log_max = log_max,
			     .timeout_ms = timeout_ms, .grace_ms = 100,
			     .stopfd = stopfd };
	int rc;

	c.logfd = open(logpath, O_WRONLY | O_TRUNC | O_CLOEXEC);
	assert_true(c.logfd >= 0);
	rc = spool_work_exec(o, &c);
	close(c.logfd);
	return rc;
}

static char *slurp(void)
{
	static char buf[65536];
	int fd = open(logpath, O_RDONLY);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);

	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* Whether pid is dead (gone, or a zombie left for init to reap),
 * waiting up to 5 s for a SIGKILL to take effect. */
static bool gone(long pid)
{
	char path[64], buf[512], *p;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	for (int i = 0; i < 500; i++) {
		if (!(fp = fopen(path, "r")))
			return true;
		p = fgets(buf, sizeof(buf), fp);
		fclose(fp);
		if (!p || !(p = strrchr(buf, ')')) || p[2] == 'Z' ||
		    p[2] == 'X')
			return true;
		usleep(10000);
	}
	return false;
}

static void test_exit_status(void **state)
{
	spool_work_outcome o;

	(void)state;
	assert_int_equal(run_sh(&o, "echo out; echo err >&2; exit 3", 1024,
				0, -1), 0);
	assert_int_equal(o.end, SPOOL_WORK_EXITED);
	assert_int_equal(o.status, 3);
	assert_string_equal(slurp(), "out\nerr\n");
	assert_int_equal(o.log_bytes, 8);
	assert_int_equal(o.log_dropped, 0);
}

static void test_signal(void **state)
{
	spool_work_outcome o;
	char why[128];

	(void)state;
	assert_int_equal(run_sh(&o, "kill -KILL $$", 1024, 0, -1), 0);
	assert_int_equal(o.end, SPOOL_WORK_SIGNALED);
	assert_int_equal(o.status, SIGKILL);
	spool_work_describe(why, sizeof(why), &o, 0);
	assert_string_equal(why, "killed by signal 9 (SIGKILL)");
}

static void test_log_cap(void **state)
{
	spool_work_outcome o;

	(void)state;
	assert_int_equal(run_sh(&o, "head -c 300000 /dev/zero", 1000, 0, -1),
			 0);
	assert_int_equal(o.end, SPOOL_WORK_EXITED);
	assert_int_equal(o.status, 0);
	assert_int_equal(o.log_bytes, 1000);
	assert_int_equal(o.log_dropped, 299000);
}

/* A command that ignores SIGTERM, with a grandchild that does too: both
 * are gone when spool_work_exec returns. */
static void test_timeout_kills_group(void **state)
{
	spool_work_outcome o;
	char why[160];
	long pid;

	(void)state;
	assert_int_equal(run_sh(&o, "trap '' TERM; sleep 100 & echo $!; wait",
				1024, 200, -1), 0);
	assert_int_equal(o.end, SPOOL_WORK_TIMED_OUT);
	assert_true(o.killed);
	pid = strtol(slurp(), NULL, 10);
	assert_true(pid > 0);
	assert_true(gone(pid));
	spool_work_describe(why, sizeof(why), &o, 200);
	assert_string_equal(why, "timed out after 1s; killed with SIGKILL "
			    "after the grace period");
}

static void test_stop(void **state)
{
	struct signalfd_siginfo si;
	spool_work_outcome o;
	char why[128];
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	memset(&si, 0, sizeof(si));
	si.ssi_signo = SIGTERM;
	assert_int_equal(write(p[1], &si, sizeof(si)), (ssize_t)sizeof(si));
	assert_int_equal(run_sh(&o, "sleep 100", 1024, 0, p[0]), 0);
	assert_int_equal(o.end, SPOOL_WORK_STOPPED);
	assert_int_equal(o.stop_signal, SIGTERM);
	assert_false(o.killed);		/* sleep obeys SIGTERM */
	spool_work_describe(why, sizeof(why), &o, 0);
	assert_string_equal(why, "stopped: the runner got SIGTERM");
	close(p[0]);
	close(p[1]);
}

static void test_cannot_start(void **state)
{
	char *argv[] = { "/nonexistent/command", NULL };
	spool_work_cmd c = { .argv = argv, .log_max = 1024, .stopfd = -1 };
	spool_work_outcome o;

	(void)state;
	c.logfd = open(logpath, O_WRONLY | O_TRUNC | O_CLOEXEC);
	assert_int_equal(spool_work_exec(&o, &c), 0);
	close(c.logfd);
	assert_int_equal(o.end, SPOOL_WORK_EXITED);
	assert_int_equal(o.status, 127);
	assert_non_null(strstr(slurp(), "cannot run '/nonexistent/command'"));
}

/* Background jobs left by a command that exited are killed with it. */
static void test_leftovers_killed(void **state)
{
	spool_work_outcome o;
	long pid;

	(void)state;
	assert_int_equal(run_sh(&o, "sleep 100 & echo $!", 1024, 0, -1), 0);
	assert_int_equal(o.end, SPOOL_WORK_EXITED);
	pid = strtol(slurp(), NULL, 10);
	assert_true(pid > 0);
	assert_true(gone(pid));
}

static void test_guard(void **state)
{
	spool_guard *g = NULL;

	(void)state;
	assert_int_equal(spool_guard_start(&g), 0);
	assert_non_null(g);
	assert_int_equal(spool_guard_set(g, 0), 0);
	spool_guard_free(g);
	spool_guard_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_signal),
		cmocka_unit_test(test_log_cap),
		cmocka_unit_test(test_timeout_kills_group),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_cannot_start),
		cmocka_unit_test(test_leftovers_killed),
		cmocka_unit_test(test_guard),
	};
	const char *tmp = getenv("TMPDIR");
	int fd, rc;

	snprintf(logpath, sizeof(logpath), "%s/spool-unit-work.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if ((fd = mkstemp(logpath)) < 0)
		return 1;
	close(fd);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(logpath);
	return rc;
}
