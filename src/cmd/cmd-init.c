/* spool init: create a spool. */
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init.h"
#include "shared.h"
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

/* A git repository (.git, a directory or a worktree's file) that is
 * not a spool: someone's project, whose history init must not touch. */
static bool foreign_repository(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/.spool/config.json", dir);
	if (stat(path, &st) == 0)
		return false;
	snprintf(path, sizeof(path), "%s/.git", dir);
	return lstat(path, &st) == 0;
}

/* Lays the spool out for a group, and says what that changed. */
static int share(const struct cmd_entry *self, const char *dir,
		 const char *group, const char *operators, const char *owner,
		 bool created)
{
	char *report = NULL;
	int rc;

	rc = spool_shared_setup(&report, dir, group, operators, owner);
	if (rc < 0) {
		free(report);
		return cmd_fail(self, rc);
	}
	if (!report)
		printf("spool: '%s' is already shared with group '%s'; nothing "
		       "changed\n", dir, group);
	else
		printf("spool: %s '%s' for group '%s':\n%s", created ?
		       "laid out" : "converted", dir, group, report);
	free(report);
	return EXIT_OK;
}

static int cmd_init_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			 int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "shared", required_argument, NULL, 's' },
		{ "operators", required_argument, NULL, 'o' },
		{ "owner", required_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir, *group = NULL, *operators = NULL, *owner = NULL;
	char layout[PATH_MAX];
	bool created, force = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (c) {
		case 'f': force = true; break;
		case 's': group = optarg; break;
		case 'o': operators = optarg; break;
		case 'O': owner = optarg; break;
		case 'h': cmd_print_help(stdout, self); return EXIT_OK;
		default: return cmd_bad_option(self, argv);
		}
	}
	if ((operators || owner) && !group)
		return cmd_usage(self);
	if (optind + 1 == argc)
		dir = argv[optind];
	else if (optind == argc && ctx->dir)
		dir = ctx->dir;
	else
		return cmd_usage(self);
	if (!force && foreign_repository(dir))
		return cmd_error(self, "'%s' is a git repository that is not "
			"a spool; init would commit the spool into it. Use a "
			"directory of its own (spool init '%s/spool' makes "
			"one), or --force to make this repository a spool",
			dir, dir);
	layout_dir(layout, sizeof(layout));
	if ((rc = spool_init(&created, dir, layout)) < 0)
		return cmd_fail(self, rc);
	if (created)
		printf("spool: initialised a spool in '%s'\n", dir);
	else if (!group)
		printf("spool: '%s' is already a spool; nothing changed\n", dir);
	return group ? share(self, dir, group, operators, owner, created)
		     : EXIT_OK;
}

const struct cmd_entry cmd_init_entry = {
	.name = "init",
	.usage = "[--shared GROUP [--operators GROUP] [--owner USER]] "
		 "[--force] DIR",
	.summary = "create a spool (state directories, config, git repository)",
	.help = "Creates DIR if needed, copies the layout into it (state "
		"directories, README for agents,\n.spool/config.json, sample "
		"hooks), initialises git and makes the first commit.\nOn an "
		"existing spool it changes nothing and says so. A directory "
		"that is already a git\nrepository but not a spool (a "
		"project's) is refused: the spool would be\ncommitted into its "
		"history. --force makes that repository a spool all the "
		"same.\n\n"
		"--shared GROUP lays the spool out for several Unix users in "
		"GROUP: new/, tmp/,\nready/ and review/ writable by the group, "
		"claimed/NAME by its agent's user\nalone, everything else by "
		"the owner (the account spoold runs as; --owner,\nelse the "
		"directory's owner) alone. --operators names the group whose "
		"members\nmay act for anyone. On an existing spool it converts "
		"it and says what changed.\nSee docs/shared.md.\n",
	.exec = cmd_init_exec,
};
