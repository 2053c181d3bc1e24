/*
 * A process killed between writing a file in tmp/ and renaming it into
 * place leaves the file behind, named by nobody: the intent that
 * announced the write, if any, only names where it was going. Maildir
 * readers clean tmp/ by age; here the name says which process wrote it,
 * so a file is removed as soon as its writer is known to be dead, and
 * never while it lives.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "fsutil.h"
#include "tmpsweep.h"

/* One run of decimal digits ending at sep; its value in *v. */
static const char *number(const char *s, char sep, unsigned long long *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return NULL;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno || *end != sep)
		return NULL;
	return sep ? end + 1 : end;
}

/* The writer's pid, when name is "SEC.NSEC.PID.N" as spool_fs_tmpname
 * makes them; 0 otherwise. */
static pid_t writer_of(const char *name)
{
	unsigned long long sec, nsec, pid, n;
	const char *s = name;

	if (!(s = number(s, '.', &sec)) || !(s = number(s, '.', &nsec)) ||
	    !(s = number(s, '.', &pid)) || !number(s, '\0', &n))
		return 0;
	if (pid == 0 || pid > (unsigned long long)INT32_MAX)
		return 0;
	return (pid_t)pid;
}

/* Dead for certain: a process of another user answers EPERM. A pid taken
 * again by a new process only keeps the file until the next sweep. */
static bool writer_dead(pid_t pid)
{
	return pid != getpid() && kill(pid, 0) < 0 && errno == ESRCH;
}

void spool_fs_sweep_tmp(size_t *removed, const spool *sp)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;
	int fd;

	fd = spool_fs_open(sp, "tmp", O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		goto out;
	}
	while ((de = readdir(d))) {
		pid_t pid = writer_of(de->d_name);
		if (pid && writer_dead(pid) &&
		    unlinkat(dirfd(d), de->d_name, 0) == 0)
			n++;
	}
	closedir(d);
out:
	if (removed)
		*removed = n;
}
