/* Opening a spool: its root, its config. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "task.h"
#include "fsutil.h"
#include "root.h"

#define CONFIG_PATH ".spool/config.json"

static bool is_spool(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/" CONFIG_PATH, dir);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int find_root(char **out, const char *dir)
{
	char buf[PATH_MAX];
	const char *env = getenv("SPOOL_DIR");

	if (!dir && env && *env)
		dir = env;
	if (dir) {
		if (!realpath(dir, buf))
			return spool_error_sys(SPOOL_ENOTFOUND,
					       "cannot open spool '%s'", dir);
		if (!is_spool(buf))
			return spool_error_set(SPOOL_ENOTFOUND,
				"'%s' is not a spool (no " CONFIG_PATH "); "
				"create one with 'spool init %s'", dir, dir);
		*out = strdup(buf);
		return 0;
	}
	if (!getcwd(buf, sizeof(buf)))
		return spool_error_sys(SPOOL_ERROR, "cannot get the current "
				       "directory");
	for (;;) {
		char *slash;
		if (is_spool(buf)) {
			*out = strdup(buf);
			return 0;
		}
		slash = strrchr(buf, '/');
		if (!slash || slash == buf)
			break;
		*slash = '\0';
	}
	return spool_error_set(SPOOL_ENOTFOUND,
		"not inside a spool; use -C DIR, set SPOOL_DIR, or create "
		"one with 'spool init DIR'");
}

int spool_open(spool **out, const char *dir)
{
	spool *sp;
	int rc;

	*out = NULL;
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return spool_error_set(SPOOL_ERROR, "out of memory");
	sp->rootfd = -1;
	sp->lockfd = -1;
	if ((rc = find_root(&sp->root, dir)) < 0)
		goto fail;
	sp->rootfd = open(sp->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->rootfd < 0) {
		rc = spool_error_sys(SPOOL_ERROR, "cannot open '%s'", sp->root);
		goto fail;
	}
	if ((rc = spool_config_reload(sp)) < 0)
		goto fail;
	/* In a shared spool (shared.c) nothing we write is the group's to
	 * change: the directories agents share are made so by their own
	 * modes. */
	if (json_is_object(json_object_get(sp->config, "shared"))) {
		mode_t m = umask(0);
		umask(m | 022);
	}
	*out = sp;
	return 0;
fail:
	spool_free(sp);
	return rc;
}

void spool_free(spool *sp)
{
	if (!sp)
		return;
	/* Closing the lock's file releases the flock. */
	if (sp->lockfd >= 0)
		close(sp->lockfd);
	while (sp->held)
		spool_fs_release(sp);
	if (sp->rootfd >= 0)
		close(sp->rootfd);
	if (sp->select_free)
		sp->select_free(sp);
	json_decref(sp->config);
	git_odb_free(sp->blobs);
	git_repository_free(sp->repo);
	free(sp->root);
	free(sp);
}

const char *spool_root(const spool *sp)
{
	return sp->root;
}

int spool_rootfd(const spool *sp)
{
	return sp->rootfd;
}

json_t *spool_config(const spool *sp)
{
	return sp->config;
}

int spool_config_reload(spool *sp)
{
	json_error_t jerr;
	json_t *cfg;
	char *buf;
	size_t len;
	int rc;

	if ((rc = spool_fs_read(&buf, &len, sp, CONFIG_PATH, 1 << 20)) < 0)
		return rc;
	cfg = json_loadb(buf, len, 0, &jerr);
	free(buf);
	if (!cfg)
		return spool_error_set(SPOOL_EINVALID,
			"'" CONFIG_PATH "' line %d: %s", jerr.line, jerr.text);
	if (!json_is_object(cfg)) {
		json_decref(cfg);
		return spool_error_set(SPOOL_EINVALID,
			"'" CONFIG_PATH "' must hold a JSON object");
	}
	json_decref(sp->config);
	sp->config = cfg;
	return 0;
}

static long config_long(const spool *sp, const char *key, long dflt)
{
	json_t *v = json_object_get(sp->config, key);

	return json_is_integer(v) && json_integer_value(v) > 0
		? (long)json_integer_value(v) : dflt;
}

long spool_config_lease(const spool *sp)
{
	return config_long(sp, "lease_seconds", 1800);
}

long spool_config_max_attempts(const spool *sp)
{
	return config_long(sp, "max_attempts", 3);
}

/* A size from the "limits" object of the config, or dflt. */
static int64_t limit_of(const spool *sp, const char *key, int64_t dflt)
{
	json_t *v = json_object_get(json_object_get(sp->config, "limits"),
				    key);

	return json_is_integer(v) && json_integer_value(v) > 0
		? (int64_t)json_integer_value(v) : dflt;
}

void spool_config_limits(spool_limits *out, const spool *sp)
{
	out->task_bytes = limit_of(sp, "task_bytes", SPOOL_TASK_MAX_BYTES);
	out->file_bytes = limit_of(sp, "file_bytes", (int64_t)16 << 20);
	out->submission_bytes = limit_of(sp, "submission_bytes",
					 (int64_t)64 << 20);
	out->submission_files = limit_of(sp, "submission_files", 1000);
}

size_t spool_task_max(const spool *sp)
{
	int64_t n = limit_of(sp, "task_bytes", SPOOL_TASK_MAX_BYTES);

	return n > (int64_t)(SIZE_MAX / 2) ? SIZE_MAX / 2 : (size_t)n;
}

