/* spool agent add|ls: the registry of agents. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "registry.h"
#include "task-files.h"
#include "cmd.h"

static int agent_add(const struct cmd_entry *self, struct cmd_ctx *ctx,
		     int argc, char **argv)
{
	static const struct option opts[] = {
		{ "capabilities", required_argument, NULL, 'c' },
		{ "roles", required_argument, NULL, 'r' },
		{ "user", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *caps = NULL, *roles = NULL, *user = NULL, *actor;
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:r:u:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': caps = optarg; break;
		case 'r': roles = optarg; break;
		case 'u': user = optarg; break;
		case 'h': cmd_print_help(stdout, self); return EXIT_OK;
		default: return cmd_bad_option(self, argv);
		}
	}
	if (optind + 1 != argc)
		return cmd_usage(self);
	if ((rc = cmd_open(self, ctx)) != 0)
		return rc;
	if (cmd_remote(ctx)) {
		json_t *rq = cmd_request(self, NULL), *reply;
		if (!rq)
			return cmd_error(self, "out of memory");
		json_object_set_new(rq, "name", json_string(argv[optind]));
		if (caps)
			json_object_set_new(rq, "capabilities",
					    json_string(caps));
		if (roles)
			json_object_set_new(rq, "roles", json_string(roles));
		if (user)
			json_object_set_new(rq, "user", json_string(user));
		if ((rc = cmd_call(self, ctx, rq, &reply)) != 0)
			return rc;
		json_decref(reply);
	} else {
		if ((rc = cmd_whoami(self, ctx, NULL, &actor)) != 0)
			return rc;
		rc = spool_agent_add_user(ctx->sp, argv[optind], caps, roles,
					  user, actor);
		if (rc < 0)
			return cmd_fail(self, rc);
	}
	/* Claim instructions only for an agent that claims: a worker,
	 * which is the role of an agent registered without --roles. */
	if (!roles || strstr(roles, "worker"))
		printf("agent '%s' registered; it claims with: mv "
		       "ready/ID.json claimed/%s/ (in the spool)\n",
		       argv[optind], argv[optind]);
	else
		printf("agent '%s' registered (roles: %s)\n", argv[optind],
		       roles);
	return EXIT_OK;
}

static int agent_ls(const struct cmd_entry *self, struct cmd_ctx *ctx,
		    int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	bool json = false;
	cmd_jlist out = { 0 };
	char **names;
	size_t n;
	int c, rc;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h': cmd_print_help(stdout, self); return EXIT_OK;
		default: return cmd_bad_option(self, argv);
		}
	}
	if (optind != argc)
		return cmd_usage(self);
	if ((rc = cmd_open(self, ctx)) != 0)
		return rc;
	if ((rc = spool_registry_names(&names, &n, ctx->sp, "agents")) < 0)
		return cmd_fail(self, rc);
	for (size_t i = 0; i < n; i++) {
		json_t *a = NULL;
		spool_entry *claimed = NULL;
		size_t nclaimed = 0;
		if (spool_agent_load(&a, ctx->sp, names[i]) < 0)
			continue;
		spool_list(&claimed, &nclaimed, ctx->sp, SPOOL_STATE_CLAIMED,
			   names[i]);
		free(claimed);
		json_object_set_new(a, "claimed", json_integer((json_int_t)nclaimed));
		if (json) {
			cmd_jlist_add(&out, a);
		} else {
			char *caps = json_dumps(json_object_get(a,
				"capabilities"), JSON_COMPACT);
			char *roles = json_dumps(json_object_get(a, "roles"),
						 JSON_COMPACT);
			printf("%-20s claimed=%-4zu roles=%s capabilities=%s\n",
			       names[i], nclaimed, roles ? roles : "[]",
			       caps ? caps : "[]");
			free(caps);
			free(roles);
		}
		json_decref(a);
	}
	if (json)
		cmd_jlist_end(&out);
	spool_names_free(names, n);
	return EXIT_OK;
}

static int cmd_agent_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			  int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return agent_add(self, ctx, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "ls") == 0)
		return agent_ls(self, ctx, argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 ||
			  strcmp(argv[1], "--help") == 0)) {
		cmd_print_help(stdout, self);
		return EXIT_OK;
	}
	return cmd_usage(self);
}

const struct cmd_entry cmd_agent_entry = {
	.name = "agent",
	.usage = "add NAME [--capabilities a,b] [--roles worker,reviewer,operator]"
		 " [--user UNIXUSER] | ls [--json]",
	.summary = "register agents and list them",
	.help = "Roles: worker (claims and works tasks), reviewer (approves "
		"and rejects),\noperator (acts on anyone's tasks), planner. "
		"Registering again updates the entry.\nIn a shared spool, "
		"--user binds the agent to a Unix account (one account may "
		"hold\nseveral names), and only operators register.\n",
	.exec = cmd_agent_exec,
};
