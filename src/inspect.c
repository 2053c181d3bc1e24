/*
 * Looking at a spool without changing it: whether the daemon runs, how
 * long a lease has left, how far git is behind the disk.
 */
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
#include <dirent.h>

#include "operator-int.h"
#include "lease.h"
#include "snapshot.h"

bool spool_daemon_running(spool *sp, long *pid)
{
	char buf[32];
	ssize_t n;
	bool running;
	int fd;

	if (pid)
		*pid = 0;
	fd = openat(spool_rootfd(sp), ".spool/run/daemon.pid",
		    O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	/* The daemon holds an exclusive flock as long as it lives: if we
	 * can take one, nobody does. */
	running = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	if (running && pid && (n = pread(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		*pid = strtol(buf, NULL, 10);
	}
	close(fd);
	return running;
}

long spool_task_lease(spool *sp, json_t *task)
{
	return spool_lease_seconds(sp, task);	/* as spoold counts it */
}

int spool_lease_left(long *left, spool *sp, const spool_loc *loc,
		     const char *id, json_t *task)
{
	char path[PATH_MAX];
	struct stat st;

	spool_loc_path(path, sizeof(path), loc, id);
	if (fstatat(spool_rootfd(sp), path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return spool_error_sys(errno == ENOENT ? SPOOL_ENOTFOUND
						       : SPOOL_ERROR,
				       "cannot stat '%s'", path);
	/* From the last touch or the claim itself (a rename keeps the mtime
	 * and sets the ctime), whichever is later, as spoold counts it. */
	*left = (long)((spool_heartbeat_ms(&st) - spool_now_ms()) / 1000 +
		       spool_task_lease(sp, task));
	return 0;
}

/* Entries of dir that keep() accepts; dotfiles never count. */
static size_t count_entries(spool *sp, const char *dir,
			    bool (*keep)(const char *name))
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;
	int fd;

	fd = openat(spool_rootfd(sp), dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d)))
		n += de->d_name[0] != '.' && keep(de->d_name);
	closedir(d);
	return n;
}

static bool any_name(const char *name)
{
	(void)name;
	return true;
}

static bool not_reason(const char *name)
{
	return !strstr(name, ".reason");
}

static bool task_name(const char *name)
{
	size_t len = strlen(name);

	return len > 5 && strcmp(name + len - 5, ".json") == 0;
}

int spool_survey(spool_survey_t *out, spool *sp)
{
	git_repository *repo;
	git_commit *head = NULL;
	git_tree *tree = NULL;
	spool_map *m = NULL;
	size_t *perdir = NULL;
	git_oid oid;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = spool_repo(&repo, sp)) < 0 || (rc = spool_map_new(&m)) < 0)
		return rc;
	if (git_reference_name_to_id(&oid, repo, "HEAD") == 0) {
		if (git_commit_lookup(&head, repo, &oid) < 0 ||
		    git_commit_tree(&tree, head) < 0) {
			rc = spool_error_git("cannot read HEAD");
			goto out;
		}
		if ((rc = spool_map_add_head(m, repo, tree)) < 0)
			goto out;
	}
	spool_error_clear();
	if ((rc = spool_map_add_disk(m, sp, NULL, NULL)) < 0)
		goto out;
	if (!(perdir = calloc(m->ndirs + 1, sizeof(*perdir)))) {
		rc = spool_error_set(SPOOL_ERROR, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < m->cap; i++) {
		spool_map_entry *e = &m->slots[i];
		if (!e->id[0])
			continue;
		if (e->ndisk != 1 || e->head != e->disk[0])
			out->moves++;
		for (unsigned k = 0; k < e->ndisk && k < SPOOL_MAP_COPIES; k++)
			perdir[e->disk[k]]++;
	}
	for (size_t d = 0; d < m->ndirs; d++) {
		const spool_loc *loc = &m->dirs[d];
		out->counts[loc->state] += perdir[d];
		if (loc->state == SPOOL_STATE_CLAIMED && loc->agent[0] &&
		    out->nagents < SPOOL_ARRAY_SIZE(out->agents)) {
			snprintf(out->agents[out->nagents].name,
				 sizeof(out->agents[0].name), "%s", loc->agent);
			out->agents[out->nagents++].claimed = perdir[d];
		}
	}
	/* new/ and quarantine/ hold any name: count what is there. */
	out->counts[SPOOL_STATE_NEW] = out->waiting =
		count_entries(sp, "new", any_name);
	out->counts[SPOOL_STATE_QUARANTINE] =
		count_entries(sp, "quarantine", not_reason);
out:
	free(perdir);
	spool_map_free(m);
	git_tree_free(tree);
	git_commit_free(head);
	return rc;
}

int spool_untracked(size_t *moves, size_t *waiting, spool *sp)
{
	spool_survey_t s;
	int rc = spool_survey(&s, sp);

	*moves = s.moves;
	*waiting = s.waiting;
	return rc;
}

size_t spool_dir_count(spool *sp, const char *dir)
{
	return count_entries(sp, dir, task_name);
}

void spool_duration_format(char *buf, size_t len, long secs)
{
	const char *sign = secs < 0 ? "-" : "";

	if (secs < 0)
		secs = -secs;
	if (secs < 60)
		snprintf(buf, len, "%s%lds", sign, secs);
	else if (secs < 3600)
		snprintf(buf, len, "%s%ldm%02lds", sign, secs / 60, secs % 60);
	else if (secs < 86400)
		snprintf(buf, len, "%s%ldh%02ldm", sign, secs / 3600,
			 secs % 3600 / 60);
	else
		snprintf(buf, len, "%s%ldd%02ldh", sign, secs / 86400,
			 secs % 86400 / 3600);
}

int spool_duration_parse(long *out, const char *s)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (end == s || n < 0 || errno)
		goto bad;
	switch (*end) {
	case '\0': case 's': break;
	case 'm': n *= 60; break;
	case 'h': n *= 3600; break;
	case 'd': n *= 86400; break;
	case 'w': n *= 7 * 86400; break;
	default: goto bad;
	}
	if (*end && end[1])
		goto bad;
	*out = n;
	return 0;
bad:
	return spool_error_set(SPOOL_EINVALID, "'%s' is not a duration "
			       "(30s, 15m, 2h, 7d, 1w or seconds)", s);
}
