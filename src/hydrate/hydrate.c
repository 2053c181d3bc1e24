/*
 * Hydration: the manifest names each workspace's skill set; every name is
 * resolved from the roots in priority order; each target directory of the
 * workspace gets one directory link per skill, and nothing else of it is
 * touched. A link is hydrate's own when its target is NAME directly inside
 * a configured root (or retired root) and the link is named NAME.
 *
 * Everything is planned before anything changes; a plan with conflicts is
 * never applied. The no-op path is lstat + readlink + compare per link.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "root.h"
#include "hydrate.h"

struct strlist {
	char **v;
	size_t n;
};

struct project {
	char *name;
	struct strlist skills;
};

struct wsent {
	char *path;
	char *project;		/* may be NULL */
};

/* One name resolved from the roots (once per manifest). */
struct resolved {
	char *name;
	char *path;
	const char *root;
	struct strlist shadows;
	char *error;
};

struct spool_manifest {
	char *path;		/* as found */
	char *dir;		/* its directory, absolute */
	struct strlist roots;	/* canonical, highest first */
	struct strlist retired;
	struct strlist global, shared, targets;
	struct project *projects;
	size_t nprojects;
	struct wsent *ws;
	size_t nws;
	struct resolved *cache;
	size_t ncache;
	spool_skill_res *res;	/* the last resolve's result */
	size_t nres;
	struct strlist made_target, made_path; /* links made, to share */
};

static const char *const default_targets[] = { ".agents/skills",
					       ".claude/skills" };

/* ---- small helpers ----------------------------------------------------- */

static int oom(void)
{
	return spool_error_set(SPOOL_ERROR, "out of memory");
}

static char *xstrdup(const char *s)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		oom();
	return d;
}

static int list_push(struct strlist *l, const char *s)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (!v)
		return oom();
	l->v = v;
	if (!(v[l->n] = xstrdup(s)))
		return SPOOL_ERROR;
	l->n++;
	return 0;
}

static bool list_has(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

static void list_clear(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* dir + "/" + rel, or rel if it is absolute. */
static char *join(const char *dir, const char *rel)
{
	char *out;

	if (rel[0] == '/' || !dir)
		return xstrdup(rel);
	if (asprintf(&out, "%s%s%s", dir,
		     dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/", rel) < 0) {
		oom();
		return NULL;
	}
	return out;
}

/* Removes "." components, doubled and trailing slashes (no ".." resolved:
 * the caller refuses it). */
static void tidy_path(char *p)
{
	char *r = p, *w = p;

	while (*r) {
		if (r[0] == '/' && r[1] == '/') {
			r++;
		} else if (r[0] == '/' && r[1] == '.' &&
			   (r[2] == '/' || r[2] == '\0') && w != p) {
			r += 2;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	while (w - p > 1 && w[-1] == '/')
		*--w = '\0';
	if (w - p > 1 && w[-1] == '.' && w[-2] == '/')
		w[-2] = '\0';
}

/* Canonical path if it exists, else the tidied absolute path. */
static char *canon(const char *dir, const char *rel)
{
	char *p = join(dir, rel), real[PATH_MAX];

	if (!p)
		return NULL;
	if (realpath(p, real)) {
		free(p);
		return xstrdup(real);
	}
	tidy_path(p);
	return p;
}

/* ---- the built-in root ------------------------------------------------- */

static bool is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *spool_skills_builtin_root(void)
{
	static char found[PATH_MAX];
	static bool done;
	const char *env = getenv("SPOOL_SKILLS_DIR");
	char exe[PATH_MAX], cand[PATH_MAX + 32];
	ssize_t n;

	if (env && *env)
		return realpath(env, cand) && strlen(cand) < sizeof(found)
			? strcpy(found, cand) : NULL;
	if (done)
		return found[0] ? found : NULL;
	done = true;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';	/* the binary's directory */
	snprintf(cand, sizeof(cand), "%s/../share/spool/skills", exe);
	if (!is_dir(cand))
		snprintf(cand, sizeof(cand), "%s/../skills", exe);
#ifdef SPOOL_SHAREDIR
	if (!is_dir(cand))
		snprintf(cand, sizeof(cand), "%s/skills", SPOOL_SHAREDIR);
#endif
	if (is_dir(cand) && realpath(cand, exe) && strlen(exe) < sizeof(found))
		strcpy(found, exe);
	return found[0] ? found : NULL;
}

/* The skills in a root: subdirectories holding SKILL.md, sorted. */
static int root_skill_names(struct strlist *out, const char *root)
{
	DIR *d = opendir(root);
	struct dirent *e;
	char p[PATH_MAX];
	struct stat st;

	if (!d)
		return spool_error_sys(SPOOL_ERROR, "cannot read '%s'", root);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s/SKILL.md", root, e->d_name);
		if (lstat(p, &st) == 0 && list_push(out, e->d_name) < 0) {
			closedir(d);
			return SPOOL_ERROR;
		}
	}
	closedir(d);
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmpstr);
	return 0;
}

/* ---- the manifest ------------------------------------------------------ */

void spool_manifest_free(spool_manifest *m)
{
	if (!m)
		return;
	free(m->path);
	free(m->dir);
	list_clear(&m->roots);
	list_clear(&m->retired);
	list_clear(&m->global);
	list_clear(&m->shared);
	list_clear(&m->targets);
	for (size_t i = 0; i < m->nprojects; i++) {
		free(m->projects[i].name);
		list_clear(&m->projects[i].skills);
	}
	free(m->projects);
	for (size_t i = 0; i < m->nws; i++) {
		free(m->ws[i].path);
		free(m->ws[i].project);
	}
	free(m->ws);
	for (size_t i = 0; i < m->ncache; i++) {
		free(m->cache[i].name);
		free(m->cache[i].path);
		free(m->cache[i].error);
		list_clear(&m->cache[i].shadows);
	}
	free(m->cache);
	free(m->res);
	list_clear(&m->made_target);
	list_clear(&m->made_path);
	free(m);
}

const char *spool_manifest_path(const spool_manifest *m)
{
	return m->path;
}

size_t spool_manifest_root_count(const spool_manifest *m)
{
	return m->roots.n;
}

const char *spool_manifest_root(const spool_manifest *m, size_t i)
{
	return i < m->roots.n ? m->roots.v[i] : NULL;
}

size_t spool_manifest_workspace_count(const spool_manifest *m)
{
	return m->nws;
}

const char *spool_manifest_workspace(const spool_manifest *m, size_t i,
				     const char **project)
{
	if (i >= m->nws)
		return NULL;
	if (project)
		*project = m->ws[i].project;
	return m->ws[i].path;
}

const char *spool_manifest_project_of(const spool_manifest *m,
				      const char *workspace)
{
	for (size_t i = 0; i < m->nws; i++)
		if (strcmp(m->ws[i].path, workspace) == 0)
			return m->ws[i].project;
	return NULL;
}

/* A list of skill names (key of the manifest, for messages). */
static int names_list(struct strlist *out, json_t *v, const spool_manifest *m,
		      const char *key)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return spool_error_set(SPOOL_EINVALID, "manifest '%s': '%s' "
				       "must be a list of skill names",
				       m->path, key);
	json_array_foreach(v, i, e) {
		const char *s = json_string_value(e);

		if (!s)
			return spool_error_set(SPOOL_EINVALID, "manifest '%s': "
					       "%s[%zu] is not a string",
					       m->path, key, i);
		if (!spool_skill_name_valid(s))
			return spool_error_set(SPOOL_EINVALID, "manifest '%s': "
					       "%s[%zu]: '%s' is not a valid "
					       "skill name (1-64 of a-z, 0-9 "
					       "and single hyphens)",
					       m->path, key, i, s);
		if (!list_has(out, s) && list_push(out, s) < 0)
			return SPOOL_ERROR;
	}
	return 0;
}

static int paths_list(struct strlist *out, json_t *v, const spool_manifest *m,
		      const char *key, bool must_exist)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return spool_error_set(SPOOL_EINVALID, "manifest '%s': '%s' "
				       "must be a list of paths", m->path, key);
	json_array_foreach(v, i, e) {
		const char *s = json_string_value(e);
		char *p;
		int rc = 0;

		if (!s || !*s)
			return spool_error_set(SPOOL_EINVALID, "manifest '%s': "
					       "%s[%zu] is not a path",
					       m->path, key, i);
		if (!(p = canon(m->dir, s)))
			return SPOOL_ERROR;
		if (must_exist && !is_dir(p))
			rc = spool_error_sys(SPOOL_ENOTFOUND, "manifest '%s': "
					     "root '%s'", m->path, p);
		else if (!list_has(out, p))
			rc = list_push(out, p);
		free(p);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/*
 * Agent runtimes a target may name, and the project directory each reads
 * skills from, as the `skills` CLI (vercel-labs/skills, its "Supported
 * Agents" table) installs them. The one table; docs/hydrate.md shows it.
 * A name with a '/' is a directory, so "./codex" means a directory codex.
 */
static const struct runtime {
	const char *name, *dir;
} runtimes[] = {
	{ "claude-code", ".claude/skills" },
	{ "codex", ".agents/skills" },
	{ "cursor", ".agents/skills" },
	{ "gemini-cli", ".agents/skills" },
	{ "github-copilot", ".agents/skills" },
	{ "opencode", ".agents/skills" },
	{ "amp", ".agents/skills" },
	{ "cline", ".agents/skills" },
	{ "droid", ".agents/skills" },
	{ "kilo", ".agents/skills" },
	{ "antigravity", ".agents/skills" },
	{ "universal", ".agents/skills" },
	{ "goose", ".goose/skills" },
	{ "windsurf", ".windsurf/skills" },
	{ "roo", ".roo/skills" },
	{ "trae", ".trae/skills" },
	{ "kiro-cli", ".kiro/skills" },
	{ "continue", ".continue/skills" },
	{ "augment", ".augment/skills" },
	{ "openhands", ".openhands/skills" },
	{ "junie", ".junie/skills" },
	{ "qwen-code", ".qwen/skills" },
	{ "crush", ".crush/skills" },
	{ "zencoder", ".zencoder/skills" },
};

const char *spool_hydrate_runtime_dir(const char *name)
{
	for (size_t i = 0; i < sizeof(runtimes) / sizeof(runtimes[0]); i++)
		if (strcmp(runtimes[i].name, name) == 0)
			return runtimes[i].dir;
	return NULL;
}

static int targets_list(spool_manifest *m, json_t *v)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return spool_error_set(SPOOL_EINVALID, "manifest '%s': "
				       "'targets' must be a non-empty list of "
				       "directories inside a workspace", m->path);
	json_array_foreach(v, i, e) {
		const char *s = json_string_value(e);
		char *t;
		bool bad;

		if (!s || !*s || s[0] == '/')
			return spool_error_set(SPOOL_EINVALID, "manifest '%s': "
					       "targets[%zu] must be a relative "
					       "path inside the workspace",
					       m->path, i);
		if (!strchr(s, '/') && spool_hydrate_runtime_dir(s))
			s = spool_hydrate_runtime_dir(s);
		if (!(t = xstrdup(s)))
			return SPOOL_ERROR;
		tidy_path(t);
		bad = strcmp(t, ".") == 0 || strcmp(t, "..") == 0 ||
		      strncmp(t, "../", 3) == 0 || strstr(t, "/../") ||
		      (strlen(t) >= 3 && strcmp(t + strlen(t) - 3, "/..") == 0);
		if (bad) {
			free(t);
			return spool_error_set(SPOOL_EINVALID, "manifest '%s': "
					       "targets[%zu] '%s' must stay "
					       "inside the workspace",
					       m->path, i, s);
		}
		if (!list_has(&m->targets, t) && list_push(&m->targets, t) < 0) {
			free(t);
			return SPOOL_ERROR;
		}
		free(t);
	}
	return 0;
}

static int parse_projects(spool_manifest *m, json_t *v)
{
	const char *k;
	json_t *e;

	if (!json_is_object(v))
		return spool_error_set(SPOOL_EINVALID, "manifest '%s': "
				       "'project_defaults' must map project "
				       "names to lists of skill names", m->path);
	m->projects = calloc(json_object_size(v) + 1, sizeof(*m->projects));
	if (!m->projects)
		return oom();
	json_object_foreach(v, k, e) {
		struct project *p = &m->projects[m->nprojects++];
		char key[300];
		int rc;

		if (!(p->name = xstrdup(k)))
			return SPOOL_ERROR;
		snprintf(key, sizeof(key), "project_defaults.%s", k);
		if ((rc = names_list(&p->skills, e, m, key)) < 0)
			return rc;
	}
	return 0;
}

static int parse_workspaces(spool_manifest *m, json_t *v)
{
	const char *k;
	json_t *e;

	if (!json_is_object(v))
		return spool_error_set(SPOOL_EINVALID, "manifest '%s': "
				       "'workspaces' must map workspace paths "
				       "to project names", m->path);
	m->ws = calloc(json_object_size(v) + 1, sizeof(*m->ws));
	if (!m->ws)
		return oom();
	json_object_foreach(v, k, e) {
		struct wsent *w = &m->ws[m->nws++];

		if (!*k || (!json_is_string(e) && !json_is_null(e)))
			return spool_error_set(SPOOL_EINVALID, "manifest '%s': "
					       "workspaces: '%s' must map to a "
					       "project name (or null)",
					       m->path, k);
		if (!(w->path = canon(m->dir, k)))
			return SPOOL_ERROR;
		if (json_is_string(e) && !(w->project =
					  xstrdup(json_string_value(e))))
			return SPOOL_ERROR;
	}
	return 0;
}

static int check_keys(spool_manifest *m, json_t *root)
{
	static const char *const known[] = {
		"roots", "retired_roots", "builtin", "global_defaults",
		"shared_integrations", "project_defaults", "targets",
		"workspaces", "comment", NULL
	};
	const char *k;
	json_t *v;

	json_object_foreach(root, k, v) {
		size_t i;

		for (i = 0; known[i] && strcmp(known[i], k) != 0; i++)
			;
		if (!known[i] && k[0] != '$')
			return spool_error_set(SPOOL_EINVALID, "manifest '%s': "
					       "unknown key '%s'", m->path, k);
	}
	return 0;
}

static int manifest_build(spool_manifest *m, json_t *root)
{
	json_t *v;
	const char *builtin = NULL;
	int rc;

	if (!json_is_object(root))
		return spool_error_set(SPOOL_EINVALID, "manifest '%s': must be "
				       "a JSON object", m->path);
	if ((rc = check_keys(m, root)) < 0)
		return rc;
	v = json_object_get(root, "builtin");
	if (v && !json_is_boolean(v))
		return spool_error_set(SPOOL_EINVALID, "manifest '%s': "
				       "'builtin' must be true or false",
				       m->path);
	if (!v || json_is_true(v))
		builtin = spool_skills_builtin_root();

	if ((v = json_object_get(root, "roots")) &&
	    (rc = paths_list(&m->roots, v, m, "roots", true)) < 0)
		return rc;
	if (builtin && !list_has(&m->roots, builtin) &&
	    (rc = list_push(&m->roots, builtin)) < 0)
		return rc;
	if ((v = json_object_get(root, "retired_roots")) &&
	    (rc = paths_list(&m->retired, v, m, "retired_roots", false)) < 0)
		return rc;

	if ((v = json_object_get(root, "global_defaults"))) {
		if ((rc = names_list(&m->global, v, m, "global_defaults")) < 0)
			return rc;
	} else if (builtin && (rc = root_skill_names(&m->global, builtin)) < 0) {
		return rc;
	}
	if ((v = json_object_get(root, "shared_integrations")) &&
	    (rc = names_list(&m->shared, v, m, "shared_integrations")) < 0)
		return rc;
	if ((v = json_object_get(root, "project_defaults")) &&
	    (rc = parse_projects(m, v)) < 0)
		return rc;
	if ((v = json_object_get(root, "targets"))) {
		if ((rc = targets_list(m, v)) < 0)
			return rc;
	} else {
		for (size_t i = 0; i < 2; i++)
			if ((rc = list_push(&m->targets, default_targets[i])) < 0)
				return rc;
	}
	if ((v = json_object_get(root, "workspaces")) &&
	    (rc = parse_workspaces(m, v)) < 0)
		return rc;
	return 0;
}

int spool_manifest_parse(spool_manifest **out, const char *text, size_t len,
			 const char *path)
{
	spool_manifest *m;
	json_error_t jerr;
	json_t *root;
	char cwd[PATH_MAX], *slash;
	int rc;

	*out = NULL;
	if (!(m = calloc(1, sizeof(*m))))
		return oom();
	if (!(m->path = xstrdup(path))) {
		free(m);
		return SPOOL_ERROR;
	}
	if (!getcwd(cwd, sizeof(cwd))) {
		spool_manifest_free(m);
		return spool_error_sys(SPOOL_ERROR, "cannot get the current "
				       "directory");
	}
	m->dir = canon(cwd, path);
	if (!m->dir) {
		spool_manifest_free(m);
		return SPOOL_ERROR;
	}
	if ((slash = strrchr(m->dir, '/')))
		slash[slash == m->dir ? 1 : 0] = '\0';

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		rc = spool_error_set(SPOOL_EINVALID, "%s:%d: %s", path,
				     jerr.line, jerr.text);
	} else {
		rc = manifest_build(m, root);
		json_decref(root);
	}
	if (rc < 0) {
		spool_manifest_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

int spool_manifest_load(spool_manifest **out, const char *path)
{
	FILE *fp = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	int rc;

	*out = NULL;
	if (!fp)
		return spool_error_sys(errno == ENOENT ? SPOOL_ENOTFOUND
				       : SPOOL_ERROR, "cannot read manifest "
				       "'%s'", path);
	do {
		if (len + 4096 > cap) {
			char *b = realloc(buf, cap = cap * 2 + 8192);
			if (!b) {
				free(buf);
				fclose(fp);
				return oom();
			}
			buf = b;
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
	} while (n > 0 && len < 16 * 1024 * 1024);
	if (ferror(fp)) {
		rc = spool_error_sys(SPOOL_ERROR, "cannot read manifest '%s'",
				     path);
		fclose(fp);
		free(buf);
		return rc;
	}
	fclose(fp);
	rc = spool_manifest_parse(out, buf ? buf : "", len, path);
	free(buf);
	return rc;
}

int spool_manifest_open(spool_manifest **out, const char *explicit,
			const char *spool_dir)
{
	const char *env = getenv("SPOOL_DIR"), *xdg, *home;
	char *path = NULL;
	spool *sp = NULL;
	int rc;

	*out = NULL;
	if (explicit)
		return spool_manifest_load(out, explicit);

	/* A spool named by -C or $SPOOL_DIR must open; one around the
	 * current directory is used if there is one. */
	rc = spool_open(&sp, spool_dir);
	if (rc < 0 && (spool_dir || (env && *env)))
		return rc;
	if (sp) {
		const char *rel = json_string_value(
			json_object_get(spool_config(sp), "skills_manifest"));
		struct stat st;

		if (rel) {
			path = join(spool_root(sp), rel);
			spool_free(sp);
			if (!path)
				return SPOOL_ERROR;
			rc = spool_manifest_load(out, path);
			free(path);
			return rc;
		}
		path = join(spool_root(sp), ".spool/skills.json");
		spool_free(sp);
		if (!path)
			return SPOOL_ERROR;
		if (stat(path, &st) == 0) {
			rc = spool_manifest_load(out, path);
			free(path);
			return rc;
		}
		free(path);
	}
	xdg = getenv("XDG_CONFIG_HOME");
	home = getenv("HOME");
	if (xdg && *xdg)
		rc = asprintf(&path, "%s/spool/skills.json", xdg);
	else if (home && *home)
		rc = asprintf(&path, "%s/.config/spool/skills.json", home);
	else
		return spool_error_set(SPOOL_ENOTFOUND, "no manifest: give "
				       "--manifest FILE");
	if (rc < 0)
		return oom();
	rc = spool_manifest_load(out, path);
	if (rc == SPOOL_ENOTFOUND)
		rc = spool_error_set(SPOOL_ENOTFOUND, "no manifest: give "
				     "--manifest FILE, set skills_manifest in "
				     ".spool/config.json, or create '%s'", path);
	free(path);
	return rc;
}

/* ---- resolution -------------------------------------------------------- */

static int resolve_name(struct resolved **out, spool_manifest *m,
			const char *name)
{
	struct resolved *r;
	char p[PATH_MAX];

	for (size_t i = 0; i < m->ncache; i++)
		if (strcmp(m->cache[i].name, name) == 0) {
			*out = &m->cache[i];
			return 0;
		}
	r = realloc(m->cache, (m->ncache + 1) * sizeof(*r));
	if (!r)
		return oom();
	m->cache = r;
	/* Earlier entries moved: callers keep indexes, not pointers. */
	r = &m->cache[m->ncache];
	memset(r, 0, sizeof(*r));
	if (!(r->name = xstrdup(name)))
		return SPOOL_ERROR;
	m->ncache++;

	for (size_t i = 0; i < m->roots.n; i++) {
		struct stat st;

		snprintf(p, sizeof(p), "%s/%s", m->roots.v[i], name);
		if (lstat(p, &st) < 0)
			continue;
		if (r->path) {
			if (list_push(&r->shadows, p) < 0)
				return SPOOL_ERROR;
			continue;
		}
		if (!(r->path = xstrdup(p)))
			return SPOOL_ERROR;
		r->root = m->roots.v[i];
	}
	if (!r->path) {
		size_t len = 0;
		char buf[2048];

		len = (size_t)snprintf(buf, sizeof(buf), "skill '%s' is in no "
				       "root (searched", name);
		for (size_t i = 0; i < m->roots.n && len < sizeof(buf); i++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len,
						"%s '%s'", i ? "," : "",
						m->roots.v[i]);
		if (len < sizeof(buf))
			snprintf(buf + len, sizeof(buf) - len, "%s)",
				 m->roots.n ? "" : " nothing: no roots");
		r->error = xstrdup(buf);
	} else {
		spool_skill *s = NULL;

		if (spool_skill_load(&s, r->path) < 0)
			r->error = xstrdup(spool_error_message());
		spool_skill_free(s);
	}
	*out = r;
	return 0;
}

static struct project *find_project(spool_manifest *m, const char *name)
{
	for (size_t i = 0; i < m->nprojects; i++)
		if (strcmp(m->projects[i].name, name) == 0)
			return &m->projects[i];
	return NULL;
}

static int add_res(spool_manifest *m, const char *name, const char *from)
{
	struct resolved *r;
	spool_skill_res *e;
	int rc;

	for (size_t i = 0; i < m->nres; i++)
		if (strcmp(m->res[i].name, name) == 0)
			return 0;
	if ((rc = resolve_name(&r, m, name)) < 0)
		return rc;
	e = realloc(m->res, (m->nres + 1) * sizeof(*e));
	if (!e)
		return oom();
	m->res = e;
	e = &e[m->nres++];
	e->name = r->name;
	e->from = from;
	e->path = r->path;
	e->root = r->root;
	e->shadows = (const char *const *)r->shadows.v;
	e->nshadows = r->shadows.n;
	e->error = r->error;
	return 0;
}

int spool_manifest_resolve(spool_skill_res **out, size_t *count,
			   spool_manifest *m, const char *project)
{
	struct project *p = NULL;
	int rc = 0;

	*out = NULL;
	*count = 0;
	if (project && !(p = find_project(m, project)))
		return spool_error_set(SPOOL_ENOTFOUND, "project '%s' is not in "
				       "the project_defaults of manifest '%s'",
				       project, m->path);
	m->nres = 0;
	for (size_t i = 0; i < m->global.n && rc == 0; i++)
		rc = add_res(m, m->global.v[i], "global_defaults");
	for (size_t i = 0; i < m->shared.n && rc == 0; i++)
		rc = add_res(m, m->shared.v[i], "shared_integrations");
	for (size_t i = 0; p && i < p->skills.n && rc == 0; i++)
		rc = add_res(m, p->skills.v[i], "project_defaults");
	if (rc < 0)
		return rc;
	/* Pointers into the cache are stable now that resolving is done. */
	for (size_t i = 0; i < m->nres; i++) {
		struct resolved *r;

		resolve_name(&r, m, m->res[i].name);
		m->res[i].name = r->name;
		m->res[i].path = r->path;
		m->res[i].root = r->root;
		m->res[i].shadows = (const char *const *)r->shadows.v;
		m->res[i].error = r->error;
	}
	*out = m->res;
	*count = m->nres;
	return 0;
}

/* ---- planning ---------------------------------------------------------- */

const char *spool_hy_action_name(spool_hy_action a)
{
	static const char *const n[] = { "mkdir", "link", "relink", "unlink" };

	return (unsigned)a < 4 ? n[a] : "?";
}

const char *spool_hy_conflict_name(spool_hy_conflict_kind k)
{
	static const char *const n[] = { "directory", "file", "foreign_link",
					 "dangling_link", "target", "skill" };

	return (unsigned)k < 6 ? n[k] : "?";
}

void spool_hy_plan_free(spool_hy_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nchanges; i++) {
		free(p->changes[i].path);
		free(p->changes[i].target);
		free(p->changes[i].was);
	}
	free(p->changes);
	for (size_t i = 0; i < p->nconflicts; i++) {
		free(p->conflicts[i].path);
		free(p->conflicts[i].detail);
		free(p->conflicts[i].fix);
	}
	free(p->conflicts);
	free(p->workspace);
	free(p->project);
	free(p);
}

static int add_change(spool_hy_plan *p, spool_hy_action a, const char *path,
		      const char *target, const char *was)
{
	spool_hy_change *c = realloc(p->changes,
				     (p->nchanges + 1) * sizeof(*c));

	if (!c)
		return oom();
	p->changes = c;
	c = &c[p->nchanges];
	c->action = a;
	c->path = xstrdup(path);
	c->target = xstrdup(target);
	c->was = xstrdup(was);
	if (!c->path || (target && !c->target) || (was && !c->was)) {
		free(c->path);
		free(c->target);
		free(c->was);
		return SPOOL_ERROR;
	}
	p->nchanges++;
	return 0;
}

__attribute__((format(printf, 5, 6)))
static int add_conflict(spool_hy_plan *p, spool_hy_conflict_kind k,
			const char *path, const char *detail,
			const char *fixfmt, ...)
{
	spool_hy_conflict *c = realloc(p->conflicts,
				       (p->nconflicts + 1) * sizeof(*c));
	va_list ap;
	int n;

	if (!c)
		return oom();
	p->conflicts = c;
	c = &c[p->nconflicts];
	c->kind = k;
	c->path = xstrdup(path);
	c->detail = xstrdup(detail);
	va_start(ap, fixfmt);
	n = vasprintf(&c->fix, fixfmt, ap);
	va_end(ap);
	if (n < 0 || !c->path || !c->detail) {
		free(c->path);
		free(c->detail);
		if (n >= 0)
			free(c->fix);
		return oom();
	}
	p->nconflicts++;
	return 0;
}

/* Does the link named name, with target text, belong to hydrate? */
static bool owned(const spool_manifest *m, const char *target,
		  const char *name)
{
	size_t tl = strlen(target), nl = strlen(name);

	if (target[0] != '/' || tl < nl + 2 || target[tl - nl - 1] != '/' ||
	    strcmp(target + tl - nl, name) != 0)
		return false;
	tl -= nl + 1;
	for (size_t i = 0; i < m->roots.n; i++)
		if (strlen(m->roots.v[i]) == tl &&
		    memcmp(m->roots.v[i], target, tl) == 0)
			return true;
	for (size_t i = 0; i < m->retired.n; i++)
		if (strlen(m->retired.v[i]) == tl &&
		    memcmp(m->retired.v[i], target, tl) == 0)
			return true;
	return false;
}

#define TMP_PREFIX ".spool-tmp-"

static int in_set(const char *name, char **sorted, size_t n)
{
	return n && bsearch(&name, sorted, n, sizeof(*sorted), cmpstr) != NULL;
}

/*
 * A dangling absolute link ROOT/NAME named NAME whose ROOT is gone too:
 * the shape of hydrate's own links after their root moved.
 */
static bool moved_root(const char *target, const char *name)
{
	size_t tl = strlen(target), nl = strlen(name);
	char root[PATH_MAX];
	struct stat st;

	if (tl < nl + 2 || tl >= sizeof(root) || target[tl - nl - 1] != '/' ||
	    strcmp(target + tl - nl, name) != 0)
		return false;
	memcpy(root, target, tl - nl - 1);
	root[tl - nl - 1] = '\0';
	return root[0] && stat(root, &st) < 0;
}

static int plan_link(spool_hy_plan *p, const spool_manifest *m,
		     const char *path, const spool_skill_res *s)
{
	char cur[PATH_MAX], detail[PATH_MAX + 200];
	struct stat st;
	ssize_t n;

	if (lstat(path, &st) < 0) {
		if (errno != ENOENT)
			return spool_error_sys(SPOOL_ERROR, "cannot inspect "
					       "'%s'", path);
		return add_change(p, SPOOL_HY_LINK, path, s->path, NULL);
	}
	/* The set's skill of that name is in a root already, so moving
	 * this one there would fail ("Directory not empty"): compare, then
	 * set it aside or remove it. */
	if (S_ISDIR(st.st_mode))
		return add_conflict(p, SPOOL_HY_C_DIRECTORY, path,
				    "a real directory, not a link made by "
				    "hydrate",
				    "compare it with the skill of the set "
				    "(diff -r '%s' '%s'); keep what you need "
				    "and move it aside (mv '%s' '%s.local') or "
				    "remove it (rm -r '%s'); then run hydrate "
				    "again", path, s->path, path, path, path);
	if (!S_ISLNK(st.st_mode))
		return add_conflict(p, SPOOL_HY_C_FILE, path,
				    "a real file, not a link made by hydrate",
				    "move it away or remove it (rm '%s'), then "
				    "run hydrate again", path);
	n = readlink(path, cur, sizeof(cur) - 1);
	if (n < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot read link '%s'",
				       path);
	cur[n] = '\0';
	p->nlinks++;
	if (strcmp(cur, s->path) == 0)
		return 0;
	if (owned(m, cur, s->name))
		return add_change(p, SPOOL_HY_RELINK, path, s->path, cur);
	if (stat(path, &st) < 0 && cur[0] == '/' && moved_root(cur, s->name)) {
		size_t rl = strlen(cur) - strlen(s->name) - 1;
		snprintf(detail, sizeof(detail), "a link to '%s', which is "
			 "gone: it looks made by hydrate from a root that "
			 "moved or was removed ('%.*s')", cur, (int)rl, cur);
		return add_conflict(p, SPOOL_HY_C_DANGLING, path, detail,
				    "add '%.*s' to the manifest's "
				    "retired_roots, and hydrate relinks it to "
				    "the current root; or remove the link "
				    "(rm '%s'); then run hydrate again",
				    (int)rl, cur, path);
	}
	if (stat(path, &st) < 0) {
		snprintf(detail, sizeof(detail), "a dangling link to '%s' that "
			 "hydrate did not make", cur);
		return add_conflict(p, SPOOL_HY_C_DANGLING, path, detail,
				    "remove it (rm '%s'), then run hydrate "
				    "again", path);
	}
	snprintf(detail, sizeof(detail), "a link to '%s' that hydrate did not "
		 "make (its target is not '%s' in a root)", cur, s->name);
	return add_conflict(p, SPOOL_HY_C_FOREIGN, path, detail,
			    "remove it (rm '%s'), or list its directory in the "
			    "manifest's roots or retired_roots; then run "
			    "hydrate again", path);
}

/* Owned links in dir that are not in the set, and leftover temporaries. */
static int plan_stale(spool_hy_plan *p, const spool_manifest *m,
		      const char *dir, char **sorted, size_t nsorted)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX], cur[PATH_MAX];
	int rc = 0;

	if (!d)
		return spool_error_sys(SPOOL_ERROR, "cannot read '%s'", dir);
	while (rc == 0 && (e = readdir(d))) {
		const char *name = e->d_name;
		ssize_t n;

		if (e->d_type != DT_LNK && e->d_type != DT_UNKNOWN)
			continue;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (in_set(name, sorted, nsorted))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
		    sizeof(path))
			continue;
		n = readlink(path, cur, sizeof(cur) - 1);
		if (n < 0)
			continue;	/* not a link (DT_UNKNOWN) */
		cur[n] = '\0';
		if (strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0) {
			const char *slash = strrchr(cur, '/');

			if (!slash || !owned(m, cur, slash + 1))
				continue;
		} else if (!owned(m, cur, name)) {
			continue;
		}
		rc = add_change(p, SPOOL_HY_UNLINK, path, NULL, cur);
	}
	closedir(d);
	return rc;
}

static int plan_target(spool_hy_plan *p, const spool_manifest *m,
		       const char *target, const spool_skill_res *set,
		       size_t nset, char **sorted, size_t nsorted)
{
	char dir[PATH_MAX], path[PATH_MAX + SPOOL_SKILL_NAME_MAX + 2];
	struct stat st;
	bool fresh = false;
	int rc;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", p->workspace, target)
	    >= sizeof(dir))
		return spool_error_set(SPOOL_EINVALID, "path too long: '%s/%s'",
				       p->workspace, target);
	if (lstat(dir, &st) < 0) {
		if (errno != ENOENT)
			return spool_error_sys(SPOOL_ERROR, "cannot inspect "
					       "'%s'", dir);
		fresh = true;
		if ((rc = add_change(p, SPOOL_HY_MKDIR, dir, NULL, NULL)) < 0)
			return rc;
	} else if (S_ISLNK(st.st_mode)) {
		return add_conflict(p, SPOOL_HY_C_TARGET, dir,
				    "a symbolic link; a skills directory must "
				    "be a real directory (some runtimes load "
				    "nothing through a linked one)",
				    "move what it holds into a root, remove "
				    "the link (rm '%s'), then run hydrate "
				    "again", dir);
	} else if (!S_ISDIR(st.st_mode)) {
		return add_conflict(p, SPOOL_HY_C_TARGET, dir,
				    "not a directory",
				    "move it away (mv '%s' '%s.old'), then run "
				    "hydrate again", dir, dir);
	}
	for (size_t i = 0; i < nset; i++) {
		if (!set[i].path || set[i].error)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, set[i].name);
		if (fresh)
			rc = add_change(p, SPOOL_HY_LINK, path, set[i].path,
					NULL);
		else
			rc = plan_link(p, m, path, &set[i]);
		if (rc < 0)
			return rc;
	}
	return fresh ? 0 : plan_stale(p, m, dir, sorted, nsorted);
}

int spool_hydrate_plan(spool_hy_plan **out, spool_manifest *m,
		       const char *workspace, const char *project)
{
	spool_hy_plan *p;
	spool_skill_res *set;
	size_t nset;
	char real[PATH_MAX], **sorted = NULL;
	struct stat st;
	int rc;

	*out = NULL;
	if (!realpath(workspace, real))
		return spool_error_sys(SPOOL_ENOTFOUND, "workspace '%s'",
				       workspace);
	if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
		return spool_error_set(SPOOL_EINVALID, "workspace '%s' is not a "
				       "directory", workspace);
	if ((rc = spool_manifest_resolve(&set, &nset, m, project)) < 0)
		return rc;
	if (!(p = calloc(1, sizeof(*p))))
		return oom();
	p->workspace = xstrdup(real);
	p->project = xstrdup(project);
	if (!p->workspace || (project && !p->project)) {
		spool_hy_plan_free(p);
		return SPOOL_ERROR;
	}
	sorted = malloc((nset + 1) * sizeof(*sorted));
	if (!sorted) {
		spool_hy_plan_free(p);
		return oom();
	}
	for (size_t i = 0; i < nset; i++)
		sorted[i] = (char *)set[i].name;
	qsort(sorted, nset, sizeof(*sorted), cmpstr);

	for (size_t i = 0; i < nset && rc == 0; i++)
		if (set[i].error)
			rc = add_conflict(p, SPOOL_HY_C_SKILL, set[i].name,
					  set[i].error,
					  "fix the skill (spool skills validate "
					  "'%s') or drop '%s' from the manifest",
					  set[i].path ? set[i].path : "ROOT/NAME",
					  set[i].name);
	for (size_t i = 0; i < m->targets.n && rc == 0; i++)
		rc = plan_target(p, m, m->targets.v[i], set, nset, sorted, nset);
	free(sorted);
	if (rc < 0) {
		spool_hy_plan_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

/* ---- applying ---------------------------------------------------------- */

static int mkdirs(const char *path)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return spool_error_set(SPOOL_EINVALID, "path too long: '%s'",
				       path);
	if (mkdir(path, 0777) == 0 || errno == EEXIST)
		return 0;
	memcpy(buf, path, n + 1);
	for (char *s = buf + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(buf, 0777) < 0 && errno != EEXIST)
			return spool_error_sys(SPOOL_ERROR, "cannot create "
					       "'%s'", buf);
		*s = '/';
	}
	if (mkdir(buf, 0777) < 0 && errno != EEXIST)
		return spool_error_sys(SPOOL_ERROR, "cannot create '%s'", buf);
	return 0;
}

/*
 * Makes path a symlink to target. A link to the same target made earlier
 * in this run is hard-linked instead (a symlink inode shared by several
 * names, each a symlink in its own right), which spares allocating an
 * inode per link; if that fails or the source changed meanwhile, a new
 * symlink is made.
 */
static int make_link(spool_manifest *m, const char *target, const char *path)
{
	char cur[PATH_MAX];
	size_t i;

	for (i = m->made_target.n; i-- > 0;)
		if (strcmp(m->made_target.v[i], target) == 0)
			break;
	if (i != (size_t)-1 &&
	    linkat(AT_FDCWD, m->made_path.v[i], AT_FDCWD, path, 0) == 0) {
		ssize_t n = readlink(path, cur, sizeof(cur) - 1);

		if (n >= 0 && (cur[n] = '\0', strcmp(cur, target) == 0))
			return 0;
		unlink(path);
	} else if (i != (size_t)-1 && errno == EEXIST) {
		return -1;
	}
	if (symlink(target, path) < 0)
		return -1;
	if (list_push(&m->made_target, target) < 0 ||
	    list_push(&m->made_path, path) < 0) {
		if (m->made_target.n > m->made_path.n)
			free(m->made_target.v[--m->made_target.n]);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/* Is path still the link it was planned as? */
static int still(const char *path, const char *was)
{
	char cur[PATH_MAX];
	ssize_t n = readlink(path, cur, sizeof(cur) - 1);

	if (n < 0 || (cur[n] = '\0', strcmp(cur, was) != 0))
		return spool_error_set(SPOOL_ERACE, "'%s' changed while "
				       "hydrating; run hydrate again", path);
	return 0;
}

static int relink(spool_manifest *m, const char *path, const char *target,
		  const char *was)
{
	char tmp[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int rc;

	snprintf(tmp, sizeof(tmp), "%.*s/" TMP_PREFIX "%ld-%s",
		 (int)(slash - path), path, (long)getpid(), slash + 1);
	unlink(tmp);
	if (make_link(m, target, tmp) < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot create link '%s'",
				       tmp);
	if ((rc = still(path, was)) < 0 || rename(tmp, path) < 0) {
		if (rc == 0)
			rc = spool_error_sys(SPOOL_ERROR, "cannot replace "
					     "'%s'", path);
		unlink(tmp);
		return rc;
	}
	unlink(tmp);	/* left only if it already was path's inode */
	/* The link to share is now at path, not at the temporary name. */
	for (size_t i = 0; i < m->made_path.n; i++)
		if (strcmp(m->made_path.v[i], tmp) == 0) {
			char *p = xstrdup(path);

			if (!p)
				return SPOOL_ERROR;
			free(m->made_path.v[i]);
			m->made_path.v[i] = p;
		}
	return 0;
}

int spool_hydrate_apply(size_t *done, spool_manifest *m,
			const spool_hy_plan *plan)
{
	int rc = 0;

	*done = 0;
	if (plan->nconflicts)
		return spool_error_set(SPOOL_EINVALID, "workspace '%s' has %zu "
				       "conflict%s; nothing was changed",
				       plan->workspace, plan->nconflicts,
				       plan->nconflicts == 1 ? "" : "s");
	for (size_t i = 0; i < plan->nchanges && rc == 0; i++) {
		const spool_hy_change *c = &plan->changes[i];

		switch (c->action) {
		case SPOOL_HY_MKDIR:
			rc = mkdirs(c->path);
			break;
		case SPOOL_HY_LINK:
			if (make_link(m, c->target, c->path) < 0)
				rc = errno == EEXIST
					? spool_error_set(SPOOL_ERACE, "'%s' "
						"appeared while hydrating; run "
						"hydrate again", c->path)
					: spool_error_sys(SPOOL_ERROR, "cannot "
						"create link '%s'", c->path);
			break;
		case SPOOL_HY_RELINK:
			rc = relink(m, c->path, c->target, c->was);
			break;
		case SPOOL_HY_UNLINK:
			if ((rc = still(c->path, c->was)) == 0 &&
			    unlink(c->path) < 0 && errno != ENOENT)
				rc = spool_error_sys(SPOOL_ERROR, "cannot remove "
						     "'%s'", c->path);
			break;
		}
		if (rc == 0)
			(*done)++;
	}
	return rc;
}

const char *spool_manifest_skill_path(spool_manifest *m, const char *name)
{
	struct resolved *r;

	if (!spool_skill_name_valid(name)) {
		spool_error_set(SPOOL_EINVALID, "'%s' is not a valid skill name",
				name);
		return NULL;
	}
	if (resolve_name(&r, m, name) < 0)
		return NULL;
	if (!r->path) {
		spool_error_set(SPOOL_ENOTFOUND, "%s", r->error);
		return NULL;
	}
	return r->path;
}

/* ---- the workspace's git: .git/info/exclude ---------------------------- */

#define EXCLUDE_BEGIN "# BEGIN spool hydrate (managed, edits are lost):"
#define EXCLUDE_END "# END spool hydrate:"

/*
 * The git directory whose info/exclude applies to dir, and dir's path
 * below the repository's top ("" at the top). A .git file (a worktree,
 * a submodule) names its git directory; a worktree's commondir names
 * the directory that holds info/. Returns false outside a repository.
 */
static bool find_gitdir(char *gitdir, size_t len, char *sub, size_t sublen,
			const char *dir)
{
	char top[PATH_MAX], p[PATH_MAX + 8], buf[PATH_MAX];
	struct stat st;

	snprintf(top, sizeof(top), "%s", dir);
	for (;;) {
		snprintf(p, sizeof(p), "%s/.git", top);
		if (lstat(p, &st) == 0)
			break;
		char *slash = strrchr(top, '/');
		if (!slash || slash == top)
			return false;
		*slash = '\0';
	}
	snprintf(sub, sublen, "%s", dir + strlen(top));
	if (S_ISREG(st.st_mode)) {
		FILE *fp = fopen(p, "r");
		char *nl;
		if (!fp)
			return false;
		if (!fgets(buf, sizeof(buf), fp) ||
		    strncmp(buf, "gitdir: ", 8) != 0) {
			fclose(fp);
			return false;
		}
		fclose(fp);
		if ((nl = strchr(buf, '\n')))
			*nl = '\0';
		if (buf[8] == '/')
			snprintf(p, sizeof(p), "%s", buf + 8);
		else
			snprintf(p, sizeof(p), "%s/%s", top, buf + 8);
		snprintf(gitdir, len, "%s", p);
		snprintf(p, sizeof(p), "%s/commondir", gitdir);
		if ((fp = fopen(p, "r"))) {
			if (fgets(buf, sizeof(buf), fp)) {
				char common[PATH_MAX * 2 + 2];
				if ((nl = strchr(buf, '\n')))
					*nl = '\0';
				if (buf[0] == '/')
					snprintf(common, sizeof(common), "%s",
						 buf);
				else
					snprintf(common, sizeof(common),
						 "%s/%s", gitdir, buf);
				snprintf(gitdir, len, "%s", common);
			}
			fclose(fp);
		}
		return true;
	}
	if (!S_ISDIR(st.st_mode))
		return false;
	snprintf(gitdir, len, "%s", p);
	return true;
}

static int write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * text without this workspace's block, then its block for the set's
 * links. Each workspace of a repository has its own block, marked with
 * its path from the top, so hydrating one leaves the others' alone.
 */
static int exclude_text(char **out, const char *old, size_t oldlen,
			spool_manifest *m, const spool_hy_plan *plan,
			const char *sub)
{
	spool_skill_res *set;
	size_t nset, cap, n = 0;
	const char *p = old, *end = old + oldlen;
	char begin[PATH_MAX + 128], fin[PATH_MAX + 128];
	bool inside = false, any = false;
	char *s;
	int rc;

	if ((rc = spool_manifest_resolve(&set, &nset, m, plan->project)) < 0)
		return rc;
	snprintf(begin, sizeof(begin), "%s %s", EXCLUDE_BEGIN,
		 *sub ? sub : "/");
	snprintf(fin, sizeof(fin), "%s %s", EXCLUDE_END, *sub ? sub : "/");
	cap = oldlen + strlen(begin) + strlen(fin) + 8;
	for (size_t i = 0; i < nset; i++)
		for (size_t t = 0; t < m->targets.n; t++)
			cap += strlen(sub) + strlen(m->targets.v[t]) +
			       strlen(set[i].name) + 4;
	if (!(s = malloc(cap)))
		return oom();
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (len == strlen(begin) && memcmp(p, begin, len) == 0)
			inside = true;
		else if (inside && len == strlen(fin) &&
			 memcmp(p, fin, len) == 0)
			inside = false;
		else if (!inside) {
			memcpy(s + n, p, len);
			n += len;
			s[n++] = '\n';
		}
		p += len + 1;
	}
	for (size_t i = 0; i < nset; i++) {
		if (!set[i].path || set[i].error)
			continue;
		for (size_t t = 0; t < m->targets.n; t++) {
			if (!any)
				n += (size_t)sprintf(s + n, "%s\n", begin);
			any = true;
			n += (size_t)sprintf(s + n, "%s/%s/%s\n", sub,
					     m->targets.v[t], set[i].name);
		}
	}
	if (any)
		n += (size_t)sprintf(s + n, "%s\n", fin);
	s[n] = '\0';
	*out = s;
	return 0;
}

int spool_hydrate_exclude(bool *stale, char **file, spool_manifest *m,
			  const spool_hy_plan *plan, bool write)
{
	char gitdir[PATH_MAX], sub[PATH_MAX], path[PATH_MAX + 32],
	     tmp[PATH_MAX + 64];
	char *old = NULL, *text = NULL;
	size_t oldlen = 0;
	FILE *fp;
	int rc = 0, fd;

	*stale = false;
	*file = NULL;
	if (!find_gitdir(gitdir, sizeof(gitdir), sub, sizeof(sub),
			 plan->workspace))
		return 0;
	snprintf(path, sizeof(path), "%s/info/exclude", gitdir);
	if ((fp = fopen(path, "r"))) {
		size_t cap = 4096;
		old = malloc(cap);
		while (old) {
			size_t r = fread(old + oldlen, 1, cap - oldlen, fp);
			oldlen += r;
			if (r == 0)
				break;
			if (oldlen == cap) {
				char *p = realloc(old, cap *= 2);
				if (!p)
					free(old);
				old = p;
			}
		}
		fclose(fp);
		if (!old)
			return oom();
	} else if (errno != ENOENT) {
		return spool_error_sys(SPOOL_ERROR, "cannot read '%s'", path);
	}
	rc = exclude_text(&text, old ? old : "", oldlen, m, plan, sub);
	if (rc < 0)
		goto out;
	*stale = strlen(text) != oldlen || memcmp(text, old ? old : "",
						  oldlen) != 0;
	if (!*stale || !write)
		goto out;
	if (!(*file = xstrdup(path))) {
		rc = SPOOL_ERROR;
		goto out;
	}
	/* Written aside and renamed: git never reads half a file. */
	snprintf(tmp, sizeof(tmp), "%s/info", gitdir);
	mkdir(tmp, 0777);
	snprintf(tmp, sizeof(tmp), "%s/info/.exclude.spool-%ld", gitdir,
		 (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = spool_error_sys(SPOOL_ERROR, "cannot write '%s'", tmp);
		goto out;
	}
	if (write_all(fd, text, strlen(text)) < 0) {
		close(fd);
		fd = -1;
	}
	if (fd < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		rc = spool_error_sys(SPOOL_ERROR, "cannot write '%s'", path);
		unlink(tmp);
	}
out:
	free(old);
	free(text);
	return rc;
}
