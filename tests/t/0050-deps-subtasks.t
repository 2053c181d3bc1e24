#!/usr/bin/env bash
# Dependencies: blocked until every one is done, then ready; a dependency
# that failed or was cancelled is reported, not waited on. Subtasks: the
# parent is held in blocked/ and completed when all its children are done.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
core_spool || exit 1
cd "$S" || exit 1
finish() {	# finish ID AGENT: claim by mv, submit, approve
	mkdir -p "claimed/$2" && mv "ready/$1.json" "claimed/$2/" &&
		spool submit "$1" --agent "$2" >/dev/null &&
		spool approve "$1" --agent rev >/dev/null
}

spool add --title research --assignee dev >/dev/null               # T-0001
spool add --title sources --assignee ops >/dev/null                # T-0002
spool add --title outline --depends-on T-0001,T-0002 >/dev/null   # T-0003
is "$(state_of T-0003)" blocked "a task with open dependencies is blocked"
fails 3 "a blocked task is never offered" -- env SPOOL_AGENT=rev spool next --agent rev
finish T-0001 dev; ok $? "first dependency done"
is "$(state_of T-0003)" blocked "still blocked with one dependency open"
finish T-0002 ops; ok $? "second dependency done"
is "$(state_of T-0003)" ready "ready once all dependencies are done"
recorded "unblock" T-0003 blocked ready spool unblock
is "$(git log -2 --format=%s | tail -n1)" "approve T-0002 by rev (review -> done)" \
	"the approval and the release are separate commits"

# a dependency claimed and submitted by mv, then approved (an approval by
# mv is undone and releases nothing)
spool add --title draft --assignee dev --depends-on T-0003 >/dev/null   # T-0004
mv ready/T-0003.json claimed/ops/ && spool reconcile >/dev/null
mv claimed/ops/T-0003.json review/ && spool reconcile >/dev/null
mv review/T-0003.json done/ && spool reconcile >/dev/null
is "$(state_of T-0003)/$(state_of T-0004)" review/blocked "mv to done/ is undone: the dependant waits"
spool approve T-0003 --agent rev >/dev/null
is "$(state_of T-0004)" ready "spool approve releases the dependant"

# a dependency that will never be done is reported
spool add --title doomed >/dev/null                                  # T-0005
spool add --title waits-on-doomed --depends-on T-0005 >/dev/null     # T-0006
spool cancel T-0005 >/dev/null
is "$(state_of T-0006)" blocked "the dependant stays blocked"
jq -r '.errors[-1].text' blocked/T-0006.json | grep -q "T-0005 (cancelled) will never be done"
ok $? "the errors field says the dependency was cancelled"
git log -1 --format=%B | grep -q "T-0005 (cancelled) will never be done"
ok $? "and so does the commit"
spool show T-0006 >"$T/out"; grep -q "will never be done" "$T/out"; ok $? "spool show reports it"
n=$(jq '.errors | length' blocked/T-0006.json)
spool reconcile >/dev/null; spool reconcile >/dev/null
is "$(jq '.errors | length' blocked/T-0006.json)" "$n" "reported once, not on every pass"

spool add --title already-dead --depends-on T-0005 >/dev/null        # T-0007
jq -r '.errors[-1].text' blocked/T-0007.json | grep -q "T-0005 (cancelled)"
ok $? "adding a task that depends on a cancelled one reports it at once"

spool add --title flaky --max-attempts 1 --assignee ops >/dev/null   # T-0008
spool add --title after-flaky --depends-on T-0008 >/dev/null        # T-0009
spool claim --agent ops >/dev/null && spool fail T-0008 --agent ops --reason broken >/dev/null
is "$(state_of T-0008)" failed "dependency failed"
jq -r '.errors[-1].text' blocked/T-0009.json | grep -q "T-0008 (failed) will never be done"
ok $? "the dependant reports the failed dependency"
spool retry T-0008 >/dev/null && finish T-0008 ops
is "$(state_of T-0009)" ready "retried dependency done: the dependant is released"

# depends_on a task that does not exist is refused
head=$(head_id)
fails 1 "depends_on an unknown task is refused" -- spool add --title x --depends-on T-0999
grep -q "depends_on.*T-0999" "$T/.err"; ok $? "the error names the field and the task"
is "$(head_id)" "$head" "nothing recorded"

# ---- subtasks ----------------------------------------------------------
P=$(spool add --title "blog post")
C1=$(spool add --title part-1 --parent "$P" --assignee dev)
is "$(state_of "$P")" blocked "a parent with a subtask is held in blocked"
git log -1 --format=%B | grep -qx -- "    - block $P by spool (ready -> blocked)"
ok $? "the parent's move to blocked is recorded with the child's add"
is "$(head_state "$P")" blocked "HEAD has the parent in blocked"
C2=$(spool add --title part-2 --parent "$P" --assignee ops)
is "$(jq -c .children "blocked/$P.json")" "[\"$C1\",\"$C2\"]" "children recorded in the parent"
mv "blocked/$P.json" ready/ && spool reconcile >/dev/null
is "$(state_of "$P")" blocked "a parent cannot be unblocked by hand"
finish "$C1" dev
is "$(state_of "$C1")/$(state_of "$P")" done/blocked "one child done: parent still blocked"
finish "$C2" ops
is "$(state_of "$P")" done "all children done: parent completed"
recorded "complete parent" "$P" blocked done spool complete

# a cancelled child is reported in the parent
P=$(spool add --title p2); C=$(spool add --title c2 --parent "$P")
spool cancel "$C" >/dev/null
is "$(state_of "$P")" blocked "parent of a cancelled child stays blocked"
jq -r '.errors[-1].text' "blocked/$P.json" | grep -q "subtask"
ok $? "the parent reports the cancelled subtask"

# parents released once children worked with mv are approved
P=$(spool add --title p3); C=$(spool add --title c3 --parent "$P")
mv "ready/$C.json" claimed/dev/ && spool reconcile >/dev/null
mv "claimed/dev/$C.json" review/ && spool reconcile >/dev/null
mv "review/$C.json" done/ && spool reconcile >/dev/null
is "$(state_of "$C")/$(state_of "$P")" review/blocked "a child moved to done/ by mv is undone: the parent waits"
spool approve "$C" --agent rev >/dev/null
is "$(state_of "$C")/$(state_of "$P")" done/done "child approved: the parent is completed"
fsck_clean; ok $? "git fsck clean"
tree_matches_head; ok $? "disk matches HEAD"
done_testing
