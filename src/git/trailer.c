/*
 * The Spool-* trailers, written and read in one place (see trailer.h).
 *
 * git decides which lines are trailers: the final paragraph, when every
 * line of it is "Key: value" (git interpret-trailers; libgit2's
 * git_message_trailers follows the same rules). Text can leak into that
 * paragraph only through a line break, so none reaches it: values are
 * folded onto one line, and the body, which keeps its lines, is indented
 * and always followed by a blank line. An indented line also cannot be
 * the "---" that git takes for the start of a patch, and which would hide
 * every trailer after it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "state.h"
#include "history.h"
#include "trailer.h"

#define INDENT "    "

enum {
	K_TASK, K_FROM, K_TO, K_AGENT, K_VERB, K_ATTEMPT, K_NOTE, K_COUNT
};

static const char *const keys[K_COUNT] = {
	"Spool-Task", "Spool-From", "Spool-To", "Spool-Agent", "Spool-Verb",
	"Spool-Attempt", "Spool-Note"
};

/* Every group the writer has ever written has these. */
#define REQUIRED ((1u << K_TASK) | (1u << K_FROM) | (1u << K_TO) | \
		  (1u << K_AGENT) | (1u << K_VERB) | (1u << K_ATTEMPT))

/* ---- text -------------------------------------------------------------- */

/* The length of the UTF-8 character at s, or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		unsigned char lo = s[0] == 0xe0 ? 0xa0 : 0x80;
		unsigned char hi = s[0] == 0xed ? 0x9f : 0xbf;
		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80
		       ? 3 : 0;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		unsigned char lo = s[0] == 0xf0 ? 0x90 : 0x80;
		unsigned char hi = s[0] == 0xf4 ? 0x8f : 0xbf;
		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 &&
		       (s[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

/* C0 and C1 controls, DEL and spaces: all fold to one space. */
static bool is_space(const unsigned char *s, size_t n)
{
	return (n == 1 && (s[0] <= 0x20 || s[0] == 0x7f)) ||
	       (n == 2 && s[0] == 0xc2 && s[1] < 0xa0);
}

/* As spool_trailer_value, on the first n bytes of src. */
static void fold(char *dst, size_t len, const char *src, size_t n)
{
	const unsigned char *p = (const unsigned char *)src;
	const unsigned char *end = p + n;
	bool space = false;
	size_t o = 0;

	if (len == 0)
		return;
	while (p < end && *p) {
		size_t k = utf8_len(p);
		const char *c = (const char *)p;
		size_t cl = k;
		if (k == 0 || p + k > end) {
			c = "?";
			cl = k = 1;
		}
		if (is_space(p, k)) {
			space = o > 0;
			p += k;
			continue;
		}
		if (o + cl + space >= len)
			break;
		if (space)
			dst[o++] = ' ';
		memcpy(dst + o, c, cl);
		o += cl;
		p += k;
		space = false;
	}
	dst[o] = '\0';
}

void spool_trailer_value(char *dst, size_t len, const char *src)
{
	fold(dst, len, src, strlen(src));
}

/* ---- writing ----------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 512;
		char *p;
		while (nc < b->len + n + 1)
			nc *= 2;
		if (!(p = realloc(b->p, nc))) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = nc;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct sbuf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Each line folded and indented; blank lines at the ends dropped and
 * runs of them made one. */
static int put_body(struct sbuf *b, const char *body)
{
	size_t blank = 0, lines = 0;
	char *line;

	if (!(line = malloc(strlen(body) + 1)))
		return -1;
	while (*body) {
		size_t n = strcspn(body, "\r\n");
		fold(line, n + 1, body, n);
		body += n;
		if (*body == '\r' && body[1] == '\n')
			body++;
		if (*body)
			body++;
		if (!line[0]) {
			blank += lines > 0;
			continue;
		}
		puts_(b, lines ? "\n" : "\n\n");
		if (blank)
			puts_(b, "\n");
		puts_(b, INDENT);
		puts_(b, line);
		blank = 0;
		lines++;
	}
	free(line);
	return 0;
}

static void put_trailer(struct sbuf *b, int key, const char *value)
{
	puts_(b, keys[key]);
	puts_(b, ": ");
	puts_(b, value);
	puts_(b, "\n");
}

static int loc_value(char *buf, size_t len, const spool_loc *loc)
{
	if (loc->state == SPOOL_STATE_CLAIMED && !spool_name_valid(loc->agent))
		return -1;
	spool_loc_format(buf, len, loc);
	return 0;
}

static int put_group(struct sbuf *b, const spool_transition *t)
{
	char from[SPOOL_NAME_MAX + 16], to[SPOOL_NAME_MAX + 16];
	char verb[sizeof(t->verb)], actor[sizeof(t->actor)];
	char note[sizeof(t->note)], attempt[32], id[sizeof(t->id)];

	/* Not always a task id: a file quarantined from new/ is named by
	 * its file name, which may hold anything but '/'. */
	fold(id, sizeof(id), t->id, sizeof(t->id));
	fold(verb, sizeof(verb), t->verb, sizeof(t->verb));
	fold(actor, sizeof(actor), t->actor, sizeof(t->actor));
	fold(note, sizeof(note), t->note, sizeof(t->note));
	if (!id[0] || strchr(id, '/') || !verb[0] ||
	    loc_value(from, sizeof(from), &t->from) < 0 ||
	    loc_value(to, sizeof(to), &t->to) < 0)
		return spool_error_set(SPOOL_EINVALID, "cannot record '%.*s' "
				       "%.*s: not a name, a verb or a place",
				       SPOOL_ID_MAX, t->id,
				       (int)sizeof(t->verb), t->verb);
	snprintf(attempt, sizeof(attempt), "%ld", t->attempt);
	put_trailer(b, K_TASK, id);
	put_trailer(b, K_FROM, from);
	put_trailer(b, K_TO, to);
	/* An empty value would make libgit2 read the next line as its
	 * value. */
	put_trailer(b, K_AGENT, actor[0] ? actor : "unknown");
	put_trailer(b, K_VERB, verb);
	put_trailer(b, K_ATTEMPT, attempt);
	if (note[0])
		put_trailer(b, K_NOTE, note);
	return 0;
}

int spool_trailer_encode(char **out, const char *subject, const char *body,
			 const spool_transition *t, size_t n)
{
	struct sbuf b = { 0 };
	char *line;
	int rc = 0;

	*out = NULL;
	if (!(line = malloc(strlen(subject) + 1)))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	spool_trailer_value(line, strlen(subject) + 1, subject);
	/* git takes a line "--- " for the start of a patch */
	if (strncmp(line, "---", 3) == 0)
		puts_(&b, " ");
	puts_(&b, line[0] ? line : "update");
	free(line);
	if (body && put_body(&b, body) < 0)
		b.oom = true;
	if (n)
		puts_(&b, "\n");
	for (size_t i = 0; i < n && rc == 0; i++) {
		puts_(&b, i ? "" : "\n");
		rc = put_group(&b, &t[i]);
	}
	if (!n)
		puts_(&b, "\n");
	if (rc == 0 && b.oom)
		rc = spool_error_set(SPOOL_ERROR, "out of memory");
	if (rc < 0) {
		free(b.p);
		return rc;
	}
	*out = b.p;
	return 0;
}

/* ---- reading ----------------------------------------------------------- */

static int key_of(const char *key)
{
	if (strncmp(key, "Spool-", 6) != 0)
		return -1;
	for (int k = 0; k < K_COUNT; k++)
		if (strcmp(key + 6, keys[k] + 6) == 0)
			return k;
	return K_COUNT;		/* a Spool- key of another version */
}

/* The trailers of a message, each with its key's number (-1: not a
 * Spool- key). */
struct block {
	git_message_trailer_array a;
	signed char *key;
	bool *whole;		/* by the first trailer of each group */
};

/* The first group at or after i: [start, *end). */
static size_t next_group(const struct block *b, size_t i, size_t *end)
{
	while (i < b->a.count && b->key[i] != K_TASK)
		i++;
	*end = i < b->a.count ? i + 1 : i;
	while (*end < b->a.count && b->key[*end] >= 0 &&
	       b->key[*end] != K_TASK)
		(*end)++;
	return i;
}

static bool parse_loc(spool_loc *loc, const char *s)
{
	loc->state = spool_state_parse(s);
	loc->agent[0] = '\0';
	if (loc->state == SPOOL_STATE_CLAIMED) {
		if (strncmp(s, "claimed/", 8) != 0 ||
		    !spool_name_valid(s + 8))
			return false;
		snprintf(loc->agent, sizeof(loc->agent), "%s", s + 8);
		return true;
	}
	if (loc->state == SPOOL_STATE_NONE)
		return strcmp(s, "none") == 0;
	return strcmp(s, spool_state_name(loc->state)) == 0;
}

/* A value as git unfolds it (continuation lines), as plain text. Most
 * are plain already: printable ASCII, single spaces inside. */
static const char *unfold(char *buf, size_t len, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;

	if (*p == ' ')
		goto slow;
	for (; *p; p++)
		if (*p < 0x20 || *p >= 0x7f || (p[0] == ' ' &&
		    (p[1] == ' ' || p[1] == '\0')))
			goto slow;
	if ((size_t)(p - (const unsigned char *)v) < len)
		return v;
slow:
	spool_trailer_value(buf, len, v);
	return buf;
}

static bool parse_value(spool_transition *t, int key, const char *v)
{
	size_t n = strlen(v);
	char *end;

	switch (key) {
	case K_TASK:
		if (!n || strchr(v, '/') || n >= sizeof(t->id))
			return false;
		memcpy(t->id, v, n + 1);
		return true;
	case K_FROM:
		return parse_loc(&t->from, v);
	case K_TO:
		return parse_loc(&t->to, v);
	case K_AGENT:
		fold(t->actor, sizeof(t->actor), v, n);	/* cut to fit */
		return true;
	case K_VERB:
		if (!n || n >= sizeof(t->verb))
			return false;
		memcpy(t->verb, v, n + 1);
		return true;
	case K_ATTEMPT:
		t->attempt = strtol(v, &end, 10);
		return end != v && !*end;
	case K_NOTE:
		fold(t->note, sizeof(t->note), v, n);
		return true;
	}
	return true;
}

/* One group into t; false if it is not a whole transition. */
static bool decode(spool_transition *t, unsigned *seen, const struct block *b,
		   size_t start, size_t end)
{
	char buf[1024];

	t->note[0] = '\0';
	t->attempt = 1;
	*seen = 0;
	for (size_t i = start; i < end; i++) {
		int k = b->key[i];
		if (k >= K_COUNT)
			continue;
		if (*seen & (1u << k))
			return false;
		*seen |= 1u << k;
		if (!parse_value(t, k, unfold(buf, sizeof(buf),
					      b->a.trailers[i].value)))
			return false;
	}
	return (*seen & REQUIRED) == REQUIRED;
}

/* Whether the group starting at i is the task id's. */
static bool group_of(const struct block *b, size_t i, const char *id)
{
	char buf[1024];

	return !id || strcmp(unfold(buf, sizeof(buf),
				    b->a.trailers[i].value), id) == 0;
}

/*
 * Before Spool-Note was always written, a commit of one transition kept
 * its note as the paragraphs between the subject and the trailers. Read
 * as text, never for trailers.
 */
static void legacy_note(char *out, size_t len, const char *msg)
{
	const char *start = strstr(msg, "\n\n"), *end;
	size_t n = strlen(msg);

	out[0] = '\0';
	if (!start)
		return;
	start += 2;
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	for (end = msg + n; end > start + 1; end--)
		if (end[-1] == '\n' && end[-2] == '\n')
			break;
	if (end > start + 1)
		fold(out, len, start, (size_t)(end - start));
}

/*
 * Two passes: the first finds the whole transitions (an index counts
 * only those), the second hands them out, skipping early the groups of
 * other tasks when one is asked for (an archive commit holds 10,000).
 */
int spool_trailer_foreach(const char *msg, const char *id,
			  spool_trailer_fn fn, void *data)
{
	struct block b = { { 0 }, NULL, NULL };
	spool_transition t;
	size_t count = 0, index = 0, i, end;
	unsigned seen;
	int rc = 0;

	if (!msg || !strstr(msg, "Spool-Task"))
		return 0;
	if (git_message_trailers(&b.a, msg) < 0)
		return spool_error_git("cannot read the trailers of a commit");
	b.key = malloc(b.a.count + 1);
	b.whole = calloc(b.a.count + 1, sizeof(*b.whole));
	if (!b.key || !b.whole) {
		rc = spool_error_set(SPOOL_ERROR, "out of memory");
		goto out;
	}
	for (i = 0; i < b.a.count; i++)
		b.key[i] = (signed char)key_of(b.a.trailers[i].key);
	for (i = next_group(&b, 0, &end); i < b.a.count;
	     i = next_group(&b, end, &end))
		count += b.whole[i] = decode(&t, &seen, &b, i, end);
	for (i = next_group(&b, 0, &end); i < b.a.count && rc == 0;
	     i = next_group(&b, end, &end)) {
		if (!b.whole[i])
			continue;
		if (group_of(&b, i, id)) {
			decode(&t, &seen, &b, i, end);
			if (count == 1 && !(seen & (1u << K_NOTE)))
				legacy_note(t.note, sizeof(t.note), msg);
			rc = fn(data, &t, index, count);
		}
		index++;
	}
out:
	free(b.key);
	free(b.whole);
	git_message_trailer_array_free(&b.a);
	return rc;
}

static int count_fn(void *data, const spool_transition *t, size_t index,
		    size_t count)
{
	(void)t;
	(void)index;
	*(size_t *)data = count;
	return 1;
}

size_t spool_trailer_count(const char *msg)
{
	size_t n = 0;

	if (spool_trailer_foreach(msg, NULL, count_fn, &n) < 0)
		spool_error_clear();	/* unreadable: none */
	return n;
}
