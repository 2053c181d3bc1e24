/* spool export: one task, every version of its deliverables and its
 * history, in one self-contained .tar.gz. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "state.h"
#include "root.h"
#include "history-read.h"
#include "repo.h"
#include "archive-find.h"
#include "larchive.h"
#include "task-files.h"
#include "cmd.h"

struct version {
	git_oid tree;
	char dir[32];	/* versions/<commit12> */
};

struct exp_ctx {
	spool *sp;
	json_t *history;
	json_t *versions;
	struct version *v;
	size_t nv, capv;
};

static int hist_fn(void *data, const spool_event *ev)
{
	struct exp_ctx *x = data;
	git_tree *tree = NULL;
	git_tree_entry *e = NULL;
	char path[PATH_MAX];
	json_t *o = spool_event_json(x->sp, ev);
	json_t *d;

	if (!o)
		return spool_error_set(SPOOL_ERROR, "out of memory");
	json_array_append_new(x->history, o);
	d = json_object_get(o, "deliverables");
	if (!json_is_string(d))
		return 0;
	snprintf(path, sizeof(path), "deliverables/%s", ev->g->id);
	if (git_commit_tree(&tree, ev->commit) == 0 &&
	    git_tree_entry_bypath(&e, tree, path) == 0) {
		const git_oid *id = git_tree_entry_id(e);
		bool seen = false;
		for (size_t i = 0; i < x->nv && !seen; i++)
			seen = git_oid_equal(&x->v[i].tree, id);
		if (!seen && x->nv == x->capv) {
			size_t nc = x->capv ? x->capv * 2 : 8;
			struct version *p = realloc(x->v, nc * sizeof(*p));
			if (p) {
				x->v = p;
				x->capv = nc;
			}
		}
		if (!seen && x->nv < x->capv) {
			struct version *v = &x->v[x->nv++];
			v->tree = *id;
			snprintf(v->dir, sizeof(v->dir), "versions/%.12s",
				 ev->hex);
			json_array_append_new(x->versions, json_pack(
				"{s:s, s:s, s:s, s:s, s:s}", "dir", v->dir,
				"commit", ev->hex, "tree",
				json_string_value(d), "verb", ev->g->verb,
				"time", json_string_value(
					json_object_get(o, "time"))));
		}
	}
	git_tree_entry_free(e);
	git_tree_free(tree);
	return 0;
}

static int put(struct archive *ar, const char *name, const void *data,
	       size_t len, unsigned mode, const char *link)
{
	struct archive_entry *e = archive_entry_new();
	int rc = 0;

	archive_entry_set_pathname(e, name);
	archive_entry_set_mtime(e, time(NULL), 0);
	if (link) {
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_perm(e, 0777);
		archive_entry_set_symlink(e, link);
	} else {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, mode);
		archive_entry_set_size(e, (la_int64_t)len);
	}
	if (archive_write_header(ar, e) != ARCHIVE_OK ||
	    (!link && len && archive_write_data(ar, data, len) !=
	     (la_ssize_t)len))
		rc = spool_error_set(SPOOL_ERROR, "cannot write '%s': %s",
				     name, archive_error_string(ar));
	archive_entry_free(e);
	return rc;
}

static int put_json(struct archive *ar, const char *name, json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	int rc;

	if (!s)
		return spool_error_set(SPOOL_ERROR, "out of memory");
	rc = put(ar, name, s, strlen(s), 0644, NULL);
	free(s);
	return rc;
}

/* Writes a git tree under prefix. */
static int put_tree(struct archive *ar, git_repository *repo,
		    const git_oid *id, const char *prefix)
{
	git_object *obj = NULL;
	char path[PATH_MAX];
	int rc = 0;

	if (git_object_lookup(&obj, repo, id, GIT_OBJECT_ANY) < 0)
		return spool_error_git("cannot read a deliverables version");
	if (git_object_type(obj) == GIT_OBJECT_BLOB) {
		/* deliverables/ID is a single file */
		git_blob *b = (git_blob *)obj;
		rc = put(ar, prefix, git_blob_rawcontent(b),
			 (size_t)git_blob_rawsize(b), 0644, NULL);
	} else if (git_object_type(obj) == GIT_OBJECT_TREE) {
		git_tree *t = (git_tree *)obj;
		for (size_t i = 0; i < git_tree_entrycount(t) && rc == 0; i++) {
			const git_tree_entry *e = git_tree_entry_byindex(t, i);
			git_filemode_t mode = git_tree_entry_filemode(e);
			git_blob *b = NULL;
			snprintf(path, sizeof(path), "%s/%s", prefix,
				 git_tree_entry_name(e));
			if (mode == GIT_FILEMODE_TREE) {
				rc = put_tree(ar, repo, git_tree_entry_id(e),
					      path);
				continue;
			}
			if (mode == GIT_FILEMODE_COMMIT)
				continue;
			if (git_blob_lookup(&b, repo, git_tree_entry_id(e)) < 0) {
				rc = spool_error_git("cannot read '%s'", path);
				break;
			}
			if (mode == GIT_FILEMODE_LINK) {
				char target[PATH_MAX];
				snprintf(target, sizeof(target), "%.*s",
					 (int)git_blob_rawsize(b),
					 (const char *)git_blob_rawcontent(b));
				rc = put(ar, path, NULL, 0, 0777, target);
			} else {
				rc = put(ar, path, git_blob_rawcontent(b),
					 (size_t)git_blob_rawsize(b),
					 mode == GIT_FILEMODE_BLOB_EXECUTABLE
						 ? 0755 : 0644, NULL);
			}
			git_blob_free(b);
		}
	}
	git_object_free(obj);
	return rc;
}

static int cmd_export_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			   int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct exp_ctx x = { 0 };
	const char *out = NULL, *id;
	char name[PATH_MAX], tmp[PATH_MAX], when[32];
	struct archive *ar = NULL;
	git_repository *repo;
	json_t *task = NULL, *manifest = NULL;
	spool_archived arch;
	spool_loc loc;
	bool json = false, archived = false;
	time_t now = time(NULL);
	struct tm tm;
	int c, rc;

	if ((rc = spool_larchive_load()) < 0)
		return cmd_fail(self, rc);

	while ((c = getopt_long(argc, argv, "o:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'j': json = true; break;
		case 'h': cmd_print_help(stdout, self); return EXIT_OK;
		default: return cmd_bad_option(self, argv);
		}
	}
	if (optind + 1 != argc || !out)
		return cmd_usage(self);
	if ((rc = cmd_open(self, ctx)) != 0)
		return rc;
	if ((rc = cmd_id(&id, self, ctx, argv[optind])) != 0)
		return rc;
	rc = spool_task_find(&loc, ctx->sp, id);
	if (rc == 0 || rc == SPOOL_EEXISTS) {
		rc = spool_task_load(&task, ctx->sp, &loc, id);
	} else if (rc == SPOOL_ENOTFOUND) {
		rc = spool_archive_find(&arch, &task, NULL, ctx->sp, id);
		loc.state = arch.state;
		loc.agent[0] = '\0';
		archived = true;
	}
	if (rc < 0)
		return cmd_fail(self, rc);
	if ((rc = spool_repo(&repo, ctx->sp)) < 0)
		goto fail;
	x.sp = ctx->sp;
	x.history = json_array();
	x.versions = json_array();
	if ((rc = spool_history_task(ctx->sp, id, hist_fn, &x)) < 0)
		goto fail;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	manifest = json_pack("{s:s, s:s, s:b, s:s, s:s, s:O}", "id", id,
			     "state", spool_state_name(loc.state), "archived",
			     archived, "exported", when, "format",
			     "spool-export 1", "versions", x.versions);
	if (archived)
		json_object_set_new(manifest, "archive",
				    json_string(arch.archive));
	/* Written beside the target, then renamed: never half a file. */
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", out, (int)getpid());
	ar = archive_write_new();
	if (!ar || archive_write_add_filter_gzip(ar) != ARCHIVE_OK ||
	    archive_write_set_format_pax_restricted(ar) != ARCHIVE_OK ||
	    archive_write_open_filename(ar, tmp) != ARCHIVE_OK) {
		rc = spool_error_set(SPOOL_ERROR, "cannot write '%s': %s", out,
				     ar ? archive_error_string(ar) : "no memory");
		goto fail;
	}
	snprintf(name, sizeof(name), "%s/manifest.json", id);
	if ((rc = put_json(ar, name, manifest)) < 0)
		goto fail;
	snprintf(name, sizeof(name), "%s/task.json", id);
	if ((rc = put_json(ar, name, task)) < 0)
		goto fail;
	snprintf(name, sizeof(name), "%s/history.json", id);
	if ((rc = put_json(ar, name, x.history)) < 0)
		goto fail;
	for (size_t i = 0; i < x.nv; i++) {
		snprintf(name, sizeof(name), "%s/%s", id, x.v[i].dir);
		if ((rc = put_tree(ar, repo, &x.v[i].tree, name)) < 0)
			goto fail;
	}
	if (archive_write_close(ar) != ARCHIVE_OK) {
		rc = spool_error_set(SPOOL_ERROR, "cannot write '%s': %s", out,
				     archive_error_string(ar));
		goto fail;
	}
	archive_write_free(ar);
	ar = NULL;
	if (rename(tmp, out) < 0) {
		rc = spool_error_sys(SPOOL_ERROR, "cannot rename to '%s'", out);
		goto fail;
	}
	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:I, s:I}", "id", id, "file",
				      out, "versions", (json_int_t)x.nv,
				      "transitions",
				      (json_int_t)json_array_size(x.history));
		cmd_print_json(o);
		json_decref(o);
	} else {
		size_t nt = json_array_size(x.history);
		printf("%s: %zu transition%s, %zu deliverable version%s "
		       "-> %s\n", id, nt, nt == 1 ? "" : "s", x.nv,
		       x.nv == 1 ? "" : "s", out);
	}
	json_decref(task);
	json_decref(manifest);
	json_decref(x.history);
	json_decref(x.versions);
	free(x.v);
	return EXIT_OK;
fail:
	if (ar) {
		archive_write_free(ar);
		unlink(tmp);
	}
	json_decref(task);
	json_decref(manifest);
	json_decref(x.history);
	json_decref(x.versions);
	free(x.v);
	return cmd_fail(self, rc);
}

const struct cmd_entry cmd_export_entry = {
	.name = "export",
	.usage = "ID -o FILE.tar.gz [--json]",
	.summary = "write a task, its deliverables and history to a .tar.gz",
	.help = "The archive holds ID/manifest.json (state, export time, the "
		"versions),\nID/task.json, ID/history.json (the transitions, as "
		"'spool log --json' prints\nthem) and ID/versions/COMMIT/..., "
		"every version of deliverables/ID that was\ncommitted with a "
		"submission or an approval, named after the first commit that\n"
		"recorded it. Archived tasks export the same way.\n",
	.exec = cmd_export_exec,
};
