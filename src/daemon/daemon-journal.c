/*
 * The daemon's journal: the history read back after each batch, so that
 * every recorded transition runs its hook once, whoever made it and
 * whether or not the daemon was running then.
 *
 * Two places are kept. d->journal is how far the history has been read;
 * it lives in memory. d->hooked is how far hooks have been started, and
 * lives in .spool/run/journal as "v2 SEQ PLACE": SEQ numbers the hooks
 * started, PLACE is "<commit>" or "<commit>:<k>". A hook starts only once
 * its place is in that file (daemon-hooks.c), so a daemon killed at any
 * instruction leaves each hook either started and recorded, or neither.
 * Without the file (the daemon's first start) the history is read from
 * its first commit: transitions made before spoold ever ran wake agents
 * too.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "error.h"
#include "root.h"
#include "journal.h"
#include "repo.h"
#include "policy.h"
#include "daemon.h"

#define JOURNAL_PATH ".spool/run/journal"
/* Every write is one line of this length: nothing of a longer one stays. */
#define LINE_LEN 100
/* How long a start waits for the hooks a killed daemon left deciding. */
#define ORPHAN_WAIT_MS 10000

/* "v2 SEQ PLACE", or the bare commit id an older daemon wrote. */
static bool parse(uint64_t *seq, spool_jpos *pos, char *s)
{
	char *end;

	s[strcspn(s, "\n")] = '\0';
	if (strncmp(s, "v2 ", 3) != 0) {
		*seq = 0;
		end = s;
		if (strlen(s) != GIT_OID_HEXSZ)
			return false;
	} else {
		*seq = strtoull(s + 3, &end, 10);
		if (end == s + 3 || *end != ' ')
			return false;
		while (*end == ' ')
			end++;
		end[strcspn(end, " ")] = '\0';
	}
	if (spool_jpos_parse(pos, end) < 0) {
		spool_error_clear();	/* the caller says what it does */
		return false;
	}
	return true;
}

bool daemon_journal_recorded(int fd, uint64_t seq)
{
	char buf[LINE_LEN + 1];
	spool_jpos pos;
	uint64_t have;
	ssize_t n;

	n = pread(fd, buf, LINE_LEN, 0);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return parse(&have, &pos, buf) && have >= seq;
}

/* Waits (a while) until no hook a killed daemon started is still
 * deciding whether to run: they hold the file locked shared. */
static void wait_orphans(int fd)
{
	int64_t end = spool_now_ms() + ORPHAN_WAIT_MS;

	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if ((errno != EWOULDBLOCK && errno != EINTR) ||
		    spool_now_ms() >= end) {
			WARN("'%s' is still locked; reading it anyway",
			     JOURNAL_PATH);
			return;
		}
		usleep(10000);
	}
	flock(fd, LOCK_UN);
}

void daemon_journal_load(struct daemon *d)
{
	char buf[LINE_LEN + 1];
	ssize_t n = 0;
	git_repository *repo;

	memset(&d->journal, 0, sizeof(d->journal));
	d->journal.k = SPOOL_JPOS_ALL;
	d->hook_seq = 0;
	mkdirat(spool_rootfd(d->sp), ".spool/run", 0777);
	d->journalfd = openat(spool_rootfd(d->sp), JOURNAL_PATH,
			      O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (d->journalfd < 0) {
		WARN("cannot open '%s': %s; hooks may run again after a "
		     "restart", JOURNAL_PATH, strerror(errno));
	} else {
		wait_orphans(d->journalfd);
		n = pread(d->journalfd, buf, LINE_LEN, 0);
	}
	if (n <= 0) {
		/* First start: from the first commit. */
		d->hooked = d->journal;
		return;
	}
	buf[n] = '\0';
	if (parse(&d->hook_seq, &d->journal, buf)) {
		d->hooked = d->journal;
		return;
	}
	/* A daemon ran hooks here, up to a place nobody can read: running
	 * the whole past again would wake every agent for old work. */
	WARN("'%s' is damaged; hooks run from the last commit on",
	     JOURNAL_PATH);
	if (spool_repo(&repo, d->sp) == 0 &&
	    git_reference_name_to_id(&d->journal.commit, repo, "HEAD") == 0)
		d->journal.k = SPOOL_JPOS_ALL;
	else
		memset(&d->journal.commit, 0, sizeof(d->journal.commit));
	spool_error_clear();
	git_error_clear();
	d->hooked = d->journal;
	daemon_journal_save(d, &d->hooked);
}

/*
 * Not synced to disk: what it guards against is the death of a process
 * (kill -9, a crash), after which the page cache holds what was written.
 * A power cut can lose the last commits as well (libgit2 does not sync
 * them either), and the journal with them.
 */
void daemon_journal_save(struct daemon *d, const spool_jpos *pos)
{
	char line[LINE_LEN + 1], place[GIT_OID_HEXSZ + 32];
	int n;

	d->hooked = *pos;
	if (d->journalfd < 0)
		return;
	spool_jpos_format(place, sizeof(place), pos);
	n = snprintf(line, sizeof(line), "v2 %llu %s",
		     (unsigned long long)d->hook_seq, place);
	memset(line + n, ' ', (size_t)(LINE_LEN - n));
	line[LINE_LEN - 1] = '\n';
	if (pwrite(d->journalfd, line, LINE_LEN, 0) != LINE_LEN)
		WARN("cannot write '%s': %s", JOURNAL_PATH, strerror(errno));
}

int daemon_journal_share(struct daemon *d)
{
	int fd = openat(spool_rootfd(d->sp), JOURNAL_PATH,
			O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && flock(fd, LOCK_SH) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

void daemon_journal_close(struct daemon *d)
{
	if (d->journalfd >= 0)
		close(d->journalfd);
	d->journalfd = -1;
}
