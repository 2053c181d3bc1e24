/* The verbs: each takes the lock, applies one transition, commits
 * (ops.c). */
#ifndef SPOOL_OPS_H
#define SPOOL_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "root.h"
#include "task-files.h"

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
int spool_op_unhold(spool *sp, const char *id, const spool_op_opts *o);

/*
 * A question from the agent that holds id: files a question task (its
 * id in *qid) for to (an agent, or "operator"; NULL: the task's creator
 * when that is a registered agent other than the asker, else the
 * operator), and moves id to blocked/ until it is answered.
 */
int spool_op_ask(char *qid, size_t qlen, spool *sp, const char *id,
		 const char *question, const char *to, const char *actor);

/* Answers a question: it is done, and the task that asked goes back to
 * the agent who asked, with the answer in its feedback. */
int spool_op_answer(spool *sp, const char *qid, const char *answer,
		    const char *actor);

#endif
