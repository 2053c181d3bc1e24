/*
 * Shared spools: one spool, several Unix users (docs/shared.md).
 *
 * The spool belongs to its owner (the account spoold runs as) and to a
 * group; directory modes make the kernel enforce who may write where.
 * What the kernel cannot tell apart, spoold decides, with the caller's
 * uid as the kernel gave it (SO_PEERCRED), never a name a process chose.
 * A spool without "shared" in its config is a single-user spool: none
 * of this applies to it.
 */
#ifndef SPOOL_SHARED_H
#define SPOOL_SHARED_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <sys/types.h>

#include "root.h"

/* Whether the config names a shared spool. */
bool spool_shared(const spool *sp);
/* The spool's owner: the owner of its root directory. */
uid_t spool_shared_owner(const spool *sp);

/*
 * Lays out dir (a spool, or an empty directory for a new one, made by
 * the caller first) for the Unix group group: config, owners and modes.
 * operators may be NULL; owner is a user name (NULL: the owner the root
 * already has). *report (malloc'd) says what changed, one line each.
 */
int spool_shared_setup(char **report, const char *dir, const char *group,
		       const char *operators, const char *owner);

/* The verified caller whose rights this handle acts with (default: the
 * real uid). spoold sets the peer's uid for each request it serves. */
void spool_caller_set(spool *sp, uid_t uid);
uid_t spool_caller(const spool *sp);

/* Root, the owner, or a member of the operators group. */
bool spool_shared_operator(const spool *sp, uid_t uid);

/* The uid an agent's registry entry binds it to, or -1. */
long spool_shared_agent_uid(json_t *agent);

/* Gives claimed/NAME to the Unix user user (its group: the owner's), so
 * that only that user and spoold may move tasks in and out of it. */
int spool_shared_claimdir(spool *sp, const char *name, const char *user);

/*
 * StrictModes: whether no agent could have written path (relative to the
 * root): it and every directory above it up to the root, and the config,
 * belong to root or to us and are writable by neither group nor others.
 * false with *why saying which is not.
 */
bool spool_shared_trusted(char *why, size_t len, const spool *sp,
			  const char *path);

/* Appends a line to .spool/run/violations, which spool status shows. */
void spool_shared_violation(const spool *sp, const char *what);
/* The number of violations recorded, and the last (malloc'd, or NULL). */
size_t spool_shared_violations(char **last, const spool *sp);

/* ---- requests through spoold ------------------------------------------- */

#define SPOOL_SOCKET ".spool/run/spoold.sock"

/* Sends a request to spoold's socket and reads its answer. */
int spool_remote_call(json_t **reply, const spool *sp, json_t *request);

/*
 * Serves one request from the peer uid: finds whom it acts as, does it,
 * and says how it went: {"rc": 0, "message": "", "state": "done", ...}.
 * Never fails: a refusal is an answer.
 */
json_t *spool_serve(spool *sp, uid_t uid, json_t *request);

#endif
