/* Unit tests for SKILL.md checking and the hydrate manifest. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "hydrate.h"

static void test_name_valid(void **state)
{
	char n64[66];

	(void)state;
	assert_true(spool_skill_name_valid("a"));
	assert_true(spool_skill_name_valid("pdf-tools"));
	assert_true(spool_skill_name_valid("a1-b2-c3"));
	assert_false(spool_skill_name_valid(""));
	assert_false(spool_skill_name_valid(NULL));
	assert_false(spool_skill_name_valid("-a"));
	assert_false(spool_skill_name_valid("a-"));
	assert_false(spool_skill_name_valid("a--b"));
	assert_false(spool_skill_name_valid("A"));
	assert_false(spool_skill_name_valid("a_b"));
	assert_false(spool_skill_name_valid("a.b"));
	assert_false(spool_skill_name_valid("a/b"));
	memset(n64, 'a', 64);
	n64[64] = '\0';
	assert_true(spool_skill_name_valid(n64));
	n64[64] = 'a';
	n64[65] = '\0';
	assert_false(spool_skill_name_valid(n64));
}

/* Checks text; returns the first problem's line (0 if none) and copies
 * its message. */
static int first(const char *text, const char *dirname, char *msg, size_t len)
{
	spool_skill *s;
	int line = 0;

	assert_int_equal(spool_skill_check_text(&s, text, strlen(text),
						"x/SKILL.md", dirname), 0);
	msg[0] = '\0';
	if (s->ndiags) {
		line = s->diags[0].line;
		snprintf(msg, len, "%s", s->diags[0].message);
	}
	spool_skill_free(s);
	return line;
}

static void test_check_text(void **state)
{
	char m[1200];
	spool_skill *s;

	(void)state;
	assert_int_equal(first("---\nname: ok\ndescription: d\n---\nbody\n",
			       "ok", m, sizeof(m)), 0);
	assert_string_equal(m, "");

	assert_int_equal(first("---\ndescription: d\nname: Bad\n---\n", "Bad",
			       m, sizeof(m)), 3);
	assert_non_null(strstr(m, "must be lowercase"));

	assert_int_equal(first("---\nname: a\ndescription: d\n---\n", "b",
			       m, sizeof(m)), 2);
	assert_non_null(strstr(m, "does not match the directory name 'b'"));

	assert_int_equal(first("---\nname: a\n---\n", NULL, m, sizeof(m)), 1);
	assert_non_null(strstr(m, "no 'description'"));

	assert_int_equal(first("---\nname: a\ndescription: |\n  x\n"
			       "bad: [\n---\n", NULL, m, sizeof(m)), 6);
	assert_non_null(strstr(m, "does not parse"));

	assert_int_equal(first("no front matter\n", NULL, m, sizeof(m)), 1);
	assert_int_equal(first("---\nname: a\n", NULL, m, sizeof(m)), 1);
	assert_non_null(strstr(m, "not closed"));

	assert_int_equal(first("---\nname: a\ndescription: d\n"
			       "metadata: [1]\n---\n", NULL, m, sizeof(m)), 4);
	assert_non_null(strstr(m, "'metadata' must be a mapping"));

	/* Multi-line descriptions keep their text; unknown keys are fine. */
	static const char multi[] =
		"---\nname: a\ndescription: >\n  one\n  two\nlicense: MIT\n"
		"allowed-tools: Bash\n---\n";
	assert_int_equal(spool_skill_check_text(&s, multi, strlen(multi), "f",
						"a"), 0);
	assert_int_equal((int)s->ndiags, 0);
	assert_string_equal(s->description, "one two\n");
	spool_skill_free(s);
}

static void test_manifest(void **state)
{
	spool_manifest *m;

	(void)state;
	assert_int_equal(spool_manifest_parse(&m, "{\"builtin\": false}", 18,
					      "m.json"), 0);
	assert_int_equal((int)spool_manifest_root_count(m), 0);
	spool_manifest_free(m);

	assert_int_equal(spool_manifest_parse(&m, "{\"roots\": 3}", 12,
					      "m.json"), SPOOL_EINVALID);
	assert_non_null(strstr(spool_error_message(), "'roots' must be a list"));
	assert_int_equal(spool_manifest_parse(&m, "{\"targets\": [\"/abs\"]}",
					      21, "m.json"), SPOOL_EINVALID);
	assert_int_equal(spool_manifest_parse(&m, "{\"a\": 1, \"a\": 2}", 16,
					      "m.json"), SPOOL_EINVALID);
	assert_non_null(strstr(spool_error_message(), "m.json:1:"));
	assert_int_equal(spool_manifest_parse(&m,
		"{\"builtin\": false, \"project_defaults\": {\"p\": [\"x--y\"]}}",
		55, "m.json"), SPOOL_EINVALID);
	assert_non_null(strstr(spool_error_message(),
			       "project_defaults.p[0]: 'x--y'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_check_text),
		cmocka_unit_test(test_manifest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
