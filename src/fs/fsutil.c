/* Durable, race-safe file operations, all relative to the spool root. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/openat2.h>

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

/* ---- paths that stay in the spool -------------------------------------- */

/* openat2() with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS: the kernel itself
 * refuses a link or a ".." anywhere on the way. -1 with ENOSYS where the
 * kernel (before 5.6) or a seccomp filter does not have it. */
static int open_beneath(int at, const char *path, int flags, mode_t mode)
{
	/* SPOOL_NO_OPENAT2 (tests): the walk below, as on older kernels. */
	static int missing = -1;
	struct open_how how = {
		.flags = (uint64_t)(flags | O_NOFOLLOW),
		.mode = flags & O_CREAT ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
			   RESOLVE_NO_MAGICLINKS,
	};
	int fd, tries = 0;

	if (missing < 0)
		missing = getenv("SPOOL_NO_OPENAT2") != NULL;
	if (missing) {
		errno = ENOSYS;
		return -1;
	}
	/* EAGAIN: a rename raced the lookup; the walk settles it after a
	 * few. */
	do
		fd = (int)syscall(SYS_openat2, at, path, &how, sizeof(how));
	while (fd < 0 && (errno == EAGAIN || errno == EINTR) && ++tries < 8);
	if (fd < 0 && errno == EAGAIN)
		errno = ENOSYS;
	else if (fd < 0 && (errno == ENOSYS || errno == E2BIG))
		missing = 1, errno = ENOSYS;
	else if (fd < 0 && errno == EPERM)	/* a seccomp filter, or a */
		errno = ENOSYS;			/* real EPERM the walk sees */
	return fd;
}

/* The same, one component at a time: each directory is opened relative
 * to the one before with O_NOFOLLOW, so a link swapped in on the way is
 * refused, not followed. */
static int open_walk(int at, const char *path, int flags, mode_t mode)
{
	char comp[NAME_MAX + 1];
	const char *p = path, *slash;
	int cur = at, fd, saved;

	for (;;) {
		size_t n;
		while (*p == '/')
			p++;
		if (!(slash = strchr(p, '/')))
			break;
		n = (size_t)(slash - p);
		if (n > NAME_MAX)
			goto toolong;
		memcpy(comp, p, n);
		comp[n] = '\0';
		p = slash + 1;
		if (n == 0 || strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0)
			goto out_of_tree;
		fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW |
			    O_CLOEXEC);
		if (fd < 0 && errno == ENOTDIR) {
			struct stat st;
			if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode))
				errno = ELOOP;
			else
				errno = ENOTDIR;
		}
		if (cur != at) {
			saved = errno;
			close(cur);
			errno = saved;
		}
		if (fd < 0)
			return -1;
		cur = fd;
	}
	if (strcmp(p, "..") == 0)
		goto out_of_tree;
	fd = openat(cur, *p ? p : ".", flags | O_NOFOLLOW, mode);
	saved = errno;
	if (cur != at)
		close(cur);
	errno = saved;
	return fd;
toolong:
	errno = ENAMETOOLONG;
	goto fail;
out_of_tree:
	errno = EXDEV;
fail:
	if (cur != at) {
		saved = errno;
		close(cur);
		errno = saved;
	}
	return -1;
}

int spool_fs_open(const spool *sp, const char *path, int flags, mode_t mode)
{
	int fd;

	if (path[0] == '/') {
		errno = EXDEV;
		return -1;
	}
	fd = open_beneath(sp->rootfd, path, flags | O_CLOEXEC, mode);
	if (fd < 0 && errno == ENOSYS)
		fd = open_walk(sp->rootfd, path, flags | O_CLOEXEC, mode);
	if (fd < 0 && errno == ENOTDIR && (flags & O_DIRECTORY)) {
		/* O_NOFOLLOW | O_DIRECTORY on a link says "not a
		 * directory": say what it is. */
		struct stat st;
		if (spool_fs_lstat(sp, path, &st) == 0 && S_ISLNK(st.st_mode))
			errno = ELOOP;
		else
			errno = ENOTDIR;
	}
	return fd;
}

int spool_fs_open_parent(const char **name, const spool *sp, const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');

	*name = slash ? slash + 1 : path;
	if (!slash)
		return fcntl(sp->rootfd, F_DUPFD_CLOEXEC, 0);
	if ((size_t)(slash - path) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	return spool_fs_open(sp, dir[0] ? dir : ".", O_PATH | O_DIRECTORY, 0);
}

/* ---- directories held open --------------------------------------------- */

#define HELD_MAX 8

struct spool_held {
	int depth;
	size_t n;
	struct {
		char dir[64];
		int fd;
	} v[HELD_MAX];
};

void spool_fs_hold(spool *sp)
{
	if (!sp->held && !(sp->held = calloc(1, sizeof(*sp->held))))
		return;		/* not held: each call opens its own */
	sp->held->depth++;
}

void spool_fs_release(spool *sp)
{
	if (!sp->held || --sp->held->depth > 0)
		return;
	for (size_t i = 0; i < sp->held->n; i++)
		close(sp->held->v[i].fd);
	free(sp->held);
	sp->held = NULL;
}

/* The directory of path, held or opened; give it back with parent_put. */
static int parent_get(const char **name, const spool *sp, const char *path)
{
	struct spool_held *h = sp->held;
	const char *slash = strrchr(path, '/');
	size_t len = slash ? (size_t)(slash - path) : 0;
	int fd;

	if (!h || !slash || len >= sizeof(h->v[0].dir))
		return spool_fs_open_parent(name, sp, path);
	*name = slash + 1;
	for (size_t i = 0; i < h->n; i++)
		if (strncmp(h->v[i].dir, path, len) == 0 &&
		    h->v[i].dir[len] == '\0')
			return h->v[i].fd;
	if ((fd = spool_fs_open_parent(name, sp, path)) < 0 || h->n == HELD_MAX)
		return fd;
	memcpy(h->v[h->n].dir, path, len);
	h->v[h->n].dir[len] = '\0';
	h->v[h->n++].fd = fd;
	return fd;
}

static void parent_put(const spool *sp, int fd)
{
	int saved = errno;

	for (size_t i = 0; sp->held && i < sp->held->n; i++)
		if (sp->held->v[i].fd == fd)
			return;
	close(fd);
	errno = saved;
}

int spool_fs_lstat(const spool *sp, const char *path, struct stat *st)
{
	const char *name;
	int fd, rc;

	if (!strchr(path, '/'))
		return fstatat(sp->rootfd, path, st, AT_SYMLINK_NOFOLLOW);
	if ((fd = parent_get(&name, sp, path)) < 0)
		return -1;
	rc = fstatat(fd, name, st, AT_SYMLINK_NOFOLLOW);
	parent_put(sp, fd);
	return rc;
}

int spool_fs_access(const spool *sp, const char *path)
{
	struct stat st;

	return spool_fs_lstat(sp, path, &st);
}

int spool_fs_unlink(const spool *sp, const char *path, int flags)
{
	const char *name;
	int fd, rc;

	if ((fd = parent_get(&name, sp, path)) < 0)
		return -1;
	rc = unlinkat(fd, name, flags);
	parent_put(sp, fd);
	return rc;
}

/* renameat2() between the directories of src and dst, each reached with
 * no link followed. */
static int rename_beneath(const spool *sp, const char *src, const char *dst,
			  unsigned flags)
{
	const char *sname, *dname;
	int sfd, dfd = -1, rc = -1;

	if ((sfd = parent_get(&sname, sp, src)) < 0)
		return -1;
	if ((dfd = parent_get(&dname, sp, dst)) >= 0)
		rc = flags ? renameat2(sfd, sname, dfd, dname, flags)
			   : renameat(sfd, sname, dfd, dname);
	parent_put(sp, sfd);
	if (dfd >= 0)
		parent_put(sp, dfd);
	return rc;
}

static int link_beneath(const spool *sp, const char *src, const char *dst)
{
	const char *sname, *dname;
	int sfd, dfd = -1, rc = -1, saved;

	if ((sfd = spool_fs_open_parent(&sname, sp, src)) < 0)
		return -1;
	if ((dfd = spool_fs_open_parent(&dname, sp, dst)) >= 0)
		rc = linkat(sfd, sname, dfd, dname, 0);
	saved = errno;
	close(sfd);
	if (dfd >= 0)
		close(dfd);
	errno = saved;
	return rc;
}

int spool_fs_fsync_dir(const spool *sp, const char *dir)
{
	int fd = spool_fs_open(sp, dir, O_RDONLY | O_DIRECTORY, 0);

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
	int r = rename_beneath(sp, src, dst, RENAME_NOREPLACE);

	if (r < 0 && (errno == EINVAL || errno == ENOSYS)) {
		/* No RENAME_NOREPLACE here (NFS, old kernels): link() also
		 * refuses to replace, and only one linker can win. */
		r = link_beneath(sp, src, dst);
		if (r == 0 && spool_fs_unlink(sp, src, 0) < 0) {
			int saved = errno;
			spool_fs_unlink(sp, dst, 0);
			errno = saved;
			r = -1;
		}
	}
	if (r < 0 && errno == ELOOP)
		return spool_error_set(SPOOL_EINVALID, "cannot rename '%s' to "
			"'%s': a symbolic link on the way; the spool follows "
			"none", src, dst);
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
	char comp[NAME_MAX + 1];
	const char *p = path, *end;
	int cur = sp->rootfd, fd;

	/* One component at a time, each below the last one opened: a link
	 * on the way is refused, never followed or created behind. */
	for (; *p; p = *end ? end + 1 : end) {
		size_t n;
		end = strchrnul(p, '/');
		n = (size_t)(end - p);
		if (n == 0 || (n == 1 && *p == '.'))
			continue;
		if (n > NAME_MAX || (n == 2 && p[0] == '.' && p[1] == '.')) {
			errno = n > NAME_MAX ? ENAMETOOLONG : EXDEV;
			goto fail;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (mkdirat(cur, comp, 0777) < 0 && errno != EEXIST)
			goto fail;
		fd = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			    O_CLOEXEC);
		if (fd < 0)
			goto fail;
		if (cur != sp->rootfd)
			close(cur);
		cur = fd;
	}
	if (cur != sp->rootfd)
		close(cur);
	return 0;
fail:
	if (cur != sp->rootfd) {
		int saved = errno;
		close(cur);
		errno = saved;
	}
	if (errno == ELOOP || errno == ENOTDIR)
		return spool_error_set(SPOOL_EINVALID, "cannot create '%s': a "
			"symbolic link or a file on the way", path);
	return spool_error_sys(SPOOL_ERROR, "cannot create '%s'", path);
}

static int write_all(int fd, const void *data, size_t n)
{
	const char *p = data;

	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void spool_fs_tmpname(char *buf, size_t len)
{
	static unsigned counter;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(buf, len, "tmp/%ld.%ld.%d.%u", (long)ts.tv_sec, ts.tv_nsec,
		 (int)getpid(), counter++);
}

/* Writes data to a fresh file in tmp/ and, with sync, fsyncs it; the
 * name goes to tmpname. */
static int write_tmp(char *tmpname, size_t len, const spool *sp,
		     const void *data, size_t n, bool sync)
{
	int fd;

	spool_fs_tmpname(tmpname, len);
	fd = spool_fs_open(sp, tmpname, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0 && errno == ENOENT && spool_present(sp) &&
	    mkdirat(sp->rootfd, "tmp", 0777) == 0)
		fd = spool_fs_open(sp, tmpname, O_WRONLY | O_CREAT | O_EXCL,
				   0644);
	if (fd < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot create '%s'",
				       tmpname);
	if (write_all(fd, data, n) < 0 || (sync && fsync(fd) < 0))
		goto fail;
	close(fd);
	return 0;
fail:
	spool_error_sys(SPOOL_ERROR, "cannot write '%s'", tmpname);
	close(fd);
	spool_fs_unlink(sp, tmpname, 0);
	return SPOOL_ERROR;
}

int spool_fs_create(const spool *sp, const char *path, const void *data,
		    size_t len)
{
	int fd = spool_fs_open(sp, path, O_WRONLY | O_CREAT | O_EXCL, 0644);

	if (fd < 0)
		return spool_error_sys(errno == EEXIST ? SPOOL_EEXISTS
						       : SPOOL_ERROR,
				       "cannot create '%s'", path);
	if (write_all(fd, data, len) < 0) {
		spool_error_sys(SPOOL_ERROR, "cannot write '%s'", path);
		close(fd);
		spool_fs_unlink(sp, path, 0);
		return SPOOL_ERROR;
	}
	close(fd);
	return 0;
}

int spool_fs_syncfs(const spool *sp)
{
	/* Not rootfd: syncfs refuses an O_PATH descriptor. */
	int fd = spool_fs_open(sp, ".", O_RDONLY | O_DIRECTORY, 0);
	int rc = 0;

	if (fd < 0 || syncfs(fd) < 0)
		rc = spool_error_sys(SPOOL_ERROR, "cannot sync the filesystem "
				     "of '%s'", sp->root);
	if (fd >= 0)
		close(fd);
	return rc;
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
	if (rename_beneath(sp, tmp, path, 0) < 0) {
		rc = spool_error_sys(SPOOL_ERROR, "cannot rename '%s' to '%s'",
				     tmp, path);
		spool_fs_unlink(sp, tmp, 0);
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
		spool_fs_unlink(sp, tmp, 0);
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
	if (rename_beneath(sp, tmp, path, RENAME_EXCHANGE) < 0) {
		if (errno == ENOENT) {
			rc = spool_error_sys(SPOOL_ENOTFOUND,
					     "cannot rewrite '%s'", path);
		} else if (errno == EINVAL || errno == ENOSYS) {
			if (spool_fs_access(sp, path) < 0)
				rc = spool_error_sys(SPOOL_ENOTFOUND,
					"cannot rewrite '%s'", path);
			else if (rename_beneath(sp, tmp, path, 0) == 0)
				return sync_parent(sp, path);
			else
				rc = spool_error_sys(SPOOL_ERROR,
					"cannot rewrite '%s'", path);
		} else {
			rc = spool_error_sys(SPOOL_ERROR, "cannot rewrite '%s'",
					     path);
		}
		spool_fs_unlink(sp, tmp, 0);
		return rc;
	}
	spool_fs_unlink(sp, tmp, 0);	/* the old content, now in tmp/ */
	return sync_parent(sp, path);
}

int spool_fs_read(char **out, size_t *lenp, const spool *sp,
		  const char *path, size_t max)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0, size;
	int fd;

	*out = NULL;
	/* A device is not even opened (that alone may act); a socket
	 * cannot be. The fstat below sees what was swapped in between. */
	if (spool_fs_lstat(sp, path, &st) == 0 && !S_ISREG(st.st_mode) &&
	    !S_ISLNK(st.st_mode))
		return spool_error_set(SPOOL_EINVALID,
			"'%s' is not a regular file", path);
	fd = spool_fs_open(sp, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
	if (fd < 0 && (errno == ENXIO || errno == ENODEV))
		return spool_error_set(SPOOL_EINVALID,
			"'%s' is not a regular file", path);
	if (fd < 0) {
		if (errno == ELOOP || errno == EXDEV)
			return spool_error_set(SPOOL_EINVALID,
				"'%s' is a symbolic link or lies under one; "
				"tasks must be regular files", path);
		return spool_error_sys(errno == ENOENT ? SPOOL_ENOTFOUND
						       : SPOOL_ERROR,
				       "cannot open '%s'", path);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return spool_error_set(SPOOL_EINVALID,
			"'%s' is not a regular file", path);
	}
	/* The apparent size: a sparse file counts as what a read gives. */
	if (st.st_size < 0 || (uintmax_t)st.st_size > max) {
		close(fd);
		return spool_error_set(SPOOL_EINVALID,
			"'%s' is too large (%lld bytes, the limit is %zu)",
			path, (long long)st.st_size, max);
	}
	size = (size_t)st.st_size;
	buf = malloc(size + 1);
	if (!buf) {
		close(fd);
		return spool_error_set(SPOOL_ERROR, "out of memory");
	}
	/* Never more than the size checked: a file that grows meanwhile
	 * is read as it was, and read again when its change is seen. */
	while (n < size) {
		ssize_t r = read(fd, buf + n, size - n);
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

/* Adds up the directory dfd (which it closes), depth levels deep at
 * most. */
static int measure_dir(spool_measure *m, int dfd, int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc = 0;

	if (!(d = fdopendir(dfd))) {
		close(dfd);
		return -1;
	}
	while (rc == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) < 0)
			continue;	/* gone meanwhile */
		m->files++;
		if (m->files > m->max_files)
			break;
		if (S_ISDIR(st.st_mode)) {
			int fd;
			if (depth <= 0) {
				m->files = m->max_files + 1;
				break;
			}
			fd = openat(dirfd(d), de->d_name, O_RDONLY |
				    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0)
				rc = measure_dir(m, fd, depth - 1);
			continue;
		}
		if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
			continue;
		m->bytes += (uint64_t)st.st_size;
		if ((uint64_t)st.st_size > m->largest) {
			m->largest = (uint64_t)st.st_size;
			snprintf(m->largest_name, sizeof(m->largest_name),
				 "%s", de->d_name);
		}
	}
	closedir(d);
	return rc;
}

int spool_fs_measure(spool_measure *m, const spool *sp, const char *path)
{
	struct stat st;
	int fd;

	m->bytes = m->files = m->largest = 0;
	m->largest_name[0] = '\0';
	fd = spool_fs_open(sp, path, O_RDONLY | O_DIRECTORY, 0);
	if (fd >= 0)
		return measure_dir(m, fd, 64) < 0
		       ? spool_error_sys(SPOOL_ERROR, "cannot read '%s'", path)
		       : 0;
	if (errno == ENOENT)
		return 0;
	if (errno == ELOOP || errno == EXDEV)
		return spool_error_set(SPOOL_EINVALID, "'%s' is a symbolic "
			"link or lies under one; the spool follows none",
			path);
	if (errno != ENOTDIR || spool_fs_lstat(sp, path, &st) < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot read '%s'", path);
	m->files = 1;
	m->bytes = m->largest = (uint64_t)st.st_size;
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
