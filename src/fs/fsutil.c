/* Durable, race-safe file operations, all relative to the spool root. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "fsutil.h"
#include "root.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static int parent_of(char *buf, size_t len, const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		snprintf(buf, len, ".");
		return 0;
	}
	if ((size_t)(slash - path) >= len)
		return -1;
	memcpy(buf, path, slash - path);
	buf[slash - path] = '\0';
	return 0;
}

int spool_fs_fsync_dir(const spool *sp, const char *dir)
{
	int fd = openat(sp->rootfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot open '%s'", dir);
	/* Some filesystems refuse fsync on directories; that is fine. */
	if (fsync(fd) < 0 && errno != EINVAL && errno != EROFS) {
		close(fd);
		return spool_error_sys(SPOOL_ERROR, "cannot sync '%s'", dir);
	}
	close(fd);
	return 0;
}

static int sync_parent(const spool *sp, const char *path)
{
	char dir[PATH_MAX];

	if (parent_of(dir, sizeof(dir), path) < 0)
		return spool_error_set(SPOOL_EINVALID, "path too long: '%s'",
				       path);
	return spool_fs_fsync_dir(sp, dir);
}

int spool_fs_move_unsynced(const spool *sp, const char *src, const char *dst)
{
	int r = renameat2(sp->rootfd, src, sp->rootfd, dst, RENAME_NOREPLACE);

	if (r < 0 && (errno == EINVAL || errno == ENOSYS)) {
		/* No RENAME_NOREPLACE here (NFS, old kernels): link() also
		 * refuses to replace, and only one linker can win. */
		r = linkat(sp->rootfd, src, sp->rootfd, dst, 0);
		if (r == 0 && unlinkat(sp->rootfd, src, 0) < 0) {
			int saved = errno;
			unlinkat(sp->rootfd, dst, 0);
			errno = saved;
			r = -1;
		}
	}
	if (r < 0) {
		if (errno == ENOENT)
			return spool_error_sys(SPOOL_ENOTFOUND,
					       "cannot rename '%s'", src);
		if (errno == EEXIST)
			return spool_error_set(SPOOL_EEXISTS,
				"cannot rename '%s': '%s' already exists",
				src, dst);
		return spool_error_sys(SPOOL_ERROR, "cannot rename '%s' to '%s'",
				       src, dst);
	}
	return 0;
}

int spool_fs_move(const spool *sp, const char *src, const char *dst)
{
	int rc;

	if ((rc = spool_fs_move_unsynced(sp, src, dst)) < 0)
		return rc;
	if (sync_parent(sp, dst) < 0 || sync_parent(sp, src) < 0)
		return SPOOL_ERROR;
	return 0;
}

int spool_fs_mkdirs(const spool *sp, const char *path)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return spool_error_set(SPOOL_EINVALID, "path too long: '%s'",
				       path);
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdirat(sp->rootfd, buf, 0777) < 0 &&
			    errno != EEXIST)
				return spool_error_sys(SPOOL_ERROR,
					"cannot create '%s'", buf);
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

/* Writes data to a fresh file in tmp/ and, with sync, fsyncs it; the
 * name goes to tmpname. */
static int write_tmp(char *tmpname, size_t len, const spool *sp,
		     const void *data, size_t n, bool sync)
{
	static unsigned counter;
	struct timespec ts;
	const char *p = data;
	int fd;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(tmpname, len, "tmp/%ld.%ld.%d.%u", (long)ts.tv_sec,
		 ts.tv_nsec, (int)getpid(), counter++);
	fd = openat(sp->rootfd, tmpname,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 && errno == ENOENT && spool_present(sp) &&
	    mkdirat(sp->rootfd, "tmp", 0777) == 0)
		fd = openat(sp->rootfd, tmpname,
			    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot create '%s'",
				       tmpname);
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += w;
		n -= (size_t)w;
	}
	if (sync && fsync(fd) < 0)
		goto fail;
	close(fd);
	return 0;
fail:
	spool_error_sys(SPOOL_ERROR, "cannot write '%s'", tmpname);
	close(fd);
	unlinkat(sp->rootfd, tmpname, 0);
	return SPOOL_ERROR;
}

/* Writes data to tmp/ and renames it over path; with sync, the data is
 * on disk before the rename. */
static int write_replace(const spool *sp, const char *path, const void *data,
			 size_t len, bool sync)
{
	char tmp[PATH_MAX];
	int rc;

	if ((rc = write_tmp(tmp, sizeof(tmp), sp, data, len, sync)) < 0)
		return rc;
	if (renameat(sp->rootfd, tmp, sp->rootfd, path) < 0) {
		rc = spool_error_sys(SPOOL_ERROR, "cannot rename '%s' to '%s'",
				     tmp, path);
		unlinkat(sp->rootfd, tmp, 0);
		return rc;
	}
	return 0;
}

int spool_fs_write(const spool *sp, const char *path, const void *data,
		   size_t len, bool exclusive)
{
	char tmp[PATH_MAX];
	int rc;

	if (!exclusive) {
		if ((rc = write_replace(sp, path, data, len, true)) < 0)
			return rc;
		return sync_parent(sp, path);
	}
	if ((rc = write_tmp(tmp, sizeof(tmp), sp, data, len, true)) < 0)
		return rc;
	if ((rc = spool_fs_move(sp, tmp, path)) < 0)
		unlinkat(sp->rootfd, tmp, 0);
	return rc;
}

int spool_fs_write_cache(const spool *sp, const char *path, const void *data,
			 size_t len)
{
	return write_replace(sp, path, data, len, false);
}

int spool_fs_rewrite(const spool *sp, const char *path, const void *data,
		     size_t len)
{
	char tmp[PATH_MAX];
	int rc;

	if ((rc = write_tmp(tmp, sizeof(tmp), sp, data, len, true)) < 0)
		return rc;
	/* Exchange rather than rename: if an agent moved the file away in
	 * the meantime, this fails instead of bringing a second copy back. */
	if (renameat2(sp->rootfd, tmp, sp->rootfd, path, RENAME_EXCHANGE) < 0) {
		if (errno == ENOENT) {
			rc = spool_error_sys(SPOOL_ENOTFOUND,
					     "cannot rewrite '%s'", path);
		} else if (errno == EINVAL || errno == ENOSYS) {
			if (faccessat(sp->rootfd, path, F_OK,
				      AT_SYMLINK_NOFOLLOW) < 0)
				rc = spool_error_sys(SPOOL_ENOTFOUND,
					"cannot rewrite '%s'", path);
			else if (renameat(sp->rootfd, tmp, sp->rootfd,
					  path) == 0)
				return sync_parent(sp, path);
			else
				rc = spool_error_sys(SPOOL_ERROR,
					"cannot rewrite '%s'", path);
		} else {
			rc = spool_error_sys(SPOOL_ERROR, "cannot rewrite '%s'",
					     path);
		}
		unlinkat(sp->rootfd, tmp, 0);
		return rc;
	}
	unlinkat(sp->rootfd, tmp, 0);	/* the old content, now in tmp/ */
	return sync_parent(sp, path);
}

int spool_fs_read(char **out, size_t *lenp, const spool *sp,
		  const char *path, size_t max)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	int fd;

	*out = NULL;
	fd = openat(sp->rootfd, path,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP)
			return spool_error_set(SPOOL_EINVALID,
				"'%s' is a symbolic link; tasks must be "
				"regular files", path);
		return spool_error_sys(errno == ENOENT ? SPOOL_ENOTFOUND
						       : SPOOL_ERROR,
				       "cannot open '%s'", path);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return spool_error_set(SPOOL_EINVALID,
			"'%s' is not a regular file", path);
	}
	if ((size_t)st.st_size > max) {
		close(fd);
		return spool_error_set(SPOOL_EINVALID,
			"'%s' is too large (%lld bytes, the limit is %zu)",
			path, (long long)st.st_size, max);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return spool_error_set(SPOOL_ERROR, "out of memory");
	}
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			spool_error_sys(SPOOL_ERROR, "cannot read '%s'", path);
			free(buf);
			close(fd);
			return SPOOL_ERROR;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	if (lenp)
		*lenp = n;
	return 0;
}

void spool_stamp_of(spool_stamp *out, const struct stat *st)
{
	out->ino = (uint64_t)st->st_ino;
	out->size = (uint64_t)st->st_size;
	out->mtime = (int64_t)st->st_mtim.tv_sec * 1000000000 +
		     st->st_mtim.tv_nsec;
	out->ctime = (int64_t)st->st_ctim.tv_sec * 1000000000 +
		     st->st_ctim.tv_nsec;
}

bool spool_stamp_same(const spool_stamp *a, const spool_stamp *b)
{
	return a->ino == b->ino && a->size == b->size &&
	       a->mtime == b->mtime && a->ctime == b->ctime;
}

int64_t spool_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* File times come from a clock that may lag by a tick (a few ms) and, on
 * some filesystems, keep whole seconds: two seconds covers both. */
#define SETTLE_NS (2 * 1000000000LL)

bool spool_stamp_settled(const spool_stamp *s, int64_t taken)
{
	return s->ctime < taken - SETTLE_NS && s->mtime < taken - SETTLE_NS;
}

bool spool_present(const spool *sp)
{
	return faccessat(sp->rootfd, ".spool/config.json", F_OK,
			 AT_SYMLINK_NOFOLLOW) == 0;
}
