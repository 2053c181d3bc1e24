/* Task ids, agent names, states and locations (state.c). */
#ifndef SPOOL_STATE_H
#define SPOOL_STATE_H

#include <stdbool.h>
#include <stddef.h>

#define SPOOL_ID_MAX 64		/* ids and names: at most 64 bytes */

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
/* The note of a submit nobody saw: the files show the holder's submit
 * and its release, another agent's claim and submit alike. */
#define SPOOL_NOTE_SUBMIT_UNSEEN \
	"submit not seen; credited to the agent that held it"

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

/* The same directory: the state, and the agent for claimed. */
bool spool_loc_same(const spool_loc *a, const spool_loc *b);

/* "ready", "claimed/devbot" */
void spool_loc_format(char *buf, size_t len, const spool_loc *loc);

/* Parses a directory relative to the root, as above. */
int spool_loc_parse(spool_loc *out, const char *dir);

/* "ready/T-1.json", "claimed/devbot/T-1.json" */
void spool_loc_path(char *buf, size_t len, const spool_loc *loc, const char *id);

#define SPOOL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
