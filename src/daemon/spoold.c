/*
 * spoold(8): watches a spool, records every transition in git, polices
 * the protocol, expires leases, retries, runs checks and hooks.
 *
 *   spoold [-C DIR] [--detach] [--log-level debug|info|warn|error]
 *
 * One daemon per spool: .spool/run/daemon.pid is locked (flock) for the
 * daemon's lifetime, so a second one is refused with the holder's pid and
 * a lock left by a killed daemon is free again at once. The git writer
 * lock (.spool/run/lock) is taken per batch, so spool(1) keeps working.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "notice.h"
#include "root.h"
#include "daemon.h"

int daemon_log_level = LOG_INFO_;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void dlog(int level, const char *fmt, ...)
{
	char ts[40], msg[2048];
	struct timeval tv;
	struct tm tm;
	va_list ap;

	if (level < daemon_log_level)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s.%03dZ spoold[%d] %s: %s\n", ts,
		(int)(tv.tv_usec / 1000), (int)getpid(), level_names[level],
		msg);
}

/* What the library went on past (a name git refuses, left out). */
static void notice_to_log(const char *msg, void *payload)
{
	(void)payload;
	WARN("%s", msg);
}

static void usage(FILE *fp)
{
	fprintf(fp, "usage: spoold [-C DIR] [--detach] "
		"[--log-level debug|info|warn|error]\n\n"
		"Watches the spool (-C, $SPOOL_DIR or the current directory), "
		"records every\ntransition in git, reverts illegal moves, "
		"expires leases, retries, runs\nacceptance checks and hooks. "
		"Runs in the foreground (for systemd) unless\n--detach; logs "
		"to stderr (with --detach, to .spool/run/spoold.log).\n"
		"SIGTERM finishes the current batch and exits; SIGHUP reloads "
		".spool/config.json.\n");
}

/* Takes .spool/run/daemon.pid; on refusal says who holds it. */
static int take_daemon_lock(spool *sp)
{
	char pid[32] = "";
	int fd;

	mkdirat(spool_rootfd(sp), ".spool/run", 0777);
	fd = openat(spool_rootfd(sp), ".spool/run/daemon.pid",
		    O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot open "
				       "'.spool/run/daemon.pid'");
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
		close(fd);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		if (errno == EWOULDBLOCK)
			return spool_error_set(SPOOL_ELOCKED, "'%s' is already "
				"watched by spoold (pid %s); stop it with "
				"'spool daemon stop'", spool_root(sp),
				*pid ? pid : "unknown");
		return spool_error_sys(SPOOL_ERROR, "cannot lock "
				       "'.spool/run/daemon.pid'");
	}
	return fd;
}

static void write_pid(int fd)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, strlen(pid), 0) < 0)
		WARN("cannot write '.spool/run/daemon.pid': %s",
		     strerror(errno));
}

/* --detach: the parent returns once the child watches (or says why it
 * could not). */
static int detach(spool *sp, int *ready_fd)
{
	int p[2], logfd;
	char buf[1];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot make a pipe");
	pid = fork();
	if (pid < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot fork");
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], buf, 1) == 1)
			_exit(0);
		fprintf(stderr, "spoold: the daemon did not start; see "
			"%s/.spool/run/spoold.log\n", spool_root(sp));
		_exit(1);
	}
	close(p[0]);
	setsid();
	if (fork() > 0)
		_exit(0);
	logfd = openat(spool_rootfd(sp), ".spool/run/spoold.log",
		       O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd >= 0) {
		dup2(logfd, 2);
		close(logfd);
	}
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		close(null);
	}
	*ready_fd = p[1];
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "directory", required_argument, NULL, 'C' },
		{ "detach", no_argument, NULL, 'd' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct daemon d;
	const char *dir = NULL;
	bool bg = false;
	int c, rc, ready_fd = -1;

	while ((c = getopt_long(argc, argv, "C:dl:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			dir = optarg;
			break;
		case 'd':
			bg = true;
			break;
		case 'l':
			daemon_log_level = -1;
			for (int i = 0; i < 4; i++)
				if (strcmp(optarg, level_names[i]) == 0)
					daemon_log_level = i;
			if (daemon_log_level < 0) {
				fprintf(stderr, "spoold: --log-level is debug, "
					"info, warn or error\n");
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("spoold %s\n", SPOOL_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	memset(&d, 0, sizeof(d));
	d.servefd = -1;
	d.sigfd = d.timerfd = d.epfd = d.lockfd = -1;
	d.wt.fd = -1;
	if ((rc = spool_open(&d.sp, dir)) < 0) {
		fprintf(stderr, "spoold: %s\n", spool_error_message());
		return 1;
	}
	spool_notice_set(notice_to_log, NULL);
	/* The daemon keeps the big directory trees it reads in memory. */
	git_libgit2_init();
	git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE,
			 (size_t)8 << 20);
	git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, (ssize_t)8 << 20);
	/* Packs are read through small windows: memory stays flat as the
	 * history grows. */
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, (size_t)1 << 20);
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, (size_t)8 << 20);
	if ((d.lockfd = take_daemon_lock(d.sp)) < 0) {
		fprintf(stderr, "spoold: %s\n", spool_error_message());
		spool_free(d.sp);
		return 1;
	}
	if (bg && detach(d.sp, &ready_fd) < 0) {
		fprintf(stderr, "spoold: %s\n", spool_error_message());
		return 1;
	}
	write_pid(d.lockfd);
	INFO("spoold %s starting in %s", SPOOL_VERSION, spool_root(d.sp));
	rc = daemon_run(&d, ready_fd);
	if (rc < 0)
		ERROR("%s", spool_error_message());
	daemon_free(&d);
	spool_free(d.sp);
	git_libgit2_shutdown();
	if (ftruncate(d.lockfd, 0) < 0) {
		/* the pid is only informational */
	}
	close(d.lockfd);
	INFO("stopped");
	return rc < 0 ? 1 : 0;
}
