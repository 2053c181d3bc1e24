/*
 * Packing the history. Every commit rewrites the trees of the directories
 * it touches; loose, each version costs the whole tree. libgit2's
 * packbuilder stores them as deltas. Packing writes a new pack, then
 * deletes the loose objects that pack holds (what git calls prune-packed);
 * objects written meanwhile stay loose until the next time, so no lock is
 * needed. The git CLI never writes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2/sys/odb_backend.h>

#include "error.h"
#include "fsutil.h"
#include "root.h"
#include "gitpack.h"
#include "repo.h"

#define PACKED_MARK ".spool/run/packed"
/* A loose object is written in milliseconds: a scratch file this old was
 * left by a writer that died (git's prune waits longer, two weeks). */
#define TMP_OBJ_AGE (60 * 60)

size_t spool_loose_estimate(spool *sp, size_t *bytes)
{
	git_repository *repo;
	char dir[PATH_MAX];
	size_t n = 0, size = 0;

	if (bytes)
		*bytes = 0;
	if (spool_repo(&repo, sp) < 0)
		return 0;
	/* 16 of the 256 fan-out directories, scaled up. */
	for (int i = 0; i < 16; i++) {
		struct dirent *de;
		struct stat st;
		DIR *d;
		snprintf(dir, sizeof(dir), "%sobjects/%02x",
			 git_repository_path(repo), i * 16 + 7);
		if (!(d = opendir(dir)))
			continue;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			n++;
			if (bytes && fstatat(dirfd(d), de->d_name, &st,
					     AT_SYMLINK_NOFOLLOW) == 0)
				size += (size_t)st.st_size;
		}
		closedir(d);
	}
	if (bytes)
		*bytes = size * 16;
	return n * 16;
}

static int hex_val(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* A scratch file of a writer that died: a loose object's (tmp_obj_), or
 * a pack's and its index's that libgit2's indexer was writing
 * (pack_git2_). */
static void prune_tmp(int dirfd, const char *name, const char *prefix,
		      time_t now)
{
	struct stat st;

	if (strncmp(name, prefix, strlen(prefix)) == 0 &&
	    fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && now - st.st_mtime > TMP_OBJ_AGE)
		unlinkat(dirfd, name, 0);
}

static void prune_pack_tmp(git_repository *repo)
{
	char dir[PATH_MAX];
	struct dirent *de;
	time_t now = time(NULL);
	DIR *d;

	snprintf(dir, sizeof(dir), "%sobjects/pack",
		 git_repository_path(repo));
	if (!(d = opendir(dir)))
		return;
	while ((de = readdir(d)))
		prune_tmp(dirfd(d), de->d_name, "pack_git2_", now);
	closedir(d);
}

/* Deletes loose objects that the new pack holds, and old scratch files. */
static size_t prune_packed(git_repository *repo, git_odb_backend *pack)
{
	char dir[PATH_MAX], hex[GIT_OID_HEXSZ + 1];
	size_t removed = 0;
	time_t now = time(NULL);

	for (int i = 0; i < 256; i++) {
		struct dirent *de;
		DIR *d;
		int fd;
		snprintf(dir, sizeof(dir), "%sobjects/%02x",
			 git_repository_path(repo), i);
		if (!(d = opendir(dir)))
			continue;
		fd = dirfd(d);
		while ((de = readdir(d))) {
			git_oid oid;
			if (de->d_name[0] == 't') {
				prune_tmp(fd, de->d_name, "tmp_obj_", now);
				continue;
			}
			if (strlen(de->d_name) != GIT_OID_HEXSZ - 2 ||
			    hex_val(de->d_name[0]) < 0)
				continue;
			snprintf(hex, sizeof(hex), "%02x%s", i, de->d_name);
			if (git_oid_fromstr(&oid, hex) < 0)
				continue;
			if (pack->exists(pack, &oid) &&
			    unlinkat(fd, de->d_name, 0) == 0)
				removed++;
		}
		/* The empty fan-out directory stays: the next commit would
		 * create it again. */
		closedir(d);
	}
	return removed;
}

int spool_pack(size_t *packed, spool *sp)
{
	git_repository *repo;
	git_packbuilder *pb = NULL;
	git_revwalk *walk = NULL;
	git_odb_backend *pack = NULL;
	git_oid head, last;
	char *mark = NULL, idx[PATH_MAX], buf[GIT_OID_HEXSZ + 2];
	int rc;

	*packed = 0;
	if ((rc = spool_repo(&repo, sp)) < 0)
		return rc;
	if (git_reference_name_to_id(&head, repo, "HEAD") < 0)
		return spool_error_git("cannot read HEAD");
	if (git_packbuilder_new(&pb, repo) < 0 ||
	    git_revwalk_new(&walk, repo) < 0 ||
	    git_revwalk_push(walk, &head) < 0) {
		rc = spool_error_git("cannot start packing");
		goto out;
	}
	git_packbuilder_set_threads(pb, 1);
	if (spool_fs_read(&mark, NULL, sp, PACKED_MARK, 128) == 0 &&
	    git_oid_fromstrn(&last, mark, GIT_OID_HEXSZ) == 0 &&
	    git_revwalk_hide(walk, &last) < 0)
		git_error_clear();	/* unknown: pack everything */
	spool_error_clear();
	if (git_packbuilder_insert_walk(pb, walk) < 0) {
		rc = spool_error_git("cannot list the objects to pack");
		goto out;
	}
	if (git_packbuilder_object_count(pb) == 0)
		goto out;
	if (git_packbuilder_write(pb, NULL, 0, NULL, NULL) < 0) {
		rc = spool_error_git("cannot write the pack");
		goto out;
	}
	*packed = git_packbuilder_object_count(pb);
	snprintf(idx, sizeof(idx), "%sobjects/pack/pack-%s.idx",
		 git_repository_path(repo), git_packbuilder_name(pb));
	if (git_odb_backend_one_pack(&pack, idx) < 0) {
		rc = spool_error_git("cannot open the new pack");
		goto out;
	}
	prune_packed(repo, pack);
	prune_pack_tmp(repo);
	git_oid_tostr(buf, sizeof(buf), &head);
	strcat(buf, "\n");
	rc = spool_fs_write(sp, PACKED_MARK, buf, strlen(buf), false);
out:
	if (pack)
		pack->free(pack);
	free(mark);
	git_revwalk_free(walk);
	git_packbuilder_free(pb);
	return rc;
}
