/*
 * A new tree from a base and a set of path updates, written level by level
 * as git lays a tree out. git_tree_create_updated does the same through a
 * tree builder: it hashes every entry of every directory it passes into a
 * map, sorts them all again and formats each one, which for a ready/ of
 * ten thousand tasks is most of the cost of a commit. Here the base's
 * entries, already in order, are copied while the few changed ones are
 * merged in.
 *
 * Every name it writes passes git's rules (spool_tree_name_valid), and a
 * file and a directory of one name never both go in: what git and libgit2
 * refuse to read back is never written.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "gittree.h"

struct change {
	const char *name;
	size_t len;
	bool remove;
	bool fresh;	/* a directory where a file is removed */
	git_filemode_t mode;
	git_oid id;
	const git_tree_update **ups;	/* a directory's updates below it */
	size_t nups;
};

/* ---- names git refuses ------------------------------------------------- */

/*
 * git refuses to check out a tree entry named ".git", or anything a file
 * system on some platform may take for it; fsck reports such a tree. The
 * rules below are git's (verify_path, fsck's hasDotgit), in our words.
 */

/* One UTF-8 character; its length, or -1 if the bytes are not UTF-8. */
static int utf8_next(uint32_t *cp, const unsigned char *p, size_t len)
{
	static const uint32_t least[] = { 0, 0, 0x80, 0x800, 0x10000 };
	int n = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 :
		(p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : -1;

	if (n < 0 || (size_t)n > len)
		return -1;
	*cp = n == 1 ? p[0] : p[0] & (0x7f >> n);
	for (int i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		*cp = *cp << 6 | (p[i] & 0x3f);
	}
	if (*cp < least[n] || *cp > 0x10ffff)
		return -1;	/* an overlong form is no character */
	return n;
}

/* The next character as HFS+ compares names: the code points it ignores
 * are skipped and ASCII is folded to lower case. 0 at the end, -1 for
 * bytes that are not UTF-8 (HFS+ holds no such name). */
static int32_t hfs_next(const unsigned char **p, const unsigned char *end)
{
	uint32_t cp;
	int n;

	while (*p < end) {
		if ((n = utf8_next(&cp, *p, (size_t)(end - *p))) < 0)
			return -1;
		*p += n;
		if ((cp >= 0x200c && cp <= 0x200f) ||
		    (cp >= 0x202a && cp <= 0x202e) ||
		    (cp >= 0x206a && cp <= 0x206f) || cp == 0xfeff)
			continue;
		return cp < 0x80 ? tolower((int)cp) : (int32_t)cp;
	}
	return 0;
}

/* Is name the same file as word (lower case) on HFS+? */
static bool hfs_same(const char *name, size_t len, const char *word)
{
	const unsigned char *p = (const unsigned char *)name;
	const unsigned char *end = p + len;

	for (; *word; word++)
		if (hfs_next(&p, end) != *word)
			return false;
	return hfs_next(&p, end) == 0;
}

/* NTFS drops trailing spaces and dots, reads "name:stream" as name and a
 * backslash as a separator: does name from i on add nothing? */
static bool ntfs_rest_empty(const char *name, size_t len, size_t i)
{
	for (; i < len && name[i] != ':' && name[i] != '\\'; i++)
		if (name[i] != ' ' && name[i] != '.')
			return false;
	return true;
}

/* Is name the same file as word on NTFS? */
static bool ntfs_same(const char *name, size_t len, const char *word)
{
	size_t n = strlen(word);

	return len >= n && strncasecmp(name, word, n) == 0 &&
	       ntfs_rest_empty(name, len, n);
}

/*
 * An 8.3 short name NTFS may give a long name: its first six letters, a
 * tilde and 1 to 4; once those are taken, up to six characters of a
 * hashed prefix, a tilde and a number, eight characters in all.
 */
static bool ntfs_short(const char *name, size_t len, const char *six,
		       const char *hashed)
{
	size_t i;

	if (len >= 8 && strncasecmp(name, six, 6) == 0 && name[6] == '~' &&
	    name[7] >= '1' && name[7] <= '4')
		return ntfs_rest_empty(name, len, 8);
	for (i = 0; i < len && i < 6 && name[i] != '~'; i++)
		if ((unsigned char)name[i] >= 0x80 ||
		    tolower((unsigned char)name[i]) != hashed[i])
			return false;
	if (i >= len || name[i] != '~' || i + 1 >= len ||
	    name[i + 1] < '1' || name[i + 1] > '9')
		return false;
	for (i += 2; i < 8; i++)
		if (i >= len || name[i] < '0' || name[i] > '9')
			return false;
	return ntfs_rest_empty(name, len, 8);
}

bool spool_tree_name_valid(const char *name, size_t len, git_filemode_t mode)
{
	if (len == 0 || memchr(name, '/', len) || memchr(name, '\0', len) ||
	    (len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return false;
	if (hfs_same(name, len, ".git") || ntfs_same(name, len, ".git") ||
	    ntfs_same(name, len, "git~1"))
		return false;
	/* git reads .gitmodules where it stands; never through a link */
	if (mode == GIT_FILEMODE_LINK &&
	    (hfs_same(name, len, ".gitmodules") ||
	     ntfs_same(name, len, ".gitmodules") ||
	     ntfs_short(name, len, "gitmod", "gi7eba")))
		return false;
	return true;
}

/* ---- writing ------------------------------------------------------------ */

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
		if (rc == 0 && e && (!n || !bsearch(&key, byname, n,
						     sizeof(*byname),
						     cmp_name)))
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
	if (n) {
		memcpy(byname, ch, n * sizeof(*ch));
		qsort(byname, n, sizeof(*byname), cmp_name);
		qsort(ch, n, sizeof(*ch), cmp_order);
	}
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
		      const git_tree *base, size_t skip)
{
	char name[1024];
	const git_tree_entry *e = NULL;
	git_tree *sub = NULL;
	int rc;

	if (c->len >= sizeof(name))
		return spool_error_set(SPOOL_EINVALID, "a path in the tree is "
				       "too long: '%s'", c->ups[0]->path);
	memcpy(name, c->name, c->len);
	name[c->len] = '\0';
	if (base && (e = git_tree_entry_byname(base, name)) &&
	    git_tree_entry_type(e) != GIT_OBJECT_TREE) {
		if (!c->fresh)
			return spool_error_set(SPOOL_EINVALID, "cannot update "
				"'%s': '%s' is a file in the tree",
				c->ups[0]->path, name);
	} else if (e) {
		if (git_tree_lookup(&sub, repo, git_tree_entry_id(e)) < 0)
			return spool_error_git("cannot read the tree of '%s'",
					       name);
	}
	rc = update_level(&c->id, repo, sub, c->ups, c->nups,
			  skip + c->len + 1, false);
	git_tree_free(sub);
	c->remove = git_oid_is_zero(&c->id);
	return rc;
}

/* A name about to be written must pass git's rules; what is removed
 * need not (it may be an old entry git would now refuse). */
static int check_name(const struct change *c, size_t skip)
{
	bool adds = false;

	if (!c->ups) {
		adds = !c->remove;
	} else {
		for (size_t i = 0; i < c->nups && !adds; i++)
			adds = c->ups[i]->action != GIT_TREE_UPDATE_REMOVE;
	}
	if (!adds || spool_tree_name_valid(c->name, c->len, c->mode))
		return 0;
	return spool_error_set(SPOOL_EINVALID, "cannot record '%s': git "
			       "refuses the name '%.*s'",
			       c->ups ? c->ups[0]->path : c->name - skip,
			       (int)c->len, c->name);
}

/*
 * One name given both as a file and as a directory. A file removed with
 * updates below the same name: a directory takes the file's place (and
 * a directory already there stays, as in libgit2). A file and a
 * directory both kept would be two entries of one name, which git reads
 * as a broken tree: refused.
 */
static int settle_twins(struct change *ch, size_t n, size_t skip)
{
	qsort(ch, n, sizeof(*ch), cmp_name);
	for (size_t i = 1; i < n; i++) {
		struct change *a = &ch[i - 1], *b = &ch[i];
		struct change *file = a->ups ? b : a, *dir = a->ups ? a : b;

		if (cmp_name(a, b) != 0)
			continue;
		if (file->ups || !dir->ups || !file->remove)
			return spool_error_set(SPOOL_EINVALID, "cannot record "
				"'%s': '%.*s' would be both a file and a "
				"directory", dir->ups ? dir->ups[0]->path :
				file->name - skip, (int)file->len, file->name);
		dir->fresh = true;
		file->len = 0;	/* dropped below */
	}
	return 0;
}

/* ups are sorted by path and all start with the same skip bytes. */
static int update_level(git_oid *id, git_repository *repo,
			const git_tree *base, const git_tree_update **ups,
			size_t n, size_t skip, bool root)
{
	struct change *ch = calloc(n ? n : 1, sizeof(*ch));
	size_t nch = 0, kept = 0;
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
			c->mode = GIT_FILEMODE_TREE;
			c->ups = ups + i;
			c->nups = j - i;
		}
		rc = check_name(c, skip);
		i = j;
	}
	if (rc == 0 && nch > 1)
		rc = settle_twins(ch, nch, skip);
	for (size_t i = 0; i < nch && rc == 0; i++) {
		if (ch[i].len == 0)
			continue;
		if (ch[i].ups)
			rc = sub_change(&ch[i], repo, base, skip);
		ch[kept++] = ch[i];
	}
	if (rc == 0)
		rc = write_level(id, repo, base, ch, kept, root);
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
	if (n > 1)
		qsort(ups, n, sizeof(*ups), cmp_update);
	rc = update_level(out, repo, base, ups, n, 0, true);
	free(ups);
	return rc;
}
