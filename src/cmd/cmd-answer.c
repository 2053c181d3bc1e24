/* spool answer: answer a question that spool ask filed. */
#include <getopt.h>

#include "error.h"
#include "state.h"
#include "task.h"
#include "ops.h"
#include "task-files.h"
#include "cmd.h"

static int cmd_answer_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			   int argc, char **argv)
{
	static const struct option opts[] = {
		{ "text", required_argument, NULL, 'T' },
		{ "agent", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *text = NULL, *agent = NULL, *for_id;
	json_t *q = NULL;
	bool json = false;
	spool_loc loc;
	int c, rc;

	while ((c = getopt_long(argc, argv, "T:a:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'T': text = optarg; break;
		case 'a': agent = optarg; break;
		case 'j': json = true; break;
		case 'h': cmd_print_help(stdout, self); return EXIT_OK;
		default: return cmd_usage(self);
		}
	}
	if (optind + 1 != argc || !text || !*text)
		return cmd_usage(self);
	if ((rc = cmd_open(self, ctx)) != 0)
		return rc;
	if ((rc = spool_op_answer(ctx->sp, argv[optind], text,
				  cmd_actor(agent))) < 0)
		return cmd_fail(self, rc);
	/* Where the task that asked is now. */
	if (spool_task_find(&loc, ctx->sp, argv[optind]) == 0 &&
	    spool_task_load(&q, ctx->sp, &loc, argv[optind]) == 0 &&
	    (for_id = spool_task_str(q, "question_for")) &&
	    spool_task_find(&loc, ctx->sp, for_id) == 0) {
		if (json) {
			cmd_print_place(ctx->sp, for_id, &loc, true);
		} else {
			char where[128];
			spool_loc_format(where, sizeof(where), &loc);
			printf("%s answered; %s now in %s\n", argv[optind],
			       for_id, where);
		}
	}
	spool_error_clear();
	json_decref(q);
	return EXIT_OK;
}

const struct cmd_entry cmd_answer_entry = {
	.name = "answer",
	.usage = "QID --text TEXT [--agent A] [--json]",
	.summary = "answer a question; the task that asked goes back to its "
		   "agent",
	.help = "The question is done, with the answer in its feedback; the "
		"task that asked\nleaves blocked/ for claimed/A/ of the agent "
		"who asked, with the answer in its\nfeedback.\n",
	.exec = cmd_answer_exec,
};
