/* spool status: the spool at a glance; --watch keeps it on screen. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "state.h"
#include "fsutil.h"
#include "root.h"
#include "branch.h"
#include "repo.h"
#include "inspect.h"
#include "registry.h"
#include "shared.h"
#include "task-files.h"
#include "cmd.h"

/* Claimed tasks per agent, and leases that expire within soon seconds. */
static void agents_and_leases(json_t *o, spool *sp, long soon)
{
	json_t *agents = json_object(), *leases = json_array();
	char **names = NULL, **reg = NULL;
	size_t n = 0, nreg = 0;

	spool_registry_names(&reg, &nreg, sp, "agents");
	for (size_t i = 0; i < nreg; i++)
		json_object_set_new(agents, reg[i], json_integer(0));
	spool_registry_names(&names, &n, sp, "claimed");
	for (size_t i = 0; i < n; i++) {
		spool_entry *list = NULL;
		size_t k = 0;
		if (spool_list(&list, &k, sp, SPOOL_STATE_CLAIMED,
			       names[i]) < 0)
			continue;
		json_object_set_new(agents, names[i],
				    json_integer((json_int_t)k));
		for (size_t j = 0; j < k; j++) {
			json_t *task = NULL;
			char path[PATH_MAX], *buf = NULL;
			size_t len;
			long left;
			/* Parse only a task that sets its own lease. */
			spool_loc_path(path, sizeof(path), &list[j].loc,
				       list[j].id);
			if (spool_fs_read(&buf, &len, sp, path,
					  spool_task_max(sp)) < 0) {
				spool_error_clear();
				continue;
			}
			task = memmem(buf, len, "\"lease\"", 7)
				? json_loadb(buf, len, 0, NULL) : json_object();
			free(buf);
			if (!task)
				continue;
			if (spool_lease_left(&left, sp, &list[j].loc,
					     list[j].id, task) == 0 &&
			    left <= soon)
				json_array_append_new(leases, json_pack(
					"{s:s, s:s, s:I}", "id", list[j].id,
					"agent", names[i], "left_seconds",
					(json_int_t)left));
			json_decref(task);
		}
		free(list);
	}
	spool_error_clear();
	spool_names_free(names, n);
	spool_names_free(reg, nreg);
	json_object_set_new(o, "agents", agents);
	json_object_set_new(o, "leases_expiring", leases);
}

static void last_commit(json_t *o, spool *sp, const spool_survey_t *sv)
{
	git_repository *repo;
	git_commit *c = NULL;
	git_oid id;
	const char *msg;

	if (sv->head_known) {
		json_object_set_new(o, "last_commit", json_pack(
			"{s:s, s:s, s:s, s:I}", "commit", sv->head, "subject",
			sv->head_subject, "author", sv->head_author,
			"age_seconds",
			(json_int_t)(time(NULL) - sv->head_time)));
		return;
	}
	if (!sv->head[0] || spool_repo(&repo, sp) < 0 ||
	    git_oid_fromstr(&id, sv->head) < 0 ||
	    git_commit_lookup(&c, repo, &id) < 0) {
		spool_error_clear();
		return;
	}
	msg = git_commit_summary(c);
	json_object_set_new(o, "last_commit", json_pack("{s:s, s:s, s:s, s:I}",
		"commit", sv->head, "subject", msg ? msg : "", "author",
		git_commit_author(c)->name, "age_seconds",
		(json_int_t)(time(NULL) - git_commit_time(c))));
	git_commit_free(c);
}

/* Whether the spool records, or stopped because the branch was rewritten
 * (HEAD's hex compared first: no git is loaded when it has not moved). */
static void recording(json_t *o, spool *sp, const spool_survey_t *sv)
{
	spool_branch_state bs;
	json_t *r;

	if (spool_branch_state_get(&bs, sp, sv->head) < 0 || !bs.stopped) {
		spool_error_clear();
		json_object_set_new(o, "recording", json_pack("{s:b}",
							      "stopped", 0));
		return;
	}
	r = json_pack("{s:b, s:s, s:s}", "stopped", 1, "seen", bs.seen,
		      "head", bs.head);
	if (bs.since)
		json_object_set_new(r, "since", json_integer(bs.since));
	json_object_set_new(o, "recording", r);
}

/* Directories of the layout that an agent turned into links. */
static void layout(json_t *o, spool *sp)
{
	char why[512];
	bool halt;

	if (spool_layout_links(why, sizeof(why), &halt, sp))
		json_object_set_new(o, "layout", json_pack("{s:s, s:b}",
			"links", why, "recording_stops", halt));
}

/* A shared spool's hooks and checks that were not run (shared.h). */
static void violations(json_t *o, spool *sp)
{
	char *last = NULL;
	size_t n;

	if (!spool_shared(sp))
		return;
	n = spool_shared_violations(&last, sp);
	json_object_set_new(o, "violations", json_pack("{s:I, s:s?}",
		"count", (json_int_t)n, "last", last));
	free(last);
}

static json_t *gather(spool *sp, long soon)
{
	json_t *o = json_object(), *counts = json_object(), *daemon;
	spool_survey_t sv;
	size_t total = 0;
	long pid = 0;
	bool running;

	if (spool_survey(&sv, sp) < 0)
		spool_error_clear();
	if (sv.oldest[0])
		json_object_set_new(o, "oldest_ready", json_pack("{s:s, s:I}",
			"id", sv.oldest, "waiting_seconds",
			(json_int_t)(time(NULL) - sv.oldest_ns / 1000000000)));
	for (int s = 0; s < SPOOL_STATE_COUNT; s++) {
		json_object_set_new(counts, spool_state_name(s),
				    json_integer((json_int_t)sv.counts[s]));
		total += sv.counts[s];
	}
	json_object_set_new(o, "root", json_string(spool_root(sp)));
	json_object_set_new(o, "counts", counts);
	json_object_set_new(o, "total", json_integer((json_int_t)total));
	json_object_set_new(o, "archived", json_pack("{s:I, s:I}", "tasks",
		(json_int_t)sv.archived, "archives", (json_int_t)sv.archives));
	agents_and_leases(o, sp, soon);
	running = spool_daemon_running(sp, &pid);
	daemon = json_pack("{s:b, s:I, s:I}", "running", running,
			   "unrecorded_moves", (json_int_t)sv.moves,
			   "waiting_in_new", (json_int_t)sv.waiting);
	if (running)
		json_object_set_new(daemon, "pid", json_integer(pid));
	json_object_set_new(o, "daemon", daemon);
	recording(o, sp, &sv);
	last_commit(o, sp, &sv);
	layout(o, sp);
	violations(o, sp);
	return o;
}

static long jint(json_t *o, const char *path1, const char *path2)
{
	json_t *v = json_object_get(o, path1);

	if (path2)
		v = json_object_get(v, path2);
	return (long)json_integer_value(v);
}

static void render(FILE *fp, json_t *o)
{
	json_t *counts = json_object_get(o, "counts"), *v, *d;
	const char *k;
	char dur[32];
	size_t i, shown = 0;

	fprintf(fp, "spool %s\n", json_string_value(json_object_get(o,
								     "root")));
	fprintf(fp, "tasks:");
	json_object_foreach(counts, k, v)
		fprintf(fp, "  %s %lld", k, (long long)json_integer_value(v));
	fprintf(fp, "  (archived %ld)\n", jint(o, "archived", "tasks"));
	fprintf(fp, "agents:");
	json_object_foreach(json_object_get(o, "agents"), k, v) {
		fprintf(fp, "%s %s %lld", shown++ ? "," : "", k,
			(long long)json_integer_value(v));
	}
	fprintf(fp, "%s\n", shown ? " claimed" : " none registered");
	if ((v = json_object_get(o, "oldest_ready"))) {
		spool_duration_format(dur, sizeof(dur),
				      jint(v, "waiting_seconds", NULL));
		fprintf(fp, "oldest ready: %s, waiting %s\n",
			json_string_value(json_object_get(v, "id")), dur);
	}
	v = json_object_get(o, "leases_expiring");
	if (json_array_size(v)) {
		fprintf(fp, "leases expiring:");
		json_array_foreach(v, i, d) {
			long left = jint(d, "left_seconds", NULL);
			spool_duration_format(dur, sizeof(dur),
					      left < 0 ? -left : left);
			fprintf(fp, "%s %s (%s) %s %s", i ? "," : "",
				json_string_value(json_object_get(d, "id")),
				json_string_value(json_object_get(d, "agent")),
				left < 0 ? "expired" : "in", dur);
			if (left < 0)
				fprintf(fp, " ago");
		}
		fprintf(fp, "\n");
	}
	d = json_object_get(o, "recording");
	if (json_is_true(json_object_get(d, "stopped")))
		fprintf(fp, "recording: STOPPED: the branch moved from %.12s "
			"to %.12s, not a fast-forward; check the files, then "
			"run 'spool reconcile --accept-head'\n",
			json_string_value(json_object_get(d, "seen")),
			*json_string_value(json_object_get(d, "head"))
			? json_string_value(json_object_get(d, "head"))
			: "nothing");
	d = json_object_get(o, "layout");
	if (d)
		fprintf(fp, "layout: %s%s\n", json_string_value(
			json_object_get(d, "links")),
			json_is_true(json_object_get(d, "recording_stops"))
			? "; spoold records nothing until then" : "");
	d = json_object_get(o, "daemon");
	if (json_is_true(json_object_get(d, "running")))
		fprintf(fp, "daemon: running (pid %ld)", jint(d, "pid", NULL));
	else
		fprintf(fp, "daemon: not running");
	fprintf(fp, "; behind by %ld unrecorded moves, %ld files in new/\n",
		jint(d, "unrecorded_moves", NULL),
		jint(d, "waiting_in_new", NULL));
	v = json_object_get(o, "violations");
	if (jint(v, "count", NULL) > 0)
		fprintf(fp, "violations: %ld hooks or checks not run, as an "
			"agent could have written them; last: %s\n",
			jint(v, "count", NULL),
			json_string_value(json_object_get(v, "last")));
	if ((v = json_object_get(o, "last_commit"))) {
		spool_duration_format(dur, sizeof(dur),
				      jint(v, "age_seconds", NULL));
		fprintf(fp, "last commit: %.7s %s ago by %s: %s\n",
			json_string_value(json_object_get(v, "commit")), dur,
			json_string_value(json_object_get(v, "author")),
			json_string_value(json_object_get(v, "subject")));
	}
}

static void watch_all(int fd, spool *sp)
{
	char path[PATH_MAX];
	git_repository *repo;
	char **names = NULL;
	size_t n = 0;
	uint32_t mask = IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
			IN_CLOSE_WRITE | IN_ATTRIB;

	for (int s = 0; s < SPOOL_STATE_COUNT; s++) {
		snprintf(path, sizeof(path), "%s/%s", spool_root(sp),
			 spool_state_name(s));
		inotify_add_watch(fd, path, mask);
	}
	spool_registry_names(&names, &n, sp, "claimed");
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/claimed/%s", spool_root(sp),
			 names[i]);
		inotify_add_watch(fd, path, mask);
	}
	spool_names_free(names, n);
	if (spool_repo(&repo, sp) == 0) {
		snprintf(path, sizeof(path), "%srefs/heads",
			 git_repository_path(repo));
		inotify_add_watch(fd, path, IN_MOVED_TO | IN_CREATE);
	}
	snprintf(path, sizeof(path), "%s/.spool/run", spool_root(sp));
	inotify_add_watch(fd, path, IN_CLOSE_WRITE | IN_CREATE | IN_DELETE);
	spool_error_clear();
}

/* Redraws on every change (after a short settle, so a burst of moves is
 * one redraw) and every interval seconds, for the ages. */
static int watch(spool *sp, long soon, long interval, bool json)
{
	bool tty = isatty(STDOUT_FILENO);
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);

	if (fd < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot start inotify");
	for (;;) {
		char buf[4096] __attribute__((aligned(8)));
		struct pollfd p = { .fd = fd, .events = POLLIN };
		json_t *o;
		watch_all(fd, sp);
		o = gather(sp, soon);
		if (json) {
			cmd_print_json(o);
		} else {
			if (tty)
				fputs("\033[H\033[2J", stdout);
			render(stdout, o);
			if (!tty)
				fputs("\n", stdout);
		}
		json_decref(o);
		if (fflush(stdout) == EOF || ferror(stdout))
			break;
		if (poll(&p, 1, (int)(interval * 1000)) < 0 && errno != EINTR)
			break;
		if (p.revents & POLLIN) {
			/* let a burst settle, then take it all */
			poll(NULL, 0, 100);
			while (read(fd, buf, sizeof(buf)) > 0)
				;
		}
	}
	close(fd);
	return 0;
}

static int cmd_status_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			   int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "watch", no_argument, NULL, 'w' },
		{ "interval", required_argument, NULL, 'i' },
		{ "soon", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	bool json = false, live = false;
	long interval = 5, soon = 300;
	json_t *o;
	int c, rc;

	while ((c = getopt_long(argc, argv, "jwi:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'w': live = true; break;
		case 'i':
		case 's':
			if (spool_duration_parse(c == 'i' ? &interval : &soon,
						 optarg) < 0) {
				fprintf(stderr, "spool: status: %s\n",
					spool_error_message());
				return EXIT_USAGE;
			}
			break;
		case 'h': cmd_print_help(stdout, self); return EXIT_OK;
		default: return cmd_bad_option(self, argv);
		}
	}
	if (optind != argc)
		return cmd_usage(self);
	if (interval < 1)
		interval = 1;
	if ((rc = cmd_open(self, ctx)) != 0)
		return rc;
	if (live) {
		if ((rc = watch(ctx->sp, soon, interval, json)) < 0)
			return cmd_fail(self, rc);
		return EXIT_OK;
	}
	o = gather(ctx->sp, soon);
	if (json)
		cmd_print_json(o);
	else
		render(stdout, o);
	json_decref(o);
	return EXIT_OK;
}

const struct cmd_entry cmd_status_entry = {
	.name = "status",
	.usage = "[--json] [--watch [--interval SECONDS]] [--soon SECONDS]",
	.summary = "counts per state and agent, leases, daemon, last commit",
	.help = "Counts per state (and archived), claimed tasks per agent, the "
		"oldest ready task\n(by the time its file arrived in ready/), "
		"leases expiring within --soon (300s)\nor already expired, "
		"whether the daemon runs and how far git is behind the disk\n"
		"(moves not recorded yet, files waiting in new/), and the last "
		"commit.\n--watch redraws on every change (inotify) and every "
		"--interval (5s) for the\nages; with --json it prints one "
		"object per redraw. Stop it with Ctrl-C.\n",
	.exec = cmd_status_exec,
};
