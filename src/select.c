/*
 * Which ready task an agent should take next: tasks assigned to it first,
 * then by priority, then the oldest. Only tasks it may claim (assignee,
 * capabilities) are considered.
 */
#include <stdlib.h>
#include <string.h>

#include "spool-int.h"

struct cand {
	int mine;
	int prio;
	char created[40];
	const spool_entry *e;
};

/* true if a should be taken before b */
static bool better(const struct cand *a, const struct cand *b)
{
	int c;

	if (a->mine != b->mine)
		return a->mine > b->mine;
	if (a->prio != b->prio)
		return a->prio > b->prio;
	if ((c = strcmp(a->created, b->created)) != 0)
		return c < 0;
	return strcmp(a->e->id, b->e->id) < 0;
}

int spool_select(spool_entry *out, spool *sp, const char *agent,
		 json_t *agentobj)
{
	spool_entry *list = NULL;
	struct cand best = { 0 }, cur;
	size_t n = 0;
	int rc;

	if ((rc = spool_list(&list, &n, sp, SPOOL_STATE_READY, NULL)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		json_t *task = NULL;
		const char *assignee, *created;
		if (spool_task_load(&task, sp, &list[i].loc, list[i].id) < 0)
			continue;	/* reconcile deals with bad files */
		assignee = spool_task_str(task, "assignee");
		if ((assignee && strcmp(assignee, agent) != 0) ||
		    !spool_agent_capable(agentobj, task)) {
			json_decref(task);
			continue;
		}
		cur.mine = assignee != NULL;
		cur.prio = (int)spool_task_priority(task);
		created = spool_task_str(task, "created");
		snprintf(cur.created, sizeof(cur.created), "%s",
			 created ? created : "");
		cur.e = &list[i];
		if (!best.e || better(&cur, &best))
			best = cur;
		json_decref(task);
	}
	spool_error_clear();
	if (best.e)
		*out = *best.e;
	free(list);
	if (!best.e)
		return spool_error_set(SPOOL_ENOWORK, "nothing to claim for "
				       "'%s'", agent);
	return 0;
}
