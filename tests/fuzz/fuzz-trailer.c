/*
 * The trailer decoder: a commit message as anyone with git access could
 * write it. What decodes must encode again, and read back the same.
 */
#include "fuzz.h"

#include <git2.h>

#include "trailer.h"

struct seen {
	size_t calls;
	size_t count;
};

static int check_one(void *data, const spool_transition *t, size_t index,
		     size_t count)
{
	struct seen *s = data;
	spool_transition copy = *t;
	char *msg = NULL;

	FUZZ_ASSERT(index < count);
	FUZZ_ASSERT(s->calls == 0 || count == s->count);
	s->count = count;
	s->calls++;
	FUZZ_ASSERT(memchr(t->id, '\0', sizeof(t->id)));
	FUZZ_ASSERT(memchr(t->note, '\0', sizeof(t->note)));
	FUZZ_ASSERT(memchr(t->verb, '\0', sizeof(t->verb)));
	FUZZ_ASSERT(memchr(t->actor, '\0', sizeof(t->actor)));
	if (spool_trailer_encode(&msg, "fuzz", NULL, &copy, 1) == 0) {
		FUZZ_ASSERT(spool_trailer_count(msg) == 1);
		free(msg);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	struct seen s = { 0 };
	char *msg, value[64];

	if (!inited)
		inited = git_libgit2_init() > 0;
	if (!(msg = fuzz_strndup(data, size)))
		return 0;
	spool_trailer_foreach(msg, NULL, check_one, &s);
	FUZZ_ASSERT(s.calls <= spool_trailer_count(msg));
	s.calls = 0;
	spool_trailer_foreach(msg, "T-0001", check_one, &s);
	spool_trailer_value(value, sizeof(value), msg);
	FUZZ_ASSERT(strlen(value) < sizeof(value));
	spool_trailer_value(value, 1, msg);
	FUZZ_ASSERT(value[0] == '\0');
	free(msg);
	return 0;
}
