/* spool skills: ls, validate, pack, install. */
#include <dirent.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "hydrate.h"
#include "cmd.h"

static const struct option common_opts[] = {
	{ "manifest", required_argument, NULL, 'm' },
	{ "project", required_argument, NULL, 'p' },
	{ "json", no_argument, NULL, 'j' },
	{ "output", required_argument, NULL, 'o' },
	{ "root", required_argument, NULL, 'r' },
	{ "force", no_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

struct skills_opts {
	const char *manifest, *project, *output, *root;
	bool json, force;
};

/* Parses the options a subcommand allows (letters in allowed). Returns
 * -1 to go on, else an exit code. */
static int parse(const struct cmd_entry *self, struct skills_opts *o,
		 const char *allowed, int argc, char **argv)
{
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "m:p:o:r:fh", common_opts, NULL))
	       != -1) {
		if (c == 'h') {
			cmd_print_help(stdout, self);
			return EXIT_OK;
		}
		if (c == '?')
			return cmd_bad_option(self, argv);
		if (!strchr(allowed, c))
			return cmd_usage(self);
		switch (c) {
		case 'm': o->manifest = optarg; break;
		case 'p': o->project = optarg; break;
		case 'o': o->output = optarg; break;
		case 'r': o->root = optarg; break;
		case 'j': o->json = true; break;
		case 'f': o->force = true; break;
		}
	}
	return -1;
}

/* ---- ls ---------------------------------------------------------------- */

static int skills_ls(const struct cmd_entry *self, struct cmd_ctx *ctx,
		     struct skills_opts *o)
{
	spool_manifest *m;
	spool_skill_res *set;
	size_t n, bad = 0;
	int rc;

	if ((rc = spool_manifest_open(&m, o->manifest, ctx->dir)) < 0)
		return cmd_fail(self, rc);
	if ((rc = spool_manifest_resolve(&set, &n, m, o->project)) < 0) {
		rc = cmd_fail(self, rc);
		spool_manifest_free(m);
		return rc;
	}
	for (size_t i = 0; i < n; i++)
		bad += set[i].error != NULL;
	if (o->json) {
		json_t *out = json_object(), *roots = json_array(),
		       *skills = json_array();

		for (size_t i = 0; i < spool_manifest_root_count(m); i++)
			json_array_append_new(roots, json_string(
				spool_manifest_root(m, i)));
		for (size_t i = 0; i < n; i++) {
			json_t *e = json_object(), *sh = json_array();

			for (size_t k = 0; k < set[i].nshadows; k++)
				json_array_append_new(sh,
					json_string(set[i].shadows[k]));
			json_object_set_new(e, "name", json_string(set[i].name));
			json_object_set_new(e, "from", json_string(set[i].from));
			json_object_set_new(e, "root", set[i].root
				? json_string(set[i].root) : json_null());
			json_object_set_new(e, "path", set[i].path
				? json_string(set[i].path) : json_null());
			json_object_set_new(e, "shadows", sh);
			json_object_set_new(e, "error", set[i].error
				? json_string(set[i].error) : json_null());
			json_array_append_new(skills, e);
		}
		json_object_set_new(out, "manifest",
				    json_string(spool_manifest_path(m)));
		json_object_set_new(out, "project", o->project
				    ? json_string(o->project) : json_null());
		json_object_set_new(out, "roots", roots);
		json_object_set_new(out, "skills", skills);
		cmd_print_json(out);
		json_decref(out);
	} else {
		int w = 4;

		for (size_t i = 0; i < n; i++)
			if ((int)strlen(set[i].name) > w)
				w = (int)strlen(set[i].name);
		printf("%-*s  %-19s  %s\n", w, "NAME", "FROM", "PATH");
		for (size_t i = 0; i < n; i++) {
			printf("%-*s  %-19s  %s\n", w, set[i].name, set[i].from,
			       set[i].path ? set[i].path : "-");
			for (size_t k = 0; k < set[i].nshadows; k++)
				printf("%-*s  %-19s  shadows %s\n", w, "", "",
				       set[i].shadows[k]);
			if (set[i].error)
				printf("%-*s  %-19s  error: %s\n", w, "", "",
				       set[i].error);
		}
	}
	spool_manifest_free(m);
	if (bad)
		return cmd_error(self, "%zu skill%s of the set cannot be "
				 "linked", bad, bad == 1 ? "" : "s");
	return EXIT_OK;
}

/* ---- validate ---------------------------------------------------------- */

struct vstate {
	json_t *out;
	bool json;
	size_t checked, invalid;
};

static int validate_one(struct vstate *v, const char *dir)
{
	spool_skill *s;
	char buf[1400];
	int rc;

	if ((rc = spool_skill_check(&s, dir)) < 0)
		return rc;
	v->checked++;
	v->invalid += s->ndiags > 0;
	if (v->json) {
		json_t *e = json_object(), *errs = json_array();

		for (size_t i = 0; i < s->ndiags; i++) {
			json_t *d = json_object();

			json_object_set_new(d, "file",
					    json_string(s->diags[i].file));
			json_object_set_new(d, "line", s->diags[i].line
				? json_integer(s->diags[i].line) : json_null());
			json_object_set_new(d, "message",
					    json_string(s->diags[i].message));
			json_array_append_new(errs, d);
		}
		json_object_set_new(e, "path", json_string(dir));
		json_object_set_new(e, "name", s->name ? json_string(s->name)
							: json_null());
		json_object_set_new(e, "valid", json_boolean(!s->ndiags));
		json_object_set_new(e, "errors", errs);
		json_array_append_new(v->out, e);
	} else {
		for (size_t i = 0; i < s->ndiags; i++) {
			spool_skill_diag_format(buf, sizeof(buf), &s->diags[i]);
			fprintf(stderr, "%s\n", buf);
		}
	}
	spool_skill_free(s);
	return 0;
}

/* A directory without SKILL.md is a root if a subdirectory has one. */
static bool is_root(const char *path)
{
	char p[PATH_MAX];
	struct stat st;
	struct dirent *e;
	bool root = false;
	DIR *d = opendir(path);

	while (d && !root && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(p, sizeof(p), "%s/%s/SKILL.md", path,
				     e->d_name) < sizeof(p))
			root = lstat(p, &st) == 0;
	}
	if (d)
		closedir(d);
	return root;
}

/* A skill directory, a SKILL.md, or a root holding skill directories. */
static int validate_path(struct vstate *v, const char *path)
{
	char p[PATH_MAX];
	struct stat st;
	const char *base = strrchr(path, '/');
	DIR *d;
	struct dirent *e;
	int rc = 0;

	base = base ? base + 1 : path;
	if (strcmp(base, "SKILL.md") == 0) {
		snprintf(p, sizeof(p), "%.*s", (int)(base - path), path);
		if (!*p)
			strcpy(p, ".");
		return validate_one(v, p);
	}
	snprintf(p, sizeof(p), "%s/SKILL.md", path);
	if (lstat(p, &st) == 0 || stat(path, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    !is_root(path))
		return validate_one(v, path);
	if (!(d = opendir(path)))
		return spool_error_sys(SPOOL_ERROR, "cannot read '%s'", path);
	while (rc == 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s%s%s", path,
			 path[strlen(path) - 1] == '/' ? "" : "/", e->d_name);
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
			rc = validate_one(v, p);
	}
	closedir(d);
	return rc;
}

static int skills_validate(const struct cmd_entry *self, struct cmd_ctx *ctx,
			   struct skills_opts *o, int argc, char **argv)
{
	struct vstate v = { .json = o->json };
	spool_manifest *m = NULL;
	int rc = 0;

	v.out = json_array();
	if (optind >= argc) {
		if ((rc = spool_manifest_open(&m, o->manifest, ctx->dir)) < 0)
			goto out;
		for (size_t i = 0; i < spool_manifest_root_count(m) && rc == 0;
		     i++)
			rc = validate_path(&v, spool_manifest_root(m, i));
	}
	for (int i = optind; i < argc && rc == 0; i++)
		rc = validate_path(&v, argv[i]);
out:
	spool_manifest_free(m);
	if (rc < 0) {
		json_decref(v.out);
		return cmd_fail(self, rc);
	}
	if (o->json) {
		json_t *r = json_object();

		json_object_set_new(r, "valid", json_boolean(!v.invalid));
		json_object_set_new(r, "skills", v.out);
		cmd_print_json(r);
		json_decref(r);
	} else {
		json_decref(v.out);
	}
	if (v.invalid)
		return o->json ? EXIT_ERROR
			: cmd_error(self, "%zu of %zu skill%s invalid",
				    v.invalid, v.checked,
				    v.checked == 1 ? "" : "s");
	if (!o->json)
		printf("%zu skill%s valid\n", v.checked,
		       v.checked == 1 ? "" : "s");
	return EXIT_OK;
}

/* ---- pack and install -------------------------------------------------- */

static int skills_pack(const struct cmd_entry *self, struct cmd_ctx *ctx,
		       struct skills_opts *o, int argc, char **argv)
{
	spool_manifest *m = NULL;
	const char *what, *dir;
	char out[PATH_MAX];
	int rc;

	if (optind != argc - 1)
		return cmd_usage(self);
	what = argv[optind];
	if (strchr(what, '/') || strcmp(what, ".") == 0) {
		dir = what;
	} else {
		if ((rc = spool_manifest_open(&m, o->manifest, ctx->dir)) < 0)
			return cmd_fail(self, rc);
		if (!(dir = spool_manifest_skill_path(m, what))) {
			rc = cmd_fail(self, spool_error_code());
			spool_manifest_free(m);
			return rc;
		}
	}
	if (o->output)
		snprintf(out, sizeof(out), "%s", o->output);
	else
		snprintf(out, sizeof(out), "%s.tar.gz", strrchr(what, '/')
			 ? strrchr(what, '/') + 1 : what);
	rc = spool_skill_pack(dir, out);
	spool_manifest_free(m);
	if (rc < 0)
		return cmd_fail(self, rc);
	if (o->json) {
		json_t *r = json_pack("{s:s}", "pack", out);
		cmd_print_json(r);
		json_decref(r);
	} else {
		printf("%s\n", out);
	}
	return EXIT_OK;
}

static int skills_install(const struct cmd_entry *self, struct cmd_ctx *ctx,
			  struct skills_opts *o, int argc, char **argv)
{
	spool_manifest *m = NULL;
	const char *root = o->root;
	char *name = NULL;
	int rc;

	if (optind != argc - 1)
		return cmd_usage(self);
	if (!root) {
		if ((rc = spool_manifest_open(&m, o->manifest, ctx->dir)) < 0)
			return cmd_fail(self, rc);
		root = spool_manifest_root(m, 0);
		if (!root) {
			spool_manifest_free(m);
			return cmd_error(self, "no root to install into: give "
					 "--root DIR");
		}
	}
	rc = spool_skill_install(&name, argv[optind], root, o->force);
	if (rc < 0) {
		rc = cmd_fail(self, rc);
	} else {
		if (o->json) {
			json_t *r = json_pack("{s:s,s:s}", "name", name,
					      "root", root);
			cmd_print_json(r);
			json_decref(r);
		} else {
			printf("installed %s/%s\n", root, name);
		}
		rc = EXIT_OK;
	}
	free(name);
	spool_manifest_free(m);
	return rc;
}

static int cmd_skills(const struct cmd_entry *self, struct cmd_ctx *ctx,
		      int argc, char **argv)
{
	struct skills_opts o = { 0 };
	const char *sub;
	int rc;

	if (argc < 2)
		return cmd_usage(self);
	sub = argv[1];
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 ||
	    strcmp(sub, "help") == 0) {
		cmd_print_help(stdout, self);
		return EXIT_OK;
	}
	argc--;
	argv++;
	if (strcmp(sub, "ls") == 0) {
		if ((rc = parse(self, &o, "mpj", argc, argv)) >= 0)
			return rc;
		if (optind != argc)
			return cmd_usage(self);
		return skills_ls(self, ctx, &o);
	}
	if (strcmp(sub, "validate") == 0) {
		if ((rc = parse(self, &o, "mj", argc, argv)) >= 0)
			return rc;
		return skills_validate(self, ctx, &o, argc, argv);
	}
	if (strcmp(sub, "pack") == 0) {
		if ((rc = parse(self, &o, "moj", argc, argv)) >= 0)
			return rc;
		return skills_pack(self, ctx, &o, argc, argv);
	}
	if (strcmp(sub, "install") == 0) {
		if ((rc = parse(self, &o, "mrfj", argc, argv)) >= 0)
			return rc;
		return skills_install(self, ctx, &o, argc, argv);
	}
	fprintf(stderr, "spool: skills: '%s' is not a skills command\n", sub);
	return cmd_usage(self);
}

const struct cmd_entry cmd_skills_entry = {
	"skills",
	"(ls [--project P] | validate [PATH...] | pack NAME [-o FILE] |\n"
	"       install FILE [--root DIR] [--force]) [--manifest FILE] [--json]",
	"list, check, pack and install Agent Skills",
	"  ls         the effective set (global_defaults, shared_integrations\n"
	"             and, with --project, project_defaults[P]): each skill,\n"
	"             the list it comes from, the directory it resolves to, and\n"
	"             the same name in lower roots that it shadows. Exit 1 if\n"
	"             a skill of the set is missing or invalid.\n"
	"  validate   checks skills against the Agent Skills rules: SKILL.md a\n"
	"             regular file whose front matter parses, name 1-64 of a-z,\n"
	"             0-9 and single hyphens equal to the directory name,\n"
	"             description 1-1024 characters. PATH is a skill, its\n"
	"             SKILL.md, or a root of skills; none: every root of the\n"
	"             manifest. Problems print as FILE:LINE: message; exit 1.\n"
	"  pack       writes the skill NAME (resolved from the roots; a path if\n"
	"             it holds '/') as a gzip'd tar, NAME.tar.gz by default.\n"
	"  install    checks a pack, a tar or a zip (no absolute paths, no\n"
	"             '..', one skill directory, links that stay inside it,\n"
	"             no devices or FIFOs, no archive bomb, a valid SKILL.md)\n"
	"             and installs it atomically into --root (default: the\n"
	"             manifest's first root). An existing\n"
	"             skill is replaced only with --force, in one rename.\n"
	"\n"
	"  -m, --manifest FILE  as for 'spool hydrate'\n"
	"  -p, --project P      ls: add the project's skills\n"
	"  -o, --output FILE    pack: where to write\n"
	"  -r, --root DIR       install: the root to install into\n"
	"  -f, --force          install: replace an existing skill\n"
	"      --json           JSON on stdout\n",
	cmd_skills,
};
