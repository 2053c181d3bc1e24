/*
 * The socket of a shared spool (.spool/run/spoold.sock): callers that may
 * not write the history themselves ask here. Who asks is the uid the
 * kernel gives with the connection (SO_PEERCRED), never a name a process
 * wrote. One request a connection, read as it comes between other
 * events and answered at once; a caller that sends nothing is cut off.
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

#include "error.h"
#include "root.h"
#include "policy.h"
#include "shared.h"
#include "daemon.h"

#define REQUEST_MAX (64 * 1024)
#define CONNS_MAX 32
#define CONN_WAIT_MS 2000

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

static void send_reply(int fd, json_t *reply)
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

/* A connection whose request is being read. */
struct conn {
	int fd;
	char *buf;
	size_t len;
	int64_t deadline;
};

static struct conn conns[CONNS_MAX];

static void conn_close(struct daemon *d, struct conn *c)
{
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void serve_one(struct daemon *d, struct conn *c)
{
	struct timeval tv = { .tv_sec = 1 };
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	json_t *rq, *reply;

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
		WARN("request: cannot tell who asks: %s", strerror(errno));
		return;
	}
	rq = json_loadb(c->buf, c->len, JSON_DISABLE_EOF_CHECK, NULL);
	reply = spool_serve(d->serve_sp, cred.uid, rq);
	INFO("request %s from uid %ld as '%s': %s",
	     json_string_value(json_object_get(rq, "verb")) ?
	     json_string_value(json_object_get(rq, "verb")) : "?",
	     (long)cred.uid,
	     json_string_value(json_object_get(reply, "actor")),
	     json_integer_value(json_object_get(reply, "rc")) == 0 ? "done"
	     : json_string_value(json_object_get(reply, "message")));
	/* The answer is short; a caller that does not read it is not
	 * waited for long. */
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	send_reply(c->fd, reply);
	json_decref(reply);
	json_decref(rq);
}

bool serve_read(struct daemon *d, int fd)
{
	struct conn *c = NULL;
	ssize_t n;

	for (size_t i = 0; i < CONNS_MAX && !c; i++)
		if (conns[i].buf && conns[i].fd == fd)
			c = &conns[i];
	if (!c)
		return false;
	while ((n = read(fd, c->buf + c->len, REQUEST_MAX - 1 - c->len)) > 0) {
		c->len += (size_t)n;
		if (c->len == REQUEST_MAX - 1)
			break;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR) &&
	    !memchr(c->buf, '\n', c->len))
		return true;	/* more to come */
	serve_one(d, c);
	conn_close(d, c);
	return true;
}

/* Reading a request waits for no caller: each connection is read as its
 * bytes come, between other events; one that has not sent a whole
 * request in time is closed. */
void serve_accept(struct daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct conn *c;
	int fd;

	while ((fd = accept4(d->servefd, NULL, NULL,
			     SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		c = NULL;
		for (size_t i = 0; i < CONNS_MAX && !c; i++)
			if (!conns[i].buf)
				c = &conns[i];
		if (!c || !(c->buf = malloc(REQUEST_MAX))) {
			WARN("request: %d connections wait already; refused",
			     CONNS_MAX);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->len = 0;
		c->deadline = spool_now_ms() + CONN_WAIT_MS;
		ev.data.fd = fd;
		epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev);
	}
}

void serve_expire(struct daemon *d)
{
	int64_t now = spool_now_ms();

	for (size_t i = 0; i < CONNS_MAX; i++)
		if (conns[i].buf && conns[i].deadline <= now) {
			WARN("request: no whole request in %d ms; closed",
			     CONN_WAIT_MS);
			conn_close(d, &conns[i]);
		}
}

void serve_close(struct daemon *d)
{
	char path[4096];

	for (size_t i = 0; i < CONNS_MAX; i++)
		if (conns[i].buf)
			conn_close(d, &conns[i]);
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
