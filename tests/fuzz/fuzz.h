/*
 * Shared by the libFuzzer harnesses (fuzz-*.c). Each defines
 * LLVMFuzzerTestOneInput; `make fuzz` links it with libFuzzer, and
 * replay.c turns the same file into a plain program that runs every file
 * of its corpus once, for `make unit`. A harness aborts when the code it
 * drives breaks a promise that does not need a sanitizer to see.
 */
#ifndef SPOOL_FUZZ_H
#define SPOOL_FUZZ_H

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with a message: a crash libFuzzer keeps and reports. */
#define FUZZ_ASSERT(c) do { \
	if (!(c)) { \
		fprintf(stderr, "%s:%d: broken: %s\n", __FILE__, __LINE__, #c); \
		abort(); \
	} \
} while (0)

/* data as a NUL-terminated string (malloc'd; NULL if out of memory). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s) {
		memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

static inline int fuzz_rm_entry(const char *p, const struct stat *st,
				int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	remove(p);
	return 0;
}

/* rm -rf dir, never following a link out. */
static inline void fuzz_rm_tree(const char *dir)
{
	nftw(dir, fuzz_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char fuzz_scratch_dir[4096];

static inline void fuzz_scratch_rm(void)
{
	fuzz_rm_tree(fuzz_scratch_dir);
}

/* A scratch directory for the process, made once ($TMPDIR or /tmp) and
 * removed at exit. */
static inline const char *fuzz_scratch(void)
{
	char *dir = fuzz_scratch_dir;

	if (!dir[0]) {
		const char *t = getenv("TMPDIR");

		snprintf(dir, sizeof(fuzz_scratch_dir), "%s/spool-fuzz.XXXXXX",
			 t && *t ? t : "/tmp");
		FUZZ_ASSERT(mkdtemp(dir));
		atexit(fuzz_scratch_rm);
	}
	return dir;
}

#endif
