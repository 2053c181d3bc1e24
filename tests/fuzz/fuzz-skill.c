/* SKILL.md and its YAML front matter, as spool skills validate reads it. */
#include "fuzz.h"

#include "spool.h"
#include "hydrate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	spool_skill *s = NULL;
	char buf[1200];

	if (spool_skill_check_text(&s, (const char *)data, size,
				   "fuzz-skill/SKILL.md", "fuzz-skill") < 0) {
		FUZZ_ASSERT(!s);
		return 0;
	}
	FUZZ_ASSERT(s);
	for (size_t i = 0; i < s->ndiags; i++) {
		FUZZ_ASSERT(s->diags[i].message && s->diags[i].file);
		spool_skill_diag_format(buf, sizeof(buf), &s->diags[i]);
	}
	/* a skill found valid keeps the format's promises */
	if (!s->ndiags) {
		FUZZ_ASSERT(s->name && spool_skill_name_valid(s->name));
		FUZZ_ASSERT(strcmp(s->name, "fuzz-skill") == 0);
		FUZZ_ASSERT(s->description && *s->description &&
			    strlen(s->description) <= 4 * SPOOL_SKILL_DESC_MAX);
	}
	spool_skill_free(s);
	return 0;
}
