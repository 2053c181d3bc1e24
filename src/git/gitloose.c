/*
 * Loose objects written stored, not compressed. Every commit rewrites the
 * tree of each directory it touches, and ready/ of a big spool is hundreds
 * of kilobytes: deflating it at zlib's fastest level costs more than all
 * the rest of a commit, and inflating it again on the next one more still.
 * These objects are still zlib streams (of stored blocks), so git and
 * libgit2 read them as any other; the packer compresses them later, with
 * deltas. libgit2 cannot write this itself: its loose backend takes level
 * 0 to mean no zlib stream at all. Reading stays with libgit2's backends.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <git2/sys/odb_backend.h>

#include "error.h"
#include "gitloose.h"

struct stored {
	git_odb_backend parent;
	int dirfd;		/* objects/ */
	char *dir;		/* its path, for mkstemp */
};

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Header and data through zlib at level 0: copies plus a checksum. The
 * smallest memLevel: stored blocks use no hash table, and the default
 * one is cleared at every init, 64 KB for each object of a batch of
 * thousands. The window, which the stream's header names, is the usual.
 * Written when the buffer is full or all is done: a small object in one
 * write.
 */
static int deflate_to(int fd, const char *hdr, size_t hlen, const void *data,
		      size_t len)
{
	unsigned char out[65536];
	z_stream z = { 0 };
	int zr = Z_OK, rc = 0;

	if (deflateInit2(&z, Z_NO_COMPRESSION, Z_DEFLATED, 15, 1,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	z.next_out = out;
	z.avail_out = sizeof(out);
	for (int part = 0; part < 2 && rc == 0; part++) {
		z.next_in = (Bytef *)(part ? data : hdr);
		z.avail_in = (uInt)(part ? len : hlen);
		do {
			zr = deflate(&z, part ? Z_FINISH : Z_NO_FLUSH);
			if (zr == Z_STREAM_ERROR)
				rc = -1;
			else if (z.avail_out == 0 || zr == Z_STREAM_END) {
				if (write_all(fd, out, sizeof(out) -
					      z.avail_out) < 0)
					rc = -1;
				z.next_out = out;
				z.avail_out = sizeof(out);
			}
		} while (rc == 0 && (part ? zr != Z_STREAM_END
					  : z.avail_in > 0));
	}
	deflateEnd(&z);
	return rc;
}

/* Failed writes, counted: see spool_odb_failures. */
static unsigned failures;
static char failure[256];

unsigned spool_odb_failures(const char **why)
{
	if (why)
		*why = failure;
	return failures;
}

static int fail(const char *tmp)
{
	int err = errno;

	if (tmp)
		unlink(tmp);
	failures++;
	snprintf(failure, sizeof(failure), "%s", strerror(err));
	git_error_set_str(GIT_ERROR_OS, strerror(err));
	return -1;
}

/*
 * A scratch file beside where the object goes, under git's own prefix for
 * them (fsck lets them be, prune removes old ones). mkstemp picks the name:
 * one made from the pid collides between two hosts sharing the directory,
 * and a writer that removed its namesake's file first could remove
 * another host's object half written.
 */
static int open_tmp(struct stored *s, char *tmp, size_t len, const char *hex)
{
	int fd;

	if ((size_t)snprintf(tmp, len, "%s/%.2s/tmp_obj_XXXXXX", s->dir,
			     hex) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		char fan[3] = { hex[0], hex[1], '\0' };

		if (mkdirat(s->dirfd, fan, 0777) < 0 && errno != EEXIST)
			return -1;
		snprintf(tmp, len, "%s/%.2s/tmp_obj_XXXXXX", s->dir, hex);
		fd = mkostemp(tmp, O_CLOEXEC);
	}
	/* read-only, as git leaves its objects */
	if (fd >= 0 && fchmod(fd, 0444) < 0) {
		int err = errno;

		close(fd);
		unlink(tmp);
		errno = err;
		return -1;
	}
	return fd;
}

static int stored_write(git_odb_backend *b, const git_oid *oid,
			const void *data, size_t len, git_object_t type)
{
	struct stored *s = (struct stored *)b;
	char hex[GIT_OID_HEXSZ + 1], path[64], tmp[PATH_MAX], hdr[64];
	int fd, hlen;

	if (len != (uInt)len)
		return GIT_PASSTHROUGH;	/* huge: libgit2's backend streams */
	git_oid_tostr(hex, sizeof(hex), oid);
	hlen = snprintf(hdr, sizeof(hdr), "%s %zu",
			git_object_type2string(type), len) + 1;
	snprintf(path, sizeof(path), "%.2s/%s", hex, hex + 2);
	if ((fd = open_tmp(s, tmp, sizeof(tmp), hex)) < 0)
		return fail(NULL);
	if (deflate_to(fd, hdr, (size_t)hlen, data, len) < 0) {
		close(fd);
		return fail(tmp);
	}
	/* Written whole before it gets its name: a reader, or a crash,
	 * never sees half an object. */
	if (close(fd) < 0 || renameat(AT_FDCWD, tmp, s->dirfd, path) < 0)
		return fail(tmp);
	return 0;
}

static void stored_free(git_odb_backend *b)
{
	struct stored *s = (struct stored *)b;

	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->dir);
	free(s);
}

int spool_odb_stored(git_odb_backend **out, const char *objects)
{
	struct stored *s;

	*out = NULL;
	if (!(s = calloc(1, sizeof(*s))))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	git_odb_init_backend(&s->parent, GIT_ODB_BACKEND_VERSION);
	s->parent.write = stored_write;
	s->parent.free = stored_free;
	if (!(s->dir = strdup(objects))) {
		free(s);
		return spool_error_set(SPOOL_ERROR, "out of memory");
	}
	s->dirfd = open(objects, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		free(s->dir);
		free(s);
		return spool_error_sys(SPOOL_ERROR, "cannot open '%s'",
				       objects);
	}
	*out = &s->parent;
	return 0;
}
