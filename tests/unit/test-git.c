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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "machine.h"
#include "notice.h"
#include "state.h"
#include "root.h"
#include "gitloose.h"
#include "gittree.h"
#include "history.h"
#include "repo.h"
#include "init.h"
#include "reconcile.h"
#include "transition.h"

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

/* git's order, a tree sorting as NAME/: strictly increasing, so no name
 * comes twice (a file and a directory of one name sort apart). */
static int entry_order(const git_tree_entry *a, const git_tree_entry *b)
{
	const char *x = git_tree_entry_name(a), *y = git_tree_entry_name(b);
	size_t lx = strlen(x), ly = strlen(y), n = lx < ly ? lx : ly;
	int c = memcmp(x, y, n);
	int cx, cy;

	if (c)
		return c;
	cx = n < lx ? (unsigned char)x[n] :
	     git_tree_entry_type(a) == GIT_OBJECT_TREE ? '/' : 0;
	cy = n < ly ? (unsigned char)y[n] :
	     git_tree_entry_type(b) == GIT_OBJECT_TREE ? '/' : 0;
	return cx - cy;
}

static void assert_tree_sound(struct fixture *f, const git_oid *id)
{
	git_tree *t;
	size_t n;

	assert_int_equal(git_tree_lookup(&t, f->repo, id), 0);
	n = git_tree_entrycount(t);
	for (size_t i = 0; i < n; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);
		assert_true(spool_tree_name_valid(git_tree_entry_name(e),
			strlen(git_tree_entry_name(e)),
			git_tree_entry_filemode(e)));
		for (size_t k = i + 1; k < n; k++) {
			const git_tree_entry *o = git_tree_entry_byindex(t, k);
			assert_string_not_equal(git_tree_entry_name(e),
						git_tree_entry_name(o));
		}
		if (i)
			assert_true(entry_order(git_tree_entry_byindex(t, i - 1),
						e) < 0);
		if (git_tree_entry_type(e) == GIT_OBJECT_TREE)
			assert_tree_sound(f, git_tree_entry_id(e));
	}
	git_tree_free(t);
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
		if (!valid_for_libgit2(f, base, ups, n, &want)) {
			/* where libgit2 refuses, the spool may go on (a file
			 * replacing a directory) or refuse; it never writes
			 * a tree git cannot read */
			if (spool_tree_update(&got, f->repo, base, n, ups) == 0)
				assert_tree_sound(f, &got);
			continue;
		}
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

/* A file and a directory of one name, both kept, in one call: refused,
 * never two entries of one name. A file removed where a directory comes
 * makes way for it. */
static void test_tree_update_file_and_dir(void **state)
{
	struct fixture *f = *state;
	git_oid id = blob(f, "x\n"), got, base_id;
	git_tree_update ups[3] = {
		{ GIT_TREE_UPDATE_UPSERT, id, GIT_FILEMODE_BLOB, "d/a" },
		{ GIT_TREE_UPDATE_UPSERT, id, GIT_FILEMODE_BLOB, "d/a-b" },
		{ GIT_TREE_UPDATE_UPSERT, id, GIT_FILEMODE_BLOB, "d/a/x" },
	};
	git_tree *base, *tree;
	git_tree_entry *e;

	assert_int_equal(spool_tree_update(&got, f->repo, NULL, 3, ups),
			 SPOOL_EINVALID);
	assert_int_equal(spool_tree_update(&base_id, f->repo, NULL, 2, ups),
			 0);
	assert_int_equal(git_tree_lookup(&base, f->repo, &base_id), 0);
	/* d/a is a file at base: a directory there needs its removal */
	assert_int_equal(spool_tree_update(&got, f->repo, base, 1, &ups[2]),
			 SPOOL_EINVALID);
	ups[0].action = GIT_TREE_UPDATE_REMOVE;
	assert_int_equal(spool_tree_update(&got, f->repo, base, 3, ups), 0);
	assert_tree_sound(f, &got);
	assert_int_equal(git_tree_lookup(&tree, f->repo, &got), 0);
	assert_int_equal(git_tree_entry_bypath(&e, tree, "d/a/x"), 0);
	git_tree_entry_free(e);
	git_tree_free(tree);
	/* a file replacing a directory takes its place whole */
	git_tree_free(base);
	assert_int_equal(git_tree_lookup(&base, f->repo, &got), 0);
	ups[0].action = GIT_TREE_UPDATE_UPSERT;
	assert_int_equal(spool_tree_update(&got, f->repo, base, 1, ups), 0);
	assert_tree_sound(f, &got);
	git_tree_free(base);
}

/* The names git refuses, checked against git itself: a tree holding one
 * of them fails git fsck (hasDotgit made an error), a tree holding one
 * the spool takes passes. */
static const struct {
	const char *name;
	git_filemode_t mode;
	bool valid;
} names[] = {
	{ ".git", GIT_FILEMODE_TREE, false },
	{ ".git", GIT_FILEMODE_BLOB, false },
	{ ".GIT", GIT_FILEMODE_TREE, false },
	{ ".gIt", GIT_FILEMODE_BLOB, false },
	{ ".git.", GIT_FILEMODE_TREE, false },
	{ ".git ", GIT_FILEMODE_TREE, false },
	{ ".git . .", GIT_FILEMODE_BLOB, false },
	{ ".git:x", GIT_FILEMODE_BLOB, false },
	{ ".git\\config", GIT_FILEMODE_BLOB, false },
	{ "git~1", GIT_FILEMODE_TREE, false },
	{ "GIT~1", GIT_FILEMODE_BLOB, false },
	{ "git~1. ", GIT_FILEMODE_BLOB, false },
	{ ".g\xe2\x80\x8cit", GIT_FILEMODE_TREE, false },	/* U+200C */
	{ "\xef\xbb\xbf.git", GIT_FILEMODE_BLOB, false },	/* U+FEFF */
	{ ".GI\xe2\x80\xaeT", GIT_FILEMODE_TREE, false },	/* U+202E */
	{ ".gitmodules", GIT_FILEMODE_LINK, false },
	{ ".GITMODULES.", GIT_FILEMODE_LINK, false },
	{ "gitmod~1", GIT_FILEMODE_LINK, false },
	{ "gi7eba~9", GIT_FILEMODE_LINK, false },
	{ ".gitmodules", GIT_FILEMODE_BLOB, true },
	{ ".gitx", GIT_FILEMODE_TREE, true },
	{ ".git~1", GIT_FILEMODE_BLOB, true },
	{ "git~2", GIT_FILEMODE_BLOB, true },
	{ "a.git", GIT_FILEMODE_BLOB, true },
	{ "...", GIT_FILEMODE_BLOB, true },
	{ "..a", GIT_FILEMODE_BLOB, true },
	{ ".gi\xe2\x80\x8c", GIT_FILEMODE_BLOB, true },
	{ ".g\xc0\xa9it", GIT_FILEMODE_BLOB, true },	/* not UTF-8 */
	{ "git", GIT_FILEMODE_BLOB, true },
	{ ".gitignore", GIT_FILEMODE_LINK, true },
};

static int git_fsck_tree(struct fixture *f, size_t i, const char *name,
			 git_filemode_t mode, const git_oid *id)
{
	char dir[4200], in[4300], cmd[13000];
	FILE *fp;

	snprintf(dir, sizeof(dir), "%s/n%zu", f->dir, i);
	snprintf(in, sizeof(in), "%s.in", dir);
	fp = fopen(in, "w");
	assert_non_null(fp);
	fprintf(fp, "%o %s %s\t%s", (unsigned)mode,
		mode == GIT_FILEMODE_TREE ? "tree" : "blob",
		git_oid_tostr_s(id), name);
	fputc('\0', fp);
	fclose(fp);
	snprintf(cmd, sizeof(cmd), "git init -q '%s' && cd '%s' && "
		 "printf x | git hash-object -w --stdin >/dev/null && "
		 "git mktree --missing -z <'%s' >tree && "
		 "git -c fsck.hasDotgit=error fsck --full --strict "
		 "--no-dangling >/dev/null 2>&1", dir, dir, in);
	return system(cmd);
}

static void test_tree_names(void **state)
{
	struct fixture *f = *state;
	git_oid x = blob(f, "x"), empty, got;
	git_treebuilder *tb;
	char path[64];

	assert_int_equal(git_treebuilder_new(&tb, f->repo, NULL), 0);
	assert_int_equal(git_treebuilder_insert(NULL, tb, "x", &x,
						GIT_FILEMODE_BLOB), 0);
	assert_int_equal(git_treebuilder_write(&empty, tb), 0);
	git_treebuilder_free(tb);
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		const char *name = names[i].name;
		git_filemode_t mode = names[i].mode;
		git_tree_update up = { GIT_TREE_UPDATE_UPSERT, x,
				       GIT_FILEMODE_BLOB, path };
		int want = names[i].valid ? 0 : SPOOL_EINVALID;

		assert_int_equal(spool_tree_name_valid(name, strlen(name),
						       mode), names[i].valid);
		snprintf(path, sizeof(path), "deliverables/T-1/%s%s", name,
			 mode == GIT_FILEMODE_TREE ? "/f" : "");
		if (mode != GIT_FILEMODE_TREE)
			up.filemode = mode;
		assert_int_equal(spool_tree_update(&got, f->repo, NULL, 1,
						   &up), want);
		/* git agrees */
		if (names[i].valid)
			assert_int_equal(git_fsck_tree(f, i, name, mode,
				mode == GIT_FILEMODE_TREE ? &empty : &x), 0);
		else
			assert_int_not_equal(git_fsck_tree(f, i, name, mode,
				mode == GIT_FILEMODE_TREE ? &empty : &x), 0);
	}
	{
		/* empty, "." and ".." components are refused as well */
		static const char *bad[] = { "a//b", "/a", "a/./b", "a/../b",
					     "a/.", "..", "" };
		for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
			git_tree_update up = { GIT_TREE_UPDATE_UPSERT, x,
					       GIT_FILEMODE_BLOB, bad[i] };
			assert_int_equal(spool_tree_update(&got, f->repo, NULL,
							   1, &up),
					 SPOOL_EINVALID);
		}
	}
}

/* ---- the history on a real spool ---------------------------------------- */

struct spool_fixture {
	char dir[4096];
	spool *sp;
	int notices;
	char last[1024];
};

static void count_notice(const char *msg, void *payload)
{
	struct spool_fixture *f = payload;

	f->notices++;
	snprintf(f->last, sizeof(f->last), "%s", msg);
}

static int spool_setup(void **state)
{
	struct spool_fixture *f = calloc(1, sizeof(*f));
	const char *layout = getenv("SPOOL_LAYOUT");
	const char *tmp = getenv("TMPDIR");
	bool created;

	if (!layout || !*layout)
		layout = access("spool-layout", F_OK) == 0 ? "spool-layout"
							   : "../spool-layout";
	snprintf(f->dir, sizeof(f->dir), "%s/spool-git.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir) || spool_init(&created, f->dir, layout) < 0 ||
	    spool_open(&f->sp, f->dir) < 0)
		return -1;
	spool_notice_set(count_notice, f);
	*state = f;
	return 0;
}

static int spool_teardown(void **state)
{
	struct spool_fixture *f = *state;
	char cmd[4200];

	spool_notice_set(NULL, NULL);
	spool_free(f->sp);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void sh(struct spool_fixture *f, const char *script)
{
	char cmd[8192];

	snprintf(cmd, sizeof(cmd), "cd '%s' && %s", f->dir, script);
	assert_int_equal(system(cmd), 0);
}

/* Stages each path (with the shell step before it), writes the commit. */
static void commit(struct spool_fixture *f, const char *const *steps)
{
	spool_commit *c;

	assert_int_equal(spool_commit_new(&c, f->sp), 0);
	for (size_t i = 0; steps[i]; i += 2) {
		if (*steps[i])
			sh(f, steps[i]);
		assert_int_equal(spool_commit_path(c, steps[i + 1]), 0);
	}
	assert_int_equal(spool_commit_write(c, "test"), 0);
	spool_commit_free(c);
}

static void head_has(struct spool_fixture *f, const char *spec,
		     const char *type)
{
	char cmd[8192];

	snprintf(cmd, sizeof(cmd), "test \"$(git -C '%s' cat-file -t "
		 "'HEAD:%s' 2>&1)\" = '%s'", f->dir, spec, type);
	if (system(cmd) != 0)
		fail_msg("HEAD:%s is not a %s", spec, type);
}

/* A path seen as a directory and then, in the same commit, as a file (or
 * the other way round): what is on disk when written is committed. */
static void test_commit_file_dir_one_commit(void **state)
{
	struct spool_fixture *f = *state;
	const char *dir_then_file[] = {
		"mkdir -p deliverables/T-1/a && echo x >deliverables/T-1/a/x",
		"deliverables/T-1",
		"rm -r deliverables/T-1/a && echo flat >deliverables/T-1/a",
		"deliverables/T-1/a",
		NULL };
	const char *file_then_dir[] = {
		"echo flat >deliverables/T-1/b", "deliverables/T-1/b",
		"rm deliverables/T-1/b && mkdir deliverables/T-1/b && "
		"echo y >deliverables/T-1/b/y", "deliverables/T-1",
		NULL };
	const char *both_at_head[] = {
		"rm -r deliverables/T-1/b && echo flat >deliverables/T-1/b && "
		"rm deliverables/T-1/a && mkdir deliverables/T-1/a && "
		"echo z >deliverables/T-1/a/z", "deliverables/T-1",
		NULL };

	commit(f, dir_then_file);
	head_has(f, "deliverables/T-1/a", "blob");
	commit(f, file_then_dir);
	head_has(f, "deliverables/T-1/b/y", "blob");
	head_has(f, "deliverables/T-1/a", "blob");
	commit(f, both_at_head);
	head_has(f, "deliverables/T-1/a/z", "blob");
	head_has(f, "deliverables/T-1/b", "blob");
	sh(f, "git -c fsck.hasDotgit=error fsck --strict >/dev/null 2>&1");
	assert_int_equal(f->notices, 0);
}

/* A nested .git and a name taken for it: left out, told once a commit,
 * said in the message; one an older spool recorded is taken out. */
static void test_commit_leaves_dotgit_out(void **state)
{
	struct spool_fixture *f = *state;
	const char *nested[] = {
		"mkdir -p deliverables/T-1/.git/objects deliverables/T-1/GIT~1 "
		"&& echo c >deliverables/T-1/.git/config && "
		"echo o >deliverables/T-1/.git/objects/o && "
		"echo d >deliverables/T-1/GIT~1/x && echo r "
		">deliverables/T-1/r", "deliverables/T-1/.git/config",
		"", "deliverables/T-1/.git/objects/o",
		"", "deliverables/T-1",
		NULL };
	const char *old[] = { "", "deliverables/T-1", NULL };
	char cmd[8192], id[64];
	FILE *fp;

	commit(f, nested);
	head_has(f, "deliverables/T-1/r", "blob");
	snprintf(cmd, sizeof(cmd), "git -C '%s' ls-tree -r --name-only HEAD "
		 "| grep -iq 'T-1/\\(.git\\|git~1\\)'", f->dir);
	assert_int_not_equal(system(cmd), 0);
	assert_int_equal(f->notices, 2);	/* .git and GIT~1, once each */
	snprintf(cmd, sizeof(cmd), "git -C '%s' log -1 --format=%%B | "
		 "grep -c '^ *deliverables/T-1/\\(.git\\|GIT~1\\)$' | "
		 "grep -qx 2", f->dir);
	assert_int_equal(system(cmd), 0);

	/* an older spool's commit with a .git in it, made with git */
	snprintf(cmd, sizeof(cmd), "cd '%s' && b=$(printf c | git hash-object "
		 "-w --stdin) && g=$(printf '100644 blob %%s\\tconfig\\n' $b | "
		 "git mktree) && t=$(git ls-tree HEAD:deliverables/T-1 | "
		 "{ cat; printf '040000 tree %%s\\t.git\\n' $g; } | git mktree)"
		 " && d=$(git ls-tree HEAD:deliverables | sed 's/[^ ]* [^ ]* "
		 "[^\t]*\t\\(.*\\)/040000 tree '$t'\t\\1/' | git mktree) && "
		 "r=$(git ls-tree HEAD | sed '/\tdeliverables$/s/tree [0-9a-f]*"
		 "/tree '$d'/' | git mktree) && c=$(git -c user.name=a -c "
		 "user.email=a@a commit-tree $r -p HEAD -m old) && "
		 "git update-ref HEAD $c && git cat-file -e "
		 "HEAD:deliverables/T-1/.git/config && git rev-parse HEAD "
		 ">.old", f->dir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/.old", f->dir);
	assert_non_null(fp = fopen(cmd, "r"));
	assert_non_null(fgets(id, sizeof(id), fp));
	fclose(fp);
	commit(f, old);
	snprintf(cmd, sizeof(cmd), "cd '%s' && ! git cat-file -e "
		 "HEAD:deliverables/T-1/.git 2>/dev/null && git cat-file -e "
		 "HEAD:deliverables/T-1/r && test \"$(git rev-parse HEAD~1)\" "
		 "= \"$(cat .old)\"", f->dir);
	assert_int_equal(system(cmd), 0);
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

static int count_out(struct spool_fixture *f, const char *script)
{
	char cmd[8192];
	int n = -1;
	FILE *fp;

	snprintf(cmd, sizeof(cmd), "cd '%s' && %s", f->dir, script);
	assert_non_null(fp = popen(cmd, "r"));
	assert_int_equal(fscanf(fp, "%d", &n), 1);
	pclose(fp);
	return n;
}

#define PACKS "ls .git/objects/pack | grep -c '\\.pack$'"
#define LOOSE "find .git/objects/?? -type f | wc -l"

/* A commit of many new blobs stores them as one pack, each once (200
 * files, 150 contents), a big one loose; git reads them all. A small
 * commit stays loose; past what a commit keeps in memory, the rest is
 * written loose. */
static void test_commit_many_blobs_one_pack(void **state)
{
	struct spool_fixture *f = *state;
	const char *many[] = {
		"mkdir -p deliverables/T-1 && for i in $(seq 200); do "
		"echo \"content $((i % 150))\" >deliverables/T-1/f$i; done && "
		"head -c 100000 /dev/zero | tr '\\0' b >deliverables/T-1/big",
		"deliverables/T-1", NULL };
	const char *few[] = {
		"mkdir -p deliverables/T-2 && for i in 1 2 3; do "
		"echo \"other $i\" >deliverables/T-2/f$i; done",
		"deliverables/T-2", NULL };
	const char *big[] = {
		"mkdir -p deliverables/T-3 && for i in $(seq 300); do "
		"{ echo $i; head -c 59990 /dev/zero; } >deliverables/T-3/f$i; "
		"done", "deliverables/T-3", NULL };
	int packs = count_out(f, PACKS), loose = count_out(f, LOOSE);

	commit(f, many);
	assert_int_equal(count_out(f, PACKS), packs + 1);
	/* the big blob, three trees (root, deliverables/, T-1/), the commit */
	assert_int_equal(count_out(f, LOOSE), loose + 5);
	sh(f, "for i in $(seq 200); do git cat-file blob "
	      "HEAD:deliverables/T-1/f$i | cmp -s - deliverables/T-1/f$i "
	      "|| exit 1; done");
	sh(f, "git cat-file blob HEAD:deliverables/T-1/big | "
	      "cmp -s - deliverables/T-1/big");
	sh(f, "git verify-pack .git/objects/pack/*.idx");
	commit(f, few);
	assert_int_equal(count_out(f, PACKS), packs + 1);
	head_has(f, "deliverables/T-2/f3", "blob");
	/* 300 blobs of 60,000 bytes: the first 16 MB in a pack, the rest
	 * loose once the queue is full */
	loose = count_out(f, LOOSE);
	commit(f, big);
	assert_int_equal(count_out(f, PACKS), packs + 2);
	assert_true(count_out(f, LOOSE) >= loose + 300 - 16 * 1024 * 1024 / 60000);
	sh(f, "for i in $(seq 300); do git cat-file blob "
	      "HEAD:deliverables/T-3/f$i | cmp -s - deliverables/T-3/f$i "
	      "|| exit 1; done");
	sh(f, "git fsck --strict --no-dangling >/dev/null 2>&1");
	assert_int_equal(f->notices, 0);
}

/*
 * A release by mv is recorded with its effect (attempt + 1), written into
 * the file before the commit. A process killed between the two must not
 * leave that value behind: the next one, seeing the task where HEAD has
 * it with other content, would take it for an agent's edit in ready/ and
 * revert it. Here an agent claimed and released with mv; the child
 * records the release and dies before committing, as kill -9 would.
 */
static void test_rewrite_killed_before_commit(void **state)
{
	struct spool_fixture *f = *state;
	static const char *const steps[] = {
		"echo '{\"id\": \"T-1\", \"title\": \"t\"}' >ready/T-1.json",
		"ready/T-1.json", NULL
	};
	int status;
	pid_t pid;

	commit(f, steps);
	sh(f, "mkdir claimed/a && mv ready/T-1.json claimed/a/ && "
	   "mv claimed/a/T-1.json ready/");
	if ((pid = fork()) == 0) {
		spool_request rq = { .id = "T-1", .actor = "a", .moved = true,
				     .via = SPOOL_VIA_MV };
		spool_outcome out;
		spool_commit *c;
		spool_loc_parse(&rq.from, "claimed/a");
		spool_loc_parse(&rq.to, "ready");
		if (spool_lock(f->sp, -1) < 0 ||
		    spool_commit_new(&c, f->sp) < 0 ||
		    spool_transition_apply(&out, c, f->sp, &rq) < 0)
			_exit(1);
		_exit(0);	/* killed: nothing written, nothing undone */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	sh(f, "grep -q '\"attempt\": 2' ready/T-1.json");
	assert_int_equal(spool_reconcile_locked(NULL, f->sp), 0);
	/* Nothing the agents did shows any more: nothing to record, and
	 * nothing taken for an edit. */
	sh(f, "! git log --format=%B | grep -e revert -e quarantine");
	sh(f, "git show HEAD:ready/T-1.json | cmp -s - ready/T-1.json");
	sh(f, "test -z \"$(find quarantine .spool/run/intent -type f "
	   "! -name .gitkeep)\"");
}

/* What was staged after a savepoint goes when it is rolled back, however
 * the paths were changed before it; what was staged before it stays. */
static void test_commit_rollback(void **state)
{
	struct spool_fixture *f = *state;
	static const char *const base[] = {
		"echo one >ready/a && echo one >ready/b", "ready/a",
		"", "ready/b", NULL
	};
	spool_transition t;
	spool_loc from, to;
	spool_commit *c;

	commit(f, base);
	spool_loc_parse(&from, "ready");
	spool_loc_parse(&to, "claimed/a1");
	spool_transition_init(&t, "T-1", &from, &to, "claim", "a1");
	assert_int_equal(spool_commit_new(&c, f->sp), 0);
	sh(f, "echo two >ready/a && echo x >ready/x");
	assert_int_equal(spool_commit_path(c, "ready/a"), 0);
	assert_int_equal(spool_commit_path(c, "ready/x"), 0);
	assert_int_equal(spool_commit_begin(c), 0);
	assert_int_equal(spool_commit_blob(c, "ready/a", "three\n", 6), 0);
	assert_int_equal(spool_commit_remove(c, "ready/b"), 0);
	assert_int_equal(spool_commit_remove(c, "ready/x"), 0);
	assert_int_equal(spool_commit_blob(c, "ready/n", "n\n", 2), 0);
	assert_int_equal(spool_commit_transition(c, &t), 0);
	assert_int_equal(spool_commit_count(c), 1);
	spool_commit_rollback(c);
	assert_int_equal(spool_commit_count(c), 0);
	/* a second part, kept */
	assert_int_equal(spool_commit_begin(c), 0);
	assert_int_equal(spool_commit_blob(c, "ready/k", "k\n", 2), 0);
	spool_commit_end(c);
	assert_int_equal(spool_commit_write(c, "test"), 0);
	spool_commit_free(c);
	sh(f, "test \"$(git show HEAD:ready/a)\" = two");
	sh(f, "test \"$(git show HEAD:ready/b)\" = one");
	sh(f, "test \"$(git show HEAD:ready/x)\" = x");
	sh(f, "test \"$(git show HEAD:ready/k)\" = k");
	sh(f, "! git cat-file -e HEAD:ready/n 2>/dev/null");
	sh(f, "! git log -1 --format=%B | grep -q Spool-Task");
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
		cmocka_unit_test_setup_teardown(
			test_tree_update_file_and_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tree_names, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_commit_file_dir_one_commit, spool_setup,
			spool_teardown),
		cmocka_unit_test_setup_teardown(
			test_commit_leaves_dotgit_out, spool_setup,
			spool_teardown),
		cmocka_unit_test_setup_teardown(test_stored_objects, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_rewrite_killed_before_commit, spool_setup,
			spool_teardown),
		cmocka_unit_test_setup_teardown(
			test_commit_many_blobs_one_pack, spool_setup,
			spool_teardown),
		cmocka_unit_test_setup_teardown(test_commit_rollback,
						spool_setup, spool_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
