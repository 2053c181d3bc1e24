/*
 * The state machine: every transition a task can make, as one table.
 *
 * A row says from which states to which, under which verb, who may make
 * it, by which channel (a raw mv, a command, or the spool itself), under
 * which guards, and with which effects. The decision is pure: it reads a
 * request and the facts the caller gathered (transition.c gathers them)
 * and touches nothing. A move that no row allows cannot happen: every
 * path that moves a task asks spool_machine_decide() first, through
 * spool_transition_apply().
 *
 * This file depends on the task model only (spool.h: states, locations,
 * task fields). It includes nothing above it.
 */
#ifndef SPOOL_MACHINE_H
#define SPOOL_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <stdint.h>

#include "state.h"

/* Who may make a transition; also the roles an actor holds for one
 * request. */
enum {
	SPOOL_WHO_SELF = 1u << 0,	/* the agent whose claimed/ it is */
	SPOOL_WHO_REVIEWER = 1u << 1,	/* an agent with the reviewer role */
	SPOOL_WHO_OPERATOR = 1u << 2,	/* the operator role, or a person
					 * who is not a registered agent */
	SPOOL_WHO_ANYONE = 1u << 3,	/* whoever it is */
	SPOOL_WHO_SPOOL = 1u << 4	/* the spool itself */
};

/* By which channel. */
enum {
	SPOOL_VIA_MV = 1u << 0,		/* a rename, seen by reconcile */
	SPOOL_VIA_CMD = 1u << 1,	/* a spool command, with its actor */
	SPOOL_VIA_SPOOL = 1u << 2	/* timers, checks, filing, release */
};

/* Guards. A row's guards must all hold; they are checked in this order,
 * so the ones that tell rows apart come first and the permissions last. */
enum {
	SPOOL_G_DEPS_DONE = 1u << 0,	/* every depends_on is done */
	SPOOL_G_NO_CHILDREN = 1u << 1,
	SPOOL_G_HAS_CHILDREN = 1u << 2,
	SPOOL_G_CHILDREN_DONE = 1u << 3,	/* has some, all done */
	SPOOL_G_CHILDREN_CLOSED = 1u << 4,	/* none is open */
	SPOOL_G_CHILDREN_OPEN = 1u << 5,	/* one is open */
	SPOOL_G_PLAN_PENDING = 1u << 6,	/* plan_first, plan not approved */
	SPOOL_G_PLAN_SETTLED = 1u << 7,	/* not a plan waiting */
	SPOOL_G_ATTEMPTS_LEFT = 1u << 8,	/* attempt < max_attempts */
	SPOOL_G_LAST_ATTEMPT = 1u << 9,	/* attempt >= max_attempts */
	SPOOL_G_LEASE_EXPIRED = 1u << 10,
	SPOOL_G_BACKOFF_PASSED = 1u << 11,
	SPOOL_G_REASON = 1u << 12,	/* a reason is given */
	SPOOL_G_FEEDBACK = 1u << 13,	/* feedback is given */
	SPOOL_G_NOT_SELF_REVIEW = 1u << 14,	/* not by its submitter */
	SPOOL_G_SUBMITTER = 1u << 15,	/* goes back to who submitted it */
	SPOOL_G_REGISTERED = 1u << 16,	/* the holder is registered */
	SPOOL_G_ASSIGNEE = 1u << 17,	/* the holder is the assignee */
	SPOOL_G_CAPABLE = 1u << 18,	/* the holder has every requires */
	SPOOL_G_NOT_HELD = 1u << 19,	/* not added with --hold */
	SPOOL_G_QUESTION = 1u << 20,	/* a question made by spool ask */
	SPOOL_G_ASKER = 1u << 21,	/* the holder asked its question */
	SPOOL_G_COUNT = 22
};

/* Effects, applied by spool_transition_apply(). */
enum {
	SPOOL_E_ATTEMPT = 1u << 0,	/* attempt + 1 */
	SPOOL_E_SUBMITTED_BY = 1u << 1,	/* submitted_by = the agent */
	SPOOL_E_PLAN_APPROVED = 1u << 2,	/* plan_approved = true */
	SPOOL_E_FEEDBACK = 1u << 3,	/* the feedback is appended */
	SPOOL_E_ERROR = 1u << 4,	/* the reason is appended to errors */
	SPOOL_E_DEAD_DEP = 1u << 5,	/* a dependency that will never be
					 * done is said in errors */
	SPOOL_E_DELIVERABLES = 1u << 6,	/* deliverables/ID goes with it */
	SPOOL_E_BACKOFF = 1u << 7,	/* retried after the backoff while
					 * attempts are left (the retry row) */
	SPOOL_E_RELEASE = 1u << 8,	/* what waits for it is released */
	SPOOL_E_UNHOLD = 1u << 9,	/* the hold is lifted */
	SPOOL_E_ASKED = 1u << 10,	/* it depends on its question, and
					 * remembers who asked it */
	SPOOL_E_COUNT = 11
};

/* For a row that ends in claimed/: whose. */
typedef enum {
	SPOOL_HOLDER_NONE = 0,
	SPOOL_HOLDER_ASKED,	/* the agent named by the move */
	SPOOL_HOLDER_SUBMITTER	/* the agent who submitted it */
} spool_holder;

/* One row of the table. */
typedef struct {
	const char *verb;	/* as recorded (Spool-Verb) */
	const char *asked;	/* the verb a request names; NULL: verb */
	unsigned from;		/* SPOOL_FROM() of the states it leaves */
	spool_state ask;	/* where a move asks to go; NONE: to */
	spool_state to;		/* where it ends */
	spool_holder holder;	/* for to = claimed */
	unsigned who;		/* SPOOL_WHO_* */
	unsigned via;		/* SPOOL_VIA_* */
	unsigned guards;	/* SPOOL_G_* */
	unsigned effects;	/* SPOOL_E_* */
	const char *note;	/* one line, for the docs */
} spool_row;

/* A state in a row's from mask; the pseudo-state NONE is a task that
 * is not in the spool yet. */
#define SPOOL_FROM(s) (1u << ((s) == SPOOL_STATE_NONE ? SPOOL_STATE_COUNT \
			      : (s)))

extern const spool_row spool_rows[];
extern const size_t spool_nrows;

/* What is asked. */
typedef struct {
	const char *id;
	spool_loc from;		/* where the task is (for a raw move: was) */
	spool_loc to;		/* asked for; state NONE: where the row goes */
	const char *verb;	/* NULL: any row from -> to */
	const char *actor;	/* an agent, a person, "spool" */
	unsigned via;		/* one SPOOL_VIA_* */
	const char *reason;	/* spool fail --reason, cancel --reason */
	const char *feedback;	/* approve, reject --feedback; a check's output */
	const char *note;	/* the commit's note; NULL: the row's own */
	const char *question;	/* ask: the id of the question task */
	bool moved;		/* a raw move already made: the file is at to */
	const spool_loc *at;	/* with moved: where the file is now, when not
				 * at to (a step of a longer path); NULL: to */
	int64_t now;		/* ms since the epoch; 0: now */
	json_t *task;		/* the task as on disk (borrowed); NULL: read */
	json_t *recorded;	/* the task as last recorded (borrowed); NULL:
				 * HEAD's, where the caller cannot be trusted */
	json_t *agent;		/* the registry entry of the agent who would
				 * hold it, if the caller has it (borrowed) */
	const char *staged;	/* filing: a file in tmp/ already holding
				 * staged_text, synced by the caller */
	const char *staged_text;
	const char *written;	/* with moved: what a killed command wrote
				 * for this move, recorded as it is; the
				 * file, there or moved on since, is not
				 * touched */
} spool_request;

/* What the caller knows, read from the task as the spool recorded it
 * (never from an agent's edit), the registry, the config and the clock. */
typedef struct {
	unsigned roles;		/* SPOOL_WHO_* the actor holds here */
	long attempt, max_attempts, lease_s;
	bool plan_first, plan_approved;
	bool held;		/* "hold": true (spool add --hold) */
	char submitted_by[SPOOL_NAME_MAX + 1];	/* "" when none */
	char assignee[SPOOL_NAME_MAX + 1];	/* "" when none */
	char requires[128];	/* for messages: ["code","docs"] */
	bool deps_done;
	char deps_dead[128];	/* a dependency that will never be done */
	size_t children, children_done, children_open;
	bool child_dead;	/* a subtask failed or was cancelled */
	char open_child[SPOOL_ID_MAX + 1];
	char holder[SPOOL_NAME_MAX + 1];	/* who would hold it */
	bool holder_registered, holder_capable;
	bool lease_expired, backoff_passed;
	bool self_approval;	/* review.allow_self_approval */
	bool question;		/* it is a question (question_for) */
	char asked_by[SPOOL_NAME_MAX + 1];	/* who asked; "" if none */
} spool_facts;

/* The guards (SPOOL_G_*) of the rows a request may match, and the roles
 * (SPOOL_WHO_*) any of them and all of them accept: the facts a caller
 * needs to gather. */
void spool_machine_needs(unsigned *guards, unsigned *who_any,
			 unsigned *who_all, const spool_request *rq);

/* The decision: the row that applies and where the task ends (*to), or
 * SPOOL_EILLEGAL with the reason recorded, e.g. "cannot move 'T-1' from
 * review to done: approve is made with 'spool approve', not by mv".
 * *would gets the row the request would have been (NULL if none), so a
 * refused move can be recorded by its verb. */
int spool_machine_decide(const spool_row **row, const spool_row **would,
			 spool_loc *to, const spool_request *rq,
			 const spool_facts *f);

/* Who acts in a raw move, from the directories: the agent whose claimed/
 * the task entered, else the one whose claimed/ it left, else "operator"
 * (somebody by hand). */
const char *spool_machine_mover(const spool_loc *from, const spool_loc *to);

/* The agent who holds the task in this move: from's when it leaves
 * claimed/, else to's when it enters it, else NULL. */
const char *spool_machine_holder(const spool_loc *from, const spool_loc *to);

/*
 * Fields of a claimed task the agent holding it may write: "meta" and
 * extension fields ("x-..." or "x_..."). Every other field is the
 * spool's, or the task's definition as it was filed: an agent's edit of
 * one is undone and recorded as a violation.
 */
bool spool_machine_agent_field(const char *name);

/* Room for the list spool_machine_merge writes; a list that fills it
 * was cut short. */
#define SPOOL_CHANGED_MAX 256

/* The task as recorded, with the fields the agent may write taken from
 * disk. *changed lists the other fields the disk version changed
 * (comma-separated, "" if none). NULL when out of memory. */
json_t *spool_machine_merge(json_t *recorded, json_t *disk, char *changed,
			    size_t len);

/* The table as Markdown (malloc'd), as docs/protocol.md shows it. */
char *spool_machine_markdown(void);

#endif
