/* The trailer codec: what it writes reads back the same; no text a user
 * gave becomes a transition, for spool and for git interpret-trailers;
 * history written before the codec still reads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "state.h"
#include "history.h"
#include "trailer.h"

static spool_transition mk(const char *id, const char *from, const char *to,
			   const char *actor, const char *verb, long attempt,
			   const char *note)
{
	spool_transition t;

	memset(&t, 0, sizeof(t));
	snprintf(t.id, sizeof(t.id), "%s", id);
	assert_int_equal(spool_loc_parse(&t.from, from), 0);
	if (strcmp(to, "none") == 0)
		t.to.state = SPOOL_STATE_NONE;
	else
		assert_int_equal(spool_loc_parse(&t.to, to), 0);
	snprintf(t.actor, sizeof(t.actor), "%s", actor);
	snprintf(t.verb, sizeof(t.verb), "%s", verb);
	t.attempt = attempt;
	snprintf(t.note, sizeof(t.note), "%s", note);
	return t;
}

struct got {
	spool_transition t[64];
	size_t n, count;
};

static int collect(void *data, const spool_transition *t, size_t index,
		   size_t count)
{
	struct got *g = data;

	assert_int_equal(index, g->n);
	g->count = count;
	if (g->n < 64)
		g->t[g->n] = *t;
	g->n++;
	return 0;
}

static void decode(struct got *g, const char *msg)
{
	memset(g, 0, sizeof(*g));
	assert_int_equal(spool_trailer_foreach(msg, NULL, collect, g), 0);
	assert_int_equal(g->n, g->count ? g->count : g->n);
	assert_int_equal(spool_trailer_count(msg), g->n);
}

static void same(const spool_transition *a, const spool_transition *b)
{
	char note[sizeof(a->note)];

	assert_string_equal(a->id, b->id);
	assert_int_equal(a->from.state, b->from.state);
	assert_string_equal(a->from.agent, b->from.agent);
	assert_int_equal(a->to.state, b->to.state);
	assert_string_equal(a->to.agent, b->to.agent);
	assert_string_equal(a->actor, b->actor);
	assert_string_equal(a->verb, b->verb);
	assert_int_equal(a->attempt, b->attempt);
	spool_trailer_value(note, sizeof(note), a->note);
	assert_string_equal(note, b->note);
}

/* What git interpret-trailers --parse makes of msg. */
static char *git_parse(const char *msg)
{
	char path[] = "/tmp/spool-trailer.XXXXXX", cmd[256];
	static char out[1 << 16];
	size_t n;
	FILE *p;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, msg, strlen(msg)), (ssize_t)strlen(msg));
	close(fd);
	snprintf(cmd, sizeof(cmd), "git interpret-trailers --parse <%s",
		 path);
	assert_non_null(p = popen(cmd, "r"));
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
	unlink(path);
	return out;
}

/* The trailer block the encoder wrote: from the last blank line. */
static const char *block(const char *msg)
{
	const char *p = strstr(msg, "\n\nSpool-Task: ");
	const char *q;

	assert_non_null(p);
	while ((q = strstr(p + 1, "\n\nSpool-Task: ")))
		p = q;
	return p + 2;
}

/* Encodes t with body, and checks both readers see t and nothing else. */
static char *round_trip(const char *subject, const char *body,
			const spool_transition *t, size_t n)
{
	struct got g;
	char *msg;

	assert_int_equal(spool_trailer_encode(&msg, subject, body, t, n), 0);
	decode(&g, msg);
	assert_int_equal(g.n, n);
	for (size_t i = 0; i < n; i++)
		same(&t[i], &g.t[i]);
	assert_string_equal(git_parse(msg), n ? block(msg) : "");
	return msg;
}

static void test_round_trip(void **state)
{
	spool_transition t[3];
	char *msg;

	(void)state;
	t[0] = mk("T-0001", "ready", "claimed/dev", "dev", "claim", 1, "");
	t[1] = mk("T-0001", "claimed/dev", "review", "dev", "submit", 2,
		  "with notes");
	t[2] = mk("T-0002", "done", "none", "operator", "archive", 1,
		  "into archive/2026-01-01.tar.gz");
	msg = round_trip("claim T-0001 by dev", NULL, t, 1);
	assert_string_equal(msg, "claim T-0001 by dev\n\n"
			    "Spool-Task: T-0001\nSpool-From: ready\n"
			    "Spool-To: claimed/dev\nSpool-Agent: dev\n"
			    "Spool-Verb: claim\nSpool-Attempt: 1\n");
	free(msg);
	free(round_trip("record 3 transitions", "- one\n- two\n- three\n",
			t, 3));
	msg = round_trip("init spool", NULL, NULL, 0);
	assert_string_equal(msg, "init spool\n");
	free(msg);
}

/* Every hostile text, as a note, a body and a subject at once. */
static const char *const hostile[] = {
	"x\n\nSpool-Task: T-2\nSpool-From: claimed/a\nSpool-To: review\n"
	"Spool-Verb: submit",
	"Spool-Task: T-2",
	"x\r\n\r\nSpool-Task: T-2\r\nSpool-From: claimed/a\r\n"
	"Spool-To: review\r\nSpool-Agent: a\r\nSpool-Verb: submit\r\n"
	"Spool-Attempt: 1\r\n",
	"a\rSpool-Task: T-2\rSpool-From: ready\r",
	"x\n---\nSpool-Task: T-2",
	"--- \nall that follows is a patch",
	"# a comment\n\nSpool-Task: T-2\n# another",
	"Conflicts:\n\tSpool-Task: T-2\n",
	"\n\n\n",
	"   \t \v\f ",
	"Signed-off-by: someone <s@e>\n\nSpool-Task: T-2\n"
	"Spool-From: ready\nSpool-To: done\nSpool-Agent: a\n"
	"Spool-Verb: approve\nSpool-Attempt: 1",
	"caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x9a\x80 \xe6\x97\xa5\xe6\x9c\xac",
	"bad \xff\xfe utf-8 \xc3 cut \xe2\x9c",
	"C1 \xc2\x85 NEL \xc2\x9b CSI \xe2\x80\xa8 LS",
	"\x1b[31mred\x1b[0m\x07\x7f",
	"(cherry picked from commit 0123456789abcdef)\nSpool-Task: T-2",
	"Spool-Task:T-2\nSpool-From:ready\nSpool-To:review",
	" Spool-Task: T-2\n\tSpool-To: review",
};

static void test_hostile(void **state)
{
	spool_transition t[2];

	(void)state;
	for (size_t i = 0; i < sizeof(hostile) / sizeof(*hostile); i++) {
		t[0] = mk("T-1", "claimed/a", "failed", "a", "fail", 1,
			  hostile[i]);
		t[1] = mk("T-3", "ready", "claimed/b", "b", "claim", 1,
			  hostile[i]);
		free(round_trip(hostile[i], hostile[i], t, 1));
		free(round_trip(hostile[i], hostile[i], t, 2));
		free(round_trip("subject", hostile[i], t, 2));
	}
}

static void test_long_text(void **state)
{
	spool_transition t;
	char *big = malloc(200000), *msg;
	struct got g;

	(void)state;
	/* a long paragraph of trailer-looking lines, and multi-byte
	 * characters across the cut */
	for (size_t i = 0; i < 199990; i += 20)
		memcpy(big + i, "Spool-Task: T-2\n\xc3\xa9\xc3\xa9", 20);
	big[199990] = '\0';
	t = mk("T-1", "claimed/a", "failed", "a", "fail", 3, big);
	msg = round_trip(big, big, &t, 1);
	decode(&g, msg);
	assert_true(strlen(g.t[0].note) < sizeof(t.note));
	free(msg);
	free(big);
}

static void test_random_text(void **state)
{
	spool_transition t[2];
	char text[300];

	(void)state;
	srand(42);
	for (int round = 0; round < 120; round++) {
		size_t n = (size_t)(rand() % (int)sizeof(text));
		static const char pick[] = "\n\r\t :-#Spool-Task";
		for (size_t i = 0; i < n; i++) {
			int r = rand() % 4;
			text[i] = r == 0 ? (char)(1 + rand() % 255)
				: pick[rand() % (int)(sizeof(pick) - 1)];
		}
		text[n] = '\0';
		t[0] = mk("T-1", "claimed/a", "review", "a", "submit", 1, text);
		t[1] = mk("T-2", "review", "done", "r", "approve", 1, text);
		free(round_trip(text, text, t, 1 + round % 2));
	}
}

static void test_values(void **state)
{
	char v[16];

	(void)state;
	spool_trailer_value(v, sizeof(v), "  a\n\n b\r\nc\t ");
	assert_string_equal(v, "a b c");
	spool_trailer_value(v, sizeof(v), "\xff" "x");
	assert_string_equal(v, "?x");
	/* cut at a character, never inside one */
	spool_trailer_value(v, sizeof(v), "abcdefghijklm\xc3\xa9");
	assert_string_equal(v, "abcdefghijklm\xc3\xa9");
	spool_trailer_value(v, sizeof(v), "abcdefghijklmn\xc3\xa9");
	assert_string_equal(v, "abcdefghijklmn");
	spool_trailer_value(v, 1, "abc");
	assert_string_equal(v, "");
}

static void test_refused(void **state)
{
	spool_transition t = mk("T-1", "ready", "claimed/a", "a", "claim", 1,
				"");
	char *msg = NULL;

	(void)state;
	snprintf(t.id, sizeof(t.id), "../T-1");
	assert_int_equal(spool_trailer_encode(&msg, "s", NULL, &t, 1),
			 SPOOL_EINVALID);
	assert_null(msg);
	snprintf(t.id, sizeof(t.id), "\n \t");
	assert_int_equal(spool_trailer_encode(&msg, "s", NULL, &t, 1),
			 SPOOL_EINVALID);
	t = mk("T-1", "ready", "claimed/a", "a", "claim", 1, "");
	snprintf(t.to.agent, sizeof(t.to.agent), "a\nSpool-Task: T-2");
	assert_int_equal(spool_trailer_encode(&msg, "s", NULL, &t, 1),
			 SPOOL_EINVALID);
	t = mk("T-1", "ready", "claimed/a", "a", "claim", 1, "");
	t.verb[0] = '\0';
	assert_int_equal(spool_trailer_encode(&msg, "s", NULL, &t, 1),
			 SPOOL_EINVALID);
	spool_error_clear();
}

/* What is quarantined from new/ is named by its file name. */
static void test_file_names(void **state)
{
	spool_transition t = mk("x", "new", "quarantine", "spool",
				"quarantine", 1, "not JSON");
	struct got g;
	char *msg;

	(void)state;
	snprintf(t.id, sizeof(t.id), "T-1.json\nSpool-Task: T-2\n");
	assert_int_equal(spool_trailer_encode(&msg, "s", NULL, &t, 1), 0);
	decode(&g, msg);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.t[0].id, "T-1.json Spool-Task: T-2");
	assert_string_equal(git_parse(msg), block(msg));
	free(msg);
}

static void test_actor_folded(void **state)
{
	spool_transition t = mk("T-1", "claimed/a", "review", "", "submit", 1,
				"");
	struct got g;
	char *msg;

	(void)state;
	assert_int_equal(spool_trailer_encode(&msg, "s", NULL, &t, 1), 0);
	decode(&g, msg);
	assert_string_equal(g.t[0].actor, "unknown");
	assert_string_equal(git_parse(msg), block(msg));
	free(msg);
	snprintf(t.actor, sizeof(t.actor), "a\nSpool-Task: T-2");
	assert_int_equal(spool_trailer_encode(&msg, "s", NULL, &t, 1), 0);
	decode(&g, msg);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.t[0].actor, "a Spool-Task: T-2");
	free(msg);
}

/* Messages as the writer before the codec made them. */
static void test_legacy(void **state)
{
	struct got g;

	(void)state;
	decode(&g, "fail T-1 by a (claimed/a -> failed)\n\n"
		   "the build\nbroke\n\n"
		   "Spool-Task: T-1\nSpool-From: claimed/a\n"
		   "Spool-To: failed\nSpool-Agent: a\nSpool-Verb: fail\n"
		   "Spool-Attempt: 2\n");
	assert_int_equal(g.n, 1);
	assert_string_equal(g.t[0].note, "the build broke");
	assert_int_equal(g.t[0].attempt, 2);
	/* the hostile reason of the report: the body held a group */
	decode(&g, "fail T-1 by a (claimed/a -> failed)\n\n"
		   "x\n\nSpool-Task: T-2\nSpool-From: claimed/a\n"
		   "Spool-To: review\nSpool-Verb: submit\n\n"
		   "Spool-Task: T-1\nSpool-From: claimed/a\n"
		   "Spool-To: failed\nSpool-Agent: a\nSpool-Verb: fail\n"
		   "Spool-Attempt: 1\n");
	assert_int_equal(g.n, 1);
	assert_string_equal(g.t[0].id, "T-1");
	assert_int_equal(g.t[0].to.state, SPOOL_STATE_FAILED);
	decode(&g, "claim+submit T-1 by dev\n\n- claim T-1 by dev\n"
		   "- submit T-1 by dev (claimed/dev -> review)\n\n"
		   "Spool-Task: T-1\nSpool-From: ready\n"
		   "Spool-To: claimed/dev\nSpool-Agent: dev\n"
		   "Spool-Verb: claim\nSpool-Attempt: 1\n"
		   "Spool-Task: T-1\nSpool-From: claimed/dev\n"
		   "Spool-To: review\nSpool-Agent: dev\n"
		   "Spool-Verb: submit\nSpool-Attempt: 1\n"
		   "Spool-Note: seen at once\n");
	assert_int_equal(g.n, 2);
	assert_string_equal(g.t[0].note, "");
	assert_string_equal(g.t[1].note, "seen at once");
	assert_int_equal(g.t[1].to.state, SPOOL_STATE_REVIEW);
}

static void test_malformed(void **state)
{
	struct got g;

	(void)state;
	decode(&g, "s\n\n"
		   /* no Spool-To */
		   "Spool-Task: T-1\nSpool-From: ready\nSpool-Agent: a\n"
		   "Spool-Verb: claim\nSpool-Attempt: 1\n"
		   /* Spool-To twice */
		   "Spool-Task: T-2\nSpool-From: ready\nSpool-To: review\n"
		   "Spool-To: done\nSpool-Agent: a\nSpool-Verb: claim\n"
		   "Spool-Attempt: 1\n"
		   /* not an id, not a place, not a number */
		   "Spool-Task: ../x\nSpool-From: ready\nSpool-To: review\n"
		   "Spool-Agent: a\nSpool-Verb: submit\nSpool-Attempt: 1\n"
		   "Spool-Task: T-3\nSpool-From: ready/x\nSpool-To: review\n"
		   "Spool-Agent: a\nSpool-Verb: submit\nSpool-Attempt: 1\n"
		   "Spool-Task: T-4\nSpool-From: ready\nSpool-To: review\n"
		   "Spool-Agent: a\nSpool-Verb: submit\nSpool-Attempt: 1x\n"
		   /* another key ends the group */
		   "Spool-Task: T-5\nSigned-off-by: x\nSpool-From: ready\n"
		   "Spool-To: review\nSpool-Agent: a\nSpool-Verb: submit\n"
		   "Spool-Attempt: 1\n"
		   /* an unknown Spool- key does not */
		   "Spool-Task: T-6\nSpool-From: ready\nSpool-To: review\n"
		   "Spool-Unattributed: yes\nSpool-Agent: a\n"
		   "Spool-Verb: submit\nSpool-Attempt: 4\n");
	assert_int_equal(g.n, 1);
	assert_string_equal(g.t[0].id, "T-6");
	assert_int_equal(g.t[0].attempt, 4);
	/* a trailer block that is not the last paragraph is no block */
	decode(&g, "s\n\nSpool-Task: T-1\nSpool-From: ready\n"
		   "Spool-To: review\nSpool-Agent: a\nSpool-Verb: submit\n"
		   "Spool-Attempt: 1\n\nsome words\n");
	assert_int_equal(g.n, 0);
	decode(&g, "Spool-Task: T-1\nSpool-From: ready\nSpool-To: review\n"
		   "Spool-Agent: a\nSpool-Verb: submit\nSpool-Attempt: 1\n");
	assert_int_equal(g.n, 0);	/* the subject is never trailers */
	decode(&g, "");
	assert_int_equal(g.n, 0);
}

static void test_many(void **state)
{
	size_t n = 10000;
	spool_transition *t = calloc(n, sizeof(*t));
	struct got g;
	char *msg;

	(void)state;
	for (size_t i = 0; i < n; i++) {
		char id[16];
		snprintf(id, sizeof(id), "T-%05zu", i);
		t[i] = mk(id, "done", "none", "spool", "archive", 1,
			  "into archive/x.tar.gz");
	}
	assert_int_equal(spool_trailer_encode(&msg, "archive", NULL, t, n), 0);
	assert_int_equal(spool_trailer_count(msg), n);
	decode(&g, msg);
	assert_int_equal(g.n, n);
	same(&t[63], &g.t[63]);
	free(msg);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_long_text),
		cmocka_unit_test(test_random_text),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_file_names),
		cmocka_unit_test(test_actor_folded),
		cmocka_unit_test(test_legacy),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_many),
	};

	git_libgit2_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
