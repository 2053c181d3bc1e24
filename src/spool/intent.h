/*
 * The intent log: what the spool is about to do to a task, written
 * durably before it does it, removed once the commit recording it is
 * written. A process killed in between leaves its intents; the next one
 * to take the lock finishes the record from them (spool_intent_recover).
 * A commit that is not written undoes its intents' moves instead: an
 * operation that fails changes nothing.
 */
#ifndef SPOOL_INTENT_H
#define SPOOL_INTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "machine.h"
#include "state.h"
#include "root.h"
#include "history.h"

typedef struct spool_intents spool_intents;

/*
 * Before spool_transition_apply renames a task, or writes a new one, for
 * rq, decided to row, which ends at to: the request, to be replayed as a
 * move already made, and the task as it is now. A claim by the agent
 * that asks for it is kept in memory only: cut short, it is recorded
 * from the files exactly as the command would record it.
 */
int spool_intent_place(spool_commit *c, spool *sp, const spool_request *rq,
		       const spool_row *row, const spool_loc *to,
		       const char *after);
/* A claim made by the agent that asks for it: its intent stays in
 * memory, and its rename comes before its rewrite (the file is in the
 * agent's own directory by then, where nobody else moves it). */
bool spool_intent_own_claim(const spool_request *rq, const spool_row *row,
			    const spool_loc *to);

/* A task about to be filed (from new/: src; 'spool add': NULL), with its
 * idempotency key file and its parent, before spool_transition_apply
 * writes it: what filing does besides the transition is done again, or
 * undone, with it. */
typedef struct {
	const char *id;
	const spool_loc *from;	/* new/, or state NONE */
	const char *verb;
	const char *actor;
	unsigned via;
	json_t *task;		/* as it is about to be filed */
	const char *text;	/* task dumped, if the caller has it */
	const char *src;
	const char *key;
	const char *parent;
	const char *staged;	/* tmp/ file holding the task's bytes */
	const char *prepared;	/* the batch's intent that announced it */
	const char *src_text;	/* src's bytes, if the caller read them */
	size_t src_len;
} spool_intent_filing;

/* With f->prepared, the filing was announced in its batch's intent: the
 * commit carries that file, once for the whole batch, and removes it. */
int spool_intent_file(spool_commit *c, spool *sp,
		      const spool_intent_filing *f);

/* A batch's filings are announced in one intent: thousands of them are
 * one file created, synced with the batch's files at once
 * (spool_fs_syncfs) before any of them is moved into place, and removed
 * once. Each filing is added to filings (a JSON array), then the file is
 * written ahead, not synced; its name goes to name, and each filing
 * passes it as f->prepared. */
int spool_intent_batch_add(json_t *filings, const spool_intent_filing *f);
int spool_intent_batch_write(char *name, size_t len, spool *sp,
			     json_t *filings);

/* Before the spool rewrites task id where it is (at), to record a move
 * already made (the effects of an agent's release or submit): the bytes
 * before and after. A process killed before the commit leaves the file
 * with values no commit has: the next one puts the bytes back, so the
 * files show only what agents made, and records that. */
int spool_intent_rewrite(spool_commit *c, spool *sp, const char *id,
			 const spool_loc *at, const char *after,
			 size_t afterlen);
/* Puts before back where task id went, if it holds after and HEAD does
 * not have after there (the rewrite was never recorded). written: where
 * the rewrite was made, or NULL; if HEAD has after there, the rewrite
 * was recorded (a process killed between its commit and forgetting its
 * intents), and an agent may have moved the file on since: nothing is
 * undone. */
void spool_intent_unwrite(spool *sp, const char *id, const spool_loc *written,
			  const char *before, size_t blen, const char *after,
			  size_t alen);

/* The last intent for id did not happen (its rename lost a race). */
void spool_intent_drop(spool_commit *c, spool *sp, const char *id);
/* The filing of id was refused before anything was staged: what it did
 * is undone now, while the commit goes on. */
void spool_intent_abandon(spool_commit *c, spool *sp, const char *id);

/* Once a commit is written (written: the files go) or abandoned (the
 * moves are undone, newest first). Frees in; NULL is fine. */
void spool_intents_settle(spool *sp, spool_intents *in, bool written);

/* For recovery (intent-recover.c): the intent files left, oldest first
 * (free with spool_names_free); one read back as JSON (NULL if it cannot
 * be); one carried by c as if c had written it, so that writing c
 * removes it (a batch's: with nothing of its own to undo); one removed. */
int spool_intent_list(char ***out, size_t *n, spool *sp);
json_t *spool_intent_read(spool *sp, const char *name);
int spool_intent_adopt(spool_commit *c, const char *name, bool filing,
		       const char *id);
int spool_intent_adopt_batch(spool_commit *c, const char *name);
void spool_intent_forget(spool *sp, const char *name);

#endif
