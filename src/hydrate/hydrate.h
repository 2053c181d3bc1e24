/*
 * Skills and hydration: Agent Skills directories (SKILL.md with YAML front
 * matter), the manifest that names a workspace's skill set, the plan that
 * makes a workspace's skills directories match it, and skill packs.
 *
 * Same conventions as spool.h: 0 or a negative SPOOL_E* code with the
 * message recorded; out parameters first; _free accepts NULL; nothing
 * here prints or exits.
 */
#ifndef SPOOL_HYDRATE_H
#define SPOOL_HYDRATE_H

#include <stdbool.h>
#include <stddef.h>

/* ---- skills (skill.c) -------------------------------------------------- */

#define SPOOL_SKILL_NAME_MAX 64
#define SPOOL_SKILL_DESC_MAX 1024
#define SPOOL_SKILL_COMPAT_MAX 500
#define SPOOL_SKILL_FILE_MAX (1024 * 1024)

/* 1-64 of a-z and 0-9 in runs joined by single hyphens. */
bool spool_skill_name_valid(const char *name);

/* One problem found in a skill: file, 1-based line (0: none), message. */
typedef struct {
	char *file;
	int line;
	char *message;
} spool_skill_diag;

typedef struct {
	char *dir;		/* as given */
	char *name;		/* from the front matter; NULL if absent */
	char *description;
	spool_skill_diag *diags;
	size_t ndiags;
} spool_skill;

/*
 * Reads and checks the skill in dir against the Agent Skills rules. A
 * skill with problems still returns 0, with its problems in diags; only
 * running out of memory fails. Use spool_skill_load to refuse.
 */
int spool_skill_check(spool_skill **out, const char *dir);
/* Checks SKILL.md text; file names it in diags, dirname is what name must
 * equal (NULL: not checked). */
int spool_skill_check_text(spool_skill **out, const char *text, size_t len,
			   const char *file, const char *dirname);
/* spool_skill_check, then SPOOL_EINVALID with the first problem
 * ("FILE:LINE: message") if there is one. */
int spool_skill_load(spool_skill **out, const char *dir);
void spool_skill_free(spool_skill *s);
/* "FILE:LINE: message" (or "FILE: message") into buf. */
void spool_skill_diag_format(char *buf, size_t len, const spool_skill_diag *d);

/* ---- the manifest (hydrate.c) ------------------------------------------ */

typedef struct spool_manifest spool_manifest;

/* Parses a manifest; path names it in errors and anchors relative paths. */
int spool_manifest_parse(spool_manifest **out, const char *text, size_t len,
			 const char *path);
int spool_manifest_load(spool_manifest **out, const char *path);
/*
 * Finds and loads the manifest: explicit (--manifest) if given; else the
 * spool's config key "skills_manifest" (relative to the spool root); else
 * SPOOL_ROOT/.spool/skills.json; else $XDG_CONFIG_HOME/spool/skills.json
 * (~/.config/spool/skills.json). The spool is spool_dir if given, else
 * $SPOOL_DIR, else the one around the current directory if any.
 */
int spool_manifest_open(spool_manifest **out, const char *explicit,
			const char *spool_dir);
void spool_manifest_free(spool_manifest *m);
const char *spool_manifest_path(const spool_manifest *m);

/* The skills directory an agent runtime reads in a project
 * ("claude-code": ".claude/skills"), or NULL for a name not in the
 * table. A manifest's targets may name runtimes. */
const char *spool_hydrate_runtime_dir(const char *name);

/* The roots searched, highest priority first (absolute, canonical). */
size_t spool_manifest_root_count(const spool_manifest *m);
const char *spool_manifest_root(const spool_manifest *m, size_t i);
/* The workspaces listed for --all. */
size_t spool_manifest_workspace_count(const spool_manifest *m);
const char *spool_manifest_workspace(const spool_manifest *m, size_t i,
				     const char **project);
/* The project a workspace is listed with, or NULL. */
const char *spool_manifest_project_of(const spool_manifest *m,
				      const char *workspace);

/*
 * The built-in skills root: $SPOOL_SKILLS_DIR; else PREFIX/share/spool/skills
 * or the build tree's skills/ beside the running binary's directory.
 * Returns NULL if none exists.
 */
const char *spool_skills_builtin_root(void);

/* One skill of an effective set, resolved. */
typedef struct {
	const char *name;
	const char *from;	/* "global_defaults", "shared_integrations",
				 * "project_defaults" */
	const char *path;	/* the directory linked to; NULL if missing */
	const char *root;	/* the root it came from; NULL if missing */
	const char *const *shadows; /* same name in lower roots */
	size_t nshadows;
	const char *error;	/* why it cannot be linked; NULL if fine */
} spool_skill_res;

/*
 * The effective set for project (NULL: global_defaults and
 * shared_integrations only), each name resolved from the roots in order.
 * A missing or invalid skill is reported in its entry's error, not as a
 * failure. Entries point into m (resolved once per manifest).
 * SPOOL_ENOTFOUND if the project is not in project_defaults.
 */
int spool_manifest_resolve(spool_skill_res **out, size_t *count,
			   spool_manifest *m, const char *project);

/* The directory a skill name resolves to (first root that has it), or
 * NULL with SPOOL_ENOTFOUND recorded. The skill is not validated. */
const char *spool_manifest_skill_path(spool_manifest *m, const char *name);

/* ---- hydration (hydrate.c) --------------------------------------------- */

typedef enum {
	SPOOL_HY_MKDIR,		/* create a target directory */
	SPOOL_HY_LINK,		/* a new link */
	SPOOL_HY_RELINK,	/* an owned link to another place */
	SPOOL_HY_UNLINK		/* an owned link no longer in the set */
} spool_hy_action;

typedef enum {
	SPOOL_HY_C_DIRECTORY,	/* a real directory where a link goes */
	SPOOL_HY_C_FILE,	/* a real file (or other non-link) there */
	SPOOL_HY_C_FOREIGN,	/* a link hydrate did not make */
	SPOOL_HY_C_DANGLING,	/* a dangling link hydrate did not make */
	SPOOL_HY_C_TARGET,	/* a target directory that is not a real
				 * directory */
	SPOOL_HY_C_SKILL	/* a skill of the set is missing or invalid */
} spool_hy_conflict_kind;

typedef struct {
	spool_hy_action action;
	char *path;		/* absolute path in the workspace */
	char *target;		/* the new link target (LINK, RELINK) */
	char *was;		/* the old target (RELINK, UNLINK) */
} spool_hy_change;

typedef struct {
	spool_hy_conflict_kind kind;
	char *path;		/* what is in the way (or the skill name) */
	char *detail;		/* what it is */
	char *fix;		/* how to resolve it */
} spool_hy_conflict;

typedef struct {
	char *workspace;	/* absolute */
	char *project;		/* may be NULL */
	spool_hy_change *changes;
	size_t nchanges;
	spool_hy_conflict *conflicts;
	size_t nconflicts;
	size_t nlinks;		/* links the set has in the workspace */
} spool_hy_plan;

const char *spool_hy_action_name(spool_hy_action a);
const char *spool_hy_conflict_name(spool_hy_conflict_kind k);

/*
 * Plans the workspace: reads what is there and lists the changes that make
 * each target match the set, and the conflicts that forbid them. Changes
 * nothing. Fails only on errors (manifest, unknown project, I/O).
 */
int spool_hydrate_plan(spool_hy_plan **out, spool_manifest *m,
		       const char *workspace, const char *project);
/*
 * Carries out a plan without conflicts: directories, then links (new
 * ones created, replaced ones renamed over from a temporary name), then
 * removals. *done counts the changes made. Stops at the first failure.
 * The first link to a skill made through m is a new symlink; later ones
 * are hard links of it (the same symlink inode: no inode to allocate),
 * or new symlinks where a hard link is refused (another filesystem).
 */
int spool_hydrate_apply(size_t *done, spool_manifest *m,
			const spool_hy_plan *plan);
void spool_hy_plan_free(spool_hy_plan *p);

/*
 * In a workspace inside a git repository, the links of the set are
 * listed in the repository's info/exclude, between two marker lines
 * that hydrate owns, so that the workspace's git status never shows them
 * and they are never committed (as absolute links, meaningless on
 * another machine). A link pruned from the set leaves the list with it.
 * *stale: the list differs from the set; with write, it is rewritten
 * (aside, then renamed) and *file names the file (free). Outside a
 * repository: 0, nothing stale.
 */
int spool_hydrate_exclude(bool *stale, char **file, spool_manifest *m,
			  const spool_hy_plan *plan, bool write);

/* ---- skill packs (pack.c) ---------------------------------------------- */

/* Writes the skill in dir as a gzip'd tar of NAME/... at out_file
 * (written under a temporary name, then renamed). The skill must be
 * valid and its links must stay inside it. */
int spool_skill_pack(const char *dir, const char *out_file);

/*
 * Installs a pack into root: every entry is checked (no absolute paths,
 * no "..", one top directory named as a valid skill, links that stay
 * inside the skill, only files, directories and links), extracted into a
 * temporary directory in root, validated as a skill and renamed into
 * place. An existing skill of that name is SPOOL_EEXISTS unless force,
 * which swaps it out atomically. *name receives the skill's name (free).
 */
int spool_skill_install(char **name, const char *pack_file, const char *root,
			bool force);

#endif
