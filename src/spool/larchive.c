/* Loads libarchive on first use (see larchive.h). */
#define SPOOL_LARCHIVE_IMPL
#include <dlfcn.h>
#include <stdbool.h>

#include "error.h"
#include "larchive.h"

#define LIBARCHIVE_SONAME "libarchive.so.13"

struct spool_larchive spool_larchive_fn;

int spool_larchive_load(void)
{
	static bool loaded;
	void *h;

	if (loaded)
		return 0;
	h = dlopen(LIBARCHIVE_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return spool_error_set(SPOOL_ERROR, "cannot load %s: %s; install "
				       "the libarchive13 package",
				       LIBARCHIVE_SONAME, dlerror());
#define X(f)                                                                 \
	if (!(*(void **)&spool_larchive_fn.f = dlsym(h, #f)))                  \
		return spool_error_set(SPOOL_ERROR, "'%s' lacks %s; install "  \
				       "libarchive 3.6 or later",              \
				       LIBARCHIVE_SONAME, #f);
	SPOOL_LARCHIVE_FUNCS(X)
#undef X
	loaded = true;
	return 0;
}
