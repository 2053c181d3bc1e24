/*
 * The order of moves: what inotify said of each task, step by step, since
 * the daemon last recorded it. Snapshots (HEAD and the disk) say where a
 * task was and is; this says how it got there, so a claim and a submit
 * made between two looks are recorded as two transitions, each with its
 * agent, instead of one illegal jump.
 */
#ifndef SPOOL_MOVES_H
#define SPOOL_MOVES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "state.h"

/* Steps kept per task; a task that moves more often between two batches
 * than this has no usable chain and is judged from snapshots. */
#define SPOOL_MOVES_STEPS 128

typedef struct spool_moves spool_moves;

/* A place a task was in. seen: it got there from the place before by a
 * rename the events showed; otherwise something unseen lies between. A
 * last place of state NONE means the task left and was not seen
 * arriving anywhere. */
typedef struct {
	spool_loc loc;
	bool seen;
} spool_place;

/* At most max_tasks tasks with moves (more: spool_moves_full). */
int spool_moves_new(spool_moves **out, size_t max_tasks);
void spool_moves_free(spool_moves *m);

/* ID.json left dir: IN_MOVED_FROM with its cookie, IN_DELETE with 0. */
void spool_moves_leave(spool_moves *m, const char *id, const spool_loc *dir,
		       uint32_t cookie);
/* ID.json arrived in dir: IN_MOVED_TO with its cookie (paired with the
 * leave of the same cookie), IN_CREATE with 0. */
void spool_moves_arrive(spool_moves *m, const char *id, const spool_loc *dir,
			uint32_t cookie);
/* More tasks moved than the log holds: its chains are not to be trusted;
 * clear it and look at everything. */
bool spool_moves_full(const spool_moves *m);
/* Tasks with moves in the log. */
size_t spool_moves_count(const spool_moves *m);

/* The places id went through, oldest first, into out (room for
 * SPOOL_MOVES_STEPS * 2 + 1). 0: nothing known (no events, or too many). */
size_t spool_moves_places(spool_place *out, const spool_moves *m,
			  const char *id);

/* A transition of id from -> to was recorded by another writer (a
 * command) since the log was last cleared, in the order they recorded
 * them: some of its steps are recorded already. */
void spool_moves_touched(spool_moves *m, const char *id,
			 const spool_loc *from, const spool_loc *to);
bool spool_moves_is_touched(const spool_moves *m, const char *id);
/* Where, among the n places p of id (spool_moves_places), the steps
 * other writers recorded leave it: their moves found in order, each
 * ending at its destination. Nothing after that place is recorded.
 * false: they cannot be found among the places, or there are none. */
bool spool_moves_recorded_at(size_t *at, const spool_moves *m,
			     const char *id, const spool_place *p, size_t n);

/* The events last showed the task arriving somewhere (not leaving, or
 * deleted, with nowhere to go). */
bool spool_moves_arrived(const spool_moves *m, const char *id);

/* The events show id in from, then in to, after the steps other writers
 * recorded: a move made, even if the task has come back since. */
bool spool_moves_showed(const spool_moves *m, const char *id,
			const spool_loc *from, const spool_loc *to);

/* Forgets every chain: they were recorded. */
void spool_moves_clear(spool_moves *m);

/* The task moved on while its moves were being recorded, and nothing of
 * them was: its chain is kept by spool_moves_next for the next batch,
 * where the events of its next moves go on from it. */
void spool_moves_keep(spool_moves *m, const char *id);
/* Its chain was kept from a batch before: steps of it were taken back
 * once, which may have written their values into the file already. */
bool spool_moves_is_carried(const spool_moves *m, const char *id);
/* After a batch: forgets the chains recorded, keeps the ones kept. */
void spool_moves_next(spool_moves *m);
/* Calls fn for each task whose chain was kept from a batch before, with
 * the places it went through (spool_moves_places): they are to be looked
 * at again, new events or not. */
void spool_moves_each(const spool_moves *m,
		      void (*fn)(void *data, const char *id,
				 const spool_place *p, size_t n),
		      void *data);

#endif
