/*
 * Shared spools: owners, groups and modes; who the caller is; what no
 * agent could have written. See shared.h and docs/shared.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "state.h"
#include "fsutil.h"
#include "root.h"
#include "history.h"
#include "repo.h"
#include "shared.h"

#define VIOLATIONS ".spool/run/violations"

static json_t *shared_cfg(const spool *sp)
{
	json_t *s = json_object_get(spool_config(sp), "shared");

	return json_is_object(s) &&
	       json_is_string(json_object_get(s, "group")) ? s : NULL;
}

bool spool_shared(const spool *sp)
{
	return shared_cfg(sp) != NULL;
}

uid_t spool_shared_owner(const spool *sp)
{
	struct stat st;

	if (fstat(spool_rootfd(sp), &st) < 0)
		return 0;	/* root: the one owner always trusted */
	return st.st_uid;
}

void spool_caller_set(spool *sp, uid_t uid)
{
	sp->caller = uid;
	sp->caller_set = true;
}

uid_t spool_caller(const spool *sp)
{
	return sp->caller_set ? sp->caller : getuid();
}

long spool_shared_agent_uid(json_t *agent)
{
	const char *user = json_string_value(json_object_get(agent, "user"));
	struct passwd *pw;

	if (!user || !(pw = getpwnam(user)))
		return -1;
	return (long)pw->pw_uid;
}

static bool in_group(uid_t uid, const char *group)
{
	struct group *gr;
	struct passwd *pw;
	gid_t gid, gids[256];
	int n = 256;

	if (!group || !(gr = getgrnam(group)))
		return false;
	gid = gr->gr_gid;
	if (!(pw = getpwuid(uid)))
		return false;
	if (getgrouplist(pw->pw_name, pw->pw_gid, gids, &n) < 0)
		return false;
	for (int i = 0; i < n; i++)
		if (gids[i] == gid)
			return true;
	return false;
}

bool spool_shared_operator(const spool *sp, uid_t uid)
{
	json_t *s = shared_cfg(sp);

	if (uid == 0 || uid == spool_shared_owner(sp))
		return true;
	return s && in_group(uid, json_string_value(json_object_get(s,
							"operators")));
}

/* The group a bound claimed/NAME gets: the owner's own, so that spoold
 * and the agent may write it and the other agents may not. */
static gid_t owner_gid(uid_t owner)
{
	struct passwd *pw = getpwuid(owner);

	return pw ? pw->pw_gid : 0;
}

/* Gives path to uid:gid with mode: as root for this one call when root
 * runs us as the owner (spool(1) does: see cmd_open). The mode first:
 * once the directory is the agent's, only it (or root) may change it. */
static int chmod_chown(int dirfd, const char *path, mode_t mode, uid_t uid,
		       gid_t gid)
{
	if (fchmodat(dirfd, path, mode, 0) < 0)
		return -1;
	return fchownat(dirfd, path, uid, gid, AT_SYMLINK_NOFOLLOW);
}

static int give(int dirfd, const char *path, mode_t mode, uid_t uid,
		gid_t gid)
{
	uid_t euid = geteuid();
	gid_t egid = getegid();
	struct stat st;
	int rc, err;

	if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_uid == uid && st.st_gid == gid &&
	    (st.st_mode & 07777) == mode)
		return 0;
	rc = chmod_chown(dirfd, path, mode, uid, gid);
	if (rc == 0 || errno != EPERM || getuid() != 0 || euid == 0)
		return rc;
	if (seteuid(0) < 0)
		return -1;
	rc = chmod_chown(dirfd, path, mode, uid, gid);
	err = errno;
	if (setegid(egid) < 0 || seteuid(euid) < 0)
		abort();	/* never go on as root by mistake */
	errno = err;
	return rc;
}

int spool_shared_claimdir(spool *sp, const char *name, const char *user)
{
	struct passwd *pw = getpwnam(user);
	char path[PATH_MAX];
	int rc;

	if (!pw)
		return spool_error_set(SPOOL_ENOTFOUND, "no Unix user '%s'",
				       user);
	snprintf(path, sizeof(path), "claimed/%s", name);
	if ((rc = spool_fs_mkdirs(sp, path)) < 0)
		return rc;
	if (give(sp->rootfd, path, 02775, pw->pw_uid,
		 owner_gid(spool_shared_owner(sp))) < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot give '%s' to '%s' "
			"(binding an agent to another user takes root)",
			path, user);
	return 0;
}

/* ---- StrictModes ------------------------------------------------------- */

static bool safe(char *why, size_t len, int rootfd, const char *path)
{
	struct stat st;

	if (fstatat(rootfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		snprintf(why, len, "cannot stat '%s': %s", path,
			 strerror(errno));
		return false;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(why, len, "'%s' belongs to uid %ld, not to root or "
			 "to spoold's user", path, (long)st.st_uid);
		return false;
	}
	if (!S_ISLNK(st.st_mode) && (st.st_mode & 022)) {
		snprintf(why, len, "'%s' is writable by %s (mode %04o)",
			 path, st.st_mode & 020 ? "its group" : "others",
			 (unsigned)(st.st_mode & 07777));
		return false;
	}
	return true;
}

/* A link is what it leads to: the file it resolves to and that file's
 * directory are held to the same rule (the directories above that are
 * the system's, as for any program spoold runs by name). */
static bool safe_target(char *why, size_t len, const spool *sp,
			const char *path)
{
	char rel[PATH_MAX], real[PATH_MAX], *slash;
	struct stat st;

	if (fstatat(spool_rootfd(sp), path, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISLNK(st.st_mode))
		return true;	/* safe() says why, or it is no link */
	snprintf(rel, sizeof(rel), "%s/%s", spool_root(sp), path);
	if (!realpath(rel, real)) {
		snprintf(why, len, "'%s' leads nowhere: %s", path,
			 strerror(errno));
		return false;
	}
	if (!safe(why, len, AT_FDCWD, real))
		return false;
	if ((slash = strrchr(real, '/')) && slash != real)
		*slash = '\0';
	return safe(why, len, AT_FDCWD, real);
}

bool spool_shared_trusted(char *why, size_t len, const spool *sp,
			  const char *path)
{
	char buf[PATH_MAX];
	char *slash;

	if (!safe(why, len, spool_rootfd(sp), ".spool/config.json") ||
	    !safe(why, len, spool_rootfd(sp), ".") ||
	    !safe_target(why, len, sp, path))
		return false;
	snprintf(buf, sizeof(buf), "%s", path);
	for (;;) {
		if (!safe(why, len, spool_rootfd(sp), buf))
			return false;
		if (!(slash = strrchr(buf, '/')))
			return true;
		*slash = '\0';
	}
}

void spool_shared_violation(const spool *sp, const char *what)
{
	char line[1024], ts[32];
	time_t now = time(NULL);
	struct tm tm;
	int fd;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(line, sizeof(line), "%s %s\n", ts, what);
	fd = openat(spool_rootfd(sp), VIOLATIONS,
		    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
		    0644);
	if (fd < 0)
		return;		/* the log said it already */
	if (write(fd, line, strlen(line)) < 0) {
		/* as above */
	}
	close(fd);
}

size_t spool_shared_violations(char **last, const spool *sp)
{
	char *buf = NULL, *p, *end;
	size_t len, n = 0;

	*last = NULL;
	if (spool_fs_read(&buf, &len, sp, VIOLATIONS, 4 << 20) < 0) {
		spool_error_clear();	/* none recorded */
		return 0;
	}
	for (p = buf; p < buf + len; p = end + 1) {
		if (!(end = memchr(p, '\n', (size_t)(buf + len - p))))
			break;
		n++;
		free(*last);
		*last = strndup(p, (size_t)(end - p));
	}
	free(buf);
	return n;
}

/* ---- the layout -------------------------------------------------------- */

struct layout {
	uid_t owner;
	gid_t group, ogid;
	const char *root;
	size_t rootlen;
	char *report;
	size_t rlen, others;
	int rc;
};

static struct layout *lay;	/* nftw gives its callback no payload */

static void say(struct layout *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void say(struct layout *l, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	size_t n;
	char *r;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = strlen(line);
	if (!(r = realloc(l->report, l->rlen + n + 2)))
		return;
	l->report = r;
	memcpy(r + l->rlen, line, n);
	r[l->rlen + n] = '\n';
	r[l->rlen + n + 1] = '\0';
	l->rlen += n + 1;
}

/* The top directory of rel ("" for the root), and whether rel is it. */
static bool top_of(char *top, size_t len, const char *rel)
{
	const char *slash = strchr(rel, '/');

	if (!slash) {
		snprintf(top, len, "%s", rel);
		return true;
	}
	snprintf(top, len, "%.*s", (int)(slash - rel), rel);
	return false;
}

/* A claimed/NAME bound to a user: that user, or -1. */
static long bound_dir(const char *rel)
{
	char name[SPOOL_NAME_MAX + 1], path[PATH_MAX];
	json_t *a;
	long uid = -1;

	if (strncmp(rel, "claimed/", 8) || strchr(rel + 8, '/') ||
	    !spool_name_valid(rel + 8))
		return -1;
	snprintf(name, sizeof(name), "%s", rel + 8);
	snprintf(path, sizeof(path), "%s/agents/%s.json", lay->root, name);
	if ((a = json_load_file(path, 0, NULL))) {
		uid = spool_shared_agent_uid(a);
		json_decref(a);
	}
	return uid;
}

/* What rel should be: owner (-1: as it is), group and mode. */
static void wanted(long *uid, gid_t *gid, mode_t *mode, const char *rel,
		   const struct stat *st)
{
	char top[NAME_MAX + 1];
	bool is_top = top_of(top, sizeof(top), rel);
	bool dir = S_ISDIR(st->st_mode);
	bool spools = strcmp(top, ".git") == 0 || strcmp(top, ".spool") == 0 ||
		      strcmp(top, "agents") == 0 ||
		      strcmp(top, "modules") == 0;
	long b;

	/* What lies within is nobody's but its owner's to change: another
	 * agent could reach a group-writable file in an agent's claimed/ or
	 * deliverables. */
	*uid = -1;
	*gid = lay->group;
	*mode = st->st_mode & 07777 & ~(mode_t)022;
	if (!*rel) {
		*uid = lay->owner;
		*mode = 02750;
	} else if ((b = bound_dir(rel)) >= 0 && dir) {
		/* The group reads it (spool ls); only the agent's user and
		 * spoold, through the owner's group, write it. */
		*uid = b;
		*gid = lay->ogid;
		*mode = 02775;
	} else if (spools) {
		/* Only spoold writes git, the config, hooks, the registry. */
		*uid = lay->owner;
		*mode = dir ? 02750 : st->st_mode & 0755;
	} else if (is_top && dir) {
		*uid = lay->owner;
		if (!strcmp(top, "new") || !strcmp(top, "ready") ||
		    !strcmp(top, "review"))
			*mode = 02770;
		else if (!strcmp(top, "tmp") || !strcmp(top, "deliverables"))
			*mode = 03770;	/* sticky: each removes its own */
		else
			*mode = 02750;
	} else if (dir && strncmp(rel, "claimed/", 8) == 0 &&
		   !strchr(rel + 8, '/')) {
		*uid = lay->owner;	/* not bound: spoold's alone */
		*mode = 02750;
	} else if (dir) {
		*mode |= 02000;
	}
}

static int fix(const char *fpath, const struct stat *st, int type,
	       struct FTW *ftw)
{
	const char *rel = fpath + lay->rootlen;
	gid_t gid;
	mode_t mode;
	long uid;
	bool shown;

	(void)ftw;
	if (*rel == '/')
		rel++;
	if (type == FTW_SL || S_ISSOCK(st->st_mode) ||
	    strcmp(rel, SPOOL_SOCKET) == 0)
		return 0;
	wanted(&uid, &gid, &mode, rel, st);
	if ((uid < 0 || (uid_t)uid == st->st_uid) && gid == st->st_gid &&
	    mode == (st->st_mode & 07777))
		return 0;
	shown = !strchr(rel, '/') || (strncmp(rel, "claimed/", 8) == 0 &&
				      !strchr(rel + 8, '/'));
	if (lchown(fpath, uid < 0 ? (uid_t)-1 : (uid_t)uid, gid) < 0 ||
	    chmod(fpath, mode) < 0) {
		lay->rc = spool_error_sys(SPOOL_ERROR, "cannot set the owner "
					  "and mode of '%s'", *rel ? rel : ".");
		return 1;
	}
	if (!shown) {
		lay->others++;
		return 0;
	}
	say(lay, "%s: owner %ld:%ld -> %ld:%ld, mode %04o -> %04o",
	    *rel ? rel : ".", (long)st->st_uid, (long)st->st_gid,
	    uid < 0 ? (long)st->st_uid : uid, (long)gid,
	    (unsigned)(st->st_mode & 07777), (unsigned)mode);
	return 0;
}

static int set_config(char **report, spool *sp, const char *group,
		      const char *operators)
{
	json_t *cfg = json_deep_copy(spool_config(sp)), *want;
	spool_commit *c = NULL;
	char subject[256], *s = NULL;
	int rc;

	want = operators ? json_pack("{s:s, s:s}", "group", group,
				     "operators", operators)
			 : json_pack("{s:s}", "group", group);
	if (!cfg || !want) {
		rc = spool_error_set(SPOOL_ERROR, "out of memory");
		goto out;
	}
	if (json_equal(json_object_get(cfg, "shared"), want)) {
		rc = 0;
		goto out;
	}
	json_object_set(cfg, "shared", want);
	if (!(s = json_dumps(cfg, JSON_INDENT(2) | JSON_PRESERVE_ORDER))) {
		rc = spool_error_set(SPOOL_ERROR, "out of memory");
		goto out;
	}
	snprintf(subject, sizeof(subject), "share the spool with group %s",
		 group);
	if ((rc = spool_lock(sp, -1)) < 0)
		goto out;
	if ((rc = spool_commit_new(&c, sp)) == 0 &&
	    (rc = spool_fs_write(sp, ".spool/config.json", s, strlen(s),
				 false)) == 0 &&
	    (rc = spool_commit_path(c, ".spool/config.json")) == 0 &&
	    (rc = spool_commit_subject(c, subject)) == 0)
		rc = spool_commit_write(c, "spool");
	spool_commit_free(c);
	spool_unlock(sp);
	if (rc == 0) {
		struct layout l = { .report = *report };
		l.rlen = *report ? strlen(*report) : 0;
		say(&l, ".spool/config.json: shared with group %s%s%s", group,
		    operators ? ", operators " : "",
		    operators ? operators : "");
		*report = l.report;
	}
out:
	free(s);
	json_decref(want);
	json_decref(cfg);
	return rc;
}

int spool_shared_setup(char **report, const char *dir, const char *group,
		       const char *operators, const char *owner)
{
	struct layout l = { .rc = 0 };
	struct group *gr;
	struct passwd *pw;
	spool *sp = NULL;
	int rc;

	*report = NULL;
	if (!(gr = getgrnam(group)))
		return spool_error_set(SPOOL_ENOTFOUND, "no Unix group '%s'",
				       group);
	l.group = gr->gr_gid;
	if (operators && !getgrnam(operators))
		return spool_error_set(SPOOL_ENOTFOUND, "no Unix group '%s'",
				       operators);
	if ((rc = spool_open(&sp, dir)) < 0)
		return rc;
	if (owner) {
		if (!(pw = getpwnam(owner))) {
			rc = spool_error_set(SPOOL_ENOTFOUND, "no Unix user "
					     "'%s'", owner);
			goto out;
		}
		l.owner = pw->pw_uid;
	} else {
		l.owner = spool_shared_owner(sp);
	}
	l.ogid = owner_gid(l.owner);
	if (l.ogid == l.group) {
		rc = spool_error_set(SPOOL_EINVALID, "the spool's owner has "
			"'%s' as its own group: each agent's claimed/ would be "
			"open to all; give the owner a group of its own",
			group);
		goto out;
	}
	if ((rc = set_config(&l.report, sp, group, operators)) < 0)
		goto out;
	l.root = spool_root(sp);
	l.rootlen = strlen(l.root);
	lay = &l;
	if (nftw(l.root, fix, 32, FTW_PHYS) < 0 && l.rc == 0)
		l.rc = spool_error_sys(SPOOL_ERROR, "cannot walk '%s'",
				       l.root);
	lay = NULL;
	rc = l.rc;
	if (rc == 0 && l.others)
		say(&l, "%zu files and directories within: group and mode",
		    l.others);
out:
	spool_free(sp);
	*report = l.report;
	return rc;
}
