/* Files under the spool root: moves, durable writes, reads, stamps
 * (fsutil.c). */
#ifndef SPOOL_FSUTIL_H
#define SPOOL_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "root.h"

/* Atomic rename that never replaces: renameat2(RENAME_NOREPLACE), with a
 * link+unlink fallback where the filesystem refuses the flag.
 * SPOOL_ENOTFOUND if src vanished (someone else took it), SPOOL_EEXISTS
 * if dst exists. Paths are relative to the spool root. */
int spool_fs_move(const spool *sp, const char *src, const char *dst);

/* The same rename without the fsync of both directories that makes it
 * durable: for moves whose loss in a power cut only undoes them (never
 * doubles or loses the task), like an agent's own mv. */
int spool_fs_move_unsynced(const spool *sp, const char *src, const char *dst);

/* Writes data durably at path (relative to root): tmp/, fsync, rename,
 * fsync dir. With exclusive, fails with SPOOL_EEXISTS if path exists. */
int spool_fs_write(const spool *sp, const char *path, const void *data,
		   size_t len, bool exclusive);

/* Creates path with data in place, neither synced nor atomic: for a
 * file a reader drops when torn. SPOOL_EEXISTS if it is there. */
int spool_fs_create(const spool *sp, const char *path, const void *data,
		    size_t len);

/* A fresh name in tmp/ (relative to the root), as the writes above use:
 * tmp/SEC.NSEC.PID.N, whose pid spool_fs_sweep_tmp (tmpsweep.c) reads
 * back. It fits in SPOOL_TMPNAME_MAX bytes. */
#define SPOOL_TMPNAME_MAX 64
void spool_fs_tmpname(char *buf, size_t len);

/* Everything written on the spool's filesystem so far, data and names,
 * on disk: one syncfs(2), where each file's fsync would cost a journal
 * commit of its own. */
int spool_fs_syncfs(const spool *sp);

/* Replaces a cache file atomically, without fsync: a cache lost in a
 * power cut is rebuilt, so its writes need not wait for the disk. */
int spool_fs_write_cache(const spool *sp, const char *path, const void *data,
			 size_t len);

/* Replaces an existing file atomically, failing with SPOOL_ENOTFOUND if it
 * is gone (so a concurrent mv is never undone by a rewrite). */
int spool_fs_rewrite(const spool *sp, const char *path, const void *data,
		     size_t len);

/* Reads a regular file (never follows a symlink, refuses FIFOs and files
 * over max bytes). Caller frees *out. */
int spool_fs_read(char **out, size_t *len, const spool *sp, const char *path,
		  size_t max);

int spool_fs_mkdirs(const spool *sp, const char *path);

int spool_fs_fsync_dir(const spool *sp, const char *dir);

/* Opens path (relative to the root) without following a symbolic link
 * in any component and without leaving the spool: openat2() with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS where the kernel has it, else
 * one O_NOFOLLOW component at a time. O_NOFOLLOW and O_CLOEXEC are
 * implied. The fd, or -1 with errno (ELOOP: a link on the way, EXDEV:
 * ".." or an absolute path). */
int spool_fs_open(const spool *sp, const char *path, int flags, mode_t mode);

/* Opens the directory that holds path the same way (O_PATH); *name gets
 * the last component, a pointer into path. */
int spool_fs_open_parent(const char **name, const spool *sp, const char *path);

/*
 * Keeps the directories that paths are looked up in open until the
 * matching spool_fs_release (holds nest), instead of opening one for
 * each call: a batch makes thousands of calls in a few directories.
 * Each is still reached with no link followed, once; a directory
 * renamed meanwhile is not looked up again, so hold only for a run of
 * the spool's own work.
 */
void spool_fs_hold(spool *sp);
void spool_fs_release(spool *sp);

/* lstat() of path with no link followed on the way to it. */
int spool_fs_lstat(const spool *sp, const char *path, struct stat *st);

/* Whether path is there (0) or not (-1, errno), link or not. */
int spool_fs_access(const spool *sp, const char *path);

/* unlinkat() of path, in its directory reached with no link followed. */
int spool_fs_unlink(const spool *sp, const char *path, int flags);

/* What a tree of files holds, by apparent sizes, as stat says (nothing
 * is read, no link followed). */
typedef struct {
	uint64_t max_files;	/* in: stop counting past this many */
	uint64_t files;		/* entries, directories included */
	uint64_t bytes;		/* files and links */
	uint64_t largest;	/* the largest file ... */
	char largest_name[256];	/* ... and its name */
} spool_measure;

/* Measures path, a directory or a file; nothing there is all zero.
 * SPOOL_EINVALID if a link is on the way to it. */
int spool_fs_measure(spool_measure *m, const spool *sp, const char *path);

/*
 * What a stat says of a file or directory, to tell later whether it
 * changed: a rename in or out of a directory, and any write to a file,
 * sets the ctime, which no user can set back.
 */
typedef struct {
	uint64_t ino, size;
	int64_t mtime, ctime;	/* ns since the epoch */
} spool_stamp;

void spool_stamp_of(spool_stamp *out, const struct stat *st);

bool spool_stamp_same(const spool_stamp *a, const spool_stamp *b);

/* Now, in ns since the epoch, as file times are kept. */
int64_t spool_now_ns(void);

/* True if a stamp taken at time taken (spool_now_ns before the stat) is
 * sure to differ after any later change: its ctime is clearly older, so a
 * change cannot fall in the same clock tick. */
bool spool_stamp_settled(const spool_stamp *s, int64_t taken);

/* Whether the spool is still there (its config file is): a spool being
 * removed gets no directory made again for it. */
bool spool_present(const spool *sp);

#endif
