/* The task model: parsing and validation with jansson, field getters. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "state.h"
#include "task.h"

static const char *const prio_names[] = { "low", "normal", "high", "urgent" };

const char *spool_priority_name(spool_priority p)
{
	return p <= SPOOL_PRIO_URGENT ? prio_names[p] : "normal";
}

int spool_priority_parse(spool_priority *out, const char *name)
{
	for (size_t i = 0; i < SPOOL_ARRAY_SIZE(prio_names); i++)
		if (strcmp(prio_names[i], name) == 0) {
			*out = (spool_priority)i;
			return 0;
		}
	return spool_error_set(SPOOL_EINVALID, "'%s' is not a priority "
			       "(low, normal, high, urgent)", name);
}

enum kind { K_STR, K_TEXT, K_ID, K_NAME, K_IDS, K_NAMES, K_POSINT, K_INT,
	    K_BOOL, K_ANY, K_ACCEPT };

static const struct field {
	const char *name;
	enum kind kind;
} fields[] = {
	{ "id", K_ID },
	{ "title", K_STR },
	{ "description", K_TEXT },
	{ "module", K_NAME },
	{ "parent", K_ID },
	{ "assignee", K_NAME },
	{ "requires", K_NAMES },
	{ "priority", K_STR },
	{ "mode", K_STR },
	{ "depends_on", K_IDS },
	{ "deliverable", K_TEXT },
	{ "acceptance", K_ACCEPT },
	{ "max_attempts", K_POSINT },
	{ "lease", K_POSINT },
	{ "created", K_STR },
	{ "created_by", K_STR },
	{ "idempotency_key", K_STR },
	{ "hold", K_BOOL },
	/* written by the spool */
	{ "attempt", K_INT },
	{ "feedback", K_ANY },
	{ "errors", K_ANY },
	{ "plan_approved", K_BOOL },
	{ "submitted_by", K_NAME },
	{ "children", K_IDS },
	{ "meta", K_ANY },
	{ "question_for", K_ID },
	{ "asked", K_ANY },
};

static const struct field *field_find(const char *name)
{
	for (size_t i = 0; i < SPOOL_ARRAY_SIZE(fields); i++)
		if (strcmp(fields[i].name, name) == 0)
			return &fields[i];
	return NULL;
}

static int bad(const char *file, const char *field, const char *what)
{
	return spool_error_set(SPOOL_EINVALID, "'%s': field '%s' %s", file,
			       field, what);
}

static int check_list(json_t *v, const char *file, const char *key,
		      bool (*ok)(const char *), const char *what)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return bad(file, key, "must be a list of strings");
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || !ok(json_string_value(e))) {
			char msg[256];
			snprintf(msg, sizeof(msg), "item %zu is not %s", i + 1,
				 what);
			return bad(file, key, msg);
		}
	}
	return 0;
}

static int check_field(const struct field *f, json_t *v, const char *file)
{
	const char *s = json_string_value(v);

	switch (f->kind) {
	case K_STR:
		if (!s)
			return bad(file, f->name, "must be a string");
		if (strlen(s) > 1000)
			return bad(file, f->name, "is longer than 1000 bytes");
		if (strcmp(f->name, "title") == 0 && !*s)
			return bad(file, f->name, "must not be empty");
		if (strcmp(f->name, "priority") == 0) {
			spool_priority p;
			if (spool_priority_parse(&p, s) < 0)
				return bad(file, f->name, "must be low, "
					   "normal, high or urgent");
		}
		if (strcmp(f->name, "mode") == 0 &&
		    strcmp(s, "direct") != 0 && strcmp(s, "plan_first") != 0)
			return bad(file, f->name,
				   "must be direct or plan_first");
		return 0;
	case K_TEXT:
		return s ? 0 : bad(file, f->name, "must be a string");
	case K_ID:
		if (!s || !spool_id_valid(s))
			return bad(file, f->name, "must be an id of 1-64 "
				   "letters, digits and '-'");
		return 0;
	case K_NAME:
		if (!s || !spool_name_valid(s))
			return bad(file, f->name, "must be a name of 1-64 "
				   "lowercase letters, digits, '.', '_', '-'");
		return 0;
	case K_IDS:
		return check_list(v, file, f->name, spool_id_valid, "an id");
	case K_NAMES:
		return check_list(v, file, f->name, spool_name_valid,
				  "a capability name");
	case K_POSINT:
		if (!json_is_integer(v) || json_integer_value(v) < 1)
			return bad(file, f->name, "must be a positive integer");
		return 0;
	case K_INT:
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return bad(file, f->name, "must be an integer >= 0");
		return 0;
	case K_BOOL:
		return json_is_boolean(v) ? 0
			: bad(file, f->name, "must be true or false");
	case K_ACCEPT:
		if (json_is_string(v))
			return 0;
		if (json_is_object(v)) {
			json_t *chk = json_object_get(v, "check");
			json_t *cr = json_object_get(v, "criteria");
			if ((chk && !json_is_string(chk)) ||
			    (cr && !json_is_string(cr)))
				return bad(file, f->name, "must have string "
					   "'criteria' and 'check'");
			return 0;
		}
		return bad(file, f->name, "must be a string or an object "
			   "with 'criteria' and 'check'");
	case K_ANY:
		return 0;
	}
	return 0;
}

int spool_task_validate(json_t *task, const char *file)
{
	const char *key;
	json_t *v;
	int rc;

	if (!json_is_object(task))
		return spool_error_set(SPOOL_EINVALID,
			"'%s': a task must be a JSON object", file);
	json_object_foreach(task, key, v) {
		const struct field *f = field_find(key);
		if (!f && (strncmp(key, "x-", 2) == 0 ||
			   strncmp(key, "x_", 2) == 0))
			continue;
		if (!f && (strcmp(key, "state") == 0 ||
			   strcmp(key, "status") == 0))
			return spool_error_set(SPOOL_EINVALID,
				"'%s': field '%s' is not allowed: a task's "
				"state is the directory it is in", file, key);
		if (!f)
			return spool_error_set(SPOOL_EINVALID,
				"'%s': unknown field '%s' (extension fields "
				"start with 'x-'; see docs/protocol.md)",
				file, key);
		if ((rc = check_field(f, v, file)) < 0)
			return rc;
	}
	if (!json_is_string(json_object_get(task, "title")))
		return spool_error_set(SPOOL_EINVALID,
			"'%s': field 'title' is required", file);
	return 0;
}

int spool_task_parse(json_t **out, const char *buf, size_t len,
		     const char *file, const char *expect_id)
{
	json_error_t jerr;
	json_t *task, *id;
	int rc;

	*out = NULL;
	task = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!task)
		return spool_error_set(SPOOL_EINVALID,
			"'%s' is not valid JSON: line %d column %d: %s", file,
			jerr.line, jerr.column, jerr.text);
	if ((rc = spool_task_validate(task, file)) < 0)
		goto fail;
	id = json_object_get(task, "id");
	if (expect_id && id && strcmp(json_string_value(id), expect_id) != 0) {
		rc = spool_error_set(SPOOL_EINVALID,
			"'%s': id '%s' does not match the file name (expected "
			"'%s')", file, json_string_value(id), expect_id);
		goto fail;
	}
	*out = task;
	return 0;
fail:
	json_decref(task);
	return rc;
}

char *spool_task_dump(json_t *task)
{
	char *s = json_dumps(task, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	char *r;
	size_t n;

	if (!s)
		return NULL;
	/* Text files end with a newline. */
	n = strlen(s);
	if (!(r = realloc(s, n + 2))) {
		free(s);
		return NULL;
	}
	r[n] = '\n';
	r[n + 1] = '\0';
	return r;
}

const char *spool_task_str(json_t *task, const char *field)
{
	return json_string_value(json_object_get(task, field));
}

long spool_task_int(json_t *task, const char *field, long dflt)
{
	json_t *v = json_object_get(task, field);

	return json_is_integer(v) ? (long)json_integer_value(v) : dflt;
}

spool_priority spool_task_priority(json_t *task)
{
	spool_priority p = SPOOL_PRIO_NORMAL;
	const char *s = spool_task_str(task, "priority");

	if (s && spool_priority_parse(&p, s) < 0)
		p = SPOOL_PRIO_NORMAL;
	return p;
}

void spool_deliverables_path(char *buf, size_t len, const char *id)
{
	snprintf(buf, len, "deliverables/%s", id);
}
