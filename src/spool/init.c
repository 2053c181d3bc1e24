/* spool init: a new spool from the layout directory, first commit. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "root.h"
#include "gitindex.h"
#include "history.h"
#include "repo.h"
#include "init.h"

static int copy_file(int sfd, int dfd, const char *name, mode_t mode)
{
	char buf[65536];
	ssize_t n;
	int in, out, rc = 0;

	in = openat(sfd, name, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot read layout file "
				       "'%s'", name);
	out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		     mode & 0777);
	if (out < 0) {
		close(in);
		return errno == EEXIST ? 0 : spool_error_sys(SPOOL_ERROR,
			"cannot create '%s'", name);
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			rc = spool_error_sys(SPOOL_ERROR, "cannot write '%s'",
					     name);
			break;
		}
	if (n < 0)
		rc = spool_error_sys(SPOOL_ERROR, "cannot read '%s'", name);
	if (rc == 0 && fsync(out) < 0)
		rc = spool_error_sys(SPOOL_ERROR, "cannot sync '%s'", name);
	close(in);
	close(out);
	return rc;
}

/* Copies the layout tree; files already present are left alone. */
static int copy_tree(int sfd, int dfd)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, rc = 0;

	if ((fd = dup(sfd)) < 0 || !(d = fdopendir(fd)))
		return spool_error_sys(SPOOL_ERROR, "cannot read the layout");
	while (rc == 0 && (de = readdir(d))) {
		int s2, d2;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(sfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISREG(st.st_mode)) {
			rc = copy_file(sfd, dfd, de->d_name, st.st_mode);
			continue;
		}
		if (!S_ISDIR(st.st_mode))
			continue;
		if (mkdirat(dfd, de->d_name, 0777) < 0 && errno != EEXIST) {
			rc = spool_error_sys(SPOOL_ERROR, "cannot create '%s'",
					     de->d_name);
			break;
		}
		s2 = openat(sfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		d2 = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		rc = s2 < 0 || d2 < 0 ? spool_error_sys(SPOOL_ERROR,
			"cannot open '%s'", de->d_name) : copy_tree(s2, d2);
		if (s2 >= 0)
			close(s2);
		if (d2 >= 0)
			close(d2);
	}
	closedir(d);
	return rc;
}

static int first_commit(const char *dir, const char *layout)
{
	spool_commit *c = NULL;
	struct dirent *de;
	spool *sp = NULL;
	DIR *d;
	int rc;

	if ((rc = spool_open(&sp, dir)) < 0)
		return rc;
	if ((rc = spool_lock(sp, -1)) < 0 ||
	    (rc = spool_commit_new(&c, sp)) < 0)
		goto out;
	if (!(d = opendir(layout))) {
		rc = spool_error_sys(SPOOL_ERROR, "cannot read '%s'", layout);
		goto out;
	}
	/* Only what the layout put there: never someone's other files. */
	while (rc == 0 && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			rc = spool_commit_path(c, de->d_name);
	closedir(d);
	if (rc == 0)
		rc = spool_commit_subject(c, "init spool");
	if (rc == 0)
		rc = spool_commit_write(c, "spool");
	if (rc == 0)
		rc = spool_index_sync(sp);
out:
	spool_commit_free(c);
	spool_free(sp);
	return rc;
}

int spool_init(bool *created, const char *dir, const char *layout)
{
	git_repository *repo = NULL;
	git_repository_init_options opts;
	char path[PATH_MAX];
	struct stat st;
	int sfd = -1, dfd = -1, rc;

	*created = false;
	snprintf(path, sizeof(path), "%s/.spool/config.json", dir);
	if (stat(path, &st) == 0)
		return 0;
	if (mkdir(dir, 0777) < 0 && errno != EEXIST)
		return spool_error_sys(SPOOL_ERROR, "cannot create '%s'", dir);
	sfd = open(layout, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot open the layout "
			"'%s' (set SPOOL_LAYOUT)", layout);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		close(sfd);
		return spool_error_sys(SPOOL_ERROR, "cannot open '%s'", dir);
	}
	rc = copy_tree(sfd, dfd);
	if (rc == 0) {
		mkdirat(dfd, "tmp", 0777);
		mkdirat(dfd, ".spool/run", 0777);
	}
	close(sfd);
	close(dfd);
	if (rc < 0)
		return rc;
	git_libgit2_init();
	git_repository_init_options_init(&opts,
					 GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	opts.flags = GIT_REPOSITORY_INIT_MKPATH;
	opts.initial_head = "main";
	/* An existing repository is kept as it is (init is idempotent). */
	if (git_repository_init_ext(&repo, dir, &opts) < 0)
		return spool_error_git("cannot initialise git in '%s'", dir);
	git_repository_free(repo);
	if ((rc = first_commit(dir, layout)) < 0)
		return rc;
	*created = true;
	return 0;
}
