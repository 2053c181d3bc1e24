/*
 * git's own lock files in the spool's repository. libgit2 takes them
 * (refs/heads/BRANCH.lock, index.lock) around each write and removes
 * them after; a writer killed in between leaves them, and every later
 * write of that file fails until someone deletes it. Only the holder of
 * the spool lock writes with libgit2, so when it takes the lock, a lock
 * file nobody has open is a dead writer's and goes. One a live process
 * has open is git's own, run by hand in the spool (a reset, a commit):
 * the spool waits for it to finish rather than record half of it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spool-int.h"

/* How long a git command run by hand may hold the repository. */
#define WAIT_MAX_MS 30000
/* git commits its index before it moves the branch: the step between. */
#define SETTLE_MS 150
/* Unsure who has a lock file open, a younger one is taken as live. */
#define YOUNG_S 10

/* Whether any process has the file open. *unsure when the descriptors
 * of some process cannot be read (another user's, without privilege). */
static bool held_open(const struct stat *lock, bool *unsure)
{
	struct dirent *p, *f;
	char path[64];
	bool held = false;
	DIR *proc, *fds;

	if (!(proc = opendir("/proc"))) {
		*unsure = true;
		return false;
	}
	while (!held && (p = readdir(proc))) {
		if (p->d_name[0] < '0' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
		if (!(fds = opendir(path))) {
			*unsure |= errno == EACCES || errno == EPERM;
			continue;
		}
		while (!held && (f = readdir(fds))) {
			struct stat st;
			if (f->d_name[0] != '.' &&
			    fstatat(dirfd(fds), f->d_name, &st, 0) == 0)
				held = st.st_dev == lock->st_dev &&
				       st.st_ino == lock->st_ino;
		}
		closedir(fds);
	}
	closedir(proc);
	return held;
}

/* The lock files to look at: the fixed ones and the branch's. */
static size_t lock_paths(char paths[][PATH_MAX], spool *sp)
{
	static const char *const fixed[] = { ".git/index.lock",
		".git/HEAD.lock", ".git/packed-refs.lock" };
	char head[PATH_MAX];
	size_t n = 0;
	ssize_t len;
	int fd;

	for (size_t i = 0; i < SPOOL_ARRAY_SIZE(fixed); i++)
		snprintf(paths[n++], PATH_MAX, "%s", fixed[i]);
	fd = openat(sp->rootfd, ".git/HEAD", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return n;
	len = read(fd, head, sizeof(head) - 1);
	close(fd);
	if (len <= 16 || strncmp(head, "ref: refs/heads/", 16) != 0)
		return n;
	head[len] = '\0';
	head[strcspn(head, "\n")] = '\0';
	if (!strstr(head, "..") && strlen(head) + 12 < PATH_MAX)
		snprintf(paths[n++], PATH_MAX, ".git/%s.lock", head + 5);
	return n;
}

/* Removes the dead ones; true if a live one remains. */
static bool sweep(spool *sp)
{
	char paths[4][PATH_MAX];
	size_t n = lock_paths(paths, sp);
	bool live = false;

	for (size_t i = 0; i < n; i++) {
		struct stat st;
		bool unsure = false;
		if (fstatat(sp->rootfd, paths[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (held_open(&st, &unsure) ||
		    (unsure && st.st_mtime > time(NULL) - YOUNG_S))
			live = true;
		else
			unlinkat(sp->rootfd, paths[i], 0);
	}
	return live;
}

void spool_git_locks_clear(spool *sp)
{
	bool waited = false;

	for (int ms = 0; ms < WAIT_MAX_MS && sweep(sp); ms += 10) {
		usleep(10000);
		waited = true;
	}
	if (waited)
		usleep(SETTLE_MS * 1000);
}
