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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "state.h"
#include "root.h"
#include "gitlocks.h"

/* How long a git command run by hand may hold the repository. */
#define WAIT_MAX_MS 30000
/* git commits its index before it moves the branch: the step between. */
#define SETTLE_MS 150
/* Unsure who has a lock file open, a younger one is taken as live. */
#define YOUNG_S 10

/* The process that has the file open, or 0. *unsure when the descriptors
 * of some process cannot be read (another user's, without privilege). */
static pid_t held_open(const struct stat *lock, bool *unsure)
{
	struct dirent *p, *f;
	char path[64];
	pid_t held = 0;
	DIR *proc, *fds;

	if (!(proc = opendir("/proc"))) {
		*unsure = true;
		return 0;
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
			    fstatat(dirfd(fds), f->d_name, &st, 0) == 0 &&
			    st.st_dev == lock->st_dev &&
			    st.st_ino == lock->st_ino)
				held = (pid_t)atol(p->d_name);
		}
		closedir(fds);
	}
	closedir(proc);
	return held;
}

/* A process that has exited but whose parent has not reaped it yet. */
static bool zombie(pid_t pid)
{
	char path[64], buf[256];
	ssize_t n;
	char *paren;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	paren = strrchr(buf, ')');
	return !paren || paren[1] != ' ' || paren[2] == 'Z';
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

/* Removes the dead ones; true if a live one remains, its holder then in
 * *holder when known. */
static bool sweep(pid_t *holder, spool *sp)
{
	char paths[4][PATH_MAX];
	size_t n = lock_paths(paths, sp);
	bool live = false;

	for (size_t i = 0; i < n; i++) {
		struct stat st;
		bool unsure = false;
		if (fstatat(sp->rootfd, paths[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		pid_t pid = held_open(&st, &unsure);
		if (pid > 0)
			*holder = pid;
		if (pid > 0 || (unsure && st.st_mtime > time(NULL) - YOUNG_S))
			live = true;
		else
			unlinkat(sp->rootfd, paths[i], 0);
	}
	return live;
}

/*
 * git reset commits its index, and only then moves the branch: the files
 * have changed but HEAD has not yet. Waiting for the git process itself
 * to exit, not a fixed time after its lock, keeps a loaded machine from
 * showing the daemon a branch that looks unmoved under files that moved.
 */
void spool_git_locks_clear(spool *sp)
{
	pid_t holder = 0;
	bool waited = false;
	int ms = 0;

	for (; ms < WAIT_MAX_MS && sweep(&holder, sp); ms += 10) {
		usleep(10000);
		waited = true;
	}
	for (; holder > 0 && ms < WAIT_MAX_MS && kill(holder, 0) == 0 &&
	       !zombie(holder); ms += 10)
		usleep(10000);
	if (waited)
		usleep(SETTLE_MS * 1000);
}
