/* The task parser: any bytes dropped into new/ as a task file. */
#include "fuzz.h"

#include <jansson.h>

#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *task = NULL;
	char *dump;

	/* as spoold files it: the id must match the file name */
	if (spool_task_parse(&task, (const char *)data, size, "T-0001.json",
			     "T-0001") == 0) {
		FUZZ_ASSERT(task);
		spool_task_priority(task);
		spool_task_int(task, "lease", 0);
		spool_task_str(task, "title");
		/* what the spool writes back must parse again as a task */
		dump = spool_task_dump(task);
		if (dump) {
			json_t *again = NULL;

			FUZZ_ASSERT(spool_task_parse(&again, dump,
				strlen(dump), "T-0001.json", "T-0001") == 0);
			json_decref(again);
			free(dump);
		}
		json_decref(task);
	} else {
		FUZZ_ASSERT(!task);
		FUZZ_ASSERT(spool_error_message()[0]);
	}
	/* and without an expected id, as spool add reads one */
	if (spool_task_parse(&task, (const char *)data, size, "stdin",
			     NULL) == 0)
		json_decref(task);
	return 0;
}
