/*
 * A skill pack (tar or zip) installed into a scratch root, as spool
 * skills install does. Whatever it holds, nothing may land outside the
 * root: afterwards the scratch directory holds the pack, the root and at
 * most one skill in it, a real directory.
 */
#include "fuzz.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "spool.h"
#include "hydrate.h"

static size_t entries(const char *dir, char *one, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	FUZZ_ASSERT(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(one, len, "%s", e->d_name);
			n++;
		}
	closedir(d);
	return n;
}

static int install(const uint8_t *data, size_t size)
{
	char base[4096], pack[4200], root[4200], one[256], p[4600];
	char *name = NULL;
	struct stat st;
	int fd;

	snprintf(base, sizeof(base), "%s/XXXXXX", fuzz_scratch());
	FUZZ_ASSERT(mkdtemp(base));
	snprintf(pack, sizeof(pack), "%s/pack", base);
	snprintf(root, sizeof(root), "%s/root", base);
	FUZZ_ASSERT(mkdir(root, 0755) == 0);
	fd = open(pack, O_WRONLY | O_CREAT | O_EXCL, 0644);
	FUZZ_ASSERT(fd >= 0);
	FUZZ_ASSERT(write(fd, data, size) == (ssize_t)size);
	close(fd);

	if (spool_skill_install(&name, pack, root, false) == 0) {
		FUZZ_ASSERT(name && spool_skill_name_valid(name));
		FUZZ_ASSERT(entries(root, one, sizeof(one)) == 1);
		FUZZ_ASSERT(strcmp(one, name) == 0);
		snprintf(p, sizeof(p), "%s/%s", root, name);
		FUZZ_ASSERT(lstat(p, &st) == 0 && S_ISDIR(st.st_mode));
	} else {
		FUZZ_ASSERT(!name);
		FUZZ_ASSERT(entries(root, one, sizeof(one)) == 0);
	}
	FUZZ_ASSERT(entries(base, one, sizeof(one)) == 2);
	free(name);
	fuzz_rm_tree(base);
	return 0;
}
