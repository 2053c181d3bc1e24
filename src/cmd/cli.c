/* Helpers shared by the spool(1) subcommands: errors, exit codes, output. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <time.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "notice.h"
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

/* The first line of a command's usage, without the "or:" forms. */
static int usage_first_line(const struct cmd_entry *self)
{
	return (int)strcspn(self->usage, "\n");
}

int cmd_usage(const struct cmd_entry *self)
{
	int n = usage_first_line(self);

	fprintf(stderr, "usage: spool %s %.*s%s ('spool help %s' says more)\n",
		self->name, n, self->usage, self->usage[n] ? " ..." : "",
		self->name);
	return EXIT_USAGE;
}

int cmd_bad_value(const struct cmd_entry *self, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "spool: %s: ", self->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

/*
 * Optimal string alignment distance: insertions, deletions,
 * substitutions and transpositions of neighbours each cost one, so
 * "sttaus" is one step from "status", as git counts a swap as cheap.
 */
size_t cmd_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), r;
	size_t *d;

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	d = calloc((la + 1) * (lb + 1), sizeof(*d));
	if (!d)
		return SIZE_MAX;
#define D(i, j) d[(i) * (lb + 1) + (j)]
	for (size_t i = 0; i <= la; i++)
		D(i, 0) = i;
	for (size_t j = 0; j <= lb; j++)
		D(0, j) = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t v = D(i - 1, j) + 1;
			if (D(i, j - 1) + 1 < v)
				v = D(i, j - 1) + 1;
			if (D(i - 1, j - 1) + cost < v)
				v = D(i - 1, j - 1) + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && D(i - 2, j - 2) + 1 < v)
				v = D(i - 2, j - 2) + 1;
			D(i, j) = v;
		}
	}
	r = D(la, lb);
#undef D
	free(d);
	return r;
}

/* Near enough to be meant: as git, a typo or two, or the start of it. */
bool cmd_similar(const char *typed, const char *name)
{
	size_t n = strlen(typed), limit = n < 4 ? 1 : 2;

	if (n >= 2 && strncmp(name, typed, n) == 0)
		return true;
	return cmd_distance(typed, name) <= limit;
}

/* The --names in a usage string, in order, without repeats. */
static size_t usage_options(char names[][32], size_t max, const char *usage)
{
	size_t n = 0;

	for (const char *p = strstr(usage, "--"); p && n < max;
	     p = strstr(p, "--")) {
		size_t len;
		p += 2;
		len = strspn(p, "abcdefghijklmnopqrstuvwxyz-");
		if (len == 0 || len >= 32)
			continue;
		memcpy(names[n], p, len);
		names[n][len] = '\0';
		for (size_t i = 0; i < n; i++)
			if (strcmp(names[i], names[n]) == 0) {
				n--;
				break;
			}
		n++;
		p += len;
	}
	return n;
}

int cmd_bad_option(const struct cmd_entry *self, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	char names[64][32], typed[64];
	size_t n = usage_options(names, 64, self->usage), eq;
	const char *best = NULL;

	if (strncmp(arg, "--", 2) != 0 || !arg[2]) {
		/* getopt tells an unknown letter from one missing its
		 * value only by its return, the same '?' for both. */
		fprintf(stderr, "spool: %s: bad option '-%c': unknown, or "
			"missing its value\n", self->name,
			optopt > ' ' && optopt < 127 ? optopt : '?');
		return cmd_usage(self);
	}
	eq = strcspn(arg + 2, "=");
	snprintf(typed, sizeof(typed), "%.*s", (int)eq, arg + 2);
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], typed) == 0 ||
		    strcmp(typed, "help") == 0) {
			fprintf(stderr, "spool: %s: option '--%s' %s\n",
				self->name, typed, arg[2 + eq] ?
				"takes no value" : "needs a value");
			return cmd_usage(self);
		}
	for (size_t i = 0; i < n; i++) {
		size_t d = cmd_distance(typed, names[i]);
		if (cmd_similar(typed, names[i]) &&
		    (!best || d < cmd_distance(typed, best)))
			best = names[i];
	}
	if (best)
		fprintf(stderr, "spool: %s: unknown option '--%s'; did you "
			"mean '--%s'?\n", self->name, typed, best);
	else
		fprintf(stderr, "spool: %s: unknown option '--%s'\n",
			self->name, typed);
	return cmd_usage(self);
}

/* The spool's form of a number-like id typed by hand, or NULL. */
static char *id_canonical(struct cmd_ctx *ctx, const char *arg)
{
	const char *prefix = json_string_value(
		json_object_get(spool_config(ctx->sp), "id_prefix"));
	const char *digits = arg;
	char buf[SPOOL_ID_MAX + 1];
	spool_loc loc;
	size_t n;

	if (!prefix || !spool_id_valid(prefix))
		prefix = "T-";
	n = strlen(prefix);
	if (strncasecmp(arg, prefix, n) == 0)
		digits = arg + n;
	if (!*digits || strspn(digits, "0123456789") != strlen(digits) ||
	    strlen(digits) > 18)
		return NULL;
	/* Found as typed, or not: either way no error is left behind. */
	if (spool_task_find(&loc, ctx->sp, arg) != SPOOL_ENOTFOUND) {
		spool_error_clear();
		return NULL;
	}
	spool_error_clear();
	snprintf(buf, sizeof(buf), "%s%s", prefix, digits);
	if (spool_task_find(&loc, ctx->sp, buf) == SPOOL_ENOTFOUND) {
		char pad[SPOOL_ID_MAX + 1];
		snprintf(pad, sizeof(pad), "%s%04ld", prefix,
			 strtol(digits, NULL, 10));
		/* In the tree in neither form: four digits or more are
		 * kept as typed, for it may be archived ("T-000042");
		 * fewer take the spool's form ("T-42" is T-0042). */
		if (spool_task_find(&loc, ctx->sp, pad) != SPOOL_ENOTFOUND ||
		    strlen(digits) < 4)
			snprintf(buf, sizeof(buf), "%s", pad);
	}
	spool_error_clear();
	return strdup(buf);
}

int cmd_id(const char **out, const struct cmd_entry *self,
	   struct cmd_ctx *ctx, const char *arg)
{
	char *id;

	*out = arg;
	if (!spool_id_valid(arg))
		return cmd_bad_value(self, "'%s' is not a task id (1-64 "
				     "letters, digits and '-')", arg);
	/* An argument lives as long as the command: the context keeps it. */
	if ((id = id_canonical(ctx, arg))) {
		char **v = realloc(ctx->owned,
				   (ctx->nowned + 1) * sizeof(*v));
		if (!v) {
			free(id);
			return 0;	/* as typed, then */
		}
		ctx->owned = v;
		ctx->owned[ctx->nowned++] = id;
		*out = id;
	}
	return 0;
}

void cmd_ctx_clear(struct cmd_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nowned; i++)
		free(ctx->owned[i]);
	free(ctx->owned);
	ctx->owned = NULL;
	ctx->nowned = 0;
	spool_free(ctx->sp);
	ctx->sp = NULL;
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

void cmd_jlist_add(cmd_jlist *l, json_t *v)
{
	fputs(l->n++ ? ",\n" : "[", stdout);
	json_dumpf(v, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

void cmd_jlist_end(cmd_jlist *l)
{
	fputs(l->n ? "]\n" : "[]\n", stdout);
}

const struct cmd_entry *cmd_find(const char *name)
{
	for (size_t i = 0; cmd_table[i]; i++)
		if (strcmp(cmd_table[i]->name, name) == 0)
			return cmd_table[i];
	return NULL;
}

void cmd_task_path(char *buf, size_t len, const spool *sp,
		   const spool_loc *loc, const char *id)
{
	char rel[256];

	spool_loc_path(rel, sizeof(rel), loc, id);
	snprintf(buf, len, "%s/%s", spool_root(sp), rel);
}

void cmd_print_place(const spool *sp, const char *id, const spool_loc *loc,
		     bool json)
{
	char path[PATH_MAX];

	cmd_task_path(path, sizeof(path), sp, loc, id);
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
			cmd_print_place(ctx->sp, id, &loc, true);
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
		default: return cmd_bad_option(self, argv);
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
	if ((rc = cmd_id((const char **)&argv[optind], self, ctx,
			 argv[optind])) != 0)
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
			cmd_print_place(ctx->sp, argv[optind], &loc,
						true);
		else {
			char where[128];
			spool_loc_format(where, sizeof(where), &loc);
			printf("%s %s: now in %s\n", argv[optind], past, where);
		}
	}
	return EXIT_OK;
}

/* ---- progress on a terminal ------------------------------------------- */

struct progress {
	const char *cmd;
	const char *what;	/* the phase last shown */
	long start_ms, last_ms, delay_ms;
	bool shown;
};

static struct progress progress;

static long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/*
 * As git: nothing for a pass that ends within a second, then at most
 * ten lines a second, rewritten in place with \r, and a last one with
 * "done" when a phase ends.
 */
static void progress_show(const char *what, size_t done, size_t total,
			  void *payload)
{
	struct progress *p = payload;
	long now = mono_ms();
	bool end = done >= total;

	if (p->what && strcmp(p->what, what) != 0) {
		if (p->shown)
			fputc('\n', stderr);
		p->shown = false;
	}
	p->what = what;
	if (now - p->start_ms < p->delay_ms ||
	    (!end && now - p->last_ms < 100))
		return;
	p->last_ms = now;
	p->shown = true;
	fprintf(stderr, "\rspool: %s: %s: %3zu%% (%zu/%zu)%s", p->cmd, what,
		total ? done * 100 / total : 100, done, total,
		end ? ", done.\n" : "");
	if (end)
		p->shown = false;
	fflush(stderr);
}

void cmd_progress_start(const struct cmd_entry *self, bool quiet)
{
	const char *delay = getenv("SPOOL_PROGRESS_DELAY_MS");

	if (quiet || !isatty(STDERR_FILENO))
		return;
	/* The delay is a knob for tests, which cannot wait a second. */
	progress = (struct progress){ .cmd = self->name,
				      .start_ms = mono_ms(),
				      .delay_ms = delay ? atol(delay) : 1000 };
	spool_progress_set(progress_show, &progress);
}

void cmd_progress_end(void)
{
	if (progress.shown)
		fputc('\n', stderr);
	progress.shown = false;
	spool_progress_set(NULL, NULL);
}
