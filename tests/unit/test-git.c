/* The git writing underneath the history: trees built from updates must be
 * the trees libgit2 builds, and stored loose objects must read back in git
 * and in libgit2. */
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

static git_oid blob(struct fixture *f, const char *text)
{
	git_oid id;

	assert_int_equal(git_blob_create_from_buffer(&id, f->repo, text,
						     strlen(text)), 0);
	return id;
}

/* Names whose order in a tree differs from plain string order once a
 * directory sorts as NAME/: "a" (a tree) goes after "a-b" and "a.b". */
static const char *paths[] = {
	"a", "a-b", "a.b", "a0", "a/x", "a/y.json", "a/z/deep", "ab/c",
	"ready/T-1.json", "ready/T-2.json", "ready/T-10.json", "ready/t",
	"claimed/dev/T-3.json", "claimed/ops/T-4.json", "claimed/dev.x",
	"deliverables/T-1/out.txt", "deliverables/T-1/sub/more.txt",
	"z",
};

static void random_updates(git_tree_update *ups, size_t *n, git_oid *ids,
			   unsigned *seed)
{
	size_t npaths = sizeof(paths) / sizeof(*paths);
	static const git_filemode_t modes[] = {
		GIT_FILEMODE_BLOB, GIT_FILEMODE_BLOB,
		GIT_FILEMODE_BLOB_EXECUTABLE, GIT_FILEMODE_LINK,
	};

	*n = 1 + (size_t)rand_r(seed) % 6;
	for (size_t i = 0; i < *n; i++) {
		memset(&ups[i], 0, sizeof(ups[i]));
		ups[i].path = paths[(size_t)rand_r(seed) % npaths];
		ups[i].action = rand_r(seed) % 3 ? GIT_TREE_UPDATE_UPSERT
						 : GIT_TREE_UPDATE_REMOVE;
		ups[i].filemode = modes[rand_r(seed) % 4];
		git_oid_cpy(&ups[i].id, &ids[rand_r(seed) % 3]);
		for (size_t k = 0; k < i; k++)
			if (strcmp(ups[k].path, ups[i].path) == 0)
				ups[i--] = ups[--*n];	/* once a path */
	}
}

/* An update libgit2 refuses (a file where a directory must go, or the
 * removal of what is not there) is refused too, or left out. */
static bool valid_for_libgit2(struct fixture *f, git_tree *base,
			      git_tree_update *ups, size_t n, git_oid *want)
{
	int rc = git_tree_create_updated(want, f->repo, base, n, ups);

	git_error_clear();
	return rc == 0;
}

static void test_tree_update_matches_libgit2(void **state)
{
	struct fixture *f = *state;
	git_oid ids[3] = { blob(f, "one\n"), blob(f, "two\n"),
			   blob(f, "three\n") };
	git_tree_update ups[8];
	git_tree *base = NULL;
	unsigned seed = 42;
	size_t n, compared = 0;
	git_oid want, got;

	assert_int_equal(spool_tree_update(&got, f->repo, NULL, 0, NULL), 0);
	assert_string_equal(git_oid_tostr_s(&got),
			    "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
	for (int round = 0; round < 2000; round++) {
		random_updates(ups, &n, ids, &seed);
		if (!base) {
			git_treebuilder *tb;
			git_oid empty;
			assert_int_equal(git_treebuilder_new(&tb, f->repo,
							     NULL), 0);
			assert_int_equal(git_treebuilder_write(&empty, tb), 0);
			git_treebuilder_free(tb);
			assert_int_equal(git_tree_lookup(&base, f->repo,
							 &empty), 0);
		}
		if (!valid_for_libgit2(f, base, ups, n, &want))
			continue;
		assert_int_equal(spool_tree_update(&got, f->repo, base, n,
						   ups), 0);
		if (!git_oid_equal(&want, &got)) {
			char a[GIT_OID_HEXSZ + 1], b[GIT_OID_HEXSZ + 1];
			fail_msg("round %d: %s, libgit2 %s", round,
				 git_oid_tostr(a, sizeof(a), &got),
				 git_oid_tostr(b, sizeof(b), &want));
		}
		compared++;
		git_tree_free(base);
		assert_int_equal(git_tree_lookup(&base, f->repo, &got), 0);
	}
	git_tree_free(base);
	assert_true(compared > 500);
}

/* A flat directory as big as ready/ of a big spool, changed a few
 * entries at a time. */
static void test_tree_update_big_directory(void **state)
{
	struct fixture *f = *state;
	git_oid id = blob(f, "{}\n"), want, got;
	git_tree_update *ups = calloc(3000, sizeof(*ups));
	char (*names)[32] = calloc(3000, sizeof(*names));
	git_tree *base = NULL;

	for (int i = 0; i < 3000; i++) {
		snprintf(names[i], sizeof(names[i]), "ready/T-%d.json",
			 i * 7919 % 3000);
		ups[i].path = names[i];
		ups[i].action = GIT_TREE_UPDATE_UPSERT;
		ups[i].filemode = GIT_FILEMODE_BLOB;
		git_oid_cpy(&ups[i].id, &id);
	}
	assert_int_equal(spool_tree_update(&got, f->repo, NULL, 3000, ups), 0);
	assert_int_equal(git_tree_lookup(&base, f->repo, &got), 0);
	for (int i = 0; i < 3000; i += 97) {
		ups[i].action = GIT_TREE_UPDATE_REMOVE;
		ups[i + 1].path = "claimed/dev/T-x.json";
		assert_int_equal(git_tree_create_updated(&want, f->repo, base,
							 2, &ups[i]), 0);
		assert_int_equal(spool_tree_update(&got, f->repo, base, 2,
						   &ups[i]), 0);
		assert_true(git_oid_equal(&want, &got));
		ups[i].action = GIT_TREE_UPDATE_UPSERT;
		ups[i + 1].path = names[i + 1];
	}
	git_tree_free(base);
	free(names);
	free(ups);
}

/* One path updated many times in one call (libgit2 refuses that): the
 * last update counts, whatever order the sort leaves equal paths in
 * (glibc's qsort keeps it for small arrays up to 2.36, later ones not). */
static void test_tree_update_same_path(void **state)
{
	struct fixture *f = *state;
	git_oid ids[3] = { blob(f, "one\n"), blob(f, "two\n"),
			   blob(f, "three\n") };
	git_tree_update ups[64];
	git_oid want, got;

	for (int last = 0; last < 3; last++) {
		for (int i = 0; i < 64; i++) {
			memset(&ups[i], 0, sizeof(ups[i]));
			ups[i].path = i % 2 ? "ready/T-1.json" : "ready/T-2.json";
			ups[i].action = GIT_TREE_UPDATE_UPSERT;
			ups[i].filemode = GIT_FILEMODE_BLOB;
			git_oid_cpy(&ups[i].id, &ids[(i + last) % 3]);
		}
		/* the last update of each of the two paths */
		assert_int_equal(git_tree_create_updated(&want, f->repo, NULL,
							 2, &ups[62]), 0);
		assert_int_equal(spool_tree_update(&got, f->repo, NULL, 64,
						   ups), 0);
		assert_true(git_oid_equal(&want, &got));
	}
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
		cmocka_unit_test_setup_teardown(
			test_tree_update_matches_libgit2, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_tree_update_big_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_tree_update_same_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stored_objects, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
