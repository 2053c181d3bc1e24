/*
 * Skill packs: a skill directory as a gzip'd tar of NAME/..., written and
 * read with libarchive; a zip, as skills are often shared, installs under
 * the same rules. Installing checks every entry before it is written,
 * extracts into a temporary directory inside the root, validates the
 * skill there and renames it into place, so a root never holds half a
 * skill or anything from outside the pack's one directory. What a pack
 * unpacks to is bounded: in entries, in bytes, and in how far it expands
 * (an archive bomb unpacks to thousands of times its size).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "larchive.h"
#include "hydrate.h"

#define PACK_MAX_ENTRIES 10000
#define PACK_MAX_BYTES ((int64_t)256 << 20)
/* Text deflates to a third or a tenth of its size; a skill that unpacks
 * to more than a hundred times its pack is refused once past a MiB. */
#define PACK_MAX_RATIO 100
#define PACK_RATIO_FLOOR ((int64_t)1 << 20)

static int rm_entry(const char *p, const struct stat *st, int flag,
		    struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p) < 0 && errno != ENOENT ? -1 : 0;
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * Does a link at path (relative to the skill, "a/b/l") pointing at target
 * stay inside the skill? Lexical: absolute targets and ones that climb
 * above the skill's top do not.
 */
static bool link_inside(const char *path, const char *target)
{
	int depth = 0;
	const char *p;

	if (!*target || target[0] == '/')
		return false;
	for (p = path; (p = strchr(p, '/')); p++)
		depth++;	/* directories above the link */
	for (p = target; *p;) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return false;
		} else if (n > 0 && !(n == 1 && p[0] == '.')) {
			depth++;
		}
		p += n;
		while (*p == '/')
			p++;
	}
	return true;
}

/* ---- pack -------------------------------------------------------------- */

struct walk {
	char **v;
	size_t n;
	size_t skip;	/* length of the skill dir prefix */
	int err;
};

static struct walk *walk_ctx;

static int walk_entry(const char *p, const struct stat *st, int flag,
		      struct FTW *f)
{
	char **v;

	(void)st;
	(void)flag;
	if (f->level == 0)
		return 0;
	v = realloc(walk_ctx->v, (walk_ctx->n + 1) * sizeof(*v));
	if (!v || !(v[walk_ctx->n] = strdup(p + walk_ctx->skip))) {
		if (v)
			walk_ctx->v = v;
		walk_ctx->err = ENOMEM;
		return -1;
	}
	walk_ctx->v = v;
	walk_ctx->n++;
	return 0;
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int pack_one(struct archive *a, const char *dir, const char *name,
		    const char *rel)
{
	char src[PATH_MAX], dst[PATH_MAX], target[PATH_MAX], buf[65536];
	struct archive_entry *e;
	struct stat st;
	int rc = 0, fd = -1;
	ssize_t n;

	snprintf(src, sizeof(src), "%s/%s", dir, rel);
	snprintf(dst, sizeof(dst), "%s/%s", name, rel);
	if (lstat(src, &st) < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot read '%s'", src);
	if (!(e = archive_entry_new()))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	archive_entry_set_pathname(e, dst);
	archive_entry_set_mtime(e, st.st_mtime, 0);
	archive_entry_set_perm(e, S_ISDIR(st.st_mode) || (st.st_mode & 0111)
			       ? 0755 : 0644);
	if (S_ISDIR(st.st_mode)) {
		archive_entry_set_filetype(e, AE_IFDIR);
	} else if (S_ISLNK(st.st_mode)) {
		n = readlink(src, target, sizeof(target) - 1);
		if (n < 0) {
			rc = spool_error_sys(SPOOL_ERROR, "cannot read link "
					     "'%s'", src);
			goto out;
		}
		target[n] = '\0';
		if (!link_inside(rel, target)) {
			rc = spool_error_set(SPOOL_EINVALID, "cannot pack '%s': "
					     "the link to '%s' leaves the skill",
					     src, target);
			goto out;
		}
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_symlink(e, target);
	} else if (S_ISREG(st.st_mode)) {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_size(e, st.st_size);
		fd = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			rc = spool_error_sys(SPOOL_ERROR, "cannot read '%s'",
					     src);
			goto out;
		}
	} else {
		rc = spool_error_set(SPOOL_EINVALID, "cannot pack '%s': only "
				     "files, directories and links go in a "
				     "skill", src);
		goto out;
	}
	if (archive_write_header(a, e) != ARCHIVE_OK) {
		rc = spool_error_set(SPOOL_ERROR, "cannot write '%s': %s", dst,
				     archive_error_string(a));
		goto out;
	}
	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		if (archive_write_data(a, buf, (size_t)n) < 0) {
			rc = spool_error_set(SPOOL_ERROR, "cannot write '%s': "
					     "%s", dst, archive_error_string(a));
			break;
		}
out:
	if (fd >= 0)
		close(fd);
	archive_entry_free(e);
	return rc;
}

int spool_skill_pack(const char *dir, const char *out_file)
{
	struct walk w = { 0 };
	struct archive *a = NULL;
	spool_skill *s = NULL;
	char tmp[PATH_MAX];
	int rc;

	if ((rc = spool_larchive_load()) < 0)
		return rc;

	if ((rc = spool_skill_load(&s, dir)) < 0)
		return rc;
	w.skip = strlen(dir) + 1;
	walk_ctx = &w;
	if (nftw(dir, walk_entry, 16, FTW_PHYS) != 0) {
		rc = w.err ? spool_error_set(SPOOL_ERROR, "out of memory")
			   : spool_error_sys(SPOOL_ERROR, "cannot read '%s'",
					     dir);
		goto out;
	}
	if (w.n)
		qsort(w.v, w.n, sizeof(*w.v), cmpstr);

	snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", out_file, (long)getpid());
	a = archive_write_new();
	if (!a || archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
	    archive_write_set_format_pax_restricted(a) != ARCHIVE_OK) {
		rc = spool_error_set(SPOOL_ERROR, "cannot start the pack: %s",
				     a ? archive_error_string(a) : "no memory");
		goto out;
	}
	if (archive_write_open_filename(a, tmp) != ARCHIVE_OK) {
		rc = spool_error_set(SPOOL_ERROR, "cannot write '%s': %s",
				     out_file, archive_error_string(a));
		goto out;
	}
	{
		/* The skill's own directory entry first. */
		struct archive_entry *e = archive_entry_new();

		archive_entry_set_pathname(e, s->name);
		archive_entry_set_filetype(e, AE_IFDIR);
		archive_entry_set_perm(e, 0755);
		if (archive_write_header(a, e) != ARCHIVE_OK)
			rc = spool_error_set(SPOOL_ERROR, "cannot write '%s': "
					     "%s", out_file,
					     archive_error_string(a));
		archive_entry_free(e);
	}
	for (size_t i = 0; i < w.n && rc == 0; i++)
		rc = pack_one(a, dir, s->name, w.v[i]);
	if (rc == 0 && archive_write_close(a) != ARCHIVE_OK)
		rc = spool_error_set(SPOOL_ERROR, "cannot write '%s': %s",
				     out_file, archive_error_string(a));
	if (rc == 0 && rename(tmp, out_file) < 0)
		rc = spool_error_sys(SPOOL_ERROR, "cannot write '%s'",
				     out_file);
	if (rc < 0)
		unlink(tmp);
out:
	if (a)
		archive_write_free(a);
	for (size_t i = 0; i < w.n; i++)
		free(w.v[i]);
	free(w.v);
	spool_skill_free(s);
	return rc;
}

/* ---- install ----------------------------------------------------------- */

/* Checks one entry's path; sets *top to its first component. */
static int check_path(const char *file, const char *path, char *top,
		      size_t toplen)
{
	const char *p;

	if (!*path)
		return spool_error_set(SPOOL_EINVALID, "pack '%s': an entry "
				       "has an empty name", file);
	if (path[0] == '/')
		return spool_error_set(SPOOL_EINVALID, "pack '%s': refusing "
				       "absolute path '%s'", file, path);
	for (p = path; *p;) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return spool_error_set(SPOOL_EINVALID, "pack '%s': "
					       "refusing '..' in '%s'", file,
					       path);
		p += n;
		while (*p == '/')
			p++;
	}
	snprintf(top, toplen, "%.*s", (int)strcspn(path, "/"), path);
	return 0;
}

static const char *kind_of(mode_t t)
{
	switch (t) {
	case AE_IFCHR:
	case AE_IFBLK:
		return "a device file";
	case AE_IFIFO:
		return "a FIFO";
	case AE_IFSOCK:
		return "a socket";
	default:
		return "an entry of an unknown type";
	}
}

static int check_entry(const char *file, struct archive_entry *e,
		       const char *path, char *name, size_t namelen)
{
	char top[PATH_MAX];
	mode_t t = archive_entry_filetype(e);
	const char *rest;
	int rc;

	if ((rc = check_path(file, path, top, sizeof(top))) < 0)
		return rc;
	if (!spool_skill_name_valid(top))
		return spool_error_set(SPOOL_EINVALID, "pack '%s': '%s' is not "
				       "inside a directory named as a valid "
				       "skill", file, path);
	if (!*name && strlen(top) < namelen)
		strcpy(name, top);
	else if (strcmp(name, top) != 0)
		return spool_error_set(SPOOL_EINVALID, "pack '%s': holds more "
				       "than one skill ('%s' and '%s')", file,
				       name, top);
	if (archive_entry_hardlink(e))
		return spool_error_set(SPOOL_EINVALID, "pack '%s': refusing "
				       "hard link '%s'", file, path);
	if (t == AE_IFLNK) {
		const char *target = archive_entry_symlink(e);

		rest = path + strlen(top);
		rest += *rest == '/';
		if (!target || !*rest || !link_inside(rest, target))
			return spool_error_set(SPOOL_EINVALID, "pack '%s': "
					       "refusing link '%s' to '%s': it "
					       "leaves the skill", file, path,
					       target ? target : "");
		return 0;
	}
	if (t == AE_IFREG || t == AE_IFDIR)
		return 0;
	return spool_error_set(SPOOL_EINVALID, "pack '%s': refusing '%s': %s",
			       file, path, kind_of(t));
}

/* What a pack may still unpack to. */
struct budget {
	int64_t total;	/* unpacked so far */
	int64_t packed;	/* the pack's size; 0 if not known (a pipe) */
};

static int over_budget(struct archive *in, const char *file,
		       const struct budget *b)
{
	int64_t packed = b->packed > 0 ? b->packed :
			 archive_filter_bytes(in, -1);

	if (b->total > PACK_MAX_BYTES)
		return spool_error_set(SPOOL_EINVALID, "pack '%s': larger "
				       "than 256 MiB unpacked", file);
	if (b->total > PACK_RATIO_FLOOR &&
	    b->total / PACK_MAX_RATIO > (packed > 0 ? packed : 1))
		return spool_error_set(SPOOL_EINVALID, "pack '%s': refusing "
				       "an archive bomb: %lld bytes unpack to "
				       "more than %d times that", file,
				       (long long)packed, PACK_MAX_RATIO);
	return 0;
}

static int copy_data(struct archive *in, struct archive *out,
		     const char *file, struct budget *b)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	int r, rc;

	while ((r = archive_read_data_block(in, &buf, &size, &off)) ==
	       ARCHIVE_OK) {
		b->total += (int64_t)size;
		if ((rc = over_budget(in, file, b)) < 0)
			return rc;
		if (archive_write_data_block(out, buf, size, off) != ARCHIVE_OK)
			return spool_error_set(SPOOL_ERROR, "pack '%s': %s",
					       file, archive_error_string(out));
	}
	if (r != ARCHIVE_EOF)
		return spool_error_set(SPOOL_EINVALID, "pack '%s': %s", file,
				       archive_error_string(in));
	return 0;
}

static int extract(char *name, size_t namelen, const char *file,
		   const char *tmp)
{
	struct archive *in = archive_read_new();
	struct archive *out = archive_write_disk_new();
	struct archive_entry *e;
	char dst[PATH_MAX * 2];
	struct budget b = { 0 };
	struct stat st;
	size_t count = 0;
	int r = ARCHIVE_OK, rc = 0, fd = -1;

	if (!in || !out) {
		rc = spool_error_set(SPOOL_ERROR, "out of memory");
		goto out;
	}
	/* Not every filter: some run an outside program (lrzip, lzop). */
	archive_read_support_filter_gzip(in);
	archive_read_support_filter_bzip2(in);
	archive_read_support_filter_xz(in);
	archive_read_support_filter_zstd(in);
	archive_read_support_format_tar(in);
	archive_read_support_format_zip(in);
	archive_write_disk_set_options(out, ARCHIVE_EXTRACT_SECURE_SYMLINKS |
				       ARCHIVE_EXTRACT_SECURE_NODOTDOT |
				       ARCHIVE_EXTRACT_NO_OVERWRITE);
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) < 0) {
		rc = spool_error_sys(errno == ENOENT ? SPOOL_ENOTFOUND
				     : SPOOL_ERROR, "cannot read pack '%s'",
				     file);
		goto out;
	}
	b.packed = S_ISREG(st.st_mode) ? (int64_t)st.st_size : 0;
	if (archive_read_open_fd(in, fd, 65536) != ARCHIVE_OK) {
		rc = spool_error_set(SPOOL_EINVALID, "cannot read pack '%s': "
				     "%s", file, archive_error_string(in));
		goto out;
	}
	while (rc == 0 && (r = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
		const char *name_in = archive_entry_pathname(e);
		char path[PATH_MAX];

		while (name_in && name_in[0] == '.' && name_in[1] == '/')
			name_in += 2;
		if (name_in && strlen(name_in) >= sizeof(path)) {
			rc = spool_error_set(SPOOL_EINVALID, "pack '%s': a name "
					     "is too long", file);
			break;
		}
		snprintf(path, sizeof(path), "%s", name_in ? name_in : "");
		if (!*path || strcmp(path, ".") == 0)
			continue;
		if (++count > PACK_MAX_ENTRIES) {
			rc = spool_error_set(SPOOL_EINVALID, "pack '%s': more "
					     "than 10000 entries", file);
			break;
		}
		if ((rc = check_entry(file, e, path, name, namelen)) < 0)
			break;
		/* a size it owns up to is refused before a byte is written */
		if (archive_entry_size_is_set(e) &&
		    archive_entry_size(e) > PACK_MAX_BYTES - b.total) {
			rc = spool_error_set(SPOOL_EINVALID, "pack '%s': '%s' "
					     "makes it larger than 256 MiB "
					     "unpacked", file, path);
			break;
		}
		snprintf(dst, sizeof(dst), "%s/%s", tmp, path);
		archive_entry_set_pathname(e, dst);
		archive_entry_set_uid(e, getuid());
		archive_entry_set_gid(e, getgid());
		archive_entry_set_perm(e, archive_entry_filetype(e) == AE_IFDIR
				       || (archive_entry_perm(e) & 0111)
				       ? 0755 : 0644);
		if (archive_write_header(out, e) != ARCHIVE_OK) {
			rc = spool_error_set(SPOOL_EINVALID, "pack '%s': cannot "
					     "extract '%s': %s", file, path,
					     archive_error_string(out));
			break;
		}
		if (archive_entry_filetype(e) == AE_IFREG &&
		    (rc = copy_data(in, out, file, &b)) < 0)
			break;
		if (archive_write_finish_entry(out) != ARCHIVE_OK)
			rc = spool_error_set(SPOOL_ERROR, "pack '%s': cannot "
					     "extract '%s': %s", file, path,
					     archive_error_string(out));
	}
	if (rc == 0 && r != ARCHIVE_EOF)
		rc = spool_error_set(SPOOL_EINVALID, "pack '%s': %s", file,
				     archive_error_string(in));
	if (rc == 0 && !*name)
		rc = spool_error_set(SPOOL_EINVALID, "pack '%s' is empty",
				     file);
out:
	if (in)
		archive_read_free(in);
	if (out)
		archive_write_free(out);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Validates tmp/name, naming files as they are in the pack. */
static int validate(const char *file, const char *tmp, const char *name)
{
	char dir[PATH_MAX], buf[1200];
	spool_skill *s;
	size_t skip = strlen(tmp) + 1;
	int rc;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", tmp, name) >=
	    sizeof(dir))
		return spool_error_set(SPOOL_EINVALID, "path too long");
	if ((rc = spool_skill_check(&s, dir)) < 0)
		return rc;
	if (s->ndiags) {
		spool_skill_diag d = s->diags[0];

		if (strlen(d.file) > skip)
			d.file += skip;
		spool_skill_diag_format(buf, sizeof(buf), &d);
		rc = spool_error_set(SPOOL_EINVALID, "pack '%s': invalid skill: "
				     "%s", file, buf);
	}
	spool_skill_free(s);
	return rc;
}

int spool_skill_install(char **name_out, const char *pack_file,
			const char *root, bool force)
{
	char tmp[PATH_MAX], src[PATH_MAX + 80], dst[PATH_MAX + 80];
	char name[SPOOL_SKILL_NAME_MAX + 2] = "", real[PATH_MAX];
	struct stat st;
	int rc;

	if ((rc = spool_larchive_load()) < 0)
		return rc;

	*name_out = NULL;
	/* Canonical, so that no link in the root's own path trips the
	 * check for links inside the extracted paths. */
	if (!realpath(root, real) || stat(real, &st) < 0 ||
	    !S_ISDIR(st.st_mode))
		return spool_error_sys(SPOOL_ENOTFOUND, "root '%s'", root);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.spool-install-XXXXXX", real)
	    >= sizeof(tmp))
		return spool_error_set(SPOOL_EINVALID, "root '%s': path too long",
				       root);
	if (!mkdtemp(tmp))
		return spool_error_sys(SPOOL_ERROR, "cannot create a temporary "
				       "directory in '%s'", root);
	if ((rc = extract(name, sizeof(name), pack_file, tmp)) < 0 ||
	    (rc = validate(pack_file, tmp, name)) < 0)
		goto out;
	snprintf(src, sizeof(src), "%s/%s", tmp, name);
	snprintf(dst, sizeof(dst), "%s/%s", real, name);
	if (renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
		goto done;
	if (errno != EEXIST) {
		rc = spool_error_sys(SPOOL_ERROR, "cannot install '%s'", dst);
		goto out;
	}
	if (!force) {
		rc = spool_error_set(SPOOL_EEXISTS, "skill '%s' is already in "
				     "'%s'; --force replaces it", name, root);
		goto out;
	}
	/* Swap old and new in one step; the old one is removed with tmp. */
	if (renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_EXCHANGE) < 0) {
		rc = spool_error_sys(SPOOL_ERROR, "cannot replace '%s'", dst);
		goto out;
	}
done:
	if (!(*name_out = strdup(name)))
		rc = spool_error_set(SPOOL_ERROR, "out of memory");
out:
	rm_tree(tmp);
	return rc;
}
