/* spool heartbeat: renew the lease on a claimed task (like touch). */
#include <errno.h>
#include <getopt.h>

#include "ops.h"
#include "shared.h"
#include "cmd.h"

static int cmd_heartbeat_exec(const struct cmd_entry *self,
			      struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "agent", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *agent = NULL, *actor;
	int c, rc;

	while ((c = getopt_long(argc, argv, "a:h", opts, NULL)) != -1) {
		switch (c) {
		case 'a': agent = optarg; break;
		case 'h': cmd_print_help(stdout, self); return EXIT_OK;
		default: return cmd_bad_option(self, argv);
		}
	}
	if (optind + 1 != argc)
		return cmd_usage(self);
	if ((rc = cmd_open(self, ctx)) != 0)
		return rc;
	if ((rc = cmd_id((const char **)&argv[optind], self, ctx,
			 argv[optind])) != 0)
		return rc;
	if (!spool_shared(ctx->sp)) {
		actor = cmd_agent(agent);
	} else if ((rc = cmd_whoami(self, ctx, agent, &actor)) != 0) {
		return rc;
	}
	rc = spool_op_heartbeat(ctx->sp, argv[optind], actor);
	/* A task file spoold wrote is not the agent's to touch: spoold
	 * touches it, once it has checked who asks. */
	if (rc < 0 && (errno == EPERM || errno == EACCES) &&
	    cmd_remote(ctx)) {
		json_t *rq = cmd_request(self, agent), *reply;
		if (!rq)
			return cmd_error(self, "out of memory");
		json_object_set_new(rq, "id", json_string(argv[optind]));
		if ((rc = cmd_call(self, ctx, rq, &reply)) != 0)
			return rc;
		json_decref(reply);
		return EXIT_OK;
	}
	if (rc < 0)
		return cmd_fail(self, rc);
	return EXIT_OK;
}

const struct cmd_entry cmd_heartbeat_entry = {
	.name = "heartbeat",
	.usage = "ID [--agent A]",
	.summary = "renew the lease of a claimed task (same as touch on its file)",
	.exec = cmd_heartbeat_exec,
};
