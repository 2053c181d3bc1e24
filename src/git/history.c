/*
 * Recording in git. A commit is a set of paths, read from disk when it is
 * written, applied to HEAD's tree (gittree.c: only the trees on those
 * paths are rewritten), then a compare-and-swap of the branch. The git
 * CLI never writes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "notice.h"
#include "state.h"
#include "fsutil.h"
#include "root.h"
#include "blobpack.h"
#include "branch.h"
#include "gitloose.h"
#include "gittree.h"
#include "history.h"
#include "repo.h"
#include "sign.h"
#include "trailer.h"

struct spool_commit {
	spool *sp;
	spool_transition *trans;
	size_t ntrans, captrans;
	char *subject;
	bool have_head;
	git_oid head_id;
	git_commit *parent;
	git_tree *base;		/* HEAD's tree, or NULL before the first */
	git_tree_update *ups;	/* one per path, the last change wins */
	size_t nups, capups;
	size_t *index;		/* hash of ups' paths: position + 1, or 0 */
	size_t nindex;
	char *left_out;		/* lines for the message: paths git refuses */
	size_t left_len, left_cap;
	char *refused;		/* lines for the message: files over a
				 * limit, links on the way, hard links */
	size_t refused_len, refused_cap;
	void *pending;		/* a layer above's, until it is written */
	spool_commit_settle_fn settle;
	unsigned odb_failures;	/* spool_odb_failures when it began */
	bool saving;		/* since spool_commit_begin */
	size_t save_ntrans, save_refused, save_left;
	struct saved *saved;	/* each path's update before it */
	size_t nsaved, capsaved;
	spool_blobq *blobs;	/* new blobs, stored when it is written */
};

/* A path's update as it was when a savepoint began. */
struct saved {
	char *path;
	bool had;		/* else: no update for the path */
	git_tree_update prior;	/* owns its path */
};

/*
 * Content is read when a path is added, not when the commit is written:
 * a task that moves on meanwhile is still recorded where it was seen, and
 * the next reconcile records the next move.
 */
int spool_commit_new(spool_commit **out, spool *sp)
{
	spool_commit *c;
	git_repository *repo;
	int rc;

	*out = NULL;
	if ((rc = spool_repo(&repo, sp)) < 0)
		return rc;
	if (!(c = calloc(1, sizeof(*c))))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	c->sp = sp;
	c->odb_failures = spool_odb_failures(NULL);
	c->have_head = git_reference_name_to_id(&c->head_id, repo,
						"HEAD") == 0;
	if ((rc = spool_branch_check(sp, c->have_head ? &c->head_id
						      : NULL)) < 0) {
		spool_commit_free(c);
		return rc;
	}
	if (c->have_head && (git_commit_lookup(&c->parent, repo,
					       &c->head_id) < 0 ||
			     git_commit_tree(&c->base, c->parent) < 0)) {
		spool_commit_free(c);
		return spool_error_git("cannot read HEAD");
	}
	*out = c;
	return 0;
}

void spool_commit_free(spool_commit *c)
{
	if (!c)
		return;
	/* Not written: what it would have recorded is undone. */
	if (c->settle)
		c->settle(c->sp, c->pending, false);
	spool_commit_end(c);
	free(c->saved);
	for (size_t i = 0; i < c->nups; i++)
		free((char *)c->ups[i].path);
	free(c->ups);
	free(c->index);
	free(c->left_out);
	free(c->refused);
	spool_blobq_free(c->blobs);
	git_tree_free(c->base);
	git_commit_free(c->parent);
	free(c->trans);
	free(c->subject);
	free(c);
}

static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
	size_t n;
	void *p;

	if (need <= *cap)
		return 0;
	n = *cap ? *cap * 2 : 16;
	while (n < need)
		n *= 2;
	p = realloc(*arr, n * size);
	if (!p)
		return spool_error_set(SPOOL_ERROR, "out of memory");
	*arr = p;
	*cap = n;
	return 0;
}

int spool_commit_transition(spool_commit *c, const spool_transition *t)
{
	if (grow((void **)&c->trans, &c->captrans, c->ntrans + 1,
		 sizeof(*t)) < 0)
		return SPOOL_ERROR;
	c->trans[c->ntrans++] = *t;
	return 0;
}

int spool_commit_subject(spool_commit *c, const char *subject)
{
	free(c->subject);
	c->subject = strdup(subject);
	return c->subject ? 0 : spool_error_set(SPOOL_ERROR, "out of memory");
}

git_commit *spool_commit_parent(spool_commit *c)
{
	return c->parent;
}

git_tree *spool_commit_base(spool_commit *c)
{
	return c->base;
}

void **spool_commit_pending(spool_commit *c, spool_commit_settle_fn fn)
{
	c->settle = fn;
	return &c->pending;
}

size_t spool_commit_count(const spool_commit *c)
{
	return c->ntrans;
}

static bool in_base(spool_commit *c, const char *path);

/* Finding a path among the updates by hash: a burst adds thousands. */
static size_t path_hash(const char *s)
{
	size_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static int reindex(spool_commit *c)
{
	size_t n = 64;

	while (n < (c->nups + 1) * 2)
		n *= 2;
	free(c->index);
	if (!(c->index = calloc(n, sizeof(*c->index)))) {
		c->nindex = 0;
		return spool_error_set(SPOOL_ERROR, "out of memory");
	}
	c->nindex = n;
	for (size_t i = 0; i < c->nups; i++) {
		size_t k = path_hash(c->ups[i].path) & (n - 1);
		while (c->index[k])
			k = (k + 1) & (n - 1);
		c->index[k] = i + 1;
	}
	return 0;
}

static git_tree_update *find_update(spool_commit *c, const char *path)
{
	if (!c->nindex)
		return NULL;
	for (size_t k = path_hash(path) & (c->nindex - 1); c->index[k];
	     k = (k + 1) & (c->nindex - 1))
		if (strcmp(c->ups[c->index[k] - 1].path, path) == 0)
			return &c->ups[c->index[k] - 1];
	return NULL;
}

static void drop_update(spool_commit *c, git_tree_update *u)
{
	free((char *)u->path);
	*u = c->ups[--c->nups];
	reindex(c);	/* rare: a path added and gone in one commit */
}

/* ---- savepoints ---------------------------------------------------- */

static int save_prior(spool_commit *c, const char *path)
{
	git_tree_update *u;
	struct saved *sv;

	for (size_t i = 0; i < c->nsaved; i++)
		if (strcmp(c->saved[i].path, path) == 0)
			return 0;	/* the first change holds the prior */
	if (grow((void **)&c->saved, &c->capsaved, c->nsaved + 1,
		 sizeof(*c->saved)) < 0)
		return SPOOL_ERROR;
	sv = &c->saved[c->nsaved];
	memset(sv, 0, sizeof(*sv));
	if ((u = find_update(c, path))) {
		sv->had = true;
		sv->prior = *u;
		sv->prior.path = strdup(u->path);
	}
	if (!(sv->path = strdup(path)) || (sv->had && !sv->prior.path)) {
		free(sv->path);
		free((char *)sv->prior.path);
		return spool_error_set(SPOOL_ERROR, "out of memory");
	}
	c->nsaved++;
	return 0;
}

int spool_commit_begin(spool_commit *c)
{
	spool_commit_end(c);
	c->saving = true;
	c->save_ntrans = c->ntrans;
	c->save_refused = c->refused_len;
	c->save_left = c->left_len;
	return 0;
}

void spool_commit_end(spool_commit *c)
{
	for (size_t i = 0; i < c->nsaved; i++) {
		free(c->saved[i].path);
		free((char *)c->saved[i].prior.path);
	}
	c->nsaved = 0;
	c->saving = false;
}

/* The path's update back as it was: the prior's path moves into it. */
static void restore_prior(spool_commit *c, struct saved *sv)
{
	git_tree_update *u = find_update(c, sv->path);

	if (!sv->had) {
		if (u)
			drop_update(c, u);
		return;
	}
	if (u) {
		free((char *)u->path);
		*u = sv->prior;
	} else if (grow((void **)&c->ups, &c->capups, c->nups + 1,
			sizeof(*c->ups)) == 0) {
		c->ups[c->nups++] = sv->prior;
		reindex(c);
	} else {
		spool_error_clear();
		free((char *)sv->prior.path);
	}
	sv->prior.path = NULL;
}

void spool_commit_rollback(spool_commit *c)
{
	if (!c->saving)
		return;
	for (size_t i = c->nsaved; i-- > 0;)
		restore_prior(c, &c->saved[i]);
	c->ntrans = c->save_ntrans;
	c->refused_len = c->save_refused;
	if (c->refused)
		c->refused[c->refused_len] = '\0';
	c->left_len = c->save_left;
	if (c->left_out)
		c->left_out[c->left_len] = '\0';
	spool_commit_end(c);
}

static int add_update(spool_commit *c, git_tree_update_t action,
		      const git_oid *id, git_filemode_t mode, const char *path)
{
	git_tree_update *u;
	bool added = false;

	if (c->saving && save_prior(c, path) < 0)
		return SPOOL_ERROR;
	u = find_update(c, path);
	if (u && action == GIT_TREE_UPDATE_REMOVE && !in_base(c, path)) {
		/* added earlier in this commit and gone again */
		drop_update(c, u);
		return 0;
	}
	if (u) {
		free((char *)u->path);
	} else if (action == GIT_TREE_UPDATE_REMOVE && !in_base(c, path)) {
		return 0;
	} else {
		if (grow((void **)&c->ups, &c->capups, c->nups + 1,
			 sizeof(*c->ups)) < 0)
			return SPOOL_ERROR;
		u = &c->ups[c->nups++];
		added = true;
	}
	memset(u, 0, sizeof(*u));
	u->action = action;
	if (id)
		git_oid_cpy(&u->id, id);
	u->filemode = mode;
	if (!(u->path = strdup(path))) {
		*u = c->ups[--c->nups];
		reindex(c);
		return spool_error_set(SPOOL_ERROR, "out of memory");
	}
	if (added) {
		size_t k;
		if ((c->nups + 1) * 2 > c->nindex)
			return reindex(c);
		for (k = path_hash(path) & (c->nindex - 1); c->index[k];
		     k = (k + 1) & (c->nindex - 1))
			;
		c->index[k] = c->nups;
	}
	return 0;
}

static bool in_base(spool_commit *c, const char *path)
{
	git_tree_entry *e = NULL;

	if (!c->base || git_tree_entry_bypath(&e, c->base, path) < 0)
		return false;
	git_tree_entry_free(e);
	return true;
}

static int lines_add(char **buf, size_t *len, size_t *cap, const char *line)
{
	size_t n = strlen(line);

	if (*len + n + 1 > *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		char *p;
		while (ncap < *len + n + 1)
			ncap *= 2;
		if (!(p = realloc(*buf, ncap)))
			return spool_error_set(SPOOL_ERROR, "out of memory");
		*buf = p;
		*cap = ncap;
	}
	memcpy(*buf + *len, line, n + 1);
	*len += n;
	return 0;
}

/* A path as one line of a message: a newline in a name must not make
 * a line of its own (a trailer, say). */
static void one_line(char *buf, size_t len, const char *path)
{
	snprintf(buf, len, "%s", path);
	for (unsigned char *p = (unsigned char *)buf; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
}

int spool_commit_refuse(spool_commit *c, const char *path, const char *why,
			bool drop)
{
	char line[PATH_MAX + 600], shown[PATH_MAX];

	one_line(shown, sizeof(shown), path);
	spool_notice("left '%s' out of the commit: %s", shown, why);
	snprintf(line, sizeof(line), "\n  %s: %s", shown, why);
	if (drop && add_update(c, GIT_TREE_UPDATE_REMOVE, NULL, 0, path) < 0)
		return SPOOL_ERROR;
	if (c->refused_len >= 4096)
		return 0;
	return lines_add(&c->refused, &c->refused_len, &c->refused_cap, line);
}

/* The most a file at path may hold to be recorded: a task file's limit
 * in the state directories, one deliverable file's everywhere else but
 * in archive/, whose tarballs only the spool writes. */
static int64_t size_limit(const spool *sp, const char *path)
{
	const char *slash = strchr(path, '/');
	char top[32];
	spool_limits l;

	spool_config_limits(&l, sp);
	if (!slash || (size_t)(slash - path) >= sizeof(top))
		return l.file_bytes;
	memcpy(top, path, (size_t)(slash - path));
	top[slash - path] = '\0';
	if (strcmp(top, "archive") == 0)
		return INT64_MAX;
	if (spool_state_parse(top) != SPOOL_STATE_NONE)
		return l.task_bytes;
	return l.file_bytes;
}

/* Reads exactly size bytes: a file that grew since fstat is read as it
 * was then, never past the size checked. Short: it shrank. */
static int read_exact(char *buf, int fd, size_t size, size_t *got)
{
	size_t n = 0;

	while (n < size) {
		ssize_t r = read(fd, buf + n, size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*got = n;
	return 0;
}

/* Kept with the commit's other new blobs, to be stored with them when it
 * is written (one pack for a big batch); stored now when it is not kept. */
static int commit_blob(git_oid *oid, spool_commit *c, const void *buf,
		       size_t len, const char *path)
{
	int rc = spool_blobq_add(oid, &c->blobs, c->sp, buf, len, path);

	if (rc == 1)
		rc = spool_blob_write(oid, c->sp, buf, len, path);
	return rc;
}

/*
 * Byte for byte: no filters, which would read .gitattributes and with it
 * git's index (megabytes in a big spool). The file is opened with no link
 * followed on the way, checked with fstat on that fd (its apparent size:
 * a sparse file counts in full) and read no further than the size it
 * had then. Returns 1 if it was left out (and said why), 0 when stored.
 */
static int store_file(git_oid *oid, spool_commit *c, const char *path)
{
	spool *sp = c->sp;
	int64_t max = size_limit(sp, path);
	char why[256], *buf = NULL;
	struct stat st;
	size_t got;
	int fd, rc = 0;

	fd = spool_fs_open(sp, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
	if (fd < 0 && (errno == ENXIO || errno == ENODEV))
		return 1;	/* a socket swapped in: never recorded */
	if (fd < 0 && (errno == ELOOP || errno == EXDEV))
		return spool_commit_refuse(c, path, "a symbolic link on the "
					   "way; the spool follows none",
					   false) < 0
		       ? SPOOL_ERROR : 1;
	if (fd < 0)
		return spool_error_sys(errno == ENOENT ? SPOOL_ENOTFOUND
					: SPOOL_ERROR, "cannot open '%s'", path);
	if (fstat(fd, &st) < 0) {
		rc = spool_error_sys(SPOOL_ERROR, "cannot stat '%s'", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = 1;		/* swapped for a FIFO or the like: not kept */
		goto out;
	}
	if (st.st_size > max) {
		snprintf(why, sizeof(why), "%lld bytes, over the limit of "
			 "%lld", (long long)st.st_size, (long long)max);
		rc = spool_commit_refuse(c, path, why, true) < 0
		     ? SPOOL_ERROR : 1;
		goto out;
	}
	if (st.st_nlink > 1 && strncmp(path, "deliverables/", 13) == 0) {
		/* Its other name may be anywhere, readable by whoever
		 * made the link or not: a deliverable is its own copy. */
		rc = spool_commit_refuse(c, path, "a hard link; deliver a "
					 "copy", true) < 0 ? SPOOL_ERROR : 1;
		goto out;
	}
	if (!(buf = malloc(st.st_size ? (size_t)st.st_size : 1))) {
		rc = spool_error_set(SPOOL_ERROR, "out of memory");
		goto out;
	}
	if (read_exact(buf, fd, (size_t)st.st_size, &got) < 0) {
		rc = spool_error_sys(SPOOL_ERROR, "cannot read '%s'", path);
		goto out;
	}
	rc = commit_blob(oid, c, buf, got, path);
out:
	free(buf);
	close(fd);
	return rc;
}

static int stage_file(spool_commit *c, const char *path, const struct stat *st)
{
	git_oid oid;
	char target[PATH_MAX];
	const char *name;
	int rc, fd;

	if (S_ISLNK(st->st_mode)) {
		/* Recorded as the link it is, never followed. */
		ssize_t n = -1;
		if ((fd = spool_fs_open_parent(&name, c->sp, path)) >= 0) {
			n = readlinkat(fd, name, target, sizeof(target) - 1);
			close(fd);
		}
		if (n < 0 && (errno == ELOOP || errno == EXDEV))
			return spool_commit_refuse(c, path, "a symbolic link "
				"on the way; the spool follows none", false);
		if (n < 0)
			return spool_error_sys(SPOOL_ERROR,
					       "cannot read link '%s'", path);
		if ((rc = commit_blob(&oid, c, target, (size_t)n,
				      path)) < 0)
			return rc;
		return add_update(c, GIT_TREE_UPDATE_UPSERT, &oid,
				  GIT_FILEMODE_LINK, path);
	}
	if ((rc = store_file(&oid, c, path)) != 0)
		return rc < 0 ? rc : 0;
	return add_update(c, GIT_TREE_UPDATE_UPSERT, &oid,
			  st->st_mode & 0111 ? GIT_FILEMODE_BLOB_EXECUTABLE
					     : GIT_FILEMODE_BLOB, path);
}

/* Files in the tree under path that are not on disk are removed. */
static int stage_gone(spool_commit *c, const char *path)
{
	git_tree_entry *e = NULL;
	git_tree *sub = NULL;
	char child[PATH_MAX];
	struct stat st;
	int rc = 0;

	if (!c->base || git_tree_entry_bypath(&e, c->base, path) < 0)
		return 0;
	if (git_tree_entry_type(e) != GIT_OBJECT_TREE) {
		if (spool_fs_lstat(c->sp, path, &st) < 0 &&
		    errno != ELOOP && errno != EXDEV)
			rc = add_update(c, GIT_TREE_UPDATE_REMOVE, NULL, 0,
					path);
		goto out;
	}
	if (git_tree_lookup(&sub, c->sp->repo, git_tree_entry_id(e)) < 0) {
		rc = spool_error_git("cannot read the tree of '%s'", path);
		goto out;
	}
	for (size_t i = 0; i < git_tree_entrycount(sub) && rc == 0; i++) {
		snprintf(child, sizeof(child), "%s/%s", path,
			 git_tree_entry_name(git_tree_entry_byindex(sub, i)));
		rc = stage_gone(c, child);
	}
out:
	git_tree_free(sub);
	git_tree_entry_free(e);
	return rc;
}

static int stage_path(spool_commit *c, const char *path);

static int stage_dir(spool_commit *c, const char *path)
{
	char child[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	fd = spool_fs_open(c->sp, path, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0 && (errno == ELOOP || errno == EXDEV))
		return spool_commit_refuse(c, path, "a symbolic link on the "
					   "way; the spool follows none",
					   false);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return spool_error_sys(SPOOL_ERROR, "cannot read '%s'", path);
	}
	while (rc == 0 && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
		rc = stage_path(c, child);
	}
	closedir(d);
	return rc < 0 ? rc : stage_gone(c, path);
}

/* Not versioned: scratch space and the daemon's run state. */
static bool unversioned(const char *path)
{
	return strcmp(path, "tmp") == 0 || strcmp(path, ".spool/run") == 0 ||
	       strcmp(path, ".git") == 0;
}

/* ---- what a tree may not hold ------------------------------------------ */

/* Adds a line to those left out. */
static int left_out_add(spool_commit *c, const char *line)
{
	size_t n = strlen(line);

	if (c->left_len + n + 1 > c->left_cap) {
		size_t cap = c->left_cap ? c->left_cap * 2 : 256;
		char *p;
		while (cap < c->left_len + n + 1)
			cap *= 2;
		if (!(p = realloc(c->left_out, cap)))
			return spool_error_set(SPOOL_ERROR, "out of memory");
		c->left_out = p;
		c->left_cap = cap;
	}
	memcpy(c->left_out + c->left_len, line, n + 1);
	c->left_len += n;
	return 0;
}

/* Is the line "\n  path" among those left out already? */
static bool left_out_has(const spool_commit *c, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = c->left_out; p && (p = strstr(p, line)); p += n)
		if (p[n] == '\0' || p[n] == '\n')
			return true;
	return false;
}

/*
 * A path with a name git refuses in it (a nested .git above all: a
 * repository in a deliverable, or a name some file system takes for one)
 * is left out of the commit and told, never recorded: git fsck reports
 * such a tree and git will not check it out. One recorded before is
 * removed. Returns 1 to leave path out, 0 to stage it, or an error.
 */
static int refused_name(spool_commit *c, const char *path,
			const struct stat *st)
{
	char prefix[PATH_MAX + 3], shown[PATH_MAX + 3];
	const char *name = path, *slash;
	git_filemode_t mode;

	for (;; name = slash + 1) {
		slash = strchr(name, '/');
		mode = slash || S_ISDIR(st->st_mode) ? GIT_FILEMODE_TREE :
		       S_ISLNK(st->st_mode) ? GIT_FILEMODE_LINK :
		       GIT_FILEMODE_BLOB;
		if (!spool_tree_name_valid(name, slash ? (size_t)(slash - name)
					   : strlen(name), mode))
			break;
		if (!slash)
			return 0;
	}
	snprintf(prefix, sizeof(prefix), "\n  %.*s",
		 (int)(slash ? slash - path : (ptrdiff_t)strlen(path)), path);
	one_line(shown + 3, sizeof(shown) - 3, prefix + 3);
	memcpy(shown, "\n  ", 3);
	/* once a commit: a repository's files come in one by one */
	if (!left_out_has(c, shown)) {
		spool_notice("left '%s' out of the commit: git refuses the "
			     "name '%s'", shown + 3, shown + 3 +
			     (name - path));
		if (c->left_len < 4096 && left_out_add(c, shown) < 0)
			return SPOOL_ERROR;
	}
	return add_update(c, GIT_TREE_UPDATE_REMOVE, NULL, 0, prefix + 3) < 0
	       ? SPOOL_ERROR : 1;
}

/* A directory where a file was, in HEAD or earlier in this commit: the
 * file goes, or the tree would hold both. */
static int make_room(spool_commit *c, const char *path)
{
	git_tree_entry *e = NULL;
	bool file;

	if (find_update(c, path))
		return add_update(c, GIT_TREE_UPDATE_REMOVE, NULL, 0, path);
	if (!c->base || git_tree_entry_bypath(&e, c->base, path) < 0) {
		git_error_clear();	/* not in HEAD: nothing in the way */
		return 0;
	}
	file = git_tree_entry_type(e) != GIT_OBJECT_TREE;
	git_tree_entry_free(e);
	return file ? add_update(c, GIT_TREE_UPDATE_REMOVE, NULL, 0, path) : 0;
}

/* Checks a path about to be staged: 1 to leave it out, 0 to go on. */
static int stage_check(spool_commit *c, const char *path,
		       const struct stat *st)
{
	int rc = refused_name(c, path, st);

	if (rc == 0 && S_ISDIR(st->st_mode))
		rc = make_room(c, path);
	return rc;
}

static int cmp_up_path(const void *a, const void *b)
{
	return strcmp((*(git_tree_update *const *)a)->path,
		      (*(git_tree_update *const *)b)->path);
}

/*
 * A file and a directory of one name among the updates: a path seen as
 * a directory and later, in the same commit, as a file (or the other way
 * round). What is on disk now decides which stays. Run only when the
 * tree writer refused the updates; true if anything changed.
 */
static bool settle_file_dirs(spool_commit *c)
{
	size_t n = c->nups, kept = 0;
	git_tree_update **v = malloc((n ? n : 1) * sizeof(*v));
	bool *drop = calloc(n ? n : 1, sizeof(*drop)), changed = false;
	struct stat st;

	if (!v || !drop)
		goto out;
	for (size_t i = 0; i < n; i++)
		v[i] = &c->ups[i];
	qsort(v, n, sizeof(*v), cmp_up_path);
	for (size_t i = 0; i < n; i++) {
		const char *p = v[i]->path;
		size_t len = strlen(p), lo = i + 1, hi = n;

		if (v[i]->action == GIT_TREE_UPDATE_REMOVE)
			continue;
		while (lo < hi) {	/* the first path not below "p/" */
			size_t mid = lo + (hi - lo) / 2;
			int cmp = strncmp(v[mid]->path, p, len);
			if (cmp < 0 || (cmp == 0 && v[mid]->path[len] < '/'))
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo >= n || strncmp(v[lo]->path, p, len) != 0 ||
		    v[lo]->path[len] != '/')
			continue;
		changed = true;
		if (spool_fs_lstat(c->sp, p, &st) == 0 &&
		    S_ISDIR(st.st_mode)) {
			if (in_base(c, p))
				v[i]->action = GIT_TREE_UPDATE_REMOVE;
			else
				drop[v[i] - c->ups] = true;
			continue;
		}
		for (; lo < n && strncmp(v[lo]->path, p, len) == 0 &&
		       v[lo]->path[len] == '/'; lo++)
			drop[v[lo] - c->ups] = true;
	}
	for (size_t i = 0; i < n; i++) {
		if (drop[i])
			free((char *)c->ups[i].path);
		else
			c->ups[kept++] = c->ups[i];
	}
	c->nups = kept;
	if (changed)
		reindex(c);
out:
	free(v);
	free(drop);
	return changed;
}

static int stage_path(spool_commit *c, const char *path)
{
	struct stat st;
	int rc;

	if (unversioned(path))
		return 0;
	if (spool_fs_lstat(c->sp, path, &st) < 0) {
		if (errno == ELOOP || errno == EXDEV)
			return spool_commit_refuse(c, path, "a symbolic link "
				"on the way; the spool follows none", false);
		if (errno != ENOENT && errno != ENOTDIR)
			return spool_error_sys(SPOOL_ERROR, "cannot stat '%s'",
					       path);
		if (!in_base(c, path))
			return add_update(c, GIT_TREE_UPDATE_REMOVE, NULL, 0,
					  path);
		return stage_gone(c, path);
	}
	if ((rc = stage_check(c, path, &st)) != 0)
		return rc < 0 ? rc : 0;
	if (S_ISDIR(st.st_mode))
		return stage_dir(c, path);
	if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
		return stage_file(c, path, &st);
	return 0;	/* FIFOs, sockets, devices are never recorded */
}

static void verb_line(char *buf, size_t len, const spool_transition *t)
{
	char from[128], to[128];

	spool_loc_format(from, sizeof(from), &t->from);
	spool_loc_format(to, sizeof(to), &t->to);
	if (t->to.state == SPOOL_STATE_CLAIMED && strcmp(t->verb, "claim") == 0)
		snprintf(buf, len, "claim %s by %s", t->id, t->to.agent);
	else if (t->from.state == SPOOL_STATE_NONE)
		snprintf(buf, len, "%s %s into %s", t->verb, t->id, to);
	else if (t->to.state == SPOOL_STATE_NONE)
		snprintf(buf, len, "%s %s from %s", t->verb, t->id, from);
	else
		snprintf(buf, len, "%s %s by %s (%s -> %s)", t->verb, t->id,
			 t->actor, from, to);
}

static bool same_task(const spool_commit *c)
{
	for (size_t i = 1; i < c->ntrans; i++)
		if (strcmp(c->trans[i].id, c->trans[0].id) != 0)
			return false;
	return true;
}

/* The list of steps, one line each, for a commit of several. */
static char *steps(const spool_commit *c)
{
	char line[1024], *body = NULL, *p;
	size_t len = 0, cap = 0;

	for (size_t i = 0; i < c->ntrans; i++) {
		int n;
		verb_line(line, sizeof(line), &c->trans[i]);
		if (len + sizeof(line) + 4 > cap) {
			cap = cap ? cap * 2 : 4096;
			if (!(p = realloc(body, cap))) {
				free(body);
				return NULL;
			}
			body = p;
		}
		n = snprintf(body + len, cap - len, "- %s\n", line);
		len += (size_t)n;
	}
	return body;
}

/* The message, with the paths left out (if any) after the body. */
static int encode(char **out, const spool_commit *c, const char *subject,
		  const char *body, size_t n)
{
	const char *head = "Left out, names git refuses:";
	const char *rhead = "Left out, refused:";
	size_t len, blen = body ? strlen(body) : 0;
	char *all;
	int rc;

	if (!c->left_out && !c->refused)
		return spool_trailer_encode(out, subject, body, c->trans, n);
	len = blen + 4 + strlen(head) + c->left_len + strlen(rhead) +
	      c->refused_len + 1;
	if (!(all = malloc(len)))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	snprintf(all, len, "%s%s%s%s%s%s%s", blen ? body : "",
		 !blen ? "" : body[blen - 1] == '\n' ? "\n" : "\n\n",
		 c->left_out ? head : "", c->left_out ? c->left_out : "",
		 c->left_out && c->refused ? "\n\n" : "",
		 c->refused ? rhead : "", c->refused ? c->refused : "");
	rc = spool_trailer_encode(out, subject, all, c->trans, n);
	free(all);
	return rc;
}

/* The subject and body; the transitions themselves go in the trailers
 * (trailer.c), which is all that is ever read back. */
static int build_message(char **out, spool_commit *c)
{
	char subject[1024];
	char *body;
	size_t n = 0;
	int rc;

	if (c->ntrans == 1) {
		verb_line(subject, sizeof(subject), &c->trans[0]);
		return encode(out, c, subject, c->trans[0].note, 1);
	}
	if (c->ntrans == 0)
		return encode(out, c, c->subject ? c->subject : "update",
			      NULL, 0);
	if (same_task(c)) {
		/* steps the spool saw at once: "claim+submit T-1 by devbot" */
		for (size_t i = 0; i < c->ntrans && n < sizeof(subject); i++)
			n += (size_t)snprintf(subject + n, sizeof(subject) - n,
					      "%s%s", i ? "+" : "",
					      c->trans[i].verb);
		if (n < sizeof(subject))
			snprintf(subject + n, sizeof(subject) - n, " %s by %s",
				 c->trans[0].id, c->trans[0].actor);
	} else if (c->subject) {
		snprintf(subject, sizeof(subject), "%s", c->subject);
	} else {
		snprintf(subject, sizeof(subject), "record %zu transitions",
			 c->ntrans);
	}
	if (!(body = steps(c)))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	rc = encode(out, c, subject, body, c->ntrans);
	free(body);
	return rc;
}

static int signature(git_signature **out, const char *actor)
{
	char name[SPOOL_NAME_MAX + 1], email[256];

	/* One line without the brackets that end a name in a header. */
	spool_trailer_value(name, sizeof(name), actor);
	for (char *p = name; *p; p++)
		if (*p == '<' || *p == '>')
			*p = '?';
	if (!name[0])
		snprintf(name, sizeof(name), "unknown");
	snprintf(email, sizeof(email), "%s@spool", name);
	if (git_signature_now(out, name, email) < 0)
		return spool_error_git("cannot make a signature for '%s'",
				       name);
	return 0;
}

static int write_commit(spool_commit *c, git_commit *parent,
			const git_oid *tree_id, const char *actor,
			git_oid *out)
{
	git_signature *author = NULL, *committer = NULL;
	git_buf buf = GIT_BUF_INIT;
	git_tree *tree = NULL;
	const char *key;
	char *msg = NULL;
	int rc = SPOOL_ERROR;

	if (signature(&author, actor) < 0 || signature(&committer, "spool") < 0)
		goto out;
	if (git_tree_lookup(&tree, c->sp->repo, tree_id) < 0) {
		spool_error_git("cannot read the new tree");
		goto out;
	}
	if (build_message(&msg, c) < 0)
		goto out;
	if ((key = spool_signing_key(c->sp))) {
		if (git_commit_create_buffer(&buf, c->sp->repo, author,
					     committer, NULL, msg, tree,
					     parent ? 1 : 0,
					     (const git_commit **)&parent) < 0) {
			spool_error_git("cannot create the commit");
			goto out;
		}
		rc = spool_commit_sign(out, c->sp, key, buf.ptr);
		goto out;
	}
	if (git_commit_create(out, c->sp->repo, NULL, author, committer, NULL,
			      msg, tree, parent ? 1 : 0,
			      (const git_commit **)&parent) < 0) {
		spool_error_git("cannot create the commit");
		goto out;
	}
	rc = 0;
out:
	if (buf.ptr)
		git_buf_dispose(&buf);
	free(msg);
	git_tree_free(tree);
	git_signature_free(author);
	git_signature_free(committer);
	return rc;
}

/* Moves the branch from old to new; fails if someone else moved it. */
static int update_branch(spool *sp, const git_oid *old, const git_oid *new,
			 const char *subject)
{
	git_reference *head = NULL, *ref = NULL;
	char name[PATH_MAX] = "refs/heads/main";
	int err;

	/* A copy: the error below is reported after head is freed. */
	if (git_reference_lookup(&head, sp->repo, "HEAD") == 0 &&
	    git_reference_type(head) == GIT_REFERENCE_SYMBOLIC)
		snprintf(name, sizeof(name), "%s",
			 git_reference_symbolic_target(head));
	if (old)
		err = git_reference_create_matching(&ref, sp->repo, name, new,
						    1, old, subject);
	else
		err = git_reference_create(&ref, sp->repo, name, new, 0,
					   subject);
	git_reference_free(ref);
	git_reference_free(head);
	if (err < 0)
		return spool_error_git("cannot update '%s'", name);
	return 0;
}

int spool_commit_path(spool_commit *c, const char *path)
{
	return stage_path(c, path);
}

int spool_commit_blob(spool_commit *c, const char *path, const void *buf,
		      size_t len)
{
	git_oid oid;
	int rc;

	if ((rc = commit_blob(&oid, c, buf, len, path)) < 0)
		return rc;
	return add_update(c, GIT_TREE_UPDATE_UPSERT, &oid, GIT_FILEMODE_BLOB,
			  path);
}

int spool_commit_remove(spool_commit *c, const char *path)
{
	return add_update(c, GIT_TREE_UPDATE_REMOVE, NULL, 0, path);
}

/* ---- a commit never loses a task --------------------------------------- */

/* The id and place of a task path: "ready/T-1.json", "claimed/a/T-1.json". */
static bool task_path(char *id, spool_loc *loc, const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[128];

	if (!slash || (size_t)(slash - path) >= sizeof(dir))
		return false;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if (spool_loc_parse(loc, dir) < 0) {
		spool_error_clear();
		return false;
	}
	if (loc->state == SPOOL_STATE_NEW ||
	    loc->state == SPOOL_STATE_QUARANTINE ||
	    (loc->state == SPOOL_STATE_CLAIMED && !loc->agent[0]))
		return false;
	return spool_id_from_name(id, slash + 1);
}

static const git_tree_update *find_task_update(spool_commit *c,
					       const spool_loc *loc,
					       const char *id)
{
	char path[PATH_MAX];

	spool_loc_path(path, sizeof(path), loc, id);
	return find_update(c, path);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether id is in the tree this commit writes: upserted somewhere, or
 * in the base at a place not removed. */
static bool kept(spool_commit *c, const char *id, char **upserted, size_t n)
{
	static const spool_state states[] = {
		SPOOL_STATE_BLOCKED, SPOOL_STATE_READY, SPOOL_STATE_REVIEW,
		SPOOL_STATE_DONE, SPOOL_STATE_FAILED, SPOOL_STATE_CANCELLED
	};
	const git_tree_update *u;
	git_tree_entry *te = NULL;
	git_tree *claimed = NULL;
	char path[PATH_MAX];
	spool_loc loc = { 0 };
	bool found = false;

	if (n && bsearch(&id, upserted, n, sizeof(*upserted), cmp_str))
		return true;
	if (!c->base)
		return false;
	for (size_t i = 0; i < SPOOL_ARRAY_SIZE(states) && !found; i++) {
		loc.state = states[i];
		spool_loc_path(path, sizeof(path), &loc, id);
		u = find_task_update(c, &loc, id);
		found = in_base(c, path) &&
			(!u || u->action != GIT_TREE_UPDATE_REMOVE);
	}
	if (found || git_tree_entry_bypath(&te, c->base, "claimed") < 0)
		return found;
	if (git_tree_entry_type(te) == GIT_OBJECT_TREE &&
	    git_tree_lookup(&claimed, c->sp->repo, git_tree_entry_id(te)) == 0)
		for (size_t i = 0; i < git_tree_entrycount(claimed) && !found;
		     i++) {
			const char *a = git_tree_entry_name(
				git_tree_entry_byindex(claimed, i));
			loc.state = SPOOL_STATE_CLAIMED;
			snprintf(loc.agent, sizeof(loc.agent), "%s", a);
			spool_loc_path(path, sizeof(path), &loc, id);
			u = find_task_update(c, &loc, id);
			found = in_base(c, path) &&
				(!u || u->action != GIT_TREE_UPDATE_REMOVE);
		}
	git_tree_free(claimed);
	git_tree_entry_free(te);
	git_error_clear();
	return found;
}

/* The transition that says where id went, if this commit has one. */
static const spool_transition *last_move(spool_commit *c, const char *id,
					 bool *removes)
{
	size_t len = strlen(id);

	*removes = false;
	for (size_t i = c->ntrans; i-- > 0;) {
		const spool_transition *t = &c->trans[i];
		/* quarantine names the file it moved: "T-1.json.2" */
		if (t->to.state == SPOOL_STATE_QUARANTINE &&
		    strncmp(t->id, id, len) == 0 && t->id[len] == '.') {
			*removes = true;
			return t;
		}
		if (strcmp(t->id, id) != 0)
			continue;
		*removes = t->to.state == SPOOL_STATE_NONE ||
			   t->to.state == SPOOL_STATE_QUARANTINE;
		return t;
	}
	return NULL;
}

/*
 * A task removed from one place must be in another, unless a transition
 * removes it on purpose (archive, quarantine). A task that moved on
 * after its move was seen is recorded where the transition says, with
 * the content HEAD had; the next pass records the next move. Anything
 * else is refused: a lossy commit is worse than none.
 */
static int check_kept(spool_commit *c)
{
	char **ids = NULL, id[SPOOL_ID_MAX + 1], path[PATH_MAX];
	size_t n = 0, nups = c->nups;
	spool_loc loc;
	int rc = 0;

	if (!(ids = calloc(nups ? nups : 1, sizeof(*ids))))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	for (size_t i = 0; i < nups; i++)
		if (c->ups[i].action != GIT_TREE_UPDATE_REMOVE &&
		    task_path(id, &loc, c->ups[i].path) &&
		    !(ids[n++] = strdup(id))) {
			rc = spool_error_set(SPOOL_ERROR, "out of memory");
			goto out;
		}
	if (n > 1)
		qsort(ids, n, sizeof(*ids), cmp_str);
	for (size_t i = 0; i < nups && rc == 0; i++) {
		const spool_transition *t;
		git_tree_entry *te = NULL;
		char removed[PATH_MAX];
		bool removes;
		if (c->ups[i].action != GIT_TREE_UPDATE_REMOVE ||
		    !task_path(id, &loc, c->ups[i].path) ||
		    kept(c, id, ids, n))
			continue;
		snprintf(removed, sizeof(removed), "%s", c->ups[i].path);
		t = last_move(c, id, &removes);
		if (removes)
			continue;
		if (!t || t->to.state == SPOOL_STATE_NONE ||
		    git_tree_entry_bypath(&te, c->base, removed) < 0) {
			git_error_clear();
			rc = spool_error_set(SPOOL_ERROR, "refusing to commit: it "
				"removes '%s' and records task '%s' nowhere "
				"else", removed, id);
			break;
		}
		spool_loc_path(path, sizeof(path), &t->to, id);
		rc = add_update(c, GIT_TREE_UPDATE_UPSERT,
				git_tree_entry_id(te),
				git_tree_entry_filemode(te), path);
		git_tree_entry_free(te);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	return rc;
}

/* An object libgit2 said it wrote may be missing (spool_odb_failures):
 * the branch never points at a commit whose objects are not all there. */
static int check_stored(spool_commit *c)
{
	const char *why;

	if (spool_odb_failures(&why) == c->odb_failures)
		return 0;
	return spool_error_set(SPOOL_ERROR, "cannot store the objects of "
			       "the commit: %s", why);
}

int spool_commit_write(spool_commit *c, const char *actor)
{
	git_repository *repo = c->sp->repo;
	git_commit *parent = c->parent;
	git_oid tree_id, commit_id;
	int rc = 0;

	if (c->nups == 0 && c->ntrans == 0)
		goto out;
	if ((rc = spool_blobq_flush(c->blobs, c->sp)) < 0 ||
	    (rc = check_kept(c)) < 0)
		goto out;
	rc = spool_tree_update(&tree_id, repo, c->base, c->nups, c->ups);
	if (rc == SPOOL_EINVALID && settle_file_dirs(c))
		rc = spool_tree_update(&tree_id, repo, c->base, c->nups,
				       c->ups);
	if (rc < 0)
		goto out;
	if (c->ntrans == 0 && c->base &&
	    git_oid_equal(&tree_id, git_tree_id(c->base)))
		goto out;	/* nothing changed */
	if ((rc = write_commit(c, parent, &tree_id,
			       c->ntrans ? c->trans[0].actor : actor,
			       &commit_id)) < 0 ||
	    (rc = check_stored(c)) < 0)
		goto out;
	if ((rc = update_branch(c->sp, c->have_head ? &c->head_id : NULL,
				&commit_id, "spool")) < 0)
		goto out;
	spool_branch_saw(c->sp, &commit_id);
out:
	if (rc == 0) {
		/* Recorded: the moves need no recovery any more. */
		if (c->settle)
			c->settle(c->sp, c->pending, true);
		c->pending = NULL;
	}
	return rc;
}
