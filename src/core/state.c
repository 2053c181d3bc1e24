/* State names, locations and the names of tasks and agents. */
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "state.h"

static const char *const state_names[SPOOL_STATE_COUNT] = {
	"new", "blocked", "ready", "claimed", "review",
	"done", "failed", "cancelled", "quarantine"
};

const char *spool_state_name(spool_state s)
{
	if (s < 0 || s >= SPOOL_STATE_COUNT)
		return "none";
	return state_names[s];
}

spool_state spool_state_parse(const char *name)
{
	size_t n = strcspn(name, "/");

	for (int i = 0; i < SPOOL_STATE_COUNT; i++)
		if (strlen(state_names[i]) == n &&
		    strncmp(state_names[i], name, n) == 0)
			return (spool_state)i;
	return SPOOL_STATE_NONE;
}

bool spool_state_terminal(spool_state s)
{
	return s == SPOOL_STATE_DONE || s == SPOOL_STATE_FAILED ||
	       s == SPOOL_STATE_CANCELLED;
}

bool spool_loc_same(const spool_loc *a, const spool_loc *b)
{
	return a->state == b->state && (a->state != SPOOL_STATE_CLAIMED ||
					strcmp(a->agent, b->agent) == 0);
}

void spool_loc_format(char *buf, size_t len, const spool_loc *loc)
{
	if (loc->state == SPOOL_STATE_CLAIMED)
		snprintf(buf, len, "claimed/%s", loc->agent);
	else
		snprintf(buf, len, "%s", spool_state_name(loc->state));
}

int spool_loc_parse(spool_loc *out, const char *dir)
{
	const char *slash = strchr(dir, '/');

	memset(out, 0, sizeof(*out));
	out->state = spool_state_parse(dir);
	if (out->state == SPOOL_STATE_NONE)
		return spool_error_set(SPOOL_EINVALID,
				       "'%s' is not a state directory", dir);
	if (out->state == SPOOL_STATE_CLAIMED) {
		if (!slash || !spool_name_valid(slash + 1))
			return spool_error_set(SPOOL_EINVALID,
				"'%s' is not a claimed/AGENT directory", dir);
		snprintf(out->agent, sizeof(out->agent), "%s", slash + 1);
	} else if (slash && slash[1]) {
		return spool_error_set(SPOOL_EINVALID,
				       "'%s' is not a state directory", dir);
	}
	return 0;
}

void spool_loc_path(char *buf, size_t len, const spool_loc *loc,
		    const char *id)
{
	char dir[128];

	spool_loc_format(dir, sizeof(dir), loc);
	snprintf(buf, len, "%s/%s.json", dir, id);
}

bool spool_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > SPOOL_ID_MAX || id[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

bool spool_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > SPOOL_NAME_MAX)
		return false;
	if (!((name[0] >= 'a' && name[0] <= 'z') ||
	      (name[0] >= '0' && name[0] <= '9')))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

bool spool_id_from_name(char *id, const char *name)
{
	size_t n = strlen(name);

	if (n < 6 || n - 5 > SPOOL_ID_MAX || strcmp(name + n - 5, ".json"))
		return false;
	memcpy(id, name, n - 5);
	id[n - 5] = '\0';
	return spool_id_valid(id);
}
