/* spool wait: block until tasks reach a state, woken by inotify. */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "state.h"
#include "fsutil.h"
#include "root.h"
#include "archive-find.h"
#include "inspect.h"
#include "task-files.h"
#include "cmd.h"

#define DIR_EVENTS (IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | \
		    IN_CLOSE_WRITE | IN_ONLYDIR)

/* Watches every state directory and every claimed/AGENT/. */
static int add_watches(int fd, spool *sp)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int dfd;

	for (int s = 0; s < SPOOL_STATE_COUNT; s++) {
		snprintf(path, sizeof(path), "%s/%s", spool_root(sp),
			 spool_state_name((spool_state)s));
		inotify_add_watch(fd, path, DIR_EVENTS);
	}
	/* The archive dir: archiving removes finished tasks from disk. */
	snprintf(path, sizeof(path), "%s/archive", spool_root(sp));
	inotify_add_watch(fd, path, DIR_EVENTS);
	dfd = spool_fs_open(sp, "claimed", O_RDONLY | O_DIRECTORY, 0);
	if (dfd < 0 || !(d = fdopendir(dfd))) {
		if (dfd >= 0)
			close(dfd);
		return 0;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/claimed/%s", spool_root(sp),
			 de->d_name);
		inotify_add_watch(fd, path, DIR_EVENTS);
	}
	closedir(d);
	return 0;
}

enum { PENDING, REACHED, OTHER };

struct waited {
	const char *id;
	spool_state state;
	char where[128];
	bool archived;
	int status;
};

/* Looks at one task; SPOOL_ENOTFOUND if it is nowhere. */
static int look(struct waited *w, spool *sp, spool_state want)
{
	spool_archived a;
	spool_loc loc;
	int rc;

	w->archived = false;
	rc = spool_task_find(&loc, sp, w->id);
	if (rc == 0 || rc == SPOOL_EEXISTS) {
		w->state = loc.state;
		spool_loc_format(w->where, sizeof(w->where), &loc);
	} else if (rc == SPOOL_ENOTFOUND &&
		   spool_archive_find(&a, NULL, NULL, sp, w->id) == 0) {
		w->state = a.state;
		w->archived = true;
		snprintf(w->where, sizeof(w->where), "%s",
			 spool_state_name(a.state));
	} else {
		return rc < 0 ? rc : SPOOL_ENOTFOUND;
	}
	spool_error_clear();
	if (want == SPOOL_STATE_NONE ? spool_state_terminal(w->state)
				     : w->state == want)
		w->status = REACHED;
	else if (spool_state_terminal(w->state))
		w->status = OTHER;
	else
		w->status = PENDING;
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* One task waited for: one object; several: an array of them. */
static void report(struct waited *ws, int n, bool json)
{
	cmd_jlist out = { 0 };

	for (int i = 0; i < n; i++) {
		if (json) {
			json_t *o = json_pack("{s:s, s:s, s:s, s:b}", "id",
				ws[i].id, "state",
				spool_state_name(ws[i].state), "where",
				ws[i].where, "reached",
				ws[i].status == REACHED);
			const char *slash = strchr(ws[i].where, '/');
			if (ws[i].state == SPOOL_STATE_CLAIMED && slash)
				json_object_set_new(o, "agent",
						    json_string(slash + 1));
			if (ws[i].archived)
				json_object_set_new(o, "archived", json_true());
			if (n == 1)
				cmd_print_json(o);
			else
				cmd_jlist_add(&out, o);
			json_decref(o);
		} else {
			printf("%s %s%s\n", ws[i].id, ws[i].where,
			       ws[i].archived ? " (archived)" : "");
		}
	}
	if (json && n > 1)
		cmd_jlist_end(&out);
	fflush(stdout);
}

static int cmd_wait_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			 int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	spool_state want = SPOOL_STATE_NONE;
	struct waited *ws;
	long timeout = -1, deadline = 0;
	bool json = false;
	int c, rc, n, fd, exit_code = EXIT_OK;

	while ((c = getopt_long(argc, argv, "s:t:jh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			want = spool_state_parse(optarg);
			if (want == SPOOL_STATE_NONE || want == SPOOL_STATE_NEW ||
			    want == SPOOL_STATE_QUARANTINE) {
				fprintf(stderr, "spool: wait: '%s' is not a "
					"state to wait for (blocked, ready, "
					"claimed, review, done, failed, "
					"cancelled)\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 't':
			if (spool_duration_parse(&timeout, optarg) < 0) {
				fprintf(stderr, "spool: wait: %s\n",
					spool_error_message());
				return EXIT_USAGE;
			}
			break;
		case 'j': json = true; break;
		case 'h': cmd_print_help(stdout, self); return EXIT_OK;
		default: return cmd_bad_option(self, argv);
		}
	}
	if (optind >= argc)
		return cmd_usage(self);
	n = argc - optind;
	for (int i = 0; i < n; i++)
		if (!spool_id_valid(argv[optind + i]))
			return cmd_bad_value(self, "'%s' is not a task id",
					     argv[optind + i]);
	if ((rc = cmd_open(self, ctx)) != 0)
		return rc;
	for (int i = 0; i < n; i++)
		if ((rc = cmd_id((const char **)&argv[optind + i], self, ctx,
				 argv[optind + i])) != 0)
			return rc;
	/* n > 0 (checked above); said again for gcc, which loses that
	 * under -fsanitize and warns of a negative size */
	if (!(ws = calloc(n > 0 ? (size_t)n : 1, sizeof(*ws))))
		return cmd_error(self, "out of memory");
	for (int i = 0; i < n; i++)
		ws[i].id = argv[optind + i];
	/* Watch first, then look: a move in between still wakes us. */
	if ((fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) < 0) {
		free(ws);
		return cmd_error(self, "cannot start inotify: %s",
				 strerror(errno));
	}
	add_watches(fd, ctx->sp);
	if (timeout >= 0)
		deadline = now_ms() + timeout * 1000L;
	for (;;) {
		int pending = 0, other = 0, left;
		char buf[4096] __attribute__((aligned(8)));
		struct pollfd p = { .fd = fd, .events = POLLIN };
		for (int i = 0; i < n; i++) {
			if ((rc = look(&ws[i], ctx->sp, want)) ==
			    SPOOL_ENOTFOUND) {
				/* In flight between two places: look again
				 * on the next event; gone for good only if
				 * it was never seen. */
				if (!ws[i].where[0]) {
					close(fd);
					free(ws);
					return cmd_error(self, "no task '%s' in "
						"the spool; 'spool ls' lists "
						"them", argv[optind + i]);
				}
				pending++;
				continue;
			}
			if (rc < 0) {
				close(fd);
				free(ws);
				return cmd_fail(self, rc);
			}
			pending += ws[i].status == PENDING;
			other += ws[i].status == OTHER;
		}
		if (pending == 0) {
			exit_code = other ? EXIT_ERROR : EXIT_OK;
			break;
		}
		left = -1;
		if (timeout >= 0) {
			long ms = deadline - now_ms();
			if (ms <= 0) {
				exit_code = EXIT_TIMEOUT;
				break;
			}
			left = ms > INT_MAX ? INT_MAX : (int)ms;
		}
		rc = poll(&p, 1, left);
		if (rc < 0 && errno != EINTR) {
			close(fd);
			free(ws);
			return cmd_error(self, "cannot wait: %s",
					 strerror(errno));
		}
		/* Drain, and watch agent directories that appeared. */
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		add_watches(fd, ctx->sp);
	}
	close(fd);
	report(ws, n, json);
	if (exit_code == EXIT_TIMEOUT)
		fprintf(stderr, "spool: wait: timed out\n");
	free(ws);
	return exit_code;
}

const struct cmd_entry cmd_wait_entry = {
	.name = "wait",
	.usage = "ID... [--state S] [--timeout SECONDS] [--json]",
	.summary = "block until tasks are finished (or in state S)",
	.help = "Waits, woken by inotify on the state directories (no "
		"polling), until every\ntask is in a terminal state (done, "
		"failed, cancelled), or with --state S, in S.\nThen prints "
		"where each task is. The timeout takes seconds or 30s, 15m, "
		"2h, 1d.\nExit codes: 0 every task reached the state; 1 a task "
		"ended in a terminal state\nother than S (or an error); 4 "
		"timed out.\n--json prints an object for one ID, an array of "
		"them for several.\n",
	.exec = cmd_wait_exec,
};
