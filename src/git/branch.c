/*
 * The branch guard. Every commit the spool writes goes on top of the last
 * commit it saw (.spool/run/seen). If the branch moved in any other way
 * (git reset, a rebase, a forced push), HEAD no longer describes how the
 * files got where they are: comparing them would take every later move
 * for a raw move, and reverting those would send finished work back. So
 * the first writer that sees it records the fact (.spool/run/stopped),
 * and every writer refuses until an operator accepts the new HEAD.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "fsutil.h"
#include "root.h"
#include "branch.h"
#include "repo.h"

#define SEEN_PATH ".spool/run/seen"
#define STOP_PATH ".spool/run/stopped"

/* "<40 hex>\n", rewritten in place: always the same length, so a reader
 * sees the old or the new value, and a lost write leaves an ancestor. */
void spool_branch_saw(spool *sp, const git_oid *id)
{
	char hex[GIT_OID_HEXSZ + 2];
	int fd;

	git_oid_tostr(hex, sizeof(hex), id);
	hex[GIT_OID_HEXSZ] = '\n';
	fd = spool_fs_open(sp, SEEN_PATH, O_WRONLY | O_CREAT,
		    0644);
	if (fd < 0 && errno == ENOENT && mkdirat(sp->rootfd, ".spool/run",
						 0777) == 0)
		fd = spool_fs_open(sp, SEEN_PATH,
			    O_WRONLY | O_CREAT, 0644);
	if (fd < 0)
		return;	/* the next writer checks against an ancestor */
	if (pwrite(fd, hex, GIT_OID_HEXSZ + 1, 0) < 0) {
		/* as above */
	}
	close(fd);
}

static bool read_seen(char *hex, spool *sp)
{
	char buf[GIT_OID_HEXSZ + 1];
	ssize_t n;
	int fd;

	fd = spool_fs_open(sp, SEEN_PATH, O_RDONLY, 0);
	if (fd < 0)
		return false;
	n = pread(fd, buf, GIT_OID_HEXSZ, 0);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	if (n != GIT_OID_HEXSZ || strspn(buf, "0123456789abcdef") <
				  GIT_OID_HEXSZ)
		return false;
	memcpy(hex, buf, GIT_OID_HEXSZ);
	hex[GIT_OID_HEXSZ] = '\0';
	return true;
}

bool spool_branch_stopped(const spool *sp)
{
	return spool_fs_access(sp, STOP_PATH) == 0;
}

static int read_stop(spool_branch_state *st, spool *sp)
{
	char *buf = NULL;
	int rc;

	if ((rc = spool_fs_read(&buf, NULL, sp, STOP_PATH, 4096)) < 0)
		return rc;
	st->stopped = true;
	if (sscanf(buf, "seen %40[0-9a-f]\nhead %40[0-9a-f]\nsince %ld",
		   st->seen, st->head, &st->since) < 2)
		sscanf(buf, "seen %40[0-9a-f]\nhead none\nsince %ld",
		       st->seen, &st->since);
	free(buf);
	return 0;
}

static int stopped_error(const spool_branch_state *st)
{
	return spool_error_set(SPOOL_ESTOPPED, "recording is stopped: the "
		"branch moved from %.12s to %.12s, which is not a "
		"fast-forward (git reset, rebase or a forced push); nothing "
		"is recorded until an operator checks the files and runs "
		"'spool reconcile --accept-head'", st->seen,
		st->head[0] ? st->head : "nothing");
}

static int write_stop(spool *sp, const spool_branch_state *st)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "seen %s\nhead %s\nsince %ld\n", st->seen,
		 st->head[0] ? st->head : "none", st->since);
	mkdirat(sp->rootfd, ".spool/run", 0777);
	return spool_fs_write(sp, STOP_PATH, buf, strlen(buf), false);
}

/* Whether head (NULL: no branch) follows from the commit seen. */
static bool follows(spool *sp, const char *seen, const git_oid *head)
{
	git_repository *repo;
	git_oid sid;
	int r;

	if (!head || git_oid_fromstr(&sid, seen) < 0)
		return false;
	if (git_oid_equal(&sid, head))
		return true;
	if (spool_repo(&repo, sp) < 0)
		return false;
	r = git_graph_descendant_of(repo, head, &sid);
	if (r < 0)
		git_error_clear();	/* seen is gone: not an ancestor */
	return r == 1;
}

int spool_branch_check(spool *sp, const git_oid *head)
{
	spool_branch_state st;
	char hex[GIT_OID_HEXSZ + 1] = "";
	int rc;

	memset(&st, 0, sizeof(st));
	if (head)
		git_oid_tostr(hex, sizeof(hex), head);
	if (spool_branch_stopped(sp)) {
		if ((rc = read_stop(&st, sp)) < 0)
			return rc;
		return stopped_error(&st);
	}
	if (!read_seen(st.seen, sp)) {
		/* First writer here (or a fresh clone): nothing to compare. */
		if (head)
			spool_branch_saw(sp, head);
		return 0;
	}
	if (follows(sp, st.seen, head)) {
		/* Someone committed by hand on top: that is fine. */
		if (head && strcmp(st.seen, hex) != 0)
			spool_branch_saw(sp, head);
		return 0;
	}
	snprintf(st.head, sizeof(st.head), "%s", hex);
	st.stopped = true;
	st.since = (long)time(NULL);
	if ((rc = write_stop(sp, &st)) < 0)
		return rc;
	return stopped_error(&st);
}

/* HEAD, or false without a branch. */
static bool read_head(git_oid *out, spool *sp)
{
	git_repository *repo;

	if (spool_repo(&repo, sp) < 0 ||
	    git_reference_name_to_id(out, repo, "HEAD") < 0) {
		git_error_clear();
		spool_error_clear();
		return false;
	}
	return true;
}

int spool_branch_verify(spool *sp)
{
	git_oid head;
	bool have = read_head(&head, sp);

	return spool_branch_check(sp, have ? &head : NULL);
}

int spool_branch_refuse(spool *sp)
{
	spool_branch_state st;
	int rc;

	if (!spool_branch_stopped(sp))
		return 0;
	memset(&st, 0, sizeof(st));
	if ((rc = read_stop(&st, sp)) < 0)
		return rc;
	return stopped_error(&st);
}

int spool_branch_state_get(spool_branch_state *out, spool *sp,
			   const char *head_hex)
{
	char hex[GIT_OID_HEXSZ + 1] = "";
	git_oid head;

	memset(out, 0, sizeof(*out));
	if (spool_branch_stopped(sp))
		return read_stop(out, sp);
	if (!read_seen(out->seen, sp))
		return 0;
	if (!head_hex) {
		if (read_head(&head, sp))
			git_oid_tostr(hex, sizeof(hex), &head);
		head_hex = hex;
	}
	if (!*head_hex)
		return 0;
	snprintf(out->head, sizeof(out->head), "%s", head_hex);
	/* Equal hex needs no git at all: the usual case. */
	if (strcmp(out->seen, head_hex) == 0)
		return 0;
	if (git_oid_fromstr(&head, head_hex) < 0)
		return 0;
	out->stopped = !follows(sp, out->seen, &head);
	spool_error_clear();
	return 0;
}

int spool_branch_resume(spool *sp, const git_oid *head)
{
	if (head)
		spool_branch_saw(sp, head);
	if (spool_fs_unlink(sp, STOP_PATH, 0) < 0 && errno != ENOENT)
		return spool_error_sys(SPOOL_ERROR, "cannot remove '"
				       STOP_PATH "'");
	return 0;
}
