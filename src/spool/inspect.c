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
#include <pthread.h>

#include "error.h"
#include "state.h"
#include "fsutil.h"
#include "root.h"
#include "repo.h"
#include "snapshot.h"
#include "inspect.h"
#include "policy.h"
#include "registry.h"

bool spool_daemon_running(spool *sp, long *pid)
{
	char buf[32];
	ssize_t n;
	bool running;
	int fd;

	if (pid)
		*pid = 0;
	fd = spool_fs_open(sp, ".spool/run/daemon.pid",
		    O_RDONLY, 0);
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
	if (spool_fs_lstat(sp, path, &st) < 0)
		return spool_error_sys(errno == ENOENT ? SPOOL_ENOTFOUND
						       : SPOOL_ERROR,
				       "cannot stat '%s'", path);
	/* From the last touch or the claim itself (a rename keeps the mtime
	 * and sets the ctime), whichever is later, as spoold counts it. */
	*left = (long)((spool_heartbeat_ms(&st) - spool_now_ms()) / 1000 +
		       spool_task_lease(sp, task));
	return 0;
}

/* A directory of the spool to read, or NULL if it cannot be. */
static DIR *dir_open(spool *sp, const char *dir)
{
	int fd = spool_fs_open(sp, dir, O_RDONLY | O_DIRECTORY, 0);
	DIR *d;

	if (fd < 0)
		return NULL;
	if (!(d = fdopendir(fd)))
		close(fd);
	return d;
}

/* Entries of dir that keep() accepts; dotfiles never count. */
static size_t count_entries(spool *sp, const char *dir,
			    bool (*keep)(const char *name))
{
	struct dirent *de;
	size_t n = 0;
	DIR *d = dir_open(sp, dir);

	if (!d)
		return 0;
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

/* What spool_survey finds from the commit head (hex, "" for none: HEAD
 * as it was when the cache was checked) and the names on disk. */
static int survey_scan(spool_survey_t *out, spool *sp, const char *hex)
{
	git_repository *repo;
	git_commit *head = NULL;
	git_tree *tree = NULL;
	spool_map *m = NULL;
	size_t *perdir = NULL;
	git_oid oid;
	int rc;

	if ((rc = spool_repo(&repo, sp)) < 0 || (rc = spool_map_new(&m)) < 0)
		return rc;
	if (hex[0]) {
		if (git_oid_fromstr(&oid, hex) < 0 ||
		    git_commit_lookup(&head, repo, &oid) < 0 ||
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

/*
 * What spool_survey finds depends only on HEAD and on the names in the
 * state directories, and a directory's stamp changes with its names (see
 * spool_stamp); the oldest ready task depends on the names in ready/ and
 * their ctimes, which only grow. So .spool/run/survey.cache keeps the
 * answer with HEAD and each directory's stamp, and while they are the
 * same (and were settled when taken) nothing is read again. The oldest
 * ready task stays the oldest while its own ctime is the same.
 */
#define SURVEY_CACHE ".spool/run/survey.cache"
#define SURVEY_MAGIC "SPSRV1\n"
#define SURVEY_DIRS (SPOOL_STATE_COUNT + 256)

struct dirstamp {
	char where[SPOOL_NAME_MAX + 16];
	spool_stamp st;		/* all 0: absent */
};

struct survey_cache {
	char magic[8];
	uint32_t size;		/* sizeof(struct survey_cache): same build */
	int64_t taken;		/* spool_now_ns() before the stamps */
	uint32_t ndirs;
	struct dirstamp dirs[SURVEY_DIRS];	/* the states', then agents' */
	spool_stamp oldest;	/* ready/<result.oldest>.json */
	uint64_t indexes;	/* archive/'s .tsv files, see archive_digest */
	bool indexes_settled;
	spool_survey_t result;
};

/* 40 hex digits and the end of the line, into hex. */
static bool hex_line(char *hex, const char *s)
{
	for (int i = 0; i < GIT_OID_HEXSZ; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	if (s[GIT_OID_HEXSZ] != '\n' && s[GIT_OID_HEXSZ] != '\0')
		return false;
	memcpy(hex, s, GIT_OID_HEXSZ);
	hex[GIT_OID_HEXSZ] = '\0';
	return true;
}

/* The line "<hex> <ref>" of .git/packed-refs. */
static bool packed_ref(char *hex, spool *sp, const char *ref)
{
	char *buf = NULL, *line, *next;
	size_t n = strlen(ref);
	bool found = false;

	if (spool_fs_read(&buf, NULL, sp, ".git/packed-refs", 1 << 26) < 0) {
		spool_error_clear();
		return false;
	}
	for (line = buf; line && *line && !found; line = next) {
		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		if (strlen(line) != GIT_OID_HEXSZ + 1 + n ||
		    line[GIT_OID_HEXSZ] != ' ' ||
		    strcmp(line + GIT_OID_HEXSZ + 1, ref) != 0)
			continue;
		line[GIT_OID_HEXSZ] = '\0';
		found = hex_line(hex, line);
	}
	free(buf);
	return found;
}

/*
 * HEAD's commit as git keeps it: .git/HEAD names a branch, whose loose
 * ref wins over its line in packed-refs. Read by hand because loading
 * libgit2 costs more than the rest of a status that finds its cache
 * good. Anything else (a .git file, a ref naming a ref, no commit yet,
 * another hash): false, and libgit2 answers.
 */
static bool head_read(char *hex, spool *sp)
{
	char *buf = NULL, path[PATH_MAX], *ref, *nl;
	bool ok = false;

	if (spool_fs_read(&buf, NULL, sp, ".git/HEAD", 4096) < 0) {
		spool_error_clear();
		return false;
	}
	if (hex_line(hex, buf)) {
		free(buf);
		return true;	/* detached */
	}
	ref = buf + 5;
	if ((nl = strchr(ref, '\n')))
		*nl = '\0';
	if (strncmp(buf, "ref: refs/", 10) == 0 && !strstr(ref, "..") &&
	    !strpbrk(ref, " \t\r")) {
		char *loose = NULL;
		snprintf(path, sizeof(path), ".git/%s", ref);
		if (spool_fs_read(&loose, NULL, sp, path, 4096) == 0)
			ok = hex_line(hex, loose);
		else
			ok = packed_ref(hex, sp, ref);
		spool_error_clear();
		free(loose);
	}
	free(buf);
	return ok;
}

static int head_hex(char *hex, spool *sp)
{
	git_repository *repo;
	git_oid oid;
	int rc;

	hex[0] = '\0';
	if (head_read(hex, sp))
		return 0;
	if ((rc = spool_repo(&repo, sp)) < 0)
		return rc;
	if (git_reference_name_to_id(&oid, repo, "HEAD") == 0)
		git_oid_tostr(hex, GIT_OID_HEXSZ + 1, &oid);
	spool_error_clear();
	return 0;
}

/* The last commit's subject, author and time, for status: from the cache
 * while HEAD is the same. */
static bool head_info(spool_survey_t *r, const struct survey_cache *old,
		      spool *sp)
{
	git_repository *repo;
	git_commit *c = NULL;
	const char *subject;
	git_oid oid;

	if (old && old->result.head_known &&
	    strcmp(old->result.head, r->head) == 0) {
		memcpy(r->head_subject, old->result.head_subject,
		       sizeof(r->head_subject));
		memcpy(r->head_author, old->result.head_author,
		       sizeof(r->head_author));
		r->head_time = old->result.head_time;
		r->head_known = true;
		return false;
	}
	if (!r->head[0] || spool_repo(&repo, sp) < 0 ||
	    git_oid_fromstr(&oid, r->head) < 0 ||
	    git_commit_lookup(&c, repo, &oid) < 0) {
		spool_error_clear();
		return true;
	}
	subject = git_commit_summary(c);
	r->head_time = git_commit_time(c);
	/* too long to keep: status asks git itself */
	r->head_known = snprintf(r->head_subject, sizeof(r->head_subject),
				 "%s", subject ? subject : "") <
				(int)sizeof(r->head_subject) &&
			snprintf(r->head_author, sizeof(r->head_author), "%s",
				 git_commit_author(c)->name) <
				(int)sizeof(r->head_author);
	git_commit_free(c);
	return true;
}

static void stamp_dir(struct dirstamp *d, spool *sp, const char *where)
{
	struct stat st;

	memset(d, 0, sizeof(*d));
	snprintf(d->where, sizeof(d->where), "%s", where);
	/* followed, as the survey follows it */
	if (spool_fs_lstat(sp, where, &st) == 0)
		spool_stamp_of(&d->st, &st);
}

/* Stamps every directory the survey reads, before it reads them: a change
 * in between shows as a stamp too fresh to trust. */
static int stamp_dirs(struct survey_cache *c, spool *sp)
{
	char **names = NULL, where[SPOOL_NAME_MAX + 16];
	size_t n = 0;
	int rc;

	for (int s = 0; s < SPOOL_STATE_COUNT; s++)
		stamp_dir(&c->dirs[c->ndirs++], sp, spool_state_name(s));
	if ((rc = spool_registry_names(&names, &n, sp, "claimed")) < 0)
		return rc;
	if (n > SURVEY_DIRS - c->ndirs)
		rc = SPOOL_ENOTFOUND;	/* too many to keep: no cache */
	for (size_t i = 0; i < n && rc == 0; i++) {
		snprintf(where, sizeof(where), "claimed/%s", names[i]);
		stamp_dir(&c->dirs[c->ndirs++], sp, where);
	}
	spool_names_free(names, n);
	return rc;
}

static bool same_tree(const struct survey_cache *old,
		      const struct survey_cache *c)
{
	if (strcmp(old->result.head, c->result.head) != 0 ||
	    old->ndirs != c->ndirs)
		return false;
	for (uint32_t i = 0; i < c->ndirs; i++)
		if (strcmp(old->dirs[i].where, c->dirs[i].where) != 0 ||
		    !spool_stamp_same(&old->dirs[i].st, &c->dirs[i].st) ||
		    !spool_stamp_settled(&old->dirs[i].st, old->taken))
			return false;
	return true;
}

/* The oldest ready task is the same if ready/ holds the same names and
 * its ctime has not moved (the others' can only have grown). */
static bool same_oldest(const struct survey_cache *old,
			const struct survey_cache *c, spool *sp)
{
	const struct dirstamp *o = &old->dirs[SPOOL_STATE_READY];
	char path[PATH_MAX];
	spool_stamp now;
	struct stat st;

	if (!spool_stamp_same(&o->st, &c->dirs[SPOOL_STATE_READY].st) ||
	    !spool_stamp_settled(&o->st, old->taken))
		return false;
	if (!old->result.oldest[0])
		return true;
	snprintf(path, sizeof(path), "ready/%s.json", old->result.oldest);
	if (spool_fs_lstat(sp, path, &st) < 0)
		return false;
	spool_stamp_of(&now, &st);
	return now.ino == old->oldest.ino && now.ctime == old->oldest.ctime;
}

/* The task file in ready/ with the oldest ctime: when it arrived there (a
 * rename sets it) or was last rewritten. */
struct oldest_job {
	spool *sp;
	char id[SPOOL_ID_MAX + 1];
	spool_stamp st;
};

static void *oldest_scan(void *data)
{
	struct oldest_job *job = data;
	struct dirent *de;
	struct stat st;
	DIR *d = dir_open(job->sp, "ready");

	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		char id[SPOOL_ID_MAX + 1];
		spool_stamp s;
		if (!spool_id_from_name(id, de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		spool_stamp_of(&s, &st);
		if (!job->id[0] || s.ctime < job->st.ctime) {
			job->st = s;
			snprintf(job->id, sizeof(job->id), "%s", id);
		}
	}
	closedir(d);
	return NULL;
}

static uint64_t mix(uint64_t h)
{
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

/* The name and stamp of each .tsv index in archive/, summed as strong
 * hashes so their order does not matter: the same digest, the same
 * indexes. settled: every stamp was old enough to be trusted. */
static void archive_digest(uint64_t *digest, bool *settled, spool *sp,
			   int64_t taken)
{
	struct dirent *de;
	struct stat st;
	DIR *d = dir_open(sp, "archive");

	*digest = 0;
	*settled = true;
	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		spool_stamp s;
		uint64_t h = 14695981039346656037ull;
		if (len < 5 || strcmp(de->d_name + len - 4, ".tsv") != 0 ||
		    fstatat(dirfd(d), de->d_name, &st, 0) < 0)
			continue;
		spool_stamp_of(&s, &st);
		*settled &= spool_stamp_settled(&s, taken);
		for (size_t i = 0; i < len; i++)
			h = (h ^ (unsigned char)de->d_name[i]) * 1099511628211ull;
		*digest += mix(h ^ mix(s.ino ^ mix(s.size ^ mix((uint64_t)s.mtime ^
						 mix((uint64_t)s.ctime)))));
	}
	closedir(d);
}

/* Archived tasks: lines of the archive/ .tsv files, less their header
 * lines. */
static void archive_count(spool_survey_t *out, spool *sp)
{
	struct dirent *de;
	DIR *d = dir_open(sp, "archive");

	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name), blen, lines = 0;
		char path[PATH_MAX], *buf = NULL;
		if (len < 5 || strcmp(de->d_name + len - 4, ".tsv"))
			continue;
		snprintf(path, sizeof(path), "archive/%s", de->d_name);
		if (spool_fs_read(&buf, &blen, sp, path, 1 << 28) < 0)
			continue;
		out->archives++;
		for (char *p = buf; (p = memchr(p, '\n',
				(size_t)(buf + blen - p))); p++)
			lines++;
		out->archived += lines ? lines - 1 : 0;	/* the header */
		free(buf);
	}
	closedir(d);
	spool_error_clear();
}

static struct survey_cache *survey_read(spool *sp)
{
	struct survey_cache *c;
	char *buf = NULL;
	size_t len = 0;
	bool ok;

	if (spool_fs_read(&buf, &len, sp, SURVEY_CACHE, sizeof(*c)) < 0) {
		spool_error_clear();
		return NULL;
	}
	c = (struct survey_cache *)buf;
	ok = len == sizeof(*c) && memcmp(c->magic, SURVEY_MAGIC, 8) == 0 &&
	     c->size == sizeof(*c) && c->ndirs <= SURVEY_DIRS &&
	     memchr(c->result.head, '\0', sizeof(c->result.head)) &&
	     memchr(c->result.head_subject, '\0',
		    sizeof(c->result.head_subject)) &&
	     memchr(c->result.head_author, '\0',
		    sizeof(c->result.head_author)) &&
	     memchr(c->result.oldest, '\0', sizeof(c->result.oldest)) &&
	     c->result.nagents <= SPOOL_ARRAY_SIZE(c->result.agents);
	for (uint32_t i = 0; ok && i < c->ndirs; i++)
		ok = memchr(c->dirs[i].where, '\0', sizeof(c->dirs[i].where));
	for (size_t i = 0; ok && i < c->result.nagents; i++)
		ok = memchr(c->result.agents[i].name, '\0',
			    sizeof(c->result.agents[i].name));
	if (!ok) {
		free(buf);
		return NULL;
	}
	return c;
}

/* The oldest ready task, from the cache or a scan beside the survey's. */
static int survey_fill(struct survey_cache *c, const struct survey_cache *old,
		       spool *sp, bool *changed)
{
	struct oldest_job job = { .sp = sp };
	bool tree = old && same_tree(old, c);
	bool ready = old && same_oldest(old, c, sp), threaded = false;
	pthread_t th;
	int rc = 0;

	*changed = !tree || !ready;
	if (!ready)
		threaded = pthread_create(&th, NULL, oldest_scan, &job) == 0;
	if (!ready && !threaded)
		oldest_scan(&job);
	if (tree)
		c->result = old->result;
	else
		rc = survey_scan(&c->result, sp, c->result.head);
	if (threaded)
		pthread_join(th, NULL);
	if (ready) {
		memcpy(job.id, old->result.oldest, sizeof(job.id));
		job.st = old->oldest;
	}
	memcpy(c->result.oldest, job.id, sizeof(job.id));
	c->result.oldest_ns = job.id[0] ? job.st.ctime : 0;
	c->oldest = job.st;
	return rc;
}

int spool_survey(spool_survey_t *out, spool *sp)
{
	struct survey_cache *old = survey_read(sp), *c = calloc(1, sizeof(*c));
	bool keep, changed;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!c) {
		rc = spool_error_set(SPOOL_ERROR, "out of memory");
		goto out;
	}
	memcpy(c->magic, SURVEY_MAGIC, 8);
	c->size = sizeof(*c);
	c->taken = spool_now_ns();
	/* no stamps, no cache: the survey reads everything */
	keep = stamp_dirs(c, sp) == 0;
	spool_error_clear();
	if ((rc = head_hex(c->result.head, sp)) < 0 ||
	    (rc = survey_fill(c, keep ? old : NULL, sp, &changed)) < 0)
		goto out;
	changed |= head_info(&c->result, keep ? old : NULL, sp);
	archive_digest(&c->indexes, &c->indexes_settled, sp, c->taken);
	if (keep && old && old->indexes_settled &&
	    old->indexes == c->indexes) {
		c->result.archived = old->result.archived;
		c->result.archives = old->result.archives;
	} else {
		c->result.archived = c->result.archives = 0;
		archive_count(&c->result, sp);
		changed = true;
	}
	if (keep && changed) {
		mkdirat(spool_rootfd(sp), ".spool/run", 0777);
		if (spool_fs_write_cache(sp, SURVEY_CACHE, c, sizeof(*c)) < 0)
			spool_error_clear();
	}
	*out = c->result;
out:
	free(old);
	free(c);
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

/* ---- the layout's own directories --------------------------------------- */

static void link_found(char *why, size_t len, size_t *n, const char *path)
{
	size_t used = strlen(why);

	if (used + strlen(path) + 8 < len)
		snprintf(why + used, len - used, "%s'%s'", *n ? ", " : "",
			 path);
	(*n)++;
}

size_t spool_layout_links(char *why, size_t len, bool *halt, spool *sp)
{
	static const char *const top[] = { "tmp", "deliverables" };
	char path[64 + SPOOL_NAME_MAX];
	struct dirent *de;
	struct stat st;
	size_t n = 0;
	DIR *d;

	why[0] = '\0';
	*halt = false;
	for (int s = SPOOL_STATE_NEW; s < SPOOL_STATE_COUNT; s++) {
		const char *name = spool_state_name((spool_state)s);
		if (spool_fs_lstat(sp, name, &st) == 0 && S_ISLNK(st.st_mode)) {
			link_found(why, len, &n, name);
			*halt = true;
		}
	}
	for (size_t i = 0; i < SPOOL_ARRAY_SIZE(top); i++)
		if (spool_fs_lstat(sp, top[i], &st) == 0 && S_ISLNK(st.st_mode)) {
			link_found(why, len, &n, top[i]);
			*halt |= i == 0;
		}
	if ((d = dir_open(sp, "claimed"))) {
		while ((de = readdir(d)))
			if (de->d_type == DT_LNK) {
				snprintf(path, sizeof(path), "claimed/%s",
					 de->d_name);
				link_found(why, len, &n, path);
			}
		closedir(d);
	}
	if (n) {
		size_t used = strlen(why);
		snprintf(why + used, len - used, " %s a symbolic link: the "
			 "spool reads, moves and deletes nothing behind %s; "
			 "make %s a directory again", n > 1 ? "are" : "is",
			 n > 1 ? "them" : "it", n > 1 ? "each" : "it");
	}
	return n;
}
