/* spool show: one task, where it is, and its deliverables. */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "state.h"
#include "fsutil.h"
#include "root.h"
#include "history-read.h"
#include "archive-find.h"
#include "task-files.h"
#include "cmd.h"

static json_t *deliverables(spool *sp, const char *id)
{
	json_t *arr = json_array();
	char path[256];
	struct dirent *de;
	DIR *d;
	int fd;

	snprintf(path, sizeof(path), "deliverables/%s", id);
	fd = spool_fs_open(sp, path, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return arr;
	}
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			json_array_append_new(arr, json_string(de->d_name));
	closedir(d);
	return arr;
}

/* A task no longer in the tree: from its archive. */
static int show_archived(const struct cmd_entry *self, spool *sp,
			 const char *id, bool json)
{
	spool_archived a;
	json_t *task = NULL, *files = NULL;
	int rc;

	if ((rc = spool_archive_find(&a, &task, &files, sp, id)) < 0)
		return cmd_fail(self, rc);
	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:O, s:O}", "id", id,
			"state", spool_state_name(a.state), "archive",
			a.archive, "deliverables", files, "task", task);
		cmd_print_json(o);
		json_decref(o);
	} else {
		char *s = json_dumps(task, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		size_t i;
		json_t *f;
		printf("%s  %s  (archived in %s)\n", id,
		       spool_state_name(a.state), a.archive);
		json_array_foreach(files, i, f)
			printf("deliverable: deliverables/%s/%s (in the "
			       "archive)\n", id, json_string_value(f));
		printf("%s\n", s ? s : "");
		free(s);
	}
	json_decref(files);
	json_decref(task);
	return EXIT_OK;
}

/* Transitions recorded without their agent, or credited to one the
 * files cannot prove: a move nobody saw (the daemon was down, events
 * were lost) that some other agent could have made. The reviewer should
 * know. */
static int unattributed_fn(void *data, const spool_event *ev)
{
	json_t *list = data;

	if (strcmp(ev->g->actor, SPOOL_AGENT_UNKNOWN) != 0 &&
	    strcmp(ev->g->note, SPOOL_NOTE_SUBMIT_UNSEEN) != 0)
		return 0;
	json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}",
		"commit", ev->hex, "verb", ev->g->verb, "agent", ev->g->actor,
		"from", ev->g->from, "to", ev->g->to, "note", ev->g->note));
	return 0;
}

static json_t *unattributed(spool *sp, const char *id)
{
	json_t *list = json_array();

	if (spool_history_task(sp, id, unattributed_fn, list) < 0)
		spool_error_clear();	/* no history to read: nothing to say */
	return list;
}

static int cmd_show_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			 int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char where[128], path[PATH_MAX], dir[PATH_MAX];
	json_t *task = NULL, *files, *unknown;
	bool json = false;
	spool_loc loc;
	int c, rc;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h': cmd_print_help(stdout, self); return EXIT_OK;
		default: return cmd_bad_option(self, argv);
		}
	}
	if (optind + 1 != argc)
		return cmd_usage(self);
	if ((rc = cmd_open(self, ctx)) != 0)
		return rc;
	if ((rc = cmd_id((const char **)&argv[optind], self, ctx,
			 argv[optind])) != 0)
		return rc;
	if ((rc = spool_task_find(&loc, ctx->sp, argv[optind])) ==
	    SPOOL_ENOTFOUND)
		return show_archived(self, ctx->sp, argv[optind], json);
	if (rc < 0 && rc != SPOOL_EEXISTS)
		return cmd_fail(self, rc);
	if ((rc = spool_task_load(&task, ctx->sp, &loc, argv[optind])) < 0)
		return cmd_fail(self, rc);
	spool_loc_format(where, sizeof(where), &loc);
	cmd_task_path(path, sizeof(path), ctx->sp, &loc, argv[optind]);
	snprintf(dir, sizeof(dir), "%s/deliverables/%s",
		 spool_root(ctx->sp), argv[optind]);
	files = deliverables(ctx->sp, argv[optind]);
	unknown = unattributed(ctx->sp, argv[optind]);
	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:O, s:O}", "id",
			argv[optind], "state", spool_state_name(loc.state),
			"path", path, "deliverables", files, "task", task);
		json_object_set_new(o, "deliverables_dir", json_string(dir));
		if (loc.state == SPOOL_STATE_CLAIMED)
			json_object_set_new(o, "agent", json_string(loc.agent));
		if (json_array_size(unknown))
			json_object_set(o, "unattributed", unknown);
		cmd_print_json(o);
		json_decref(o);
	} else {
		char *s = json_dumps(task, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		size_t i;
		json_t *f;
		printf("%s  %s  (%s)\n", argv[optind], where, path);
		json_array_foreach(unknown, i, f)
			printf("%s: %s %s -> %s (%.7s): %s\n",
			       strcmp(json_string_value(json_object_get(f,
				      "agent")), SPOOL_AGENT_UNKNOWN) == 0
			       ? "unattributed" : "not seen",
			       json_string_value(json_object_get(f, "verb")),
			       json_string_value(json_object_get(f, "from")),
			       json_string_value(json_object_get(f, "to")),
			       json_string_value(json_object_get(f, "commit")),
			       json_string_value(json_object_get(f, "note")));
		json_array_foreach(files, i, f)
			printf("deliverable: %s/%s\n", dir,
			       json_string_value(f));
		printf("%s\n", s ? s : "");
		free(s);
	}
	json_decref(unknown);
	json_decref(files);
	json_decref(task);
	return EXIT_OK;
}

const struct cmd_entry cmd_show_entry = {
	.name = "show",
	.usage = "ID [--json]",
	.summary = "show a task, its state and its deliverables",
	.exec = cmd_show_exec,
};
