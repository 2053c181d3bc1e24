/* The spool's repository, opened once, and the one lock its writers
 * take. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/odb_backend.h>

#include "error.h"
#include "fsutil.h"
#include "root.h"
#include "gitlocks.h"
#include "gitloose.h"
#include "repo.h"

#define CACHE_MAX ((size_t)4 << 20)

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

/* The same writer alone, in a database of its own (spool_blob_write). */
static int blob_odb(git_odb **out, spool *sp)
{
	git_odb_backend *loose = NULL;
	char objects[PATH_MAX];
	int rc;

	if (sp->blobs) {
		*out = sp->blobs;
		return 0;
	}
	snprintf(objects, sizeof(objects), "%s/objects",
		 git_repository_path(sp->repo));
	if (git_odb_new(&sp->blobs) < 0)
		return spool_error_git("cannot open the object database");
	if ((rc = spool_odb_stored(&loose, objects)) < 0)
		goto fail;
	if (git_odb_add_backend(sp->blobs, loose, 10) < 0) {
		loose->free(loose);
		rc = spool_error_git("cannot open the object database");
		goto fail;
	}
	*out = sp->blobs;
	return 0;
fail:
	git_odb_free(sp->blobs);
	sp->blobs = NULL;
	return rc;
}

/*
 * Before it writes an object, libgit2 looks for it in every backend and,
 * not finding it, lists the pack directory again: for every new blob of
 * a batch of thousands. So a blob is looked for once, without that, and
 * written through the writer alone; one packed by another process since
 * is written loose again, which is harmless. One found is not freshened
 * (libgit2 touches its mtime): only a prune of unreachable objects looks
 * at that, and the spool runs none. Only what fits the writer goes this
 * way (it passes a huge object on, to nobody here).
 */
bool spool_blob_stored(spool *sp, const git_oid *id)
{
	git_repository *repo;
	git_odb *odb = NULL;
	bool yes;

	if (spool_repo(&repo, sp) < 0 || git_repository_odb(&odb, repo) < 0) {
		spool_error_clear();
		git_error_clear();
		return false;
	}
	yes = git_odb_exists_ext(odb, id, GIT_ODB_LOOKUP_NO_REFRESH) == 1;
	git_odb_free(odb);
	return yes;
}

int spool_blob_store(git_oid *out, spool *sp, const void *buf, size_t len,
		     const char *path)
{
	git_repository *repo;
	git_odb *blobs;
	int rc;

	if ((rc = spool_repo(&repo, sp)) < 0)
		return rc;
	if (len > (1u << 30) || blob_odb(&blobs, sp) < 0) {
		spool_error_clear();
		if (git_blob_create_from_buffer(out, repo, buf, len) < 0)
			return spool_error_git("cannot store '%s'", path);
		return 0;
	}
	if (git_odb_write(out, blobs, buf, len, GIT_OBJECT_BLOB) < 0)
		return spool_error_git("cannot store '%s'", path);
	return 0;
}

int spool_blob_write(git_oid *out, spool *sp, const void *buf, size_t len,
		     const char *path)
{
	if (len <= (1u << 30)) {
		if (git_odb_hash(out, buf, len, GIT_OBJECT_BLOB) < 0)
			return spool_error_git("cannot store '%s'", path);
		if (spool_blob_stored(sp, out))
			return 0;
	}
	return spool_blob_store(out, sp, buf, len, path);
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
	fd = spool_fs_open(sp, ".spool/run/lock", O_RDWR, 0);
	/* Made when missing, but not for a spool being removed: that would
	 * leave run/ behind. */
	if (fd < 0 && errno == ENOENT && spool_present(sp)) {
		mkdirat(sp->rootfd, ".spool/run", 0777);
		fd = spool_fs_open(sp, ".spool/run/lock",
			    O_RDWR | O_CREAT, 0644);
	}
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

int spool_lock_depth(const spool *sp)
{
	return sp->lock_depth;
}

void spool_unlock(spool *sp)
{
	if (sp->lock_depth == 0 || --sp->lock_depth > 0)
		return;
	flock(sp->lockfd, LOCK_UN);
	close(sp->lockfd);
	sp->lockfd = -1;
}
