/* The registry: agents/<name>.json and modules/<name>.json. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "state.h"
#include "task.h"
#include "fsutil.h"
#include "root.h"
#include "gitindex.h"
#include "history.h"
#include "repo.h"
#include "registry.h"
#include "shared.h"

static int split_names(json_t **out, const char *csv, const char *what)
{
	json_t *arr = json_array();
	char *copy, *tok, *save = NULL;

	if (!arr || !(copy = strdup(csv ? csv : ""))) {
		json_decref(arr);
		return spool_error_set(SPOOL_ERROR, "out of memory");
	}
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (!*tok)
			continue;
		if (!spool_name_valid(tok)) {
			spool_error_set(SPOOL_EINVALID, "'%s' is not a valid %s "
				"(1-64 of a-z, 0-9, '.', '_', '-')", tok, what);
			free(copy);
			json_decref(arr);
			return SPOOL_EINVALID;
		}
		json_array_append_new(arr, json_string(tok));
	}
	free(copy);
	*out = arr;
	return 0;
}

/* What write_entry changed on disk, to put back if it cannot commit. */
struct undo {
	char path[PATH_MAX], keep[PATH_MAX], dir[PATH_MAX];
	char *was;		/* the entry it replaced, or NULL */
	size_t waslen;
	bool wrote, keep_new, dir_new;
};

static void undo_entry(spool *sp, struct undo *u)
{
	char msg[1024];
	int code = spool_error_code();

	snprintf(msg, sizeof(msg), "%s", spool_error_message());
	if (u->keep_new)
		spool_fs_unlink(sp, u->keep, 0);
	if (u->dir_new)
		spool_fs_unlink(sp, u->dir, AT_REMOVEDIR);
	if (u->wrote && u->was)
		spool_fs_write(sp, u->path, u->was, u->waslen, false);
	else if (u->wrote)
		spool_fs_unlink(sp, u->path, 0);
	spool_error_set(code, "%s", msg);
}

/* The user an entry is bound to: the one given, else the one it had. */
static void keep_user(json_t *obj, spool *sp, const char *name,
		      const char *user)
{
	json_t *was = NULL;

	if (!user && spool_agent_load(&was, sp, name) == 0)
		user = json_string_value(json_object_get(was, "user"));
	spool_error_clear();	/* a new agent */
	if (user)
		json_object_set_new(obj, "user", json_string(user));
	json_decref(was);
}

static int write_entry(spool *sp, const char *kind, const char *name,
		       json_t *obj, const char *actor, const char *verb)
{
	char subject[256];
	struct undo u = { .was = NULL };
	spool_commit *c = NULL;
	char *s = NULL;
	int rc;

	if ((rc = spool_lock(sp, -1)) < 0)
		return rc;
	snprintf(u.path, sizeof(u.path), "%s/%s.json", kind, name);
	if (!(s = spool_task_dump(obj))) {
		rc = spool_error_set(SPOOL_ERROR, "out of memory");
		goto out;
	}
	/* The commit first: a spool that refuses to record is not written. */
	if ((rc = spool_commit_new(&c, sp)) < 0 ||
	    (rc = spool_fs_mkdirs(sp, kind)) < 0)
		goto out;
	if (spool_fs_read(&u.was, &u.waslen, sp, u.path, 1 << 20) < 0)
		spool_error_clear();	/* a new entry */
	if ((rc = spool_fs_write(sp, u.path, s, strlen(s), false)) < 0)
		goto out;
	u.wrote = true;
	snprintf(subject, sizeof(subject), "%s %s", verb, name);
	if ((rc = spool_commit_path(c, u.path)) < 0 ||
	    (rc = spool_commit_subject(c, subject)) < 0)
		goto out;
	if (strcmp(kind, "agents") == 0) {
		/* So that 'mv ready/X.json claimed/NAME/' works at once. */
		snprintf(u.dir, sizeof(u.dir), "claimed/%s", name);
		u.dir_new = spool_fs_access(sp, u.dir) < 0;
		if ((rc = spool_fs_mkdirs(sp, u.dir)) < 0)
			goto out;
		snprintf(u.keep, sizeof(u.keep), "claimed/%s/.gitkeep", name);
		if (spool_fs_access(sp, u.keep)) {
			if ((rc = spool_fs_write(sp, u.keep, "", 0,
						 false)) < 0)
				goto out;
			u.keep_new = true;
		}
		if ((rc = spool_commit_path(c, u.keep)) < 0)
			goto out;
	}
	if ((rc = spool_commit_write(c, actor)) == 0) {
		spool_index_sync(sp);	/* catches up at the next sync */
		spool_error_clear();
	}
out:
	if (rc < 0)
		undo_entry(sp, &u);	/* a failure changes nothing */
	spool_commit_free(c);
	free(u.was);
	free(s);
	spool_unlock(sp);
	return rc;
}

int spool_agent_add(spool *sp, const char *name, const char *capabilities,
		    const char *roles, const char *actor)
{
	return spool_agent_add_user(sp, name, capabilities, roles, NULL,
				    actor);
}

/* In a shared spool the registry is the operators': who an agent is and
 * what it may do decide what everyone else's work is exposed to. */
static int may_register(spool *sp, const char *name, const char *user)
{
	char who[64];

	if (!spool_shared(sp))
		return user ? spool_error_set(SPOOL_EINVALID, "--user binds an "
			"agent to a Unix user in a shared spool; this one is "
			"not (spool init --shared GROUP)") : 0;
	if (spool_shared_operator(sp, spool_caller(sp)))
		return 0;
	snprintf(who, sizeof(who), "uid %ld", (long)spool_caller(sp));
	return spool_error_set(SPOOL_EILLEGAL, "cannot register '%s': %s is "
			       "not an operator of this shared spool", name,
			       who);
}

int spool_agent_add_user(spool *sp, const char *name,
			 const char *capabilities, const char *roles,
			 const char *user, const char *actor)
{
	static const char *const known[] = { "worker", "reviewer", "operator",
					      "planner" };
	json_t *obj = NULL, *caps = NULL, *rl = NULL, *r;
	size_t i;
	int rc;

	if (!spool_name_valid(name))
		return spool_error_set(SPOOL_EINVALID, "'%s' is not a valid "
			"agent name (1-64 of a-z, 0-9, '.', '_', '-', starting "
			"with a letter or digit)", name);
	if (strcmp(name, SPOOL_AGENT_UNKNOWN) == 0)
		return spool_error_set(SPOOL_EINVALID, "'%s' is reserved: the "
			"history names so an agent it could not see", name);
	if ((rc = split_names(&caps, capabilities, "capability")) < 0)
		return rc;
	if ((rc = split_names(&rl, roles ? roles : "worker", "role")) < 0)
		goto out;
	json_array_foreach(rl, i, r) {
		bool ok = false;
		for (size_t k = 0; k < SPOOL_ARRAY_SIZE(known); k++)
			ok |= strcmp(known[k], json_string_value(r)) == 0;
		if (!ok) {
			rc = spool_error_set(SPOOL_EINVALID, "'%s' is not a "
				"role (worker, reviewer, operator, planner)",
				json_string_value(r));
			goto out;
		}
	}
	if ((rc = may_register(sp, name, user)) < 0)
		goto out;
	if (user && !getpwnam(user)) {
		rc = spool_error_set(SPOOL_ENOTFOUND, "no Unix user '%s'", user);
		goto out;
	}
	obj = json_pack("{s:s, s:O, s:O}", "name", name, "capabilities", caps,
			"roles", rl);
	if (obj && spool_shared(sp))
		keep_user(obj, sp, name, user);
	/* Its directory first: a binding that cannot be made (it takes
	 * root) registers nothing. */
	user = json_string_value(json_object_get(obj, "user"));
	if (user && (rc = spool_shared_claimdir(sp, name, user)) < 0)
		goto out;
	rc = obj ? write_entry(sp, "agents", name, obj, actor, "register agent")
		 : spool_error_set(SPOOL_ERROR, "out of memory");
out:
	json_decref(obj);
	json_decref(caps);
	json_decref(rl);
	return rc;
}

int spool_module_add(spool *sp, const char *name, const char *description,
		     const char *actor)
{
	json_t *obj;
	int rc;

	if (!spool_name_valid(name))
		return spool_error_set(SPOOL_EINVALID, "'%s' is not a valid "
			"module name (1-64 of a-z, 0-9, '.', '_', '-')", name);
	obj = json_pack("{s:s, s:s}", "name", name, "description",
			description ? description : "");
	if (!obj)
		return spool_error_set(SPOOL_ERROR, "out of memory");
	rc = write_entry(sp, "modules", name, obj, actor, "add module");
	json_decref(obj);
	return rc;
}

int spool_agent_load(json_t **out, const spool *sp, const char *name)
{
	char path[PATH_MAX];
	json_error_t jerr;
	char *buf;
	size_t len;
	int rc;

	*out = NULL;
	if (!spool_name_valid(name))
		return spool_error_set(SPOOL_EINVALID, "'%s' is not a valid "
				       "agent name", name);
	snprintf(path, sizeof(path), "agents/%s.json", name);
	rc = spool_fs_read(&buf, &len, sp, path, 1 << 20);
	if (rc == SPOOL_ENOTFOUND)
		return spool_error_set(SPOOL_ENOTFOUND, "agent '%s' is not "
			"registered; add it with 'spool agent add %s'", name,
			name);
	if (rc < 0)
		return rc;
	*out = json_loadb(buf, len, 0, &jerr);
	free(buf);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return spool_error_set(SPOOL_EINVALID, "'%s' line %d: %s",
			path, jerr.line, jerr.text);
	}
	return 0;
}

static bool list_has(json_t *list, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

bool spool_agent_has_role(json_t *agent, const char *role)
{
	return list_has(json_object_get(agent, "roles"), role);
}

bool spool_agent_capable(json_t *agent, json_t *task)
{
	json_t *caps = json_object_get(agent, "capabilities");
	size_t i;
	json_t *r;

	json_array_foreach(json_object_get(task, "requires"), i, r)
		if (!list_has(caps, json_string_value(r)))
			return false;
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int spool_registry_names(char ***out, size_t *count, const spool *sp,
			 const char *kind)
{
	bool dirs = strcmp(kind, "claimed") == 0;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int fd;

	*out = NULL;
	*count = 0;
	fd = spool_fs_open(sp, kind, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return errno == ENOENT ? 0 : spool_error_sys(SPOOL_ERROR,
			"cannot read '%s'", kind);
	if (!(d = fdopendir(fd))) {
		close(fd);
		return spool_error_sys(SPOOL_ERROR, "cannot read '%s'", kind);
	}
	while ((de = readdir(d))) {
		char name[NAME_MAX + 1];
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.')
			continue;
		snprintf(name, sizeof(name), "%s", de->d_name);
		if (!dirs) {
			if (len < 6 || strcmp(name + len - 5, ".json") != 0)
				continue;
			name[len - 5] = '\0';
		} else if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) {
			continue;
		}
		if (!spool_name_valid(name))
			continue;
		if (n == cap) {
			char **p = realloc(names, (cap = cap ? cap * 2 : 16) *
					   sizeof(*p));
			if (!p)
				break;
			names = p;
		}
		names[n++] = strdup(name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);
	*out = names;
	*count = n;
	return 0;
}

void spool_names_free(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

/* ---- who a uid acts as, in a shared spool ----------------------------- */

static bool bound_to(const spool *sp, const char *name, uid_t uid)
{
	json_t *a = NULL;
	bool ok;

	if (spool_agent_load(&a, sp, name) < 0) {
		spool_error_clear();	/* not registered: not bound */
		return false;
	}
	ok = spool_shared_agent_uid(a) == (long)uid;
	json_decref(a);
	return ok;
}

static const char *user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw && spool_name_valid(pw->pw_name))
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid%ld", (long)uid);
	return buf;
}

int spool_shared_actor(char *out, size_t len, const spool *sp, uid_t uid,
		       const char *asked)
{
	bool op = spool_shared_operator(sp, uid);
	char who[64], only[SPOOL_NAME_MAX + 1] = "";
	char **names = NULL;
	size_t n = 0, bound = 0;
	int rc;

	user_name(uid, who, sizeof(who));
	if (asked && *asked) {
		if (!spool_name_valid(asked))
			return spool_error_set(SPOOL_EINVALID, "'%s' is not a "
					       "valid agent name", asked);
		if (!op && !bound_to(sp, asked, uid))
			return spool_error_set(SPOOL_EILLEGAL, "user '%s' may "
				"not act as '%s': that agent is not bound to "
				"it (spool agent add %s --user %s)", who,
				asked, asked, who);
		snprintf(out, len, "%s", asked);
		return 0;
	}
	if ((rc = spool_registry_names(&names, &n, sp, "agents")) < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (bound_to(sp, names[i], uid) && !bound++)
			snprintf(only, sizeof(only), "%s", names[i]);
	spool_names_free(names, n);
	if (bound == 1 && !op) {
		snprintf(out, len, "%s", only);
		return 0;
	}
	if (op) {
		snprintf(out, len, "%s", who);
		return 0;
	}
	if (bound == 0)
		return spool_error_set(SPOOL_EILLEGAL, "user '%s' holds no "
			"agent in this shared spool; an operator binds one "
			"with 'spool agent add NAME --user %s'", who, who);
	return spool_error_set(SPOOL_EILLEGAL, "user '%s' holds several "
		"agents; name one with --agent or SPOOL_AGENT", who);
}
