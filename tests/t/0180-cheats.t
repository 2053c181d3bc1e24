#!/usr/bin/env bash
# An agent that cheats: moves by mv what only a command may move, writes
# fields only the spool writes, approves a parent whose subtask is open.
# Each cheat is undone and recorded as a violation; what it tried never
# happens and nothing follows from it.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
core_spool || exit 1
cd "$S" || exit 1
rec() { spool reconcile >"$T/rec" 2>&1; ok $? "reconcile after: $1"; }
# violation DESC ID: the last commit records a revert of ID with a note
violation() {
	is "$(trailer Verb)|$(trailer Task)" "revert|$2" "$1: recorded as a revert"
	git log -1 --format=%B | grep -q "^ *violation: "; ok $? "$1: with the violation in the note"
}
never() {	# never VERB ID DESC: no commit ever recorded VERB for ID
	! git log --format=%B | awk -v id="$2" -v v="$1" '
		/^Spool-Task: / { t = $2 } /^Spool-Verb: / { if (t == id && $2 == v) f = 1 }
		END { exit !f }'
	ok $? "$3: never recorded as $1"
}

# ---- a worker approves its own work by mv -------------------------------
spool add --title "own work" --assignee dev >/dev/null                  # T-0001
spool add --title "after it" --depends-on T-0001 >/dev/null             # T-0002
mv ready/T-0001.json claimed/dev/ && rec "claim by mv"
mkdir -p deliverables/T-0001 && echo done >deliverables/T-0001/out.txt
mv claimed/dev/T-0001.json review/ && rec "submit by mv"
mv review/T-0001.json done/
rec "the worker moves its own work to done/"
is "$(state_of T-0001)" review "it is back in review/"
is "$(head_state T-0001)" review "HEAD has it in review/"
violation "approve by mv" T-0001
git log -1 --format=%B | grep -q "approve is made with 'spool approve', not by mv"
ok $? "the note names the verb it would have been"
never approve T-0001 "approve by mv"
is "$(state_of T-0002)" blocked "nothing follows from it: the dependant waits"
fails 1 "the worker cannot approve it by command either" -- spool approve T-0001 --agent dev
grep -q "cannot also review" "$T/.err"; ok $? "... it submitted it"
spool approve T-0001 --agent rev >/dev/null; ok $? "a reviewer approves it"
is "$(state_of T-0001)/$(state_of T-0002)" done/ready "done, and the dependant is released"

# ---- other moves made by mv that only a command makes -------------------
spool add --title a >/dev/null                                          # T-0003
spool add --title b --max-attempts 1 >/dev/null                         # T-0004
mv ready/T-0003.json claimed/dev/ && mv claimed/dev/T-0003.json review/ && rec "claim+submit"
mv review/T-0003.json claimed/dev/
rec "mv review -> claimed/dev"
is "$(state_of T-0003)" review "review -> claimed by mv is undone"
violation "reject by mv" T-0003
never reject T-0003 "review -> claimed by mv"
mv ready/T-0004.json claimed/ops/ && rec "claim of the one-attempt task"
spool fail T-0004 --agent ops --reason broken >/dev/null
mv failed/T-0004.json ready/
rec "mv failed -> ready"
is "$(state_of T-0004)" failed "failed -> ready by mv is undone"
violation "retry by mv" T-0004
never retry T-0004 "failed -> ready by mv"
spool add --title c >/dev/null                                          # T-0005
mv ready/T-0005.json cancelled/
rec "mv ready -> cancelled"
is "$(state_of T-0005)" ready "ready -> cancelled by mv is undone"
violation "cancel by mv" T-0005
never cancel T-0005 "ready -> cancelled by mv"

# ---- fields only the spool writes ---------------------------------------
# plan_approved written by the agent: the plan is still reviewed
spool add --title plan --mode plan_first --assignee dev >/dev/null      # T-0006
mv ready/T-0006.json claimed/dev/ && rec "claim the plan_first task"
jq '.plan_approved = true | .["x-notes"] = "my plan"' claimed/dev/T-0006.json >tmp/e &&
	cat tmp/e >claimed/dev/T-0006.json
mv claimed/dev/T-0006.json review/
rec "submit with plan_approved: true written by the agent"
is "$(state_of T-0006)" review "the submission stands"
is "$(jq -r '.plan_approved // "absent"' review/T-0006.json)" absent "plan_approved is put back"
is "$(git show HEAD:review/T-0006.json | jq -r '.plan_approved // "absent"')" absent "... in HEAD too"
is "$(jq -r '.["x-notes"]' review/T-0006.json)" "my plan" "the agent's own field is kept"
git log -1 --format=%B | grep -q "violation: 'dev' changed plan_approved, which only the spool writes"
ok $? "the edit is recorded as a violation by dev"
git log -1 --format=%B | grep -q "^Spool-Verb: submit$"; ok $? "in the commit of the submission"
spool approve T-0006 --agent rev >/dev/null
is "$(state_of T-0006)" claimed/dev "approving gives the plan's approval: back to its agent"
is "$(trailer Verb)" approve-plan "recorded as approve-plan"
# the same through spool submit
spool add --title plan2 --mode plan_first --assignee dev >/dev/null     # T-0007
spool claim --agent dev >/dev/null
jq '.plan_approved = true' claimed/dev/T-0007.json >tmp/e && cat tmp/e >claimed/dev/T-0007.json
spool submit T-0007 --agent dev >/dev/null; ok $? "spool submit with plan_approved written"
is "$(jq -r '.plan_approved // "absent"' review/T-0007.json)" absent "plan_approved is put back"
spool approve T-0007 --agent rev >/dev/null
is "$(state_of T-0007)" claimed/dev "its plan is reviewed all the same"

# attempt and max_attempts written by the agent before a release
spool add --title tries --max-attempts 2 >/dev/null                     # T-0008
mv ready/T-0008.json claimed/dev/ && rec "claim"
jq '.attempt = 0 | .max_attempts = 9' claimed/dev/T-0008.json >tmp/e && cat tmp/e >claimed/dev/T-0008.json
mv claimed/dev/T-0008.json ready/ && rec "release with attempt 0 written"
is "$(jq .attempt ready/T-0008.json)/$(jq .max_attempts ready/T-0008.json)" 2/2 "attempt counts from the record, max_attempts is put back"
mv ready/T-0008.json claimed/dev/ && rec "claim again"
mv claimed/dev/T-0008.json ready/ && rec "release on the last attempt"
is "$(state_of T-0008)" failed "the last attempt ends in failed/"

# ---- a parent never reaches done/ while a subtask is open ----------------
# by spool approve
P=$(spool add --title parent --assignee dev)
spool claim --agent dev >/dev/null
is "$(state_of "$P")" claimed/dev "the parent is claimed"
C=$(spool add --title child --parent "$P" --assignee ops)
is "$(state_of "$P")" claimed/dev "a subtask added: the claimed parent stays with its agent"
spool submit "$P" --agent dev >/dev/null
spool approve "$P" --agent rev >/dev/null; ok $? "the parent is approved"
is "$(state_of "$P")/$(state_of "$C")" blocked/ready "it waits in blocked/ while its subtask is open"
is "$(trailer Verb)|$(trailer To)" "approve|blocked" "recorded as approve to blocked"
spool reconcile >/dev/null
is "$(state_of "$P")" blocked "a reconcile does not complete it"
# an edit that drops the subtask from the claimed parent does not count
mv "blocked/$P.json" done/ && rec "parent moved to done/ by mv"
is "$(state_of "$P")" blocked "the parent moved to done/ by mv is undone"
spool claim --agent ops >/dev/null && spool submit "$C" --agent ops >/dev/null &&
	spool approve "$C" --agent rev >/dev/null
is "$(state_of "$C")/$(state_of "$P")" done/done "the subtask done: the parent is completed"
recorded "complete" "$P" blocked done spool complete
# the claimed parent's agent drops its children: they are put back
P=$(spool add --title parent2 --assignee dev)
spool claim --agent dev >/dev/null
C=$(spool add --title child2 --parent "$P" --assignee ops)
jq 'del(.children)' "claimed/dev/$P.json" >tmp/e && cat tmp/e >"claimed/dev/$P.json"
spool submit "$P" --agent dev >/dev/null
is "$(jq -c .children "review/$P.json")" "[\"$C\"]" "children written back at the submission"
spool approve "$P" --agent rev >/dev/null
is "$(state_of "$P")" blocked "and the approval waits for the subtask"

fsck_clean; ok $? "git fsck clean"
tree_matches_head; ok $? "disk matches HEAD"
done_testing
