#!/usr/bin/env bash
# Illegal transitions. Through the CLI: refused, a clear message, exit 1,
# the file where it was, no commit. By raw mv: reconcile moves the file
# back and records the violation in git, authored by the one who moved it.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
core_spool || exit 1
cd "$S" || exit 1

spool add --title ready-one >/dev/null                   # T-0001 ready
spool add --title claimed-one --assignee dev >/dev/null  # T-0002
spool add --title review-one --assignee dev >/dev/null   # T-0003
spool add --title done-one --assignee dev >/dev/null     # T-0004
spool claim --agent dev >/dev/null; spool claim --agent dev >/dev/null
spool claim --agent dev >/dev/null
spool submit T-0003 --agent dev >/dev/null
spool submit T-0004 --agent dev >/dev/null && spool approve T-0004 --agent rev >/dev/null
spool add --title plan --mode plan_first --assignee dev >/dev/null  # T-0005
spool claim --agent dev >/dev/null && spool submit T-0005 --agent dev >/dev/null
is "$(state_of T-0001) $(state_of T-0002) $(state_of T-0003) $(state_of T-0004) $(state_of T-0005)" \
	"ready claimed/dev review done review" "setup"

# refused ID STATE PATTERN DESC -- CMD...: exit 1, message, nothing changed
refused() {
	local id=$1 where=$2 pat=$3 desc=$4 head; shift 5
	head=$(head_id)
	"$@" >"$T/out" 2>"$T/err"
	is "$?" 1 "$desc: exit 1"
	grep -q "^spool: [a-z]*: .*$pat" "$T/err"; ok $? "$desc: says '$pat'"
	[ $? -eq 0 ] || sed 's/^/#   /' "$T/err"
	is "$(state_of "$id")" "$where" "$desc: $id still in $where"
	is "$(head_id)" "$head" "$desc: no commit"
}
refused T-0001 ready "in ready" "submit a ready task" -- spool submit T-0001 --agent dev
refused T-0001 ready "in ready" "approve a ready task" -- spool approve T-0001 --agent rev
refused T-0001 ready "in ready" "release a ready task" -- spool release T-0001 --agent dev
refused T-0001 ready "in ready" "retry a ready task" -- spool retry T-0001
refused T-0001 ready "in ready" "reject a ready task" -- spool reject T-0001 --feedback x
refused T-0002 claimed/dev "in claimed/dev" "approve a claimed task" -- spool approve T-0002 --agent rev
refused T-0002 claimed/dev "claimed by 'dev'" "submit someone else's task" -- spool submit T-0002 --agent ops
refused T-0002 claimed/dev "claimed by 'dev'" "release someone else's task" -- spool release T-0002 --agent ops
refused T-0002 claimed/dev "reason" "fail without a reason" -- spool fail T-0002 --agent dev
refused T-0003 review "feedback" "reject without feedback" -- spool reject T-0003 --agent rev
refused T-0003 review "cannot also review" "approve your own submission" -- spool approve T-0003 --agent dev
refused T-0003 review "no reviewer role" "approve without the reviewer role" -- spool approve T-0003 --agent ops
refused T-0003 review "in review" "submit a task in review" -- spool submit T-0003 --agent dev
refused T-0004 done "in done" "cancel a done task" -- spool cancel T-0004
refused T-0004 done "in done" "retry a done task" -- spool retry T-0004
refused T-0001 ready "not registered" "claim by an unregistered agent" -- spool claim --agent ghost
refused T-0001 ready "no task 'T-0999'" "approve a task that does not exist" -- spool approve T-0999
fsck_clean; ok $? "git fsck clean after the CLI refusals"

# ---- raw mv: reverted and recorded -------------------------------------
# violation ID FROM TO AUTHOR DESC: after mv FROM -> TO, reconcile puts it
# back in FROM and HEAD records the revert by AUTHOR with a violation note.
violation() {
	local id=$1 from=$2 to=$3 who=$4 desc=$5
	mkdir -p "$to" && mv "$from/$id.json" "$to/"
	spool reconcile >"$T/out" 2>&1; ok $? "$desc: reconcile"
	is "$(state_of "$id")" "$from" "$desc: moved back to $from"
	is "$(head_state "$id")" "$from" "$desc: HEAD has it in $from"
	is "$(trailer Verb)|$(trailer Task)|$(trailer From)|$(trailer To)" \
		"revert|$id|$to|$from" "$desc: the revert is recorded"
	is "$(author)" "$who" "$desc: recorded against $who"
	git log -1 --format=%B | grep -q "^Spool-Note: violation: "; ok $? "$desc: the violation is in the message"
	grep -q "reverted 1" "$T/out"; ok $? "$desc: reconcile says it reverted one"
	[ ! -e "$to/$id.json" ]; ok $? "$desc: nothing left in $to"
}
violation T-0001 ready done operator "ready -> done"
git log -1 --format=%B | grep -q "must be claimed first"; ok $? "the message says why"
violation T-0001 ready claimed/ghost ghost "claim by an unregistered agent"
git log -1 --format=%B | grep -q "'ghost' is not registered"; ok $? "... says the agent is not registered"

spool add --title docs-only --requires docs >/dev/null      # T-0006
violation T-0006 ready claimed/ops ops "claim lacking a capability"
git log -1 --format=%B | grep -q "lacks a required capability"; ok $? "... says which rule"
spool add --title for-dev --assignee dev >/dev/null         # T-0007
violation T-0007 ready claimed/ops ops "claim of a task assigned to someone else"
git log -1 --format=%B | grep -q "assigned to 'dev'"; ok $? "... says whose it is"
# (a release by dev and a claim by ops would explain it, but T-0002 is
# assigned to dev: no sequence of legal moves leads there)
violation T-0002 claimed/dev claimed/ops ops "steal a claimed task"
violation T-0002 claimed/dev done dev "claimed -> done (skipping review)"
violation T-0004 done ready operator "done -> ready"
violation T-0005 review done operator "plan_first: the plan cannot be accepted as the result"
git log -1 --format=%B | grep -q "approve is made with 'spool approve', not by mv"; ok $? "... says an approval is a command"
spool add --title later --depends-on T-0001 >/dev/null      # T-0008 blocked
violation T-0008 blocked claimed/dev dev "claim a blocked task"
violation T-0008 blocked ready operator "unblock by hand before the dependency is done"

# the agent's edits are not lost when an illegal move is undone
jq '.title = "edited"' ready/T-0001.json >tmp/e && cat tmp/e >ready/T-0001.json
spool reconcile >/dev/null
mv ready/T-0001.json done/ && spool reconcile >/dev/null
is "$(state_of T-0001)" ready "edited + illegal move: back in ready"
# ready -> review is no jump an agent cannot make: it may have claimed and
# submitted between two looks. The files are the truth: the submission
# stays, the claim is recorded, unattributed when nobody can tell who.
jump=$(spool add --title jump)
mv "ready/$jump.json" review/
spool reconcile >"$T/out"; ok $? "ready -> review: reconcile"
is "$(state_of "$jump")" review "ready -> review: kept in review"
is "$(head_state "$jump")" review "ready -> review: HEAD has it in review"
grep -q "reverted 0" "$T/out"; ok $? "ready -> review: nothing reverted"
is "$(git log -1 --format=%B | sed -n 's/^Spool-Verb: //p' | tr '\n' ' ')" "claim submit " \
	"ready -> review: recorded as a claim and a submit"
git log -1 --format=%B | grep -q "^Spool-Note: claim not seen; claimer unknown"
ok $? "ready -> review: the claimer is marked unknown"

fsck_clean; ok $? "git fsck clean after the reverts"
tree_matches_head; ok $? "disk matches HEAD"
done_testing
