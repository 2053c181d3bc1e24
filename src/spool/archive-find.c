/*
 * Finding a task in the archives of finished work (the archive/ indexes, then
 * the .tar.gz beside it). Below the state machine's entry point, which
 * asks here for dependencies and subtasks that were archived; writing
 * archives is archives.c's.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "state.h"
#include "task.h"
#include "fsutil.h"
#include "root.h"
#include "archive-find.h"
#include "larchive.h"
#include "registry.h"

#define ARCHIVE_DIR "archive"

/* ---- finding an archived task ------------------------------------------ */

static int cmp_desc(const void *a, const void *b)
{
	return strcmp(*(char *const *)b, *(char *const *)a);
}

/* Names of the .tsv indexes in archive/, newest first. */
static int list_indexes(char ***out, size_t *n, spool *sp)
{
	char **v = NULL;
	size_t cap = 0;
	struct dirent *de;
	DIR *d;
	int fd;

	*out = NULL;
	*n = 0;
	fd = spool_fs_open(sp, ARCHIVE_DIR, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return 0;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 5 ||
		    strcmp(de->d_name + len - 4, ".tsv") != 0)
			continue;
		if (*n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			char **p = realloc(v, nc * sizeof(*p));
			if (!p)
				break;
			v = p;
			cap = nc;
		}
		if ((v[*n] = strdup(de->d_name)))
			(*n)++;
	}
	closedir(d);
	if (*n > 1)
		qsort(v, *n, sizeof(*v), cmp_desc);
	*out = v;
	return 0;
}

/* Finds "\nID\t" in an index; fills out from that line. */
static bool index_lookup(spool_archived *out, const char *buf, size_t len,
			 const char *id)
{
	char pat[SPOOL_ID_MAX + 3], state[32];
	long long off = 0;
	size_t n = (size_t)snprintf(pat, sizeof(pat), "\n%s\t", id);
	const char *m = memmem(buf, len, pat, n), *p, *nl;

	if (!m)
		return false;
	p = m + n;
	nl = memchr(p, '\n', (size_t)(buf + len - p));
	if (!nl || sscanf(p, "%31[a-z]\t%40[0-9a-f]\t%lld", state, out->commit,
			  &off) < 1)
		return false;
	out->offset = off > 0 ? off : 0;
	out->state = spool_state_parse(state);
	return out->state != SPOOL_STATE_NONE;
}

/* Reads the task and lists its deliverables from a .tar.gz. */
static int read_archive(json_t **task, json_t **files, spool *sp,
			const char *path, const spool_archived *a,
			const char *id)
{
	char want[SPOOL_ID_MAX + 32], dprefix[SPOOL_ID_MAX + 32];
	struct archive_entry *e;
	struct archive *ar;
	size_t dlen;
	struct stat st;
	int fd, rc = 0;

	snprintf(want, sizeof(want), "%s/%s.json", spool_state_name(a->state),
		 id);
	dlen = (size_t)snprintf(dprefix, sizeof(dprefix), "deliverables/%s/",
				id);
	if ((fd = spool_fs_open(sp, path, O_RDONLY | O_NONBLOCK | O_NOCTTY,
				0)) < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot open '%s'", path);
	/* A FIFO or a device in archive/ would never end a read. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return spool_error_set(SPOOL_EINVALID, "'%s' is not a regular "
				       "file", path);
	}
	/* Start at the gzip member the task's entries are in. */
	if (a->offset && lseek(fd, (off_t)a->offset, SEEK_SET) < 0) {
		close(fd);
		return spool_error_sys(SPOOL_ERROR, "cannot seek in '%s'", path);
	}
	ar = archive_read_new();
	archive_read_support_filter_gzip(ar);
	archive_read_support_format_tar(ar);
	if (archive_read_open_fd(ar, fd, 65536) != ARCHIVE_OK) {
		rc = spool_error_set(SPOOL_ERROR, "cannot read '%s': %s", path,
				     archive_error_string(ar));
		goto out;
	}
	if (files)
		*files = json_array();
	while (archive_read_next_header(ar, &e) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		if (task && !*task && strcmp(name, want) == 0) {
			la_int64_t size = archive_entry_size(e);
			char *buf;
			if (size < 0 || size > SPOOL_TASK_MAX_BYTES) {
				rc = spool_error_set(SPOOL_EINVALID, "'%s' in "
					"'%s' is too big", name, path);
				break;
			}
			if (!(buf = malloc((size_t)size + 1))) {
				rc = spool_error_set(SPOOL_ERROR,
						     "out of memory");
				break;
			}
			if (archive_read_data(ar, buf, (size_t)size) != size) {
				free(buf);
				rc = spool_error_set(SPOOL_ERROR, "cannot read "
					"'%s' in '%s'", name, path);
				break;
			}
			rc = spool_task_parse(task, buf, (size_t)size, name,
					      id);
			free(buf);
			if (rc < 0 || !files)
				break;
		} else if (files && strncmp(name, dprefix, dlen) == 0 &&
			   name[dlen] && archive_entry_filetype(e) != AE_IFDIR) {
			json_array_append_new(*files,
					      json_string(name + dlen));
		} else if (files && json_array_size(*files) &&
			   (!task || *task)) {
			break;	/* entries of one task are together */
		}
	}
	if (rc == 0 && task && !*task)
		rc = spool_error_set(SPOOL_ENOTFOUND, "'%s' lists '%s' but "
				     "holds no '%s'", path, id, want);
out:
	archive_read_free(ar);
	close(fd);
	return rc;
}

int spool_archive_find(spool_archived *out, json_t **task, json_t **files,
		       spool *sp, const char *id)
{
	char **names = NULL, path[PATH_MAX];
	size_t n = 0;
	bool found = false;
	int rc = 0;

	/* The indexes are plain text: libarchive only to read the task. */
	if ((task || files) && (rc = spool_larchive_load()) < 0)
		return rc;
	if (task)
		*task = NULL;
	if (files)
		*files = NULL;
	memset(out, 0, sizeof(*out));
	if (!spool_id_valid(id))
		return spool_error_set(SPOOL_EINVALID, "'%s' is not a task id",
				       id);
	list_indexes(&names, &n, sp);
	for (size_t i = 0; i < n && !found; i++) {
		char *buf = NULL;
		size_t len;
		snprintf(path, sizeof(path), ARCHIVE_DIR "/%s", names[i]);
		if (spool_fs_read(&buf, &len, sp, path, 1 << 28) < 0) {
			spool_error_clear();
			continue;
		}
		if (index_lookup(out, buf, len, id)) {
			found = true;
			snprintf(out->archive, sizeof(out->archive),
				 ARCHIVE_DIR "/%.*s.tar.gz",
				 (int)(strlen(names[i]) - 4), names[i]);
		}
		free(buf);
	}
	spool_names_free(names, n);
	if (!found)
		return spool_error_set(SPOOL_ENOTFOUND, "no task '%s' in the "
				       "spool or its archives", id);
	if (task || files)
		rc = read_archive(task, files, sp, out->archive, out, id);
	return rc;
}
