/* Helpers shared by the spool(1) subcommands: errors, exit codes, output. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "state.h"
#include "root.h"
#include "ops.h"
#include "registry.h"
#include "shared.h"
#include "task-files.h"
#include "cmd.h"

/*
 * Root in a shared spool works as the spool's owner: what it writes in
 * .git and the state directories must stay spoold's to write. The saved
 * uid stays root, for what only root may do (giving claimed/NAME to its
 * agent's user); the caller is remembered as root.
 */
static int as_owner(const struct cmd_entry *self, spool *sp)
{
	uid_t owner = spool_shared_owner(sp);
	struct passwd *pw;

	if (geteuid() != 0 || owner == 0)
		return 0;
	spool_caller_set(sp, getuid());
	if (!(pw = getpwuid(owner)) ||
	    initgroups(pw->pw_name, pw->pw_gid) < 0 ||
	    setegid(pw->pw_gid) < 0 || seteuid(owner) < 0)
		return cmd_error(self, "cannot act as the spool's owner (uid "
				 "%ld): %s", (long)owner, strerror(errno));
	return 0;
}

int cmd_open(const struct cmd_entry *self, struct cmd_ctx *ctx)
{
	int rc;

	if (ctx->sp)
		return 0;
	rc = spool_open(&ctx->sp, ctx->dir);
	if (rc < 0)
		return cmd_fail(self, rc);
	if (spool_shared(ctx->sp))
		return as_owner(self, ctx->sp);
	return 0;
}

bool cmd_remote(struct cmd_ctx *ctx)
{
	return spool_shared(ctx->sp) &&
	       geteuid() != spool_shared_owner(ctx->sp) && geteuid() != 0;
}

int cmd_whoami(const struct cmd_entry *self, struct cmd_ctx *ctx,
	       const char *opt, const char **actor)
{
	static char name[SPOOL_NAME_MAX + 1];
	int rc;

	if (!spool_shared(ctx->sp)) {
		*actor = cmd_actor(opt);
		return 0;
	}
	if ((rc = spool_shared_actor(name, sizeof(name), ctx->sp,
				     spool_caller(ctx->sp),
				     cmd_agent(opt))) < 0)
		return cmd_fail(self, rc);
	*actor = name;
	return 0;
}

int cmd_call(const struct cmd_entry *self, struct cmd_ctx *ctx,
	     json_t *request, json_t **reply)
{
	json_t *r = NULL;
	int rc;

	*reply = NULL;
	rc = spool_remote_call(&r, ctx->sp, request);
	json_decref(request);
	if (rc < 0)
		return cmd_fail(self, rc);
	rc = (int)json_integer_value(json_object_get(r, "rc"));
	if (rc < 0) {
		spool_error_set(rc, "%s", json_string_value(json_object_get(r,
							"message")));
		json_decref(r);
		return cmd_fail(self, rc);
	}
	*reply = r;
	return 0;
}

/* The request a command sends spoold: its verb, and who it says it acts
 * as, which spoold checks against the uid the kernel gives it. */
json_t *cmd_request(const struct cmd_entry *self, const char *opt)
{
	const char *agent = cmd_agent(opt);
	json_t *rq = json_pack("{s:s}", "verb", self->name);

	if (rq && agent)
		json_object_set_new(rq, "agent", json_string(agent));
	return rq;
}

int cmd_fail(const struct cmd_entry *self, int rc)
{
	const char *msg = spool_error_message();

	fprintf(stderr, "spool: %s: %s\n", self->name,
		msg && *msg ? msg : "unknown error");
	switch (rc) {
	case SPOOL_ENOWORK:
		return EXIT_NOWORK;
	case SPOOL_ETIMEOUT:
		return EXIT_TIMEOUT;
	default:
		return EXIT_ERROR;
	}
}

int cmd_error(const struct cmd_entry *self, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "spool: %s: ", self->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_ERROR;
}

int cmd_usage(const struct cmd_entry *self)
{
	fprintf(stderr, "usage: spool %s %s\n", self->name, self->usage);
	fprintf(stderr, "Try 'spool help %s' for more.\n", self->name);
	return EXIT_USAGE;
}

void cmd_print_help(FILE *fp, const struct cmd_entry *self)
{
	fprintf(fp, "usage: spool %s %s\n\n%s\n", self->name, self->usage,
		self->summary);
	if (self->help)
		fprintf(fp, "\n%s", self->help);
}

const char *cmd_agent(const char *opt)
{
	const char *env;

	if (opt && *opt)
		return opt;
	env = getenv("SPOOL_AGENT");
	return env && *env ? env : NULL;
}

const char *cmd_actor(const char *opt)
{
	const char *a = cmd_agent(opt);

	if (a)
		return a;
	a = getenv("USER");
	return a && *a && spool_name_valid(a) ? a : "operator";
}

void cmd_print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		free(s);
	}
}

const struct cmd_entry *cmd_find(const char *name)
{
	for (size_t i = 0; cmd_table[i]; i++)
		if (strcmp(cmd_table[i]->name, name) == 0)
			return cmd_table[i];
	return NULL;
}

void cmd_print_place(const char *id, const spool_loc *loc, bool json)
{
	char where[128], path[256];

	spool_loc_format(where, sizeof(where), loc);
	spool_loc_path(path, sizeof(path), loc, id);
	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "id", id, "state",
				      spool_state_name(loc->state), "path",
				      path);
		if (loc->state == SPOOL_STATE_CLAIMED)
			json_object_set_new(o, "agent", json_string(loc->agent));
		cmd_print_json(o);
		json_decref(o);
	} else {
		printf("%s\n", path);
	}
}

/* A spool place as spoold's answer gives it. */
bool cmd_reply_place(spool_loc *loc, json_t *reply)
{
	const char *st = json_string_value(json_object_get(reply, "state"));
	const char *agent = json_string_value(json_object_get(reply,
							      "agent"));

	memset(loc, 0, sizeof(*loc));
	if (!st || (loc->state = spool_state_parse(st)) == SPOOL_STATE_NONE)
		return false;
	if (agent)
		snprintf(loc->agent, sizeof(loc->agent), "%s", agent);
	return true;
}

static int id_remote(const struct cmd_entry *self, struct cmd_ctx *ctx,
		     const char *id, const char *agent, const spool_op_opts *o,
		     bool json, const char *past)
{
	json_t *rq = cmd_request(self, agent), *reply;
	spool_loc loc;
	int rc;

	if (!rq)
		return cmd_error(self, "out of memory");
	json_object_set_new(rq, "id", json_string(id));
	if (o->reason)
		json_object_set_new(rq, "reason", json_string(o->reason));
	if (o->feedback)
		json_object_set_new(rq, "feedback", json_string(o->feedback));
	if (o->to_ready)
		json_object_set_new(rq, "to_ready", json_true());
	if ((rc = cmd_call(self, ctx, rq, &reply)) != 0)
		return rc;
	if (cmd_reply_place(&loc, reply)) {
		if (json) {
			cmd_print_place(id, &loc, true);
		} else {
			char where[128];
			spool_loc_format(where, sizeof(where), &loc);
			printf("%s %s: now in %s\n", id, past, where);
		}
	}
	json_decref(reply);
	return EXIT_OK;
}

int cmd_id_op(const struct cmd_entry *self, struct cmd_ctx *ctx, int argc,
	      char **argv, cmd_id_fn fn, const char *past)
{
	static const struct option opts[] = {
		{ "agent", required_argument, NULL, 'a' },
		{ "reason", required_argument, NULL, 'r' },
		{ "feedback", required_argument, NULL, 'f' },
		{ "to-ready", no_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	spool_op_opts o = { 0 };
	const char *agent = NULL;
	bool json = false;
	spool_loc loc;
	int c, rc;

	while ((c = getopt_long(argc, argv, "a:r:f:Rjh", opts, NULL)) != -1) {
		switch (c) {
		case 'a': agent = optarg; break;
		case 'r': o.reason = optarg; break;
		case 'f': o.feedback = optarg; break;
		case 'R': o.to_ready = true; break;
		case 'j': json = true; break;
		case 'h': cmd_print_help(stdout, self); return EXIT_OK;
		default: return cmd_usage(self);
		}
	}
	if (optind + 1 != argc)
		return cmd_usage(self);
	/* Only the options this command documents are accepted. */
	if ((o.reason && !strstr(self->usage, "--reason")) ||
	    (o.feedback && !strstr(self->usage, "--feedback")) ||
	    (o.to_ready && !strstr(self->usage, "--to-ready")))
		return cmd_usage(self);
	if ((rc = cmd_open(self, ctx)) != 0)
		return rc;
	if (cmd_remote(ctx))
		return id_remote(self, ctx, argv[optind], agent, &o, json,
				 past);
	if ((rc = cmd_whoami(self, ctx, agent, &o.actor)) != 0)
		return rc;
	if ((rc = fn(ctx->sp, argv[optind], &o)) < 0)
		return cmd_fail(self, rc);
	if (spool_task_find(&loc, ctx->sp, argv[optind]) == 0) {
		if (json)
			cmd_print_place(argv[optind], &loc, true);
		else {
			char where[128];
			spool_loc_format(where, sizeof(where), &loc);
			printf("%s %s: now in %s\n", argv[optind], past, where);
		}
	}
	return EXIT_OK;
}
