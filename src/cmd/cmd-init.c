/* spool init: create a spool. */
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "init.h"
#include "cmd.h"

#ifndef SPOOL_SHAREDIR
#define SPOOL_SHAREDIR "/usr/local/share/spool"
#endif

/* $SPOOL_LAYOUT, else spool-layout/ beside bin/ in a build tree, else the
 * installed copy. */
static void layout_dir(char *buf, size_t len)
{
	const char *env = getenv("SPOOL_LAYOUT");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *top;
		exe[n] = '\0';
		top = dirname(dirname(exe));
		snprintf(buf, len, "%s/spool-layout", top);
		if (access(buf, F_OK) == 0)
			return;
	}
	snprintf(buf, len, "%s/layout", SPOOL_SHAREDIR);
}

static int cmd_init_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			 int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir;
	char layout[PATH_MAX];
	bool created;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			cmd_print_help(stdout, self);
			return EXIT_OK;
		}
		return cmd_usage(self);
	}
	if (optind + 1 == argc)
		dir = argv[optind];
	else if (optind == argc && ctx->dir)
		dir = ctx->dir;
	else
		return cmd_usage(self);
	layout_dir(layout, sizeof(layout));
	if ((rc = spool_init(&created, dir, layout)) < 0)
		return cmd_fail(self, rc);
	if (created)
		printf("spool: initialised a spool in '%s'\n", dir);
	else
		printf("spool: '%s' is already a spool; nothing changed\n", dir);
	return EXIT_OK;
}

const struct cmd_entry cmd_init_entry = {
	.name = "init",
	.usage = "DIR",
	.summary = "create a spool (state directories, config, git repository)",
	.help = "Creates DIR if needed, copies the layout into it (state "
		"directories, README for agents,\n.spool/config.json, sample "
		"hooks), initialises git and makes the first commit.\nOn an "
		"existing spool it changes nothing and says so.\n",
	.exec = cmd_init_exec,
};
