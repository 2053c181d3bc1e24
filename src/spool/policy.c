/* Leases, attempts and backoff as the config and a task's fields set them. */
#include <time.h>

#include "task.h"
#include "root.h"
#include "policy.h"

int64_t spool_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long spool_config_long(const spool *sp, const char *key, long dflt)
{
	json_t *v = json_object_get(spool_config(sp), key);

	return json_is_integer(v) && json_integer_value(v) > 0
		? (long)json_integer_value(v) : dflt;
}

long spool_lease_seconds(const spool *sp, json_t *task)
{
	return spool_task_int(task, "lease", spool_config_lease(sp));
}

long spool_task_max_attempts(const spool *sp, json_t *task)
{
	return spool_task_int(task, "max_attempts",
			      spool_config_max_attempts(sp));
}

long spool_retry_backoff(const spool *sp, long attempt)
{
	json_t *list = json_object_get(spool_config(sp),
				       "retry_backoff_seconds");
	size_t n = json_array_size(list);
	json_t *v;

	if (n == 0)
		return 0;
	if (attempt < 1)
		attempt = 1;
	v = json_array_get(list, (size_t)attempt - 1 < n
			   ? (size_t)attempt - 1 : n - 1);
	return json_is_integer(v) && json_integer_value(v) > 0
		? (long)json_integer_value(v) : 0;
}

static int64_t ts_ms(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000 + ts->tv_nsec / 1000000;
}

int64_t spool_heartbeat_ms(const struct stat *st)
{
	int64_t m = ts_ms(&st->st_mtim), c = ts_ms(&st->st_ctim);

	return m > c ? m : c;
}

int64_t spool_lease_due_ms(const spool *sp, json_t *task,
			   const struct stat *st)
{
	return spool_heartbeat_ms(st) +
	       (int64_t)spool_lease_seconds(sp, task) * 1000;
}

int64_t spool_retry_due_ms(const spool *sp, json_t *task,
			   const struct stat *st)
{
	long attempt = spool_task_int(task, "attempt", 1);

	return ts_ms(&st->st_ctim) +
	       (int64_t)spool_retry_backoff(sp, attempt) * 1000;
}
