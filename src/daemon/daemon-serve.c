/*
 * The socket of a shared spool (.spool/run/spoold.sock): callers that may
 * not write the history themselves ask here. Who asks is the uid the
 * kernel gives with the connection (SO_PEERCRED), never a name a process
 * wrote. One request a connection, answered before the next event: a
 * caller that sends nothing is cut off after a short wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "shared.h"

#define REQUEST_MAX (64 * 1024)

int serve_open(struct daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	json_t *cfg = json_object_get(spool_config(d->sp), "shared");
	struct group *gr;
	int fd;

	d->servefd = -1;
	if (!spool_shared(d->sp))
		return 0;
	gr = getgrnam(json_string_value(json_object_get(cfg, "group")));
	if ((size_t)snprintf(a.sun_path, sizeof(a.sun_path), "%s/%s",
			     spool_root(d->sp), SPOOL_SOCKET) >=
	    sizeof(a.sun_path))
		return spool_error_set(SPOOL_ERROR, "the spool's path is too "
				       "long for its socket");
	if (spool_open(&d->serve_sp, spool_root(d->sp)) < 0)
		return SPOOL_ERROR;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot make a socket");
	unlink(a.sun_path);	/* we hold the daemon's lock: it is stale */
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 64) < 0) {
		close(fd);
		return spool_error_sys(SPOOL_ERROR, "cannot listen on '%s'",
				       SPOOL_SOCKET);
	}
	/* The group connects; the kernel tells us who each one is. */
	if (gr && chown(a.sun_path, (uid_t)-1, gr->gr_gid) < 0)
		WARN("cannot give '%s' to group %s: %s", SPOOL_SOCKET,
		     gr->gr_name, strerror(errno));
	if (chmod(a.sun_path, 0660) < 0)
		WARN("cannot set the mode of '%s': %s", SPOOL_SOCKET,
		     strerror(errno));
	d->servefd = fd;
	ev.data.fd = fd;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev);
	INFO("serving requests on %s", SPOOL_SOCKET);
	return 0;
}

static void answer(int fd, json_t *reply)
{
	char *s = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
	size_t n = s ? strlen(s) : 0, off = 0;

	while (off < n) {
		ssize_t w = write(fd, s + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;	/* the caller went away */
		off += (size_t)w;
	}
	free(s);
}

static void serve_one(struct daemon *d, int fd)
{
	struct timeval tv = { .tv_sec = 2 };
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	char *buf = malloc(REQUEST_MAX);
	size_t len = 0;
	json_t *rq, *reply;

	if (!buf)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
		WARN("request: cannot tell who asks: %s", strerror(errno));
		free(buf);
		return;
	}
	while (len < REQUEST_MAX - 1) {
		ssize_t n = read(fd, buf + len, REQUEST_MAX - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(buf, '\n', len))
			break;
	}
	rq = json_loadb(buf, len, JSON_DISABLE_EOF_CHECK, NULL);
	free(buf);
	reply = spool_serve(d->serve_sp, cred.uid, rq);
	INFO("request %s from uid %ld as '%s': %s",
	     json_string_value(json_object_get(rq, "verb")) ?
	     json_string_value(json_object_get(rq, "verb")) : "?",
	     (long)cred.uid,
	     json_string_value(json_object_get(reply, "actor")),
	     json_integer_value(json_object_get(reply, "rc")) == 0 ? "done"
	     : json_string_value(json_object_get(reply, "message")));
	answer(fd, reply);
	json_decref(reply);
	json_decref(rq);
}

void serve_accept(struct daemon *d)
{
	int fd;

	while ((fd = accept4(d->servefd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		serve_one(d, fd);
		close(fd);
	}
}

void serve_close(struct daemon *d)
{
	char path[4096];

	if (d->servefd < 0)
		return;
	snprintf(path, sizeof(path), "%s/%s", spool_root(d->sp),
		 SPOOL_SOCKET);
	unlink(path);
	close(d->servefd);
	d->servefd = -1;
	spool_free(d->serve_sp);
	d->serve_sp = NULL;
}
