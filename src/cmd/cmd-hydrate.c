/* spool hydrate: link the manifest's skill set into workspaces. */
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "notice.h"
#include "hydrate.h"
#include "cmd.h"

enum { MODE_APPLY, MODE_CHECK, MODE_DRY_RUN };

static const char *const mode_names[] = { "apply", "check", "dry-run" };

static void print_change(const spool_hy_change *c)
{
	switch (c->action) {
	case SPOOL_HY_MKDIR:
		printf("mkdir   %s\n", c->path);
		break;
	case SPOOL_HY_LINK:
		printf("link    %s -> %s\n", c->path, c->target);
		break;
	case SPOOL_HY_RELINK:
		printf("relink  %s -> %s (was %s)\n", c->path, c->target,
		       c->was);
		break;
	case SPOOL_HY_UNLINK:
		printf("unlink  %s (was %s)\n", c->path, c->was);
		break;
	}
}

static void print_conflict(const struct cmd_entry *self,
			   const spool_hy_conflict *c)
{
	if (c->kind == SPOOL_HY_C_SKILL)
		fprintf(stderr, "spool: %s: conflict: skill '%s': %s\n",
			self->name, c->path, c->detail);
	else
		fprintf(stderr, "spool: %s: conflict: '%s' is %s\n",
			self->name, c->path, c->detail);
	fprintf(stderr, "  to resolve: %s\n", c->fix);
}

static json_t *plan_json(const spool_hy_plan *p, size_t done, int mode)
{
	json_t *o = json_object(), *ch = json_array(), *co = json_array();

	for (size_t i = 0; i < p->nchanges; i++) {
		const spool_hy_change *c = &p->changes[i];
		json_t *e = json_object();

		json_object_set_new(e, "action",
				    json_string(spool_hy_action_name(c->action)));
		json_object_set_new(e, "path", json_string(c->path));
		if (c->target)
			json_object_set_new(e, "target", json_string(c->target));
		if (c->was)
			json_object_set_new(e, "was", json_string(c->was));
		if (mode == MODE_APPLY)
			json_object_set_new(e, "done", json_boolean(i < done));
		json_array_append_new(ch, e);
	}
	for (size_t i = 0; i < p->nconflicts; i++) {
		const spool_hy_conflict *c = &p->conflicts[i];
		json_t *e = json_object();

		json_object_set_new(e, "kind",
				    json_string(spool_hy_conflict_name(c->kind)));
		json_object_set_new(e, "path", json_string(c->path));
		json_object_set_new(e, "detail", json_string(c->detail));
		json_object_set_new(e, "fix", json_string(c->fix));
		json_array_append_new(co, e);
	}
	json_object_set_new(o, "workspace", json_string(p->workspace));
	json_object_set_new(o, "project",
			    p->project ? json_string(p->project) : json_null());
	json_object_set_new(o, "up_to_date", json_boolean(p->nchanges == 0 &&
							  p->nconflicts == 0));
	json_object_set_new(o, "changes", ch);
	json_object_set_new(o, "conflicts", co);
	return o;
}

struct job {
	const char *workspace;
	const char *project;
	spool_hy_plan *plan;
	size_t done;
	bool xstale;		/* info/exclude differs from the set */
	char *xfile;		/* info/exclude, when rewritten */
};

static int report(const struct cmd_entry *self, struct job *jobs, size_t n,
		  int mode, bool json, bool quiet, int rc, size_t conflicts)
{
	size_t changes = 0, stale = 0, links = 0;

	for (size_t i = 0; i < n; i++) {
		const spool_hy_plan *p = jobs[i].plan;

		changes += mode == MODE_APPLY ? jobs[i].done : p->nchanges;
		changes += jobs[i].xstale;
		stale += p->nchanges || p->nconflicts || jobs[i].xstale;
		links += p->nlinks;
	}
	if (json) {
		json_t *o = json_object(), *ws = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(ws, plan_json(jobs[i].plan,
							    jobs[i].done, mode));
		json_object_set_new(o, "mode", json_string(mode_names[mode]));
		json_object_set_new(o, "ok", json_boolean(rc == 0 &&
			conflicts == 0 && !(mode == MODE_CHECK && stale)));
		json_object_set_new(o, "changes", json_integer((json_int_t)changes));
		json_object_set_new(o, "conflicts",
				    json_integer((json_int_t)conflicts));
		if (rc < 0)
			json_object_set_new(o, "error",
					    json_string(spool_error_message()));
		json_object_set_new(o, "workspaces", ws);
		cmd_print_json(o);
		json_decref(o);
	}
	if (conflicts) {
		for (size_t i = 0; !json && i < n; i++)
			for (size_t j = 0; j < jobs[i].plan->nconflicts; j++)
				print_conflict(self, &jobs[i].plan->conflicts[j]);
		cmd_error(self, "%zu conflict%s; nothing was changed",
			  conflicts, conflicts == 1 ? "" : "s");
		return EXIT_ERROR;	/* with --check too: drift */
	}
	if (rc < 0) {
		cmd_fail(self, rc);
		return mode == MODE_CHECK ? EXIT_CANNOT_CHECK : EXIT_ERROR;
	}
	if (!json && !quiet) {
		for (size_t i = 0; i < n; i++) {
			const spool_hy_plan *p = jobs[i].plan;
			size_t k = mode == MODE_APPLY ? jobs[i].done
						      : p->nchanges;

			for (size_t j = 0; j < k; j++)
				print_change(&p->changes[j]);
			if (jobs[i].xstale && mode != MODE_APPLY)
				printf("exclude %s: the links git must not "
				       "see\n", p->workspace);
			else if (jobs[i].xfile)
				printf("exclude %s\n", jobs[i].xfile);
		}
	}
	if (mode == MODE_CHECK && stale) {
		if (!json)
			cmd_error(self, "%zu of %zu workspace%s out of date "
				  "(%zu change%s); run 'spool hydrate' to fix",
				  stale, n, n == 1 ? "" : "s", changes,
				  changes == 1 ? "" : "s");
		return EXIT_ERROR;
	}
	if (json || quiet)
		return EXIT_OK;
	if (changes == 0)
		printf("%s up to date (%zu link%s); nothing changed\n",
		       n == 1 ? jobs[0].plan->workspace : "all workspaces",
		       links, links == 1 ? "" : "s");
	else if (mode == MODE_DRY_RUN)
		printf("dry run: %zu change%s in %zu of %zu workspace%s; "
		       "nothing was changed\n", changes, changes == 1 ? "" : "s",
		       stale, n, n == 1 ? "" : "s");
	else
		printf("%zu change%s in %zu of %zu workspace%s\n", changes,
		       changes == 1 ? "" : "s", stale, n, n == 1 ? "" : "s");
	return EXIT_OK;
}

static int cmd_hydrate(const struct cmd_entry *self, struct cmd_ctx *ctx,
		       int argc, char **argv)
{
	static const struct option opts[] = {
		{ "manifest", required_argument, NULL, 'm' },
		{ "project", required_argument, NULL, 'p' },
		{ "all", no_argument, NULL, 'a' },
		{ "check", no_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *manifest = NULL, *project = NULL;
	bool all = false, json = false, quiet = false;
	int mode = MODE_APPLY, c, rc = 0, exit;
	spool_manifest *m = NULL;
	struct job *jobs = NULL;
	size_t n = 0, conflicts = 0;

	while ((c = getopt_long(argc, argv, "m:p:anqh", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			manifest = optarg;
			break;
		case 'p':
			project = optarg;
			break;
		case 'a':
			all = true;
			break;
		case 'c':
		case 'n':
			if (mode != MODE_APPLY)
				return cmd_usage(self);
			mode = c == 'c' ? MODE_CHECK : MODE_DRY_RUN;
			break;
		case 'j':
			json = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			cmd_print_help(stdout, self);
			return EXIT_OK;
		default:
			return cmd_bad_option(self, argv);
		}
	}
	if (all == (optind < argc) || (all && project))
		return cmd_usage(self);

	if ((rc = spool_manifest_open(&m, manifest, ctx->dir)) < 0) {
		cmd_fail(self, rc);
		return mode == MODE_CHECK ? EXIT_CANNOT_CHECK : EXIT_ERROR;
	}
	n = all ? spool_manifest_workspace_count(m) : (size_t)(argc - optind);
	if (n == 0) {
		exit = cmd_error(self, "manifest '%s' lists no workspaces for "
				 "--all", spool_manifest_path(m));
		spool_manifest_free(m);
		return exit;
	}
	if (!(jobs = calloc(n, sizeof(*jobs)))) {
		spool_manifest_free(m);
		return cmd_error(self, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		struct job *j = &jobs[i];

		if (all) {
			j->workspace = spool_manifest_workspace(m, i,
								&j->project);
		} else {
			char real[PATH_MAX];

			j->workspace = argv[optind + i];
			j->project = project;
			if (!j->project && realpath(j->workspace, real))
				j->project = spool_manifest_project_of(m, real);
		}
	}

	/* Plan everything before anything changes. */
	if (n > 1)
		cmd_progress_start(self, quiet || json);
	for (size_t i = 0; i < n && rc == 0; i++) {
		spool_progress("planning", i, n);
		rc = spool_hydrate_plan(&jobs[i].plan, m, jobs[i].workspace,
					jobs[i].project);
		if (rc == 0)
			conflicts += jobs[i].plan->nconflicts;
	}
	if (rc < 0) {
		cmd_progress_end();
		exit = cmd_fail(self, rc);
		if (mode == MODE_CHECK)
			exit = EXIT_CANNOT_CHECK;
		goto out;
	}
	if (rc == 0)
		spool_progress("planning", n, n);
	for (size_t i = 0; mode == MODE_APPLY && !conflicts && i < n && rc == 0;
	     i++) {
		spool_progress("linking", i, n);
		rc = spool_hydrate_apply(&jobs[i].done, m, jobs[i].plan);
	}
	if (rc == 0 && mode == MODE_APPLY && !conflicts)
		spool_progress("linking", n, n);
	/* The workspace's git must not see the links: after they are made
	 * (a crash in between leaves them visible until the next run). */
	for (size_t i = 0; !conflicts && i < n && rc == 0; i++)
		rc = spool_hydrate_exclude(&jobs[i].xstale, &jobs[i].xfile, m,
					   jobs[i].plan, mode == MODE_APPLY);
	cmd_progress_end();
	exit = report(self, jobs, n, mode, json, quiet, rc, conflicts);
out:
	for (size_t i = 0; i < n; i++) {
		spool_hy_plan_free(jobs[i].plan);
		free(jobs[i].xfile);
	}
	free(jobs);
	spool_manifest_free(m);
	return exit;
}

const struct cmd_entry cmd_hydrate_entry = {
	"hydrate",
	"[--manifest FILE] [--project P] [--check | --dry-run] [--json] [-q] "
	"(WORKSPACE... | --all)",
	"link the manifest's skill set into workspaces",
	"Makes each target directory of the workspace (by default .agents/skills\n"
	"and .claude/skills) a real directory holding one directory link per\n"
	"skill of the set: global_defaults + shared_integrations +\n"
	"project_defaults[P], each name taken from the first root that has it.\n"
	"Links hydrate made for skills no longer in the set are removed;\n"
	"nothing else is touched. Everything is planned first: on any conflict\n"
	"nothing changes and each conflict is printed with how to resolve it.\n"
	"\n"
	"  -m, --manifest FILE  the manifest; else the spool's skills_manifest,\n"
	"                       .spool/skills.json, ~/.config/spool/skills.json\n"
	"  -p, --project P      the project (default: the workspace's entry in\n"
	"                       the manifest's workspaces, else none)\n"
	"  -a, --all            every workspace listed in the manifest\n"
	"      --check          change nothing; exit 1 and print the drift if\n"
	"                       any workspace is not exactly its set\n"
	"  -n, --dry-run        print what would change; change nothing\n"
	"      --json           one JSON object on stdout\n"
	"  -q, --quiet          print only errors\n"
	"\n"
	"In a workspace inside a git repository, the links are listed in the\n"
	"repository's info/exclude (between marker lines hydrate owns), so\n"
	"git status never shows them.\n"
	"\n"
	"Exit: 0 done or up to date; 1 conflicts or errors; 2 usage. With\n"
	"--check: 0 up to date; 1 drift (changes to make, conflicts);\n"
	"2 usage; 5 could not check (manifest, project, I/O). See\n"
	"docs/hydrate.md.\n",
	cmd_hydrate,
};
