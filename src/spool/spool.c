/* Opening a spool, its config, its repository and its lock. */
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

#include "spool-int.h"
#include <git2/sys/odb_backend.h>


#define CONFIG_PATH ".spool/config.json"
#define CACHE_MAX ((size_t)4 << 20)

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
	while (sp->lock_depth > 0)
		spool_unlock(sp);
	if (sp->rootfd >= 0)
		close(sp->rootfd);
	spool_select_free(sp);
	json_decref(sp->config);
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

int spool_repo(git_repository **out, spool *sp)
{
	git_odb_backend *loose = NULL;
	git_odb *odb = NULL;
	char objects[PATH_MAX];
	static bool inited;

	if (sp->repo) {
		*out = sp->repo;
		return 0;
	}
	if (!inited) {
		git_libgit2_init();
		/* libgit2's object checks stay on (hashes verified on read,
		 * commits and refs only to objects that exist): .git lies
		 * in a directory agents write into. */
		/* Trees of big state directories are read again and again
		 * within one run; by default libgit2 caches none over 4 KB. */
		git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT,
				 GIT_OBJECT_TREE, (size_t)4 << 20);
		/* But not every version of them: a daemon's memory stays
		 * flat (the default keeps up to 256 MB). */
		git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE,
				 (ssize_t)CACHE_MAX);
		inited = true;
	}
	if (git_repository_open_ext(&sp->repo, sp->root,
				    GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0)
		return spool_error_git("cannot open the git repository in '%s'",
				       sp->root);
	/* Trees of big flat directories are rewritten on every commit:
	 * stored uncompressed (gitloose.c), packing shrinks them later. */
	snprintf(objects, sizeof(objects), "%s/objects",
		 git_repository_path(sp->repo));
	if (git_repository_odb(&odb, sp->repo) == 0 &&
	    spool_odb_stored(&loose, objects) == 0 &&
	    git_odb_add_backend(odb, loose, 10) < 0)
		loose->free(loose);
	spool_error_clear();
	git_odb_free(odb);
	*out = sp->repo;
	return 0;
}

int spool_lock(spool *sp, int wait_ms)
{
	struct timespec start, now;
	char pid[32];
	int fd;

	if (sp->lock_depth > 0) {
		sp->lock_depth++;
		return 0;
	}
	mkdirat(sp->rootfd, ".spool/run", 0777);
	fd = openat(sp->rootfd, ".spool/run/lock",
		    O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return spool_error_sys(SPOOL_ERROR,
				       "cannot open '.spool/run/lock'");
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (flock(fd, wait_ms < 0 ? LOCK_EX : LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			close(fd);
			return spool_error_sys(SPOOL_ERROR, "cannot lock "
					       "'.spool/run/lock'");
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 +
		    (now.tv_nsec - start.tv_nsec) / 1000000 >= wait_ms) {
			close(fd);
			return spool_error_set(SPOOL_ELOCKED,
				"the spool is locked by another writer "
				"('.spool/run/lock')");
		}
		usleep(2000);
	}
	/* The holder's pid, for people asking who has the spool. A lock
	 * dies with its process, so a stale pid never blocks anyone. */
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, strlen(pid), 0) < 0) {
		/* informational only */
	}
	sp->lockfd = fd;
	sp->lock_depth = 1;
	spool_git_locks_clear(sp);
	return 0;
}

void spool_unlock(spool *sp)
{
	if (sp->lock_depth == 0 || --sp->lock_depth > 0)
		return;
	flock(sp->lockfd, LOCK_UN);
	close(sp->lockfd);
	sp->lockfd = -1;
}
