/*
 * A new tree from a base and a set of path updates, written level by level
 * as git lays a tree out. git_tree_create_updated does the same through a
 * tree builder: it hashes every entry of every directory it passes into a
 * map, sorts them all again and formats each one, which for a ready/ of
 * ten thousand tasks is most of the cost of a commit. Here the base's
 * entries, already in order, are copied while the few changed ones are
 * merged in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool-int.h"

struct change {
	const char *name;
	size_t len;
	bool remove;
	git_filemode_t mode;
	git_oid id;
};

struct outbuf {
	char *p;
	size_t len, cap;
};

static int out_put(struct outbuf *o, const void *s, size_t n)
{
	if (o->len + n > o->cap) {
		size_t nc = o->cap ? o->cap * 2 : 4096;
		char *p;
		while (nc < o->len + n)
			nc *= 2;
		if (!(p = realloc(o->p, nc)))
			return spool_error_set(SPOOL_ERROR, "out of memory");
		o->p = p;
		o->cap = nc;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	return 0;
}

/* "mode name\0" and the raw id: one entry as git stores it */
static int out_entry(struct outbuf *o, git_filemode_t mode, const char *name,
		     size_t len, const git_oid *id)
{
	char m[16];
	int n;

	switch (mode) {
	case GIT_FILEMODE_BLOB:
		memcpy(m, "100644 ", 8);
		n = 7;
		break;
	case GIT_FILEMODE_TREE:
		memcpy(m, "40000 ", 7);
		n = 6;
		break;
	default:
		n = snprintf(m, sizeof(m), "%o ", (unsigned)mode);
	}
	if (out_put(o, m, (size_t)n) < 0 || out_put(o, name, len) < 0 ||
	    out_put(o, "", 1) < 0)
		return SPOOL_ERROR;
	return out_put(o, id->id, GIT_OID_RAWSZ);
}

/* git's order: a tree sorts as if its name ended in '/' */
static int entry_cmp(const char *a, size_t alen, bool atree, const char *b,
		     size_t blen, bool btree)
{
	size_t n = alen < blen ? alen : blen;
	int c = memcmp(a, b, n);
	unsigned char ca, cb;

	if (c)
		return c;
	ca = n < alen ? (unsigned char)a[n] : atree ? '/' : 0;
	cb = n < blen ? (unsigned char)b[n] : btree ? '/' : 0;
	return (int)ca - (int)cb;
}

static int cmp_name(const void *x, const void *y)
{
	const struct change *a = x, *b = y;

	return entry_cmp(a->name, a->len, false, b->name, b->len, false);
}

static int cmp_order(const void *x, const void *y)
{
	const struct change *a = x, *b = y;

	return entry_cmp(a->name, a->len, a->mode == GIT_FILEMODE_TREE,
			 b->name, b->len, b->mode == GIT_FILEMODE_TREE);
}

/* By path, then in the order given (qsort is not stable), so that of
 * two updates of one path the last one given counts, as in libgit2. */
static int cmp_update(const void *x, const void *y)
{
	const git_tree_update *a = *(const git_tree_update *const *)x;
	const git_tree_update *b = *(const git_tree_update *const *)y;
	int c = strcmp(a->path, b->path);

	return c ? c : (a > b) - (a < b);
}

/* The base's entries that did not change, in order, with the changes
 * merged in where git's order puts them. byname is ch sorted by name. */
static int merge(struct outbuf *o, const git_tree *base,
		 const struct change *ch, const struct change *byname,
		 size_t n)
{
	size_t nbase = base ? git_tree_entrycount(base) : 0, k = 0;
	int rc = 0;

	for (size_t i = 0; i <= nbase && rc == 0; i++) {
		const git_tree_entry *e = i < nbase ?
			git_tree_entry_byindex(base, i) : NULL;
		const char *name = e ? git_tree_entry_name(e) : NULL;
		size_t len = e ? strlen(name) : 0;
		bool tree = e && git_tree_entry_type(e) == GIT_OBJECT_TREE;
		struct change key = { .name = name, .len = len };

		for (; k < n && rc == 0 && (!e || entry_cmp(ch[k].name,
		       ch[k].len, ch[k].mode == GIT_FILEMODE_TREE, name, len,
		       tree) < 0); k++)
			if (!ch[k].remove)
				rc = out_entry(o, ch[k].mode, ch[k].name,
					       ch[k].len, &ch[k].id);
		if (rc == 0 && e && !bsearch(&key, byname, n, sizeof(*byname),
					     cmp_name))
			rc = out_entry(o, git_tree_entry_filemode_raw(e), name,
				       len, git_tree_entry_id(e));
	}
	return rc;
}

/* Writes base with its changes; *id is zero when nothing is left. */
static int write_level(git_oid *id, git_repository *repo,
		       const git_tree *base, struct change *ch, size_t n,
		       bool root)
{
	struct change *byname = NULL;
	struct outbuf o = { 0 };
	git_odb *odb = NULL;
	int rc = 0;

	memset(id, 0, sizeof(*id));
	if (n && !(byname = malloc(n * sizeof(*byname))))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	if (n)
		memcpy(byname, ch, n * sizeof(*ch));
	qsort(byname, n, sizeof(*byname), cmp_name);
	qsort(ch, n, sizeof(*ch), cmp_order);
	if ((rc = merge(&o, base, ch, byname, n)) < 0)
		goto out;
	if (o.len == 0 && !root)
		goto out;	/* git keeps no empty directories */
	if (git_repository_odb(&odb, repo) < 0 ||
	    git_odb_write(id, odb, o.p ? o.p : "", o.len,
			  GIT_OBJECT_TREE) < 0)
		rc = spool_error_git("cannot write a tree");
out:
	git_odb_free(odb);
	free(o.p);
	free(byname);
	return rc;
}

static int update_level(git_oid *id, git_repository *repo,
			const git_tree *base, const git_tree_update **ups,
			size_t n, size_t skip, bool root);

/* The updates below one directory: the directory's new id, or a removal
 * when it is left empty. */
static int sub_change(struct change *c, git_repository *repo,
		      const git_tree *base, const git_tree_update **ups,
		      size_t n, size_t skip)
{
	char name[1024];
	const git_tree_entry *e = NULL;
	git_tree *sub = NULL;
	int rc;

	if (c->len >= sizeof(name))
		return spool_error_set(SPOOL_EINVALID, "a path in the tree is "
				       "too long: '%s'", ups[0]->path);
	memcpy(name, c->name, c->len);
	name[c->len] = '\0';
	if (base && (e = git_tree_entry_byname(base, name))) {
		if (git_tree_entry_type(e) != GIT_OBJECT_TREE)
			return spool_error_set(SPOOL_ERROR, "cannot update "
				"'%s': '%s' is a file in the tree",
				ups[0]->path, name);
		if (git_tree_lookup(&sub, repo, git_tree_entry_id(e)) < 0)
			return spool_error_git("cannot read the tree of '%s'",
					       name);
	}
	rc = update_level(&c->id, repo, sub, ups, n, skip + c->len + 1,
			  false);
	git_tree_free(sub);
	c->mode = GIT_FILEMODE_TREE;
	c->remove = git_oid_is_zero(&c->id);
	return rc;
}

/* ups are sorted by path and all start with the same skip bytes. */
static int update_level(git_oid *id, git_repository *repo,
			const git_tree *base, const git_tree_update **ups,
			size_t n, size_t skip, bool root)
{
	struct change *ch = calloc(n ? n : 1, sizeof(*ch));
	size_t nch = 0;
	int rc = 0;

	if (!ch)
		return spool_error_set(SPOOL_ERROR, "out of memory");
	for (size_t i = 0; i < n && rc == 0;) {
		const char *name = ups[i]->path + skip;
		const char *slash = strchr(name, '/');
		struct change *c = &ch[nch++];
		size_t j = i + 1;

		c->name = name;
		c->len = slash ? (size_t)(slash - name) : strlen(name);
		if (!slash) {
			/* the same path twice: the last one counts */
			while (j < n && strcmp(ups[j]->path, ups[i]->path) == 0)
				j++;
			c->remove = ups[j - 1]->action == GIT_TREE_UPDATE_REMOVE;
			c->mode = ups[j - 1]->filemode;
			git_oid_cpy(&c->id, &ups[j - 1]->id);
		} else {
			while (j < n && strncmp(ups[j]->path + skip, name,
						c->len + 1) == 0)
				j++;
			rc = sub_change(c, repo, base, ups + i, j - i, skip);
		}
		i = j;
	}
	if (rc == 0)
		rc = write_level(id, repo, base, ch, nch, root);
	free(ch);
	return rc;
}

int spool_tree_update(git_oid *out, git_repository *repo, git_tree *base,
		      size_t n, const git_tree_update *updates)
{
	const git_tree_update **ups = malloc((n ? n : 1) * sizeof(*ups));
	int rc;

	if (!ups)
		return spool_error_set(SPOOL_ERROR, "out of memory");
	for (size_t i = 0; i < n; i++)
		ups[i] = &updates[i];
	qsort(ups, n, sizeof(*ups), cmp_update);
	rc = update_level(out, repo, base, ups, n, 0, true);
	free(ups);
	return rc;
}
