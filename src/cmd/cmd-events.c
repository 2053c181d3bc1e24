/* spool events: the stream of transitions, resumable by cursor. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "error.h"
#include "root.h"
#include "history-read.h"
#include "repo.h"
#include "cmd.h"

struct ev_ctx {
	spool *sp;
	long limit;	/* 0: no limit */
	long n;
	char cursor[GIT_OID_HEXSZ + 24];
};

static int ev_fn(void *data, const spool_event *ev)
{
	struct ev_ctx *x = data;
	json_t *o;

	/* the reader went away or the disk is full: no one reads more */
	if ((x->limit && x->n >= x->limit) || ferror(stdout))
		return 1;
	if (!(o = spool_event_json(x->sp, ev)))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	cmd_print_json(o);
	json_decref(o);
	spool_event_cursor(x->cursor, sizeof(x->cursor), ev);
	x->n++;
	return 0;
}

/* Watches what changes when a commit lands: the branch files (written
 * by lockfile and rename) and HEAD and packed-refs in the git dir. */
static int watch_refs(spool *sp)
{
	git_repository *repo;
	char path[PATH_MAX];
	const char *gitdir;
	int fd;

	if (spool_repo(&repo, sp) < 0)
		return -1;
	gitdir = git_repository_path(repo);
	if ((fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot start inotify");
	snprintf(path, sizeof(path), "%srefs/heads", gitdir);
	if (inotify_add_watch(fd, path, IN_MOVED_TO | IN_CLOSE_WRITE |
			      IN_CREATE) < 0 ||
	    inotify_add_watch(fd, gitdir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
		close(fd);
		return spool_error_sys(SPOOL_ERROR, "cannot watch '%s'",
				       path);
	}
	return fd;
}

/* Blocks until something under the watches changes; drains the queue. */
static int wait_change(int fd)
{
	char buf[4096] __attribute__((aligned(8)));
	struct pollfd p = { .fd = fd, .events = POLLIN };

	for (;;) {
		int r = poll(&p, 1, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return spool_error_sys(SPOOL_ERROR, "cannot wait");
		break;
	}
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	return 0;
}

/* The commit spec names now, as a full id ("" if there is none). */
static void start_cursor(char *cursor, spool *sp, const char *spec)
{
	git_repository *repo;
	git_object *obj = NULL;

	cursor[0] = '\0';
	if (spool_repo(&repo, sp) == 0 &&
	    git_revparse_single(&obj, repo, spec) == 0)
		git_oid_tostr(cursor, GIT_OID_HEXSZ + 1, git_object_id(obj));
	git_object_free(obj);
	spool_error_clear();
}

static int cmd_events_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			   int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'n' },
		{ "follow", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ev_ctx x = { 0 };
	const char *since = NULL;
	bool follow = false;
	char *end;
	int c, rc, fd = -1;

	while ((c = getopt_long(argc, argv, "s:n:fjh", opts, NULL)) != -1) {
		switch (c) {
		case 's': since = optarg; break;
		case 'n':
			x.limit = strtol(optarg, &end, 10);
			if (*end || x.limit <= 0)
				return cmd_bad_value(self, "--limit wants a "
					"positive number, not '%s'", optarg);
			break;
		case 'f': follow = true; break;
		case 'j': break;	/* always JSON lines */
		case 'h': cmd_print_help(stdout, self); return EXIT_OK;
		default: return cmd_bad_option(self, argv);
		}
	}
	if (optind != argc)
		return cmd_usage(self);
	if ((rc = cmd_open(self, ctx)) != 0)
		return rc;
	x.sp = ctx->sp;
	/* Watch before reading, so no commit falls in between. */
	if (follow && (fd = watch_refs(ctx->sp)) < 0)
		return cmd_fail(self, fd);
	if (since)
		snprintf(x.cursor, sizeof(x.cursor), "%s", since);
	else
		start_cursor(x.cursor, ctx->sp, "HEAD");
	/* Without --since, from the beginning; the cursor above is where
	 * --follow resumes if the history holds no transition at all. */
	rc = spool_history_since(ctx->sp, since, ev_fn, &x);
	if (rc == 0 && x.n == 0 && since && !strchr(since, ':'))
		start_cursor(x.cursor, ctx->sp, since);
	fflush(stdout);
	while (rc >= 0 && follow && !(x.limit && x.n >= x.limit) &&
	       !ferror(stdout)) {
		if ((rc = wait_change(fd)) < 0)
			break;
		rc = spool_history_since(ctx->sp, x.cursor, ev_fn, &x);
		fflush(stdout);
	}
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		return cmd_fail(self, rc);
	return EXIT_OK;
}

const struct cmd_entry cmd_events_entry = {
	.name = "events",
	.usage = "[--since CURSOR] [--limit N] [--follow]",
	.summary = "the stream of transitions as JSON lines, resumable",
	.help = "One JSON object per line, oldest first: cursor, commit, time, "
		"id, verb, from, to,\nactor, attempt, and note, feedback, "
		"deliverables when they apply. Pass the last\ncursor to "
		"--since to resume after it (a commit id, or COMMIT:N when a "
		"commit\nrecorded several transitions); --since HEAD starts "
		"from now. --follow keeps\nwaiting for new commits (woken by "
		"inotify on the git refs, never polling).\n",
	.exec = cmd_events_exec,
};
