/* Task files in the spool: reading, rewriting, finding, listing, and
 * giving out ids. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "state.h"
#include "task.h"
#include "fsutil.h"
#include "root.h"
#include "registry.h"
#include "task-files.h"

int spool_task_load(json_t **out, const spool *sp, const spool_loc *loc,
		    const char *id)
{
	char path[PATH_MAX];
	char *buf;
	size_t len;
	int rc;

	spool_loc_path(path, sizeof(path), loc, id);
	if ((rc = spool_fs_read(&buf, &len, sp, path,
				spool_task_max(sp))) < 0)
		return rc;
	rc = spool_task_parse(out, buf, len, path, id);
	free(buf);
	return rc;
}

int spool_task_store(spool *sp, const spool_loc *loc, const char *id,
		     json_t *task)
{
	char path[PATH_MAX];
	char *s = spool_task_dump(task);
	int rc;

	if (!s)
		return spool_error_set(SPOOL_ERROR, "out of memory");
	spool_loc_path(path, sizeof(path), loc, id);
	rc = spool_fs_rewrite(sp, path, s, strlen(s));
	free(s);
	return rc;
}

static bool exists(const spool *sp, const char *path)
{
	return spool_fs_access(sp, path) == 0;
}

/* How many places hold ID.json, the first of them in *first. */
static int count_places(spool_loc *first, const spool *sp, const char *id)
{
	char path[PATH_MAX];
	spool_loc loc;
	int found = 0;
	struct dirent *de;
	DIR *d;
	int fd;

	first->state = SPOOL_STATE_NONE;
	first->agent[0] = '\0';
	memset(&loc, 0, sizeof(loc));
	for (int s = 0; s < SPOOL_STATE_COUNT; s++) {
		if (s == SPOOL_STATE_CLAIMED)
			continue;
		loc.state = (spool_state)s;
		spool_loc_path(path, sizeof(path), &loc, id);
		if (exists(sp, path) && found++ == 0)
			*first = loc;
	}
	fd = spool_fs_open(sp, "claimed", O_RDONLY | O_DIRECTORY, 0);
	if (fd >= 0 && (d = fdopendir(fd))) {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.' ||
			    !spool_name_valid(de->d_name))
				continue;
			loc.state = SPOOL_STATE_CLAIMED;
			snprintf(loc.agent, sizeof(loc.agent), "%s", de->d_name);
			spool_loc_path(path, sizeof(path), &loc, id);
			if (exists(sp, path) && found++ == 0)
				*first = loc;
		}
		closedir(d);
	} else if (fd >= 0) {
		close(fd);
	}
	return found;
}

/*
 * The directories are looked at one after another, and an agent's mv
 * can take the file from one not looked at yet to one already passed,
 * or the other way: a task that is moving is neither nowhere nor in two
 * places until a few looks agree.
 */
#define FIND_LOOKS 3

int spool_task_find(spool_loc *out, const spool *sp, const char *id)
{
	int found = 0;

	if (!spool_id_valid(id))
		return spool_error_set(SPOOL_EINVALID, "'%s' is not a task id "
			"(1-64 letters, digits and '-')", id);
	for (int look = 0; look < FIND_LOOKS && found != 1; look++)
		found = count_places(out, sp, id);
	if (found == 0)
		return spool_error_set(SPOOL_ENOTFOUND, "no task '%s' in the "
				       "spool; 'spool ls' lists them", id);
	if (found > 1)
		return spool_error_set(SPOOL_EEXISTS, "task '%s' is in %d "
			"places; run 'spool reconcile'", id, found);
	return 0;
}

static int list_dir(spool_entry **out, size_t *count, size_t *cap,
		    const spool *sp, const spool_loc *loc)
{
	char dir[128];
	struct dirent *de;
	DIR *d;
	int fd;

	spool_loc_format(dir, sizeof(dir), loc);
	fd = spool_fs_open(sp, dir, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return errno == ENOENT ? 0 : spool_error_sys(SPOOL_ERROR,
			"cannot read '%s'", dir);
	if (!(d = fdopendir(fd))) {
		close(fd);
		return spool_error_sys(SPOOL_ERROR, "cannot read '%s'", dir);
	}
	while ((de = readdir(d))) {
		char id[SPOOL_ID_MAX + 1];
		spool_entry *e;
		if (!spool_id_from_name(id, de->d_name))
			continue;
		if (*count == *cap) {
			size_t nc = *cap ? *cap * 2 : 64;
			spool_entry *p = realloc(*out, nc * sizeof(*p));
			if (!p) {
				closedir(d);
				return spool_error_set(SPOOL_ERROR,
						       "out of memory");
			}
			*out = p;
			*cap = nc;
		}
		e = &(*out)[*count];
		memcpy(e->id, id, sizeof(e->id));
		e->loc = *loc;
		(*count)++;
	}
	closedir(d);
	return 0;
}

int spool_list(spool_entry **out, size_t *count, const spool *sp,
	       spool_state state, const char *agent)
{
	size_t cap = 0;
	spool_loc loc;
	char **agents = NULL;
	size_t nagents = 0;
	int rc = 0;

	*out = NULL;
	*count = 0;
	memset(&loc, 0, sizeof(loc));
	for (int s = 0; s < SPOOL_STATE_COUNT && rc == 0; s++) {
		if (state != SPOOL_STATE_NONE && state != s)
			continue;
		if (agent && s != SPOOL_STATE_CLAIMED)
			continue;
		loc.state = (spool_state)s;
		if (s != SPOOL_STATE_CLAIMED) {
			rc = list_dir(out, count, &cap, sp, &loc);
			continue;
		}
		if (agent) {
			snprintf(loc.agent, sizeof(loc.agent), "%s", agent);
			rc = list_dir(out, count, &cap, sp, &loc);
			continue;
		}
		if ((rc = spool_registry_names(&agents, &nagents, sp,
					       "claimed")) < 0)
			break;
		for (size_t i = 0; i < nagents && rc == 0; i++) {
			snprintf(loc.agent, sizeof(loc.agent), "%s", agents[i]);
			rc = list_dir(out, count, &cap, sp, &loc);
		}
		spool_names_free(agents, nagents);
	}
	if (rc < 0) {
		free(*out);
		*out = NULL;
		*count = 0;
	}
	return rc;
}

int spool_move_task(spool *sp, const char *id, const spool_loc *from,
		    const spool_loc *to, bool sync)
{
	char src[PATH_MAX], dst[PATH_MAX], dir[128];
	int rc;

	spool_loc_path(src, sizeof(src), from, id);
	spool_loc_path(dst, sizeof(dst), to, id);
	if (to->state == SPOOL_STATE_CLAIMED) {
		spool_loc_format(dir, sizeof(dir), to);
		if ((rc = spool_fs_mkdirs(sp, dir)) < 0)
			return rc;
	}
	return sync ? spool_fs_move(sp, src, dst)
		    : spool_fs_move_unsynced(sp, src, dst);
}
