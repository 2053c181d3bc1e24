/* The task model: parsing, validation, field getters (task.c). */
#ifndef SPOOL_TASK_H
#define SPOOL_TASK_H

#include <stddef.h>
#include <jansson.h>

#define SPOOL_TASK_MAX_BYTES (1024 * 1024)

typedef enum {
	SPOOL_PRIO_LOW = 0,
	SPOOL_PRIO_NORMAL,
	SPOOL_PRIO_HIGH,
	SPOOL_PRIO_URGENT
} spool_priority;

const char *spool_priority_name(spool_priority p);

int spool_priority_parse(spool_priority *out, const char *name);

/*
 * Parses and validates a task. name is the file name used in errors and,
 * when expect_id is non-NULL, the id must equal it. The returned object
 * is owned by the caller (json_decref).
 */
int spool_task_parse(json_t **out, const char *buf, size_t len,
		     const char *name, const char *expect_id);

int spool_task_validate(json_t *task, const char *name);

/* Serialises a task as the spool writes it (sorted keys, indented). */
char *spool_task_dump(json_t *task);

/* Getters that tolerate absent fields. */
const char *spool_task_str(json_t *task, const char *field);

long spool_task_int(json_t *task, const char *field, long dflt);

spool_priority spool_task_priority(json_t *task);

/* Deliverables of a task: "deliverables/ID". */
void spool_deliverables_path(char *buf, size_t len, const char *id);

#endif
