/* spool add: create a task from options or from a JSON file. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "state.h"
#include "task.h"
#include "root.h"
#include "ops.h"
#include "task-files.h"
#include "cmd.h"

static json_t *csv_list(const char *csv)
{
	json_t *arr = json_array();
	char *copy = strdup(csv), *tok, *save = NULL;

	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (*tok)
			json_array_append_new(arr, json_string(tok));
	}
	free(copy);
	return arr;
}

static int read_stream(char **out, size_t *len, FILE *fp, const char *name,
		       size_t max)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);

	while (buf) {
		size_t r = fread(buf + n, 1, cap - n, fp);
		n += r;
		if (n > max) {
			free(buf);
			return spool_error_set(SPOOL_EINVALID, "'%s' is larger "
				"than %zu bytes (limits.task_bytes)", name,
				max);
		}
		if (r == 0)
			break;
		if (n == cap) {
			char *p = realloc(buf, cap *= 2);
			if (!p)
				free(buf);
			buf = p;
		}
	}
	if (!buf)
		return spool_error_set(SPOOL_ERROR, "out of memory");
	if (ferror(fp)) {
		free(buf);
		return spool_error_sys(SPOOL_ERROR, "cannot read '%s'", name);
	}
	*out = buf;
	*len = n;
	return 0;
}

static int load_file(json_t **task, const char *file, size_t max)
{
	FILE *fp = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (!fp)
		return spool_error_sys(SPOOL_ERROR, "cannot open '%s'", file);
	rc = read_stream(&buf, &len, fp, file, max);
	if (fp != stdin)
		fclose(fp);
	if (rc < 0)
		return rc;
	rc = spool_task_parse(task, buf, len, strcmp(file, "-") ? file
						   : "standard input", NULL);
	free(buf);
	return rc;
}

/* In a shared spool, through spoold (cmd.h). */
static int add_remote(const struct cmd_entry *self, struct cmd_ctx *ctx,
		      char *id, size_t len, bool *existed, json_t *task,
		      const char *agent)
{
	json_t *rq = cmd_request(self, agent), *reply;
	int rc;

	if (!rq)
		return cmd_error(self, "out of memory");
	json_object_set(rq, "task", task);
	if ((rc = cmd_call(self, ctx, rq, &reply)) != 0)
		return rc;
	snprintf(id, len, "%s", json_string_value(json_object_get(reply,
								  "id")) ?
		 json_string_value(json_object_get(reply, "id")) : "");
	*existed = json_is_true(json_object_get(reply, "existed"));
	json_decref(reply);
	return 0;
}

static int cmd_add_exec(const struct cmd_entry *self, struct cmd_ctx *ctx,
			int argc, char **argv)
{
	static const struct option opts[] = {
		{ "title", required_argument, NULL, 't' },
		{ "description", required_argument, NULL, 'd' },
		{ "module", required_argument, NULL, 'm' },
		{ "parent", required_argument, NULL, 'p' },
		{ "assignee", required_argument, NULL, 'A' },
		{ "requires", required_argument, NULL, 'r' },
		{ "priority", required_argument, NULL, 'P' },
		{ "mode", required_argument, NULL, 'M' },
		{ "depends-on", required_argument, NULL, 'D' },
		{ "deliverable", required_argument, NULL, 'v' },
		{ "acceptance", required_argument, NULL, 'c' },
		{ "max-attempts", required_argument, NULL, 'n' },
		{ "lease", required_argument, NULL, 'l' },
		{ "idempotency-key", required_argument, NULL, 'k' },
		{ "hold", no_argument, NULL, 'H' },
		{ "id", required_argument, NULL, 'i' },
		{ "file", required_argument, NULL, 'f' },
		{ "agent", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	json_t *task = json_object();
	const char *file = NULL, *agent = NULL, *actor;
	char id[SPOOL_ID_MAX + 1];
	bool json = false, existed, fields = false;
	int c, rc = EXIT_OK;

	while ((c = getopt_long(argc, argv,
				"t:d:m:p:A:r:P:M:D:v:c:n:l:k:i:f:a:Hjh",
				opts, NULL)) != -1) {
		const char *key = NULL;
		json_t *val = NULL;
		char *end;
		switch (c) {
		case 't': key = "title"; break;
		case 'd': key = "description"; break;
		case 'm': key = "module"; break;
		case 'p': key = "parent"; break;
		case 'A': key = "assignee"; break;
		case 'r': key = "requires"; val = csv_list(optarg); break;
		case 'P': {
			spool_priority p;
			key = "priority";
			if (spool_priority_parse(&p, optarg) < 0) {
				json_decref(task);
				return cmd_bad_value(self, "'%s' is not a "
					"priority (low, normal, high, urgent)",
					optarg);
			}
			break;
		}
		case 'M':
			key = "mode";
			if (strcmp(optarg, "direct") &&
			    strcmp(optarg, "plan_first")) {
				json_decref(task);
				return cmd_bad_value(self, "'%s' is not a mode "
					"(direct, plan_first)", optarg);
			}
			break;
		case 'D': key = "depends_on"; val = csv_list(optarg); break;
		case 'v': key = "deliverable"; break;
		case 'c': key = "acceptance"; break;
		case 'k': key = "idempotency_key"; break;
		case 'H': key = "hold"; val = json_true(); break;
		case 'i': key = "id"; break;
		case 'n':
		case 'l':
			key = c == 'n' ? "max_attempts" : "lease";
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (errno || *end || v < 1) {
				json_decref(task);
				return cmd_bad_value(self, "--%s wants a "
					"positive number, not '%s'",
					c == 'n' ? "max-attempts" : "lease",
					optarg);
			}
			val = json_integer(v);
			break;
		case 'f': file = optarg; break;
		case 'a': agent = optarg; break;
		case 'j': json = true; break;
		case 'h':
			json_decref(task);
			cmd_print_help(stdout, self);
			return EXIT_OK;
		default:
			json_decref(task);
			return cmd_bad_option(self, argv);
		}
		if (key) {
			json_object_set_new(task, key,
					    val ? val : json_string(optarg));
			fields = true;
		}
	}
	if (optind != argc || (file && fields) || (!file && !fields)) {
		json_decref(task);
		return cmd_usage(self);
	}
	if ((rc = cmd_open(self, ctx)) != 0)
		goto out;
	if (file) {
		json_decref(task);
		task = NULL;
		if ((rc = load_file(&task, file,
				    spool_task_max(ctx->sp))) < 0) {
			rc = cmd_fail(self, rc);
			goto out;
		}
	}
	if (cmd_remote(ctx)) {
		if ((rc = add_remote(self, ctx, id, sizeof(id), &existed, task,
				     agent)) != 0)
			goto out;
	} else if ((rc = cmd_whoami(self, ctx, agent, &actor)) != 0) {
		goto out;
	} else if ((rc = spool_op_add(id, sizeof(id), &existed, ctx->sp, task,
				      actor)) < 0) {
		rc = cmd_fail(self, rc);
		goto out;
	}
	if (json) {
		spool_loc loc;
		if (spool_task_find(&loc, ctx->sp, id) == 0) {
			json_t *o = json_pack("{s:s, s:s, s:b}", "id", id,
				"state", spool_state_name(loc.state),
				"existed", existed);
			cmd_print_json(o);
			json_decref(o);
		}
	} else {
		printf("%s\n", id);
	}
	if (existed)
		fprintf(stderr, "spool: add: idempotency key already used by "
			"'%s'; nothing added\n", id);
	rc = EXIT_OK;
out:
	json_decref(task);
	return rc;
}

const struct cmd_entry cmd_add_entry = {
	.name = "add",
	.usage = "--title TEXT [--description TEXT] [--module M] [--parent ID]\n"
		 "       [--assignee A] [--requires a,b] "
		 "[--priority low|normal|high|urgent]\n"
		 "       [--mode direct|plan_first] [--depends-on ID,ID] "
		 "[--deliverable TEXT]\n"
		 "       [--acceptance TEXT] [--max-attempts N] [--lease SECONDS]\n"
		 "       [--idempotency-key KEY] [--id ID] [--hold] [--json]\n"
		 "   or: spool add --file FILE|- [--json]",
	.summary = "create a task; prints its id",
	.help = "The task goes to ready/, or to blocked/ while its depends_on "
		"are not all done.\nA subtask (--parent) holds its parent in "
		"blocked/ until all subtasks are done.\nWith an idempotency "
		"key already used, prints the existing id and adds nothing.\n"
		"--hold puts it in blocked/ until 'spool unhold ID', or, once "
		"subtasks are\nadded to it, until they are done: a planner "
		"adds a parent, then its\nsubtasks, and no agent can claim "
		"the parent in between.\n",
	.exec = cmd_add_exec,
};
