/* spool module add|ls: groupings of tasks. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "cmd.h"

static int cmd_module_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			   int argc, char **argv)
{
	static const struct option opts[] = {
		{ "description", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *desc = NULL, *sub;
	bool json = false;
	int c, rc;

	if (argc < 2)
		return cmd_usage(self);
	sub = argv[1];
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "d:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'd': desc = optarg; break;
		case 'j': json = true; break;
		case 'h': cmd_print_help(stdout, self); return EXIT_OK;
		default: return cmd_bad_option(self, argv);
		}
	}
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
		cmd_print_help(stdout, self);
		return EXIT_OK;
	}
	if ((rc = cmd_open(self, ctx)) != 0)
		return rc;
	if (strcmp(sub, "add") == 0 && optind + 1 == argc) {
		const char *actor;
		if ((rc = cmd_whoami(self, ctx, NULL, &actor)) != 0)
			return rc;
		rc = spool_module_add(ctx->sp, argv[optind], desc, actor);
		if (rc < 0)
			return cmd_fail(self, rc);
		printf("module '%s' added\n", argv[optind]);
		return EXIT_OK;
	}
	if (strcmp(sub, "ls") == 0 && optind == argc) {
		cmd_jlist out = { 0 };
		char **names;
		size_t n;
		if ((rc = spool_registry_names(&names, &n, ctx->sp,
					       "modules")) < 0)
			return cmd_fail(self, rc);
		for (size_t i = 0; i < n; i++) {
			if (json) {
				json_t *o = json_pack("{s:s}", "name", names[i]);
				cmd_jlist_add(&out, o);
				json_decref(o);
			} else {
				printf("%s\n", names[i]);
			}
		}
		if (json)
			cmd_jlist_end(&out);
		spool_names_free(names, n);
		return EXIT_OK;
	}
	return cmd_usage(self);
}

const struct cmd_entry cmd_module_entry = {
	.name = "module",
	.usage = "add NAME [--description TEXT] | ls [--json]",
	.summary = "register modules (groupings of tasks) and list them",
	.exec = cmd_module_exec,
};
