/* spool daemon start|stop|status: run spoold in the background, stop it,
 * say whether it runs. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "root.h"
#include "cmd.h"

/* True if a spoold holds .spool/run/daemon.pid; *pid is the one in it. */
static bool running(spool *sp, long *pid)
{
	char buf[32];
	ssize_t n;
	bool held;
	int fd;

	*pid = 0;
	fd = spool_fs_open(sp, ".spool/run/daemon.pid",
		    O_RDONLY, 0);
	if (fd < 0)
		return false;
	held = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	if (held && (n = pread(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		*pid = strtol(buf, NULL, 10);
	}
	close(fd);
	return held;
}

/* spoold next to this spool binary, else on PATH. */
static void spoold_path(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/'))) {
			*slash = '\0';
			snprintf(buf, len, "%s/spoold", self);
			if (access(buf, X_OK) == 0)
				return;
		}
	}
	snprintf(buf, len, "spoold");
}

static int start(const struct cmd_entry *self, spool *sp, const char *level,
		 bool json)
{
	char path[PATH_MAX];
	char *argv[8];
	long pid;
	int status, i = 0;
	pid_t child;

	if (running(sp, &pid))
		return cmd_error(self, "'%s' is already watched by spoold "
				 "(pid %ld)", spool_root(sp), pid);
	spoold_path(path, sizeof(path));
	argv[i++] = path;
	argv[i++] = "-C";
	argv[i++] = (char *)spool_root(sp);
	argv[i++] = "--detach";
	if (level) {
		argv[i++] = "--log-level";
		argv[i++] = (char *)level;
	}
	argv[i] = NULL;
	fflush(NULL);
	if ((child = fork()) < 0)
		return cmd_error(self, "cannot fork: %s", strerror(errno));
	if (child == 0) {
		execvp(path, argv);
		fprintf(stderr, "spool: daemon: cannot run '%s': %s\n", path,
			strerror(errno));
		_exit(127);
	}
	/* spoold --detach returns once the daemon watches. */
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return EXIT_ERROR;
	running(sp, &pid);
	if (json) {
		json_t *o = json_pack("{s:b, s:I}", "running", 1,
				      "pid", (json_int_t)pid);
		cmd_print_json(o);
		json_decref(o);
	} else {
		printf("spoold started (pid %ld); log in "
		       "%s/.spool/run/spoold.log\n", pid, spool_root(sp));
	}
	return EXIT_OK;
}

static int stop(const struct cmd_entry *self, spool *sp, long timeout_ms,
		bool json)
{
	struct timespec t0, now;
	long pid;

	if (!running(sp, &pid)) {
		if (json)
			cmd_print_json(json_pack("{s:b}", "running", 0));
		else
			printf("spoold is not running\n");
		return EXIT_OK;
	}
	if (pid <= 0 || kill((pid_t)pid, SIGTERM) < 0)
		return cmd_error(self, "cannot signal spoold (pid %ld): %s",
				 pid, strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long p2;
		/* The lock goes first, then the process. */
		if (!running(sp, &p2) &&
		    (kill((pid_t)pid, 0) < 0 && errno == ESRCH))
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - t0.tv_sec) * 1000 +
		    (now.tv_nsec - t0.tv_nsec) / 1000000 > timeout_ms) {
			fprintf(stderr, "spool: daemon: spoold (pid %ld) did "
				"not stop within %ldms\n", pid, timeout_ms);
			return EXIT_TIMEOUT;
		}
		usleep(10000);	/* a bounded wait for one process to exit */
	}
	if (json) {
		json_t *o = json_pack("{s:b, s:I}", "running", 0,
				      "stopped", (json_int_t)pid);
		cmd_print_json(o);
		json_decref(o);
	} else {
		printf("spoold (pid %ld) stopped\n", pid);
	}
	return EXIT_OK;
}

static int status(spool *sp, bool json)
{
	long pid;
	bool up = running(sp, &pid);

	if (json) {
		json_t *o = up ? json_pack("{s:b, s:I, s:s}", "running", 1,
					   "pid", (json_int_t)pid, "dir",
					   spool_root(sp))
			       : json_pack("{s:b, s:s}", "running", 0, "dir",
					   spool_root(sp));
		cmd_print_json(o);
		json_decref(o);
	} else if (up) {
		printf("spoold is running (pid %ld)\n", pid);
	} else {
		printf("spoold is not running\n");
	}
	return up ? EXIT_OK : EXIT_ERROR;
}

static int cmd_daemon_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			   int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *level = NULL, *what;
	long timeout_ms = 10000;
	bool json = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "jl:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'l': level = optarg; break;
		case 't': {
			char *end;
			double s = strtod(optarg, &end);
			if (*end || !(s >= 0) || s > 86400)
				return cmd_bad_value(self, "--timeout wants "
					"seconds, not '%s'", optarg);
			timeout_ms = (long)(s * 1000);
			break;
		}
		case 'h': cmd_print_help(stdout, self); return EXIT_OK;
		default: return cmd_bad_option(self, argv);
		}
	}
	if (optind + 1 != argc)
		return cmd_usage(self);
	what = argv[optind];
	if (strcmp(what, "start") && strcmp(what, "stop") &&
	    strcmp(what, "status"))
		return cmd_usage(self);
	if ((rc = cmd_open(self, ctx)) != 0)
		return rc;
	if (strcmp(what, "start") == 0)
		return start(self, ctx->sp, level, json);
	if (strcmp(what, "stop") == 0)
		return stop(self, ctx->sp, timeout_ms, json);
	return status(ctx->sp, json);
}

const struct cmd_entry cmd_daemon_entry = {
	.name = "daemon",
	.usage = "start|stop|status [--json] [--log-level L] [--timeout S]",
	.summary = "start spoold in the background, stop it, or say whether "
		   "it runs",
	.help = "start runs 'spoold --detach' and returns once it watches the "
		"spool (its log is\n.spool/run/spoold.log). stop sends SIGTERM "
		"and waits (--timeout, 10s; exit 4\nif it did not stop). status "
		"exits 0 when spoold runs, 1 when it does not.\nUnder systemd, "
		"run spoold in the foreground instead (docs/daemon.md).\n",
	.exec = cmd_daemon_exec,
};
