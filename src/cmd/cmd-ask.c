/* spool ask: a question from inside a task (spool answer answers it). */
#include <getopt.h>
#include <string.h>

#include "state.h"
#include "ops.h"
#include "cmd.h"

static int cmd_ask_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			int argc, char **argv)
{
	static const struct option opts[] = {
		{ "question", required_argument, NULL, 'q' },
		{ "to", required_argument, NULL, 't' },
		{ "agent", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *question = NULL, *to = NULL, *agent = NULL;
	char qid[SPOOL_ID_MAX + 1];
	bool json = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "q:t:a:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'q': question = optarg; break;
		case 't': to = optarg; break;
		case 'a': agent = optarg; break;
		case 'j': json = true; break;
		case 'h': cmd_print_help(stdout, self); return EXIT_OK;
		default: return cmd_usage(self);
		}
	}
	if (optind + 1 != argc || !question || !*question)
		return cmd_usage(self);
	if (to && strcmp(to, "operator") && !spool_name_valid(to))
		return cmd_error(self, "'%s' is not an agent name", to);
	if ((rc = cmd_open(self, ctx)) != 0)
		return rc;
	if ((rc = spool_op_ask(qid, sizeof(qid), ctx->sp, argv[optind],
			       question, to, cmd_actor(agent))) < 0)
		return cmd_fail(self, rc);
	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "id", argv[optind],
				      "state", "blocked", "question", qid);
		cmd_print_json(o);
		json_decref(o);
	} else {
		printf("%s\n", qid);
	}
	return EXIT_OK;
}

const struct cmd_entry cmd_ask_entry = {
	.name = "ask",
	.usage = "ID --question TEXT [--to AGENT|operator] [--agent A] "
		 "[--json]",
	.summary = "ask a question about a claimed task; it waits in blocked/ "
		   "for the answer",
	.help = "Files a question task (its id is printed) for AGENT, or for "
		"the task's creator\nwhen that is a registered agent, else for "
		"an operator, and moves ID from\nclaimed/A/ to blocked/. "
		"'spool answer' brings it back to A with the answer\nin its "
		"feedback. Under 'spool work', the runner leaves a task asked "
		"about.\n",
	.exec = cmd_ask_exec,
};
