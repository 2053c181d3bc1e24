/*
 * The spool(1) command table. Each cmd-*.c file defines one cmd_entry;
 * spool-main.c dispatches on the first word.
 */
#ifndef SPOOL_CMD_H
#define SPOOL_CMD_H

#include <stddef.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "state.h"
#include "root.h"
#include "ops.h"
#include "task-files.h"

/* Exit codes, documented in docs/protocol.md and spool(1). */
enum {
	EXIT_OK = 0,
	EXIT_ERROR = 1,
	EXIT_USAGE = 2,
	EXIT_NOWORK = 3,
	EXIT_TIMEOUT = 4,
	EXIT_CANNOT_CHECK = 5	/* hydrate --check: an error, not drift */
};

struct cmd_ctx {
	const char *dir;	/* -C DIR, or NULL */
	spool *sp;		/* opened by cmd_open() */
	char **owned;		/* strings that live as long as the command */
	size_t nowned;
};

/* Frees what the context holds, the spool included. */
void cmd_ctx_clear(struct cmd_ctx *ctx);

struct cmd_entry {
	const char *name;
	const char *usage;	/* after "spool NAME " */
	const char *summary;	/* one line for 'spool help' */
	const char *help;	/* the rest of 'spool help NAME'; may be NULL */
	int (*exec)(const struct cmd_entry *self, struct cmd_ctx *ctx,
		    int argc, char **argv);
};

/* Opens the spool (-C, $SPOOL_DIR, or the current directory). Prints the
 * error and returns an exit code on failure, 0 on success. */
int cmd_open(const struct cmd_entry *self, struct cmd_ctx *ctx);
/* Prints "spool: NAME: <last error>" and maps the code to an exit code. */
int cmd_fail(const struct cmd_entry *self, int rc);
/* Prints "spool: NAME: <message>"; returns EXIT_ERROR. */
int cmd_error(const struct cmd_entry *self, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prints one line of usage and a pointer to 'spool help NAME' to
 * stderr; returns EXIT_USAGE. */
int cmd_usage(const struct cmd_entry *self);
/* For getopt's '?': says which option is wrong, with a "did you mean"
 * from the --names in the usage, then one line of usage; EXIT_USAGE. */
int cmd_bad_option(const struct cmd_entry *self, char **argv);
/* Prints "spool: NAME: <message>" for a bad argument; EXIT_USAGE. */
int cmd_bad_value(const struct cmd_entry *self, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Edit distance (with swaps), and whether typed is near enough to name
 * to suggest it. */
size_t cmd_distance(const char *a, const char *b);
bool cmd_similar(const char *typed, const char *name);
/*
 * A task id as typed, made the spool's: "42", "t-0042" and "T-42" name
 * T-0042 when no task has the id exactly as typed. Call after cmd_open.
 * *out is arg or a copy that lives until the command ends. What is not
 * an id at all ('../x') is a usage error: says so, returns EXIT_USAGE.
 */
int cmd_id(const char **out, const struct cmd_entry *self,
	   struct cmd_ctx *ctx, const char *arg);
/* Prints "usage ... summary ... help" to stdout for 'spool help NAME'. */
void cmd_print_help(FILE *fp, const struct cmd_entry *self);
/* --agent, else $SPOOL_AGENT, else NULL. */
const char *cmd_agent(const char *opt);
/* --agent, else $SPOOL_AGENT, else $USER, else "operator". */
const char *cmd_actor(const char *opt);
/* In a shared spool: whether this caller's writes go through spoold
 * (it is neither the spool's owner nor root). */
bool cmd_remote(struct cmd_ctx *ctx);
/* Who the caller acts as: cmd_actor() in a single-user spool; in a
 * shared one, the name its uid may use (prints the refusal, returns an
 * exit code). */
int cmd_whoami(const struct cmd_entry *self, struct cmd_ctx *ctx,
	       const char *opt, const char **actor);
/* A request for spoold {"verb": NAME, "agent": --agent or $SPOOL_AGENT}. */
json_t *cmd_request(const struct cmd_entry *self, const char *opt);
/* Sends request (consumed) to spoold; a refusal is printed and its exit
 * code returned; else 0 and *reply. */
int cmd_call(const struct cmd_entry *self, struct cmd_ctx *ctx,
	     json_t *request, json_t **reply);
/* The place in spoold's reply; false if it names none. */
bool cmd_reply_place(spool_loc *loc, json_t *reply);
/* Prints a JSON value as one compact line on stdout. */
void cmd_print_json(json_t *v);
/*
 * A JSON array written as it is made, one element per line, so that a
 * listing of ten thousand tasks is not held in memory twice: --json
 * prints exactly one document, an array for a list, "[]" when empty.
 * cmd_jlist_end is called whether or not anything was added.
 */
typedef struct { size_t n; } cmd_jlist;
void cmd_jlist_add(cmd_jlist *l, json_t *v);
void cmd_jlist_end(cmd_jlist *l);
/*
 * Progress of long passes on stderr, when it is a terminal and not
 * quiet (--quiet, --json): shown after a second, rate-limited.
 */
void cmd_progress_start(const struct cmd_entry *self, bool quiet);
void cmd_progress_end(void);
/* Finds a command by name in the table, or NULL. */
const struct cmd_entry *cmd_find(const char *name);

/*
 * getopt_long helper: every command accepts -h/--help. Returns true if
 * help was asked (and printed).
 */
extern const struct cmd_entry *const cmd_table[];

/* The shape shared by the commands that act on one task by id. */
typedef int (*cmd_id_fn)(spool *sp, const char *id, const spool_op_opts *o);
int cmd_id_op(const struct cmd_entry *self, struct cmd_ctx *ctx, int argc,
	      char **argv, cmd_id_fn fn, const char *past);

/* The shape shared by next and claim: a task for an agent (cmd-next.c). */
typedef int (*cmd_pick_fn)(spool_entry *out, spool *sp, const char *agent);
int cmd_pick_op(const struct cmd_entry *self, struct cmd_ctx *ctx, int argc,
		char **argv, cmd_pick_fn fn);

/*
 * Prints a task's path, absolute: an agent may run in another directory
 * than the spool, and a relative path there names nothing (its mv would
 * fail as if another agent had been faster). With json, an object with
 * id, state, path and, when claimed, agent.
 */
void cmd_print_place(const spool *sp, const char *id, const spool_loc *loc,
		     bool json);
/* The absolute path of a task's file in the spool. */
void cmd_task_path(char *buf, size_t len, const spool *sp,
		   const spool_loc *loc, const char *id);
#endif
