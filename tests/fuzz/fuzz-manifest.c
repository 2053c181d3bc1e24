/*
 * The hydrate manifest (skills.json), parsed and resolved against two
 * real roots in a scratch directory, where the manifest is said to be,
 * so that names, relative paths and projects in the input can point at
 * skills.
 */
#include "fuzz.h"

#include "spool.h"
#include "hydrate.h"

static void put(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	FUZZ_ASSERT(fp);
	fputs(text, fp);
	FUZZ_ASSERT(fclose(fp) == 0);
}

static char manifest[4200];

static void skill(const char *root, const char *name)
{
	char p[4600];

	snprintf(p, sizeof(p), "%s/%s", fuzz_scratch(), root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/%s/%s", fuzz_scratch(), root, name);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/%s/%s/SKILL.md", fuzz_scratch(), root, name);
	put(p, "---\nname: x\ndescription: a skill\n---\nbody\n");
}

static void setup(void)
{
	char p[4200];

	if (manifest[0])
		return;
	skill("a", "one");
	skill("a", "two");
	skill("b", "two");
	skill("b", "three");
	skill("builtin", "four");
	snprintf(p, sizeof(p), "%s/ws", fuzz_scratch());
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/builtin", fuzz_scratch());
	FUZZ_ASSERT(setenv("SPOOL_SKILLS_DIR", p, 1) == 0);
	snprintf(manifest, sizeof(manifest), "%s/skills.json",
		 fuzz_scratch());
}

static void resolve(spool_manifest *m, const char *project)
{
	spool_skill_res *res;
	size_t n;

	if (spool_manifest_resolve(&res, &n, m, project) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		FUZZ_ASSERT(res[i].name && res[i].from);
		FUZZ_ASSERT(!res[i].path == !res[i].root || res[i].error);
		for (size_t j = 0; j < res[i].nshadows; j++)
			FUZZ_ASSERT(res[i].shadows[j]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	spool_manifest *m = NULL;

	setup();
	if (spool_manifest_parse(&m, (const char *)data, size,
				 manifest) < 0) {
		FUZZ_ASSERT(!m);
		return 0;
	}
	for (size_t i = 0; i < spool_manifest_root_count(m); i++)
		FUZZ_ASSERT(spool_manifest_root(m, i)[0] == '/');
	resolve(m, NULL);
	for (size_t i = 0; i < spool_manifest_workspace_count(m) && i < 8;
	     i++) {
		const char *project = NULL;
		const char *ws = spool_manifest_workspace(m, i, &project);

		FUZZ_ASSERT(ws);
		if (project)
			resolve(m, project);
		spool_manifest_project_of(m, ws);
	}
	spool_manifest_skill_path(m, "two");
	spool_manifest_free(m);
	return 0;
}
