/*
 * libspool: the library shared by spool(1) and spoold(8).
 *
 * Conventions, as in libgit2: functions return 0 or a negative SPOOL_E*
 * code and record a one-line message (spool_error_message()); out
 * parameters come first; every _new/_open has a _free that accepts NULL.
 * Nothing in the library prints or exits.
 */
#ifndef SPOOL_H
#define SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

/* ---- errors ------------------------------------------------------------ */

enum {
	SPOOL_OK = 0,
	SPOOL_ERROR = -1,	/* anything else: I/O, git, memory */
	SPOOL_ENOTFOUND = -2,	/* no such task, agent, spool */
	SPOOL_EEXISTS = -3,	/* already there */
	SPOOL_EINVALID = -4,	/* bad input: JSON, names, fields */
	SPOOL_EILLEGAL = -5,	/* the state machine refuses the move */
	SPOOL_ENOWORK = -6,	/* nothing to claim */
	SPOOL_ETIMEOUT = -7,	/* a wait ran out */
	SPOOL_ELOCKED = -8,	/* someone else holds the lock */
	SPOOL_ERACE = -9,	/* lost a race; the caller may retry */
	SPOOL_ESTOPPED = -10	/* not recording: branch rewritten */
};

/* Records a message (printf-style) and returns code. */
int spool_error_set(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Same, with ": strerror(errno)" appended. errno is preserved. */
int spool_error_sys(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Records the last libgit2 error (which may be absent) after fmt. */
int spool_error_git(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
const char *spool_error_message(void);
int spool_error_code(void);
void spool_error_clear(void);

/* What the library went on past, told to one receiver per process (the
 * daemon logs it, spool(1) prints it); nowhere without one (notice.c). */
typedef void (*spool_notice_fn)(const char *msg, void *payload);
void spool_notice_set(spool_notice_fn fn, void *payload);
void spool_notice(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* ---- names ------------------------------------------------------------- */

#define SPOOL_ID_MAX 64
#define SPOOL_NAME_MAX 64

/* Task ids: 1-64 of [A-Za-z0-9-], not starting with '-'. */
bool spool_id_valid(const char *id);
/* The id of a task file name "ID.json" into id (SPOOL_ID_MAX + 1 bytes);
 * false if name is not one. */
bool spool_id_from_name(char *id, const char *name);
/* Agent and module names: 1-64 of [a-z0-9._-], starting alphanumeric. */
bool spool_name_valid(const char *name);
/* The agent of a move that nobody saw and no evidence names (a claim
 * made between two looks by one of several agents); no agent has it. */
#define SPOOL_AGENT_UNKNOWN "unknown"

/* ---- states ------------------------------------------------------------ */

typedef enum {
	SPOOL_STATE_NONE = -1,
	SPOOL_STATE_NEW = 0,
	SPOOL_STATE_BLOCKED,
	SPOOL_STATE_READY,
	SPOOL_STATE_CLAIMED,
	SPOOL_STATE_REVIEW,
	SPOOL_STATE_DONE,
	SPOOL_STATE_FAILED,
	SPOOL_STATE_CANCELLED,
	SPOOL_STATE_QUARANTINE,
	SPOOL_STATE_COUNT
} spool_state;

const char *spool_state_name(spool_state s);
/* Accepts "claimed" and also "claimed/AGENT" (agent ignored). */
spool_state spool_state_parse(const char *name);
bool spool_state_terminal(spool_state s);

/* Where a task file is: state plus, for claimed, the agent. */
typedef struct {
	spool_state state;
	char agent[SPOOL_NAME_MAX + 1];
} spool_loc;

/* "ready", "claimed/devbot" */
void spool_loc_format(char *buf, size_t len, const spool_loc *loc);
/* Parses a directory relative to the root, as above. */
int spool_loc_parse(spool_loc *out, const char *dir);
/* "ready/T-1.json", "claimed/devbot/T-1.json" */
void spool_loc_path(char *buf, size_t len, const spool_loc *loc, const char *id);

/* ---- the spool --------------------------------------------------------- */

typedef struct spool spool;

/*
 * Opens the spool at dir; NULL means $SPOOL_DIR, else the current
 * directory or the nearest parent that holds .spool/config.json.
 */
int spool_open(spool **out, const char *dir);
void spool_free(spool *sp);
const char *spool_root(const spool *sp);
int spool_rootfd(const spool *sp);
/* The parsed .spool/config.json (borrowed). */
json_t *spool_config(const spool *sp);
int spool_config_reload(spool *sp);

/* Creates a spool from the layout directory. *created is false if dir
 * already was a spool (nothing is changed then). */
int spool_init(bool *created, const char *dir, const char *layout_dir);

/* Config accessors with the documented defaults. */
long spool_config_lease(const spool *sp);
long spool_config_max_attempts(const spool *sp);

/* ---- filesystem -------------------------------------------------------- */

/* Atomic rename that never replaces: renameat2(RENAME_NOREPLACE), with a
 * link+unlink fallback where the filesystem refuses the flag.
 * SPOOL_ENOTFOUND if src vanished (someone else took it), SPOOL_EEXISTS
 * if dst exists. Paths are relative to the spool root. */
int spool_fs_move(const spool *sp, const char *src, const char *dst);
/* The same rename without the fsync of both directories that makes it
 * durable: for moves whose loss in a power cut only undoes them (never
 * doubles or loses the task), like an agent's own mv. */
int spool_fs_move_unsynced(const spool *sp, const char *src, const char *dst);
/* Writes data durably at path (relative to root): tmp/, fsync, rename,
 * fsync dir. With exclusive, fails with SPOOL_EEXISTS if path exists. */
int spool_fs_write(const spool *sp, const char *path, const void *data,
		   size_t len, bool exclusive);
/* Replaces a cache file atomically, without fsync: a cache lost in a
 * power cut is rebuilt, so its writes need not wait for the disk. */
int spool_fs_write_cache(const spool *sp, const char *path, const void *data,
			 size_t len);
/* Replaces an existing file atomically, failing with SPOOL_ENOTFOUND if it
 * is gone (so a concurrent mv is never undone by a rewrite). */
int spool_fs_rewrite(const spool *sp, const char *path, const void *data,
		     size_t len);
/* Reads a regular file (never follows a symlink, refuses FIFOs and files
 * over max bytes). Caller frees *out. */
int spool_fs_read(char **out, size_t *len, const spool *sp, const char *path,
		  size_t max);
int spool_fs_mkdirs(const spool *sp, const char *path);
int spool_fs_fsync_dir(const spool *sp, const char *dir);

/* ---- tasks ------------------------------------------------------------- */

#define SPOOL_TASK_MAX_BYTES (1024 * 1024)

typedef enum {
	SPOOL_PRIO_LOW = 0,
	SPOOL_PRIO_NORMAL,
	SPOOL_PRIO_HIGH,
	SPOOL_PRIO_URGENT
} spool_priority;

const char *spool_priority_name(spool_priority p);
int spool_priority_parse(spool_priority *out, const char *name);

/*
 * Parses and validates a task. name is the file name used in errors and,
 * when expect_id is non-NULL, the id must equal it. The returned object
 * is owned by the caller (json_decref).
 */
int spool_task_parse(json_t **out, const char *buf, size_t len,
		     const char *name, const char *expect_id);
int spool_task_validate(json_t *task, const char *name);
/* Reads and validates the task at loc. */
int spool_task_load(json_t **out, const spool *sp, const spool_loc *loc,
		    const char *id);
/* Serialises a task as the spool writes it (sorted keys, indented). */
char *spool_task_dump(json_t *task);

/* Getters that tolerate absent fields. */
const char *spool_task_str(json_t *task, const char *field);
long spool_task_int(json_t *task, const char *field, long dflt);
spool_priority spool_task_priority(json_t *task);

/* Finds where a task is. SPOOL_ENOTFOUND if nowhere; SPOOL_EEXISTS (with
 * the first location in *out) if it is in more than one place. */
int spool_task_find(spool_loc *out, const spool *sp, const char *id);

/* Allocates a fresh id ("T-0042"); call under the lock. */
int spool_task_new_id(char *out, size_t len, spool *sp);

/* One entry of a listing. */
typedef struct {
	char id[SPOOL_ID_MAX + 1];
	spool_loc loc;
} spool_entry;

/* Lists task files in the given state (or every state if NONE). When
 * agent is non-NULL, only claimed/AGENT. *out is malloc'd. */
int spool_list(spool_entry **out, size_t *count, const spool *sp,
	       spool_state state, const char *agent);

/* ---- agents and modules ------------------------------------------------ */

int spool_agent_add(spool *sp, const char *name, const char *capabilities,
		    const char *roles, const char *actor);
/* The agent's registry entry, or SPOOL_ENOTFOUND. */
int spool_agent_load(json_t **out, const spool *sp, const char *name);
bool spool_agent_has_role(json_t *agent, const char *role);
/* True if agent has every capability the task requires. */
bool spool_agent_capable(json_t *agent, json_t *task);
int spool_module_add(spool *sp, const char *name, const char *description,
		     const char *actor);
/* Names in agents/ or modules/ (kind = "agents" | "modules"). */
int spool_registry_names(char ***out, size_t *count, const spool *sp,
			 const char *kind);
void spool_names_free(char **names, size_t count);

/* Whether spoold runs on this spool (it holds a flock on
 * .spool/run/daemon.pid); *pid gets its pid when known. */
bool spool_daemon_running(spool *sp, long *pid);

/* ---- the lock ---------------------------------------------------------- */

/* The one git writer lock (.spool/run/lock). wait_ms < 0 waits forever. */
int spool_lock(spool *sp, int wait_ms);
void spool_unlock(spool *sp);

/* ---- the branch guard -------------------------------------------------- */

/*
 * The spool records on top of the last commit it saw. When the branch
 * moves otherwise (git reset, a rebase, a forced push), recording stops:
 * every writer refuses with SPOOL_ESTOPPED until an operator accepts the
 * new HEAD. Nothing is moved to follow the rewritten history.
 */
typedef struct {
	bool stopped;
	char seen[41];		/* the last commit recorded or accepted */
	char head[41];		/* HEAD when found; "" if none */
	long since;		/* when found, seconds since the epoch */
} spool_branch_state;

/* Reads the state without changing it. head_hex is HEAD when the caller
 * knows it ("" if there is none; NULL: look it up): a HEAD that is not a
 * descendant of the last commit seen reports stopped even before a
 * writer has noticed. */
int spool_branch_state_get(spool_branch_state *out, spool *sp,
			   const char *head_hex);
/* Whether a writer has stopped recording (one stat, no git). */
bool spool_branch_stopped(const spool *sp);
/* Accepts HEAD as it is, resumes recording and commits the files as they
 * are on top of it (author: actor). *was gets the state before. Caller
 * holds the lock. */
int spool_branch_accept(spool_branch_state *was, spool *sp,
			const char *actor);

/* ---- history ----------------------------------------------------------- */

/* One transition as it is recorded. */
typedef struct {
	char id[SPOOL_ID_MAX + 1];
	spool_loc from;		/* state NONE for a task that appeared */
	spool_loc to;		/* state NONE for a task that vanished */
	char actor[SPOOL_NAME_MAX + 1];
	char verb[16];		/* claim, submit, approve, violation, ... */
	long attempt;
	char note[256];		/* reason, feedback excerpt; may be empty */
} spool_transition;

/* A set of changes to commit together. */
typedef struct spool_commit spool_commit;

int spool_commit_new(spool_commit **out, spool *sp);
void spool_commit_free(spool_commit *c);
/* Adds path (relative to root) as it is on disk now: a file becomes a
 * blob, a directory is synced recursively, a missing path is removed.
 * Reads HEAD when created: make it under the lock. */
int spool_commit_path(spool_commit *c, const char *path);
/* Adds path with the given content, whatever the disk holds now: for a
 * task recorded where its transition says after it moved on. */
int spool_commit_blob(spool_commit *c, const char *path, const void *buf,
		      size_t len);
/* Removes path from the tree, whatever the disk holds now. */
int spool_commit_remove(spool_commit *c, const char *path);
int spool_commit_transition(spool_commit *c, const spool_transition *t);
/* Adds a free-form line to the message (for non-transition commits). */
int spool_commit_subject(spool_commit *c, const char *subject);
/* Writes the commit (author: the actor of the first transition, or
 * actor). Does nothing if there is nothing to record. Call under lock.
 * Refuses a commit that removes a task from one place and records it in
 * no other, unless a transition removes it (archive, quarantine). */
int spool_commit_write(spool_commit *c, const char *actor);
size_t spool_commit_count(const spool_commit *c);

/* Makes .git/index match HEAD, so plain 'git status' and 'git diff' in
 * the spool show what changed since the last commit. */
int spool_index_sync(spool *sp);

/* Reads a file as it is at HEAD. */
int spool_head_read(char **out, size_t *len, spool *sp, const char *path);

/* ---- the state machine ------------------------------------------------- */

/* True when every depends_on is done. *dead is set when one of them is
 * failed or cancelled (waiting would be forever). */
int spool_deps_state(bool *ready, char *dead, size_t deadlen, spool *sp,
		     json_t *task);

/* ---- operations -------------------------------------------------------- */

/* Each operation takes the lock, reconciles raw moves first, checks the
 * rules, moves the file and commits. */

typedef struct {
	const char *actor;	/* who acts (author of the commit) */
	const char *reason;	/* fail --reason, cancel --reason */
	const char *feedback;	/* reject --feedback */
	bool to_ready;		/* reject: back to ready/ not to the agent */
} spool_op_opts;

/* Adds a task (validated; id assigned when absent). Files it to ready/ or
 * blocked/. *id receives the id. With an idempotency key already used,
 * returns 0 and the existing id with *existed = true. */
int spool_op_add(char *id, size_t idlen, bool *existed, spool *sp,
		 json_t *task, const char *actor);
/* Picks the task agent should take next; SPOOL_ENOWORK if none. */
int spool_op_next(spool_entry *out, spool *sp, const char *agent);
/* next + the atomic rename; retries on a lost race. */
int spool_op_claim(spool_entry *out, spool *sp, const char *agent);
int spool_op_heartbeat(spool *sp, const char *id, const char *agent);
int spool_op_release(spool *sp, const char *id, const spool_op_opts *o);
int spool_op_submit(spool *sp, const char *id, const spool_op_opts *o);
int spool_op_fail(spool *sp, const char *id, const spool_op_opts *o);
int spool_op_approve(spool *sp, const char *id, const spool_op_opts *o);
int spool_op_reject(spool *sp, const char *id, const spool_op_opts *o);
int spool_op_retry(spool *sp, const char *id, const spool_op_opts *o);
int spool_op_cancel(spool *sp, const char *id, const spool_op_opts *o);

/* ---- reconcile --------------------------------------------------------- */

typedef struct {
	size_t filed;		/* new/ -> ready, blocked */
	size_t quarantined;
	size_t recorded;	/* raw moves recorded */
	size_t reverted;	/* illegal moves undone */
	size_t restored;	/* deleted tasks brought back */
	size_t duplicates;	/* copies removed */
	size_t released;	/* blocked -> ready, parents completed */
} spool_reconcile_stats;

/* Files tasks dropped in new/, records raw moves since the last commit,
 * undoes illegal ones, restores deleted tasks, releases blocked work.
 * Caller holds the lock. */
int spool_reconcile(spool_reconcile_stats *stats, spool *sp);

/* What a reconcile looks at, and how it records. */
typedef struct {
	/* Paths (relative to the root) named by filesystem events: only the
	 * tasks they name are compared, plus new/ when it is named; a state
	 * directory stands for everything in it. NULL: the whole tree. */
	const char *const *paths;
	size_t npaths;
	/* Tasks edited in place in blocked/, ready/, review/ or a finished
	 * state get their committed content back; the edit is kept in
	 * quarantine/. */
	bool check_content;
	/* One commit for everything, however few the changes. */
	bool batch;
	/* Re-check every blocked task, even if nothing finished. */
	bool advance;
	/* The moves the daemon's events showed since it last recorded
	 * (moves.h): each is recorded in order, with its own agent. NULL:
	 * only snapshots (HEAD and the disk) are known. */
	struct spool_moves *moves;
} spool_reconcile_opts;

/* spool_reconcile with options (NULL: as spool_reconcile). Caller holds
 * the lock. */
int spool_reconcile_ex(spool_reconcile_stats *stats, spool *sp,
		       const spool_reconcile_opts *opts);

/* Lock + reconcile + unlock; also re-checks every blocked task. */
int spool_reconcile_locked(spool_reconcile_stats *stats, spool *sp);

#endif
