#!/usr/bin/env bash
# Every legal transition through the CLI, each checked on disk and in git:
# author, subject, trailers, the tree at HEAD, deliverables in the commit.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
core_spool || exit 1

# add -> ready
spool add --title "write the intro" >"$T/out"; ok $? "add"
is "$(cat "$T/out")" T-0001 "add prints the new id"
is "$(state_of T-0001)" ready "new task is ready"
recorded "add" T-0001 none ready operator add 1
is "$(subject)" "add T-0001 into ready" "subject reads at a glance"

# ready -> claimed/dev
spool claim --agent dev >"$T/out"; ok $? "claim"
is "$(cat "$T/out")" "$(cd "$S" && pwd -P)/claimed/dev/T-0001.json" "claim prints the new absolute path"
is "$(state_of T-0001)" claimed/dev "claimed by dev"
recorded "claim" T-0001 ready claimed/dev dev claim 1
is "$(subject)" "claim T-0001 by dev" "claim subject"

# heartbeat: mtime moves, no commit
head=$(head_id)
touch -d '2000-01-01' "$S/claimed/dev/T-0001.json"
spool heartbeat T-0001 --agent dev; ok $? "heartbeat"
[ "$(stat -c %Y "$S/claimed/dev/T-0001.json")" -gt 946684800 ]; ok $? "heartbeat renews the mtime"
is "$(head_id)" "$head" "heartbeat makes no commit"

# claimed -> review, with the deliverable in the same commit
mkdir -p "$S/deliverables/T-0001" && echo "draft 1" >"$S/deliverables/T-0001/intro.md"
spool submit T-0001 --agent dev >/dev/null; ok $? "submit"
is "$(state_of T-0001)" review "submitted task is in review"
recorded "submit" T-0001 claimed/dev review dev submit 1
git -C "$S" show --name-only --format= HEAD | grep -qx deliverables/T-0001/intro.md
ok $? "the deliverable is in the submit commit"
is "$(git -C "$S" log --format=%s -- deliverables/T-0001)" "submit T-0001 by dev (claimed/dev -> review)" \
	"git log -- deliverables/T-0001 shows the submission"
is "$(field T-0001 .submitted_by)" '"dev"' "submitted_by written"

# review -> claimed/dev (reject with feedback, back to its agent)
spool reject T-0001 --agent rev --feedback "too long; cut it to 100 words" >/dev/null
ok $? "reject"
is "$(state_of T-0001)" claimed/dev "rejected task goes back to its agent"
recorded "reject" T-0001 review claimed/dev rev reject
is "$(field T-0001 '.feedback[-1].text')" '"too long; cut it to 100 words"' "feedback kept in the task"
git -C "$S" log -1 --format=%B | grep -q "too long"; ok $? "feedback in the commit message"

# second version, submit, review -> done
echo "draft 2" >"$S/deliverables/T-0001/intro.md"
spool submit T-0001 --agent dev >/dev/null; ok $? "submit again"
spool approve T-0001 --agent rev >/dev/null; ok $? "approve"
is "$(state_of T-0001)" done "approved task is done"
recorded "approve" T-0001 review done rev approve
is "$(git -C "$S" log --format=%s -- deliverables/T-0001 | wc -l)" 2 "both deliverable versions in history"
is "$(git -C "$S" show HEAD~1:deliverables/T-0001/intro.md)" "draft 2" "second version committed with the second submission"
is "$(git -C "$S" show HEAD~3:deliverables/T-0001/intro.md)" "draft 1" "first version kept in history"

# review -> ready (reject --to-ready)
spool add --title two >/dev/null && spool claim --agent dev >/dev/null &&
	spool submit T-0002 --agent dev >/dev/null; ok $? "T-0002 to review"
spool reject T-0002 --agent rev --feedback "someone else" --to-ready >/dev/null
ok $? "reject --to-ready"
is "$(state_of T-0002)" ready "back in ready"
recorded "reject --to-ready" T-0002 review ready rev reject

# claimed -> ready (release; attempt + 1)
spool claim --agent dev >/dev/null
a=$(field T-0002 .attempt)
spool release T-0002 --agent dev >/dev/null; ok $? "release"
is "$(state_of T-0002)" ready "released task is ready"
is "$(field T-0002 .attempt)" "$((a + 1))" "release spends an attempt"
recorded "release" T-0002 claimed/dev ready dev release "$((a + 1))"

# claimed -> failed, failed -> ready (retry)
spool claim --agent dev >/dev/null
spool fail T-0002 --agent dev --reason "the source is gone" >/dev/null; ok $? "fail"
is "$(state_of T-0002)" failed "failed"
recorded "fail" T-0002 claimed/dev failed dev fail
is "$(field T-0002 '.errors[-1].text')" '"the source is gone"' "reason kept in errors"
spool retry T-0002 >/dev/null; ok $? "retry"
is "$(state_of T-0002)" ready "retried task is ready"
recorded "retry" T-0002 failed ready operator retry

# release at the last attempt ends in failed/
spool add --title once --max-attempts 1 >/dev/null
spool claim --agent dev >/dev/null  # T-0002 is older: take it out first
spool cancel T-0002 >/dev/null
is "$(state_of T-0003)" ready "T-0003 ready"
spool claim --agent dev >/dev/null
spool release T-0003 --agent dev >/dev/null; ok $? "release of the last attempt"
is "$(state_of T-0003)" failed "the last attempt released ends in failed"

# plan_first: the first review is the plan, approval sends it back
spool add --title plan --mode plan_first >/dev/null
spool claim --agent dev >/dev/null; is "$(state_of T-0004)" claimed/dev "plan_first claimed"
mkdir -p "$S/deliverables/T-0004" && echo plan >"$S/deliverables/T-0004/PLAN.md"
spool submit T-0004 --agent dev >/dev/null; ok $? "submit the plan"
spool approve T-0004 --agent rev >"$T/out"; ok $? "approve the plan"
is "$(state_of T-0004)" claimed/dev "approved plan goes back to its agent"
recorded "approve plan" T-0004 review claimed/dev rev approve-plan
is "$(field T-0004 .plan_approved)" true "plan_approved set"
echo result >"$S/deliverables/T-0004/RESULT.md"
spool submit T-0004 --agent dev >/dev/null; ok $? "submit the result"
spool approve T-0004 --agent rev >/dev/null; ok $? "approve the result"
is "$(state_of T-0004)" done "second approval: done"
recorded "approve result" T-0004 review done rev approve
is "$(git -C "$S" log --format=%s -- deliverables/T-0004 | wc -l)" 2 "plan and result each committed"

# cancel from every open state
spool add --title c-ready >/dev/null                       # T-0005
spool add --title c-blocked --depends-on T-0005 >/dev/null # T-0006
is "$(state_of T-0006)" blocked "a task with an open dependency is blocked"
recorded "add blocked" T-0006 none blocked operator add
spool add --title c-claimed --assignee ops >/dev/null      # T-0007
spool add --title c-review --assignee ops >/dev/null       # T-0008
spool claim --agent ops >/dev/null; spool claim --agent ops >/dev/null
spool submit T-0008 --agent ops >/dev/null
is "$(state_of T-0007)/$(state_of T-0008)" claimed/ops/review "setup for cancels"
for x in "T-0006 blocked" "T-0005 ready" "T-0007 claimed/ops" "T-0008 review"; do
	set -- $x
	spool cancel "$1" --reason "not needed" >/dev/null; ok $? "cancel from $2"
	is "$(state_of "$1")" cancelled "$1 cancelled"
	recorded "cancel from $2" "$1" "$2" cancelled operator cancel
done
fsck_clean; ok $? "git fsck clean"
tree_matches_head; ok $? "disk matches HEAD"
done_testing
