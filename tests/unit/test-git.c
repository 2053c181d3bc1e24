/* The git writing underneath the history: stored loose objects must read
 * back in git and in libgit2. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "spool-int.h"

struct fixture {
	char dir[4096];
	git_repository *repo;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	git_libgit2_init();
	snprintf(f->dir, sizeof(f->dir), "%s/spool-git.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir) || git_repository_init(&f->repo, f->dir, 0) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[4200];

	git_repository_free(f->repo);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	git_libgit2_shutdown();
	return 0;
}

/* Objects the spool writes are zlib streams without compression: as big
 * as what they hold, readable by libgit2 and by git. */
static void test_stored_objects(void **state)
{
	struct fixture *f = *state;
	char objects[4200], path[4300], cmd[4400], hex[GIT_OID_HEXSZ + 1];
	git_odb_backend *be = NULL;
	git_odb *odb = NULL;
	git_odb_object *obj = NULL;
	size_t len = 300000;
	char *data = malloc(len);
	struct stat st;
	git_oid id;
	FILE *fp;

	for (size_t i = 0; i < len; i++)
		data[i] = (char)('a' + i % 7);
	snprintf(objects, sizeof(objects), "%s/.git/objects", f->dir);
	assert_int_equal(spool_odb_stored(&be, objects), 0);
	assert_int_equal(git_repository_odb(&odb, f->repo), 0);
	assert_int_equal(git_odb_add_backend(odb, be, 10), 0);
	assert_int_equal(git_odb_write(&id, odb, data, len, GIT_OBJECT_BLOB),
			 0);
	git_oid_tostr(hex, sizeof(hex), &id);
	snprintf(path, sizeof(path), "%s/%.2s/%s", objects, hex, hex + 2);
	assert_int_equal(stat(path, &st), 0);
	assert_true((size_t)st.st_size > len);
	assert_int_equal(git_odb_read(&obj, odb, &id), 0);
	assert_int_equal(git_odb_object_size(obj), len);
	assert_memory_equal(git_odb_object_data(obj), data, len);
	git_odb_object_free(obj);
	snprintf(path, sizeof(path), "%s/expect", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	fclose(fp);
	snprintf(cmd, sizeof(cmd), "git -C '%s' cat-file blob %s | cmp -s - "
		 "'%s'", f->dir, hex, path);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "git -C '%s' fsck --no-dangling "
		 ">/dev/null 2>&1", f->dir);
	assert_int_equal(system(cmd), 0);
	git_odb_free(odb);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stored_objects, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
