/*
 * libspool: the library shared by spool(1) and spoold(8), for a program
 * that wants all of it at once. The library's own files include only
 * the headers they use.
 *
 * Conventions, as in libgit2: functions return 0 or a negative SPOOL_E*
 * code and record a one-line message (spool_error_message()); out
 * parameters come first; every _new/_open has a _free that accepts NULL.
 * Nothing in the library prints or exits.
 */
#ifndef SPOOL_H
#define SPOOL_H

#include "error.h"
#include "notice.h"
#include "state.h"
#include "task.h"
#include "machine.h"
#include "fsutil.h"
#include "root.h"
#include "repo.h"
#include "branch.h"
#include "branch-accept.h"
#include "history.h"
#include "history-read.h"
#include "gitindex.h"
#include "init.h"
#include "registry.h"
#include "task-files.h"
#include "ops.h"
#include "reconcile.h"
#include "inspect.h"
#include "archives.h"
#include "shared.h"
#include "verify.h"
#include "sign.h"

#endif
