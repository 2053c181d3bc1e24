/*
 * Requests through spoold, in a shared spool. A caller that may not write
 * the spool's history itself asks spoold over a Unix socket; spoold reads
 * the caller's uid from the socket (SO_PEERCRED, set by the kernel at
 * connect), decides whom it acts as, and makes the transition through
 * the same operations a command makes. Why a socket and not request
 * files: docs/shared.md.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "error.h"
#include "state.h"
#include "root.h"
#include "ops.h"
#include "registry.h"
#include "shared.h"
#include "task-files.h"

#define REPLY_MAX (1 << 20)

static int sock_path(struct sockaddr_un *a, const spool *sp)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if ((size_t)snprintf(a->sun_path, sizeof(a->sun_path), "%s/%s",
			     spool_root(sp), SPOOL_SOCKET) >=
	    sizeof(a->sun_path))
		return spool_error_set(SPOOL_ERROR, "the spool's path is too "
			"long for its socket '%s/%s'", spool_root(sp),
			SPOOL_SOCKET);
	return 0;
}

static int write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int spool_remote_call(json_t **reply, const spool *sp, json_t *request)
{
	struct sockaddr_un a;
	char *s = NULL, *buf = NULL;
	size_t len = 0;
	json_error_t jerr;
	int fd = -1, rc;

	*reply = NULL;
	if ((rc = sock_path(&a, sp)) < 0)
		return rc;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot make a socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		rc = spool_error_sys(SPOOL_ERROR, "this is a shared spool: "
			"spoold makes this change for you, and cannot be "
			"reached at '%s'", SPOOL_SOCKET);
		goto out;
	}
	if (!(s = json_dumps(request, JSON_COMPACT)) ||
	    write_all(fd, s, strlen(s)) < 0 || write_all(fd, "\n", 1) < 0) {
		rc = spool_error_sys(SPOOL_ERROR, "cannot send the request "
				     "to spoold");
		goto out;
	}
	shutdown(fd, SHUT_WR);
	if (!(buf = malloc(REPLY_MAX))) {
		rc = spool_error_set(SPOOL_ERROR, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, REPLY_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = spool_error_sys(SPOOL_ERROR, "cannot read "
					     "spoold's answer");
			goto out;
		}
		if (n == 0 || (len += (size_t)n) == REPLY_MAX)
			break;
	}
	if (!(*reply = json_loadb(buf, len, 0, &jerr)) ||
	    !json_is_integer(json_object_get(*reply, "rc"))) {
		json_decref(*reply);
		*reply = NULL;
		rc = spool_error_set(SPOOL_ERROR, "spoold gave no answer "
				     "(did it stop?)");
	}
out:
	free(buf);
	free(s);
	close(fd);
	return rc;
}

/* ---- the server's side ------------------------------------------------- */

static const struct {
	const char *verb;
	int (*fn)(spool *sp, const char *id, const spool_op_opts *o);
} id_ops[] = {
	{ "submit", spool_op_submit },
	{ "release", spool_op_release },
	{ "fail", spool_op_fail },
	{ "approve", spool_op_approve },
	{ "reject", spool_op_reject },
	{ "retry", spool_op_retry },
	{ "cancel", spool_op_cancel },
};

static const char *str(json_t *rq, const char *key)
{
	return json_string_value(json_object_get(rq, key));
}

static void place(json_t *r, const char *id, const spool_loc *loc)
{
	json_object_set_new(r, "id", json_string(id));
	json_object_set_new(r, "state", json_string(spool_state_name(
							loc->state)));
	if (loc->state == SPOOL_STATE_CLAIMED)
		json_object_set_new(r, "agent", json_string(loc->agent));
}

static int serve_id(json_t *r, spool *sp, json_t *rq, const char *actor,
		    size_t k)
{
	spool_op_opts o = { .actor = actor, .reason = str(rq, "reason"),
			    .feedback = str(rq, "feedback"),
			    .to_ready = json_is_true(json_object_get(rq,
							"to_ready")) };
	const char *id = str(rq, "id");
	spool_loc loc;
	int rc;

	if (!id || !spool_id_valid(id))
		return spool_error_set(SPOOL_EINVALID, "no valid task id");
	if ((rc = id_ops[k].fn(sp, id, &o)) < 0)
		return rc;
	if (spool_task_find(&loc, sp, id) == 0)
		place(r, id, &loc);
	return 0;
}

static int serve_add(json_t *r, spool *sp, json_t *rq, const char *actor)
{
	json_t *task = json_deep_copy(json_object_get(rq, "task"));
	char id[SPOOL_ID_MAX + 1];
	bool existed = false;
	int rc;

	if (!json_is_object(task)) {
		json_decref(task);
		return spool_error_set(SPOOL_EINVALID, "no task to add");
	}
	rc = spool_op_add(id, sizeof(id), &existed, sp, task, actor);
	json_decref(task);
	if (rc == 0) {
		json_object_set_new(r, "id", json_string(id));
		json_object_set_new(r, "existed", json_boolean(existed));
	}
	return rc;
}

static int dispatch(json_t *r, spool *sp, json_t *rq, const char *actor)
{
	const char *verb = str(rq, "verb");
	spool_entry e;
	int rc;

	for (size_t k = 0; k < SPOOL_ARRAY_SIZE(id_ops); k++)
		if (verb && strcmp(verb, id_ops[k].verb) == 0)
			return serve_id(r, sp, rq, actor, k);
	if (verb && strcmp(verb, "claim") == 0) {
		if ((rc = spool_op_claim(&e, sp, actor)) == 0)
			place(r, e.id, &e.loc);
		return rc;
	}
	if (verb && strcmp(verb, "heartbeat") == 0)
		return str(rq, "id") ? spool_op_heartbeat(sp, str(rq, "id"),
							  actor)
			: spool_error_set(SPOOL_EINVALID, "no task id");
	if (verb && strcmp(verb, "add") == 0)
		return serve_add(r, sp, rq, actor);
	if (verb && strcmp(verb, "agent") == 0) {
		if (!str(rq, "name"))
			return spool_error_set(SPOOL_EINVALID, "no agent name");
		return spool_agent_add_user(sp, str(rq, "name"),
					    str(rq, "capabilities"),
					    str(rq, "roles"), str(rq, "user"),
					    actor);
	}
	return spool_error_set(SPOOL_EINVALID, "spoold takes no '%s' "
			       "request", verb ? verb : "(none)");
}

json_t *spool_serve(spool *sp, uid_t uid, json_t *rq)
{
	char actor[SPOOL_NAME_MAX + 1] = "";
	json_t *r = json_object();
	int rc;

	if (!r)
		return NULL;
	spool_caller_set(sp, uid);
	if (!json_is_object(rq))
		rc = spool_error_set(SPOOL_EINVALID, "a request is one JSON "
				     "object");
	else if ((rc = spool_shared_actor(actor, sizeof(actor), sp, uid,
					  str(rq, "agent"))) == 0)
		rc = dispatch(r, sp, rq, actor);
	json_object_set_new(r, "rc", json_integer(rc < 0 ? rc : 0));
	json_object_set_new(r, "message", json_string(rc < 0 ?
				spool_error_message() : ""));
	json_object_set_new(r, "actor", json_string(actor));
	spool_error_clear();
	sp->caller_set = false;
	return r;
}
