/* Agents and modules (registry.c). */
#ifndef SPOOL_REGISTRY_H
#define SPOOL_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "root.h"

int spool_agent_add(spool *sp, const char *name, const char *capabilities,
		    const char *roles, const char *actor);

/* The same, bound to the Unix user user (NULL: as it was) in a shared
 * spool, where only operators register. */
int spool_agent_add_user(spool *sp, const char *name,
			 const char *capabilities, const char *roles,
			 const char *user, const char *actor);

/* The agent's registry entry, or SPOOL_ENOTFOUND. */
int spool_agent_load(json_t **out, const spool *sp, const char *name);

bool spool_agent_has_role(json_t *agent, const char *role);

/* True if agent has every capability the task requires. */
bool spool_agent_capable(json_t *agent, json_t *task);

int spool_module_add(spool *sp, const char *name, const char *description,
		     const char *actor);

/* Names in agents/ or modules/ (kind = "agents" | "modules"). */
int spool_registry_names(char ***out, size_t *count, const spool *sp,
			 const char *kind);

void spool_names_free(char **names, size_t count);

/*
 * The name uid acts as: asked (from --agent or $SPOOL_AGENT) if it is an
 * agent bound to uid, or any name if uid is an operator; with asked
 * NULL, the one agent bound to uid, else an operator's user name.
 * SPOOL_EILLEGAL, saying why, otherwise.
 */
int spool_shared_actor(char *out, size_t len, const spool *sp, uid_t uid,
		       const char *asked);

#endif
