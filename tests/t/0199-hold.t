#!/usr/bin/env bash
# spool add --hold: the planner's parent lands in blocked/ and cannot be
# claimed before its subtasks exist; with subtasks it is completed when
# they are done; without, spool unhold releases it. Also through new/
# and with spoold running, which must not release a held task.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
core_spool || exit 1
cd "$S" || exit 1

p=$(spool add --title parent --hold); ok $? "add --hold"
is "$(state_of "$p")" blocked "a held task is filed in blocked/"
is "$(jq -r .hold "blocked/$p.json")" true "with hold: true"
is "$(trailer To)" blocked "recorded as added to blocked/"
fails 3 "no agent can take it" -- spool claim --agent dev
mkdir -p claimed/dev && mv "blocked/$p.json" claimed/dev/ 2>/dev/null
spool reconcile >/dev/null 2>&1
is "$(state_of "$p")" blocked "a raw claim from blocked/ is undone"
spool reconcile >/dev/null
is "$(state_of "$p")" blocked "reconcile does not release it"

c1=$(spool add --title one --parent "$p") && c2=$(spool add --title two --parent "$p")
ok $? "subtasks added"
is "$(state_of "$p")" blocked "the parent waits for them"
fails 1 "unhold of a parent with subtasks is refused" -- spool unhold "$p"
grep -q "completes it when its subtasks are done" "$T/.err"; ok $? "and says why"
for c in "$c1" "$c2"; do
	spool claim --agent dev >/dev/null && spool submit "$c" --agent dev >/dev/null &&
		spool approve "$c" --agent rev >/dev/null
done
is "$(state_of "$p")" done "the held parent is completed when its subtasks are done"

# without subtasks: unhold
h=$(spool add --title alone --hold)
spool diagnose "$h" >"$T/diag"
grep -q "added with --hold" "$T/diag"; ok $? "diagnose says it is held and how to release it"
head=$(head_id)
mv "blocked/$h.json" ready/ 2>/dev/null; spool reconcile >/dev/null 2>&1
is "$(state_of "$h")" blocked "a raw mv to ready/ is undone"
spool unhold "$h" --agent boss >"$T/out"; ok $? "unhold"
is "$(cat "$T/out")" "$h released: now in ready" "says where it is"
is "$(state_of "$h")" ready "released into ready/"
is "$(jq -r 'has("hold")' "ready/$h.json")" false "the hold is gone from the task"
is "$(trailer Verb)" unhold "recorded as unhold"
is "$(author)" boss "by who asked"
fails 1 "unhold of a task that is not blocked" -- spool unhold "$h"

# held with dependencies: unhold waits for them (refused until done)
d=$(spool add --title dep)
w=$(spool add --title waits --depends-on "$d" --hold)
fails 1 "unhold while a dependency is open" -- spool unhold "$w"
grep -q "dependencies are not all done" "$T/.err"; ok $? "says so"

# through new/, with spoold running
start_daemon || exit 1
drop held.json '{"title": "dropped", "hold": true}'
until_ok 10 sh -c "ls '$S'/blocked | grep -q ."; ok $? "a dropped held task is filed"
x=$(basename "$(grep -l '"dropped"' blocked/*.json)" .json)
[ -n "$x" ]; ok $? "in blocked/ ($x)"
spool add --title nudge >/dev/null	# more activity for the daemon
until_ok 10 sh -c "git -C '$S' ls-tree -r --name-only HEAD | grep -q 'blocked/$x.json'"
ok $? "recorded in blocked/"
is "$(state_of "$x")" blocked "spoold does not release it"
spool unhold "$x" >/dev/null; ok $? "unhold with spoold running"
until_ok 10 sh -c "git -C '$S' ls-tree -r --name-only HEAD | grep -q 'ready/$x.json'"
ok $? "and it is in ready/ at HEAD"
stop_daemon
fsck_clean; ok $? "git fsck clean"
done_testing
