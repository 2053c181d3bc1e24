/*
 * Where every task is, at HEAD and on disk: a hash of ids to small
 * directory indexes, so a spool of tens of thousands of tasks fits in a
 * few megabytes. new/ and quarantine/ hold arbitrary names and are not
 * mapped; reconcile treats them apart.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "state.h"
#include "fsutil.h"
#include "root.h"
#include "repo.h"
#include "snapshot.h"

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

int spool_map_new(spool_map **out)
{
	spool_map *m = calloc(1, sizeof(*m));

	if (!m)
		return spool_error_set(SPOOL_ERROR, "out of memory");
	m->cap = 1024;
	m->slots = calloc(m->cap, sizeof(*m->slots));
	if (!m->slots) {
		free(m);
		return spool_error_set(SPOOL_ERROR, "out of memory");
	}
	*out = m;
	return 0;
}

void spool_map_free(spool_map *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m->dirs);
	free(m);
}

int spool_map_dir(spool_map *m, const spool_loc *loc)
{
	for (size_t i = 0; i < m->ndirs; i++)
		if (m->dirs[i].state == loc->state &&
		    strcmp(m->dirs[i].agent, loc->agent) == 0)
			return (int)i;
	if (m->ndirs == m->capdirs) {
		size_t nc = m->capdirs ? m->capdirs * 2 : 16;
		spool_loc *p = realloc(m->dirs, nc * sizeof(*p));
		if (!p || nc > INT16_MAX)
			return spool_error_set(SPOOL_ERROR, "too many agents");
		m->dirs = p;
		m->capdirs = nc;
	}
	m->dirs[m->ndirs] = *loc;
	return (int)m->ndirs++;
}

static int grow(spool_map *m)
{
	spool_map_entry *old = m->slots;
	size_t oldcap = m->cap;

	m->cap *= 2;
	m->slots = calloc(m->cap, sizeof(*m->slots));
	if (!m->slots) {
		m->slots = old;
		m->cap = oldcap;
		return spool_error_set(SPOOL_ERROR, "out of memory");
	}
	m->n = 0;
	for (size_t i = 0; i < oldcap; i++) {
		spool_map_entry *e;
		if (!old[i].id[0])
			continue;
		spool_map_get(&e, m, old[i].id);
		*e = old[i];
	}
	free(old);
	return 0;
}

int spool_map_get(spool_map_entry **out, spool_map *m, const char *id)
{
	size_t i, len;

	if ((m->n + 1) * 4 > m->cap * 3 && grow(m) < 0)
		return SPOOL_ERROR;
	for (i = hash(id) & (m->cap - 1); m->slots[i].id[0];
	     i = (i + 1) & (m->cap - 1))
		if (strcmp(m->slots[i].id, id) == 0) {
			*out = &m->slots[i];
			return 0;
		}
	/* memcpy, not snprintf: this runs once per task per scan */
	len = strnlen(id, SPOOL_ID_MAX);
	memcpy(m->slots[i].id, id, len);
	m->slots[i].id[len] = '\0';
	m->slots[i].head = -1;
	m->n++;
	*out = &m->slots[i];
	return 0;
}

static int add_head_tree(spool_map *m, git_repository *repo,
			 const git_tree_entry *te, const spool_loc *loc)
{
	char id[SPOOL_ID_MAX + 1];
	git_tree *t = NULL;
	int dir;

	if (git_tree_entry_type(te) != GIT_OBJECT_TREE)
		return 0;
	if (git_tree_lookup(&t, repo, git_tree_entry_id(te)) < 0)
		return spool_error_git("cannot read the tree of '%s'",
				       git_tree_entry_name(te));
	if ((dir = spool_map_dir(m, loc)) < 0)
		goto fail;
	for (size_t i = 0; i < git_tree_entrycount(t); i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);
		spool_map_entry *me;
		if (loc->state == SPOOL_STATE_CLAIMED && !loc->agent[0]) {
			spool_loc sub = *loc;
			if (!spool_name_valid(git_tree_entry_name(e)))
				continue;
			snprintf(sub.agent, sizeof(sub.agent), "%s",
				 git_tree_entry_name(e));
			if (add_head_tree(m, repo, e, &sub) < 0)
				goto fail;
			continue;
		}
		if (!spool_id_from_name(id, git_tree_entry_name(e)))
			continue;
		if (spool_map_get(&me, m, id) < 0)
			goto fail;
		me->head = (int16_t)dir;
	}
	git_tree_free(t);
	return 0;
fail:
	git_tree_free(t);
	return SPOOL_ERROR;
}

static bool mapped(spool_state s)
{
	return s != SPOOL_STATE_NEW && s != SPOOL_STATE_QUARANTINE;
}

int spool_map_add_head(spool_map *m, git_repository *repo, git_tree *root)
{
	for (int s = 0; s < SPOOL_STATE_COUNT; s++) {
		const git_tree_entry *te;
		spool_loc loc = { .state = (spool_state)s };
		if (!mapped(loc.state))
			continue;
		te = git_tree_entry_byname(root, spool_state_name(loc.state));
		if (te && add_head_tree(m, repo, te, &loc) < 0)
			return SPOOL_ERROR;
	}
	return 0;
}

static int add_disk_dir(spool_map *m, spool *sp, const spool_loc *loc,
			spool_map_visit odd, void *data)
{
	char dirpath[128], id[SPOOL_ID_MAX + 1];
	struct dirent *de;
	DIR *d;
	int fd, dir, rc = 0;

	spool_loc_format(dirpath, sizeof(dirpath), loc);
	fd = spool_fs_open(sp, dirpath,
		    O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return errno == ENOENT ? 0 : spool_error_sys(SPOOL_ERROR,
			"cannot read '%s'", dirpath);
	if (!(d = fdopendir(fd))) {
		close(fd);
		return spool_error_sys(SPOOL_ERROR, "cannot read '%s'", dirpath);
	}
	if ((dir = spool_map_dir(m, loc)) < 0) {
		closedir(d);
		return SPOOL_ERROR;
	}
	while (rc == 0 && (de = readdir(d))) {
		spool_map_entry *e;
		if (strcmp(de->d_name, ".gitkeep") == 0 ||
		    strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (loc->state == SPOOL_STATE_CLAIMED && !loc->agent[0]) {
			spool_loc sub = *loc;
			if (de->d_type == DT_DIR &&
			    spool_name_valid(de->d_name)) {
				snprintf(sub.agent, sizeof(sub.agent), "%s",
					 de->d_name);
				rc = add_disk_dir(m, sp, &sub, odd, data);
			} else if (odd) {
				rc = odd(data, loc, de->d_name);
			}
			continue;
		}
		/* Only regular files with a task's name are tasks;
		 * anything else is handed to the caller to deal with. */
		if (!spool_id_from_name(id, de->d_name) ||
		    (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)) {
			if (odd)
				rc = odd(data, loc, de->d_name);
			continue;
		}
		if ((rc = spool_map_get(&e, m, id)) < 0)
			break;
		if (e->ndisk < SPOOL_MAP_COPIES)
			e->disk[e->ndisk] = (int16_t)dir;
		if (e->ndisk < UINT8_MAX)
			e->ndisk++;
	}
	closedir(d);
	return rc;
}

int spool_map_add_disk(spool_map *m, spool *sp, spool_map_visit odd,
		       void *data)
{
	for (int s = 0; s < SPOOL_STATE_COUNT; s++) {
		spool_loc loc = { .state = (spool_state)s };
		int rc;
		if (!mapped(loc.state))
			continue;
		if ((rc = add_disk_dir(m, sp, &loc, odd, data)) < 0)
			return rc;
	}
	return 0;
}

/* Every tree below a state directory, down to claimed/AGENT/. */
static void warm(git_repository *repo, const git_tree_entry *te, int depth)
{
	git_tree *t = NULL;

	if (git_tree_entry_type(te) != GIT_OBJECT_TREE ||
	    git_tree_lookup(&t, repo, git_tree_entry_id(te)) < 0) {
		git_error_clear();
		return;
	}
	for (size_t i = 0; depth > 0 && i < git_tree_entrycount(t); i++)
		warm(repo, git_tree_entry_byindex(t, i), depth - 1);
	git_tree_free(t);
}

void spool_map_warm(spool *sp)
{
	git_repository *repo;
	git_object *root = NULL;

	if (spool_repo(&repo, sp) < 0 ||
	    git_revparse_single(&root, repo, "HEAD^{tree}") < 0) {
		git_error_clear();
		spool_error_clear();
		return;
	}
	for (int s = 0; s < SPOOL_STATE_COUNT; s++) {
		const git_tree_entry *te;
		if (!mapped((spool_state)s))
			continue;
		te = git_tree_entry_byname((git_tree *)root,
					   spool_state_name((spool_state)s));
		if (te)
			warm(repo, te, s == SPOOL_STATE_CLAIMED);
	}
	git_object_free(root);
}
