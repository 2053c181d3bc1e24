/* spool verify: check the whole history (src/spool/verify.c). */
#include <getopt.h>
#include <stdio.h>

#include "verify.h"
#include "cmd.h"

static int cmd_verify_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			   int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	spool_verify_result r;
	bool json = false;
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
	if ((rc = spool_verify(&r, ctx->sp)) < 0)
		return cmd_fail(self, rc);
	if (json) {
		json_t *o = json_pack("{s:b, s:I, s:I, s:I}", "ok", !r.bad,
			"commits", (json_int_t)r.commits, "transitions",
			(json_int_t)r.transitions, "signed",
			(json_int_t)r.signed_commits);
		if (r.bad) {
			json_object_set_new(o, "why", json_string(r.why));
			if (r.commit[0])
				json_object_set_new(o, "commit",
						    json_string(r.commit));
		}
		cmd_print_json(o);
		json_decref(o);
	} else if (r.bad && r.commit[0]) {
		fprintf(stderr, "spool: verify: commit %s: %s\n", r.commit,
			r.why);
	} else if (r.bad) {
		fprintf(stderr, "spool: verify: %s\n", r.why);
	} else {
		printf("%zu commits, %zu transitions, %zu signed: the history "
		       "holds and the files are HEAD's\n", r.commits,
		       r.transitions, r.signed_commits);
	}
	return r.bad ? EXIT_ERROR : EXIT_OK;
}

const struct cmd_entry cmd_verify_entry = {
	.name = "verify",
	.usage = "[--json]",
	.summary = "check the whole history: legal transitions, authors, "
		   "signatures, files",
	.help = "Walks the history from its first commit to HEAD: every "
		"transition must be one the\ntable lets its actor make (with "
		"the roles the registry gave it then), every\ncommit's author "
		"the actor its trailers name; once one commit is signed, "
		"every\nlater one must be, by the key of signing.key (its .pub "
		"beside it); and the\ntask files must be HEAD's. Says the "
		"first bad commit and why; exit 1 if any.\n",
	.exec = cmd_verify_exec,
};
