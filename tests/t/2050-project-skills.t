#!/usr/bin/env bash
# The project's skills/: valid Agent Skills, the default global set, and
# true to the CLI: every command and option they show exists, and the
# workflow they teach runs against a real spool.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../hydrate-lib.sh"

SK=$TOP/skills
spool skills validate "$SK" >"$T/out" 2>&1
ok $? "skills/ passes the Agent Skills rules"
grep -q "^4 skills valid$" "$T/out"; ok $? "all four"

# The built-in root is found beside the binary; an empty manifest gets it.
mkdir -p "$T/ws"; echo '{}' >"$T/m.json"
spool hydrate -q --manifest "$T/m.json" "$T/ws"
is "$(ls "$T/ws/.agents/skills" | tr '\n' ' ')" "spool-planner spool-reviewer spool-runner spool-worker " \
	"skills/ is the default global set"
is "$(link_of "$T/ws/.claude/skills/spool-worker")" "$(cd "$SK" && pwd -P)/spool-worker" \
	"linked from the project's skills/"

# Every 'spool CMD [SUB] --option' in the skills' shell blocks exists.
awk '/^```sh/{on=1; next} /^```/{on=0} on' "$SK"/*/SKILL.md |
	sed -e :a -e '/\\$/N; s/\\\n//; ta' >"$T/blocks"
while read -r _ cmd; do
	spool help "$cmd" >/dev/null 2>&1; ok $? "the skills' 'spool $cmd' exists"
done < <(grep -o 'spool [a-z]\+' "$T/blocks" | sort -u)
while read -r line; do
	cmd=$(echo "$line" | awk '{print $2}')
	for opt in $(echo "$line" | grep -o -- '--[a-z-]\+' | sort -u); do
		spool help "$cmd" 2>&1 | grep -q -- "$opt"
		ok $? "'spool $cmd' takes $opt"
	done
done < <(grep -o 'spool [a-z]\+[^|;)#]*' "$T/blocks")

# The workflow the skills teach, on a real spool.
new_spool || exit 1
cd "$S" || exit 1
spool agent add planner --roles operator >/dev/null &&
spool agent add w1 --capabilities writing --roles worker >/dev/null &&
spool agent add checker --roles worker >/dev/null &&
spool agent add rev --roles reviewer >/dev/null
ok $? "agents registered"

# Planner: the 'Create tasks' block, run as written.
export SPOOL_AGENT=planner
awk '/^## 1. Create tasks/{f=1} f && /^```sh/{on=1; next} on && /^```/{exit} on' \
	"$SK/spool-planner/SKILL.md" >"$T/plan.sh"
. "$T/plan.sh"
ok $? "the planner's commands run"
is "$(state_of "$draft")" ready "the draft is ready"
is "$(state_of "$review")" blocked "the dependent task is blocked"
spool ls >/dev/null; ok $? "spool ls"
spool ls --state blocked | grep -q "$review"; ok $? "spool ls --state blocked shows it"

# Worker: find, claim by mv, heartbeat by touch, deliverables, submit.
# 'spool reconcile' after each raw mv stands in for spoold, which records
# every move as it happens.
export SPOOL_AGENT=w1
me=$SPOOL_AGENT
ls ready/ | grep -q "$draft.json"; ok $? "ls ready/ shows the draft"
p=$(spool next --agent "$me"); ok $? "spool next --agent"
case $p in *"$draft.json") r=0 ;; *) r=1 ;; esac; ok $r "names the draft"
mkdir -p "claimed/$me" && mv "ready/$draft.json" "claimed/$me/"
ok $? "claim by mv"
spool reconcile >/dev/null; ok $? "the claim is recorded"
mv "ready/$draft.json" "claimed/$me/" 2>/dev/null
is "$?" 1 "a second mv of the same task fails"
touch "claimed/$me/$draft.json"; ok $? "heartbeat by touch"
spool heartbeat "$draft"; ok $? "spool heartbeat"
mkdir -p "deliverables/$draft" && echo draft >"deliverables/$draft/post.md"
mv "claimed/$me/$draft.json" review/; ok $? "submit by mv"
spool reconcile >/dev/null
is "$(state_of "$draft")" review "the submission is recorded"

# Reviewer: reject with feedback, the worker sees it and resubmits.
export SPOOL_AGENT=rev
spool show "$draft" >/dev/null; ok $? "spool show"
spool reject "$draft" --feedback "add the 2023 figures" >/dev/null
ok $? "spool reject --feedback"
is "$(state_of "$draft")" "claimed/w1" "the rejected task is back with its agent"
grep -q "add the 2023 figures" "claimed/w1/$draft.json"; ok $? "with the feedback in the task"
export SPOOL_AGENT=w1
echo "draft with 2023 figures" >"deliverables/$draft/post.md"
spool submit "$draft" >/dev/null; ok $? "spool submit"
SPOOL_AGENT=rev spool approve "$draft" >/dev/null; ok $? "spool approve"
is "$(state_of "$draft")" done "the draft is done"
spool reconcile >/dev/null 2>&1
is "$(state_of "$review")" ready "its dependent is released"

# Plan-first: the first approval sends the task back to execute.
export SPOOL_AGENT=checker
p=$(spool claim --agent checker); ok $? "spool claim"
is "$(state_of "$review")" claimed/checker "the claim moved the file"
mkdir -p "deliverables/$review" && echo "1. check" >"deliverables/$review/PLAN.md"
mv "claimed/checker/$review.json" review/ && spool reconcile >/dev/null
SPOOL_AGENT=rev spool approve "$review" >/dev/null; ok $? "approve the plan"
is "$(state_of "$review")" claimed/checker "the plan's approval sends it back to its agent"
grep -q '"plan_approved": *true' "claimed/checker/$review.json"; ok $? "with plan_approved"
spool submit "$review" >/dev/null && SPOOL_AGENT=rev spool approve "$review" >/dev/null
is "$(state_of "$review")" done "the executed task is approved"

# Fail and release are what the worker skill says.
export SPOOL_AGENT=planner
t=$(spool add --title "one more" --requires writing)
SPOOL_AGENT=w1 spool claim --agent w1 >/dev/null
SPOOL_AGENT=w1 spool fail "$t" --reason "the input file is missing" >/dev/null
ok $? "spool fail --reason"
spool retry "$t" >/dev/null; ok $? "spool retry"
SPOOL_AGENT=w1 spool claim --agent w1 >/dev/null
SPOOL_AGENT=w1 spool release "$t" >/dev/null; ok $? "spool release"
spool cancel "$t" >/dev/null; ok $? "spool cancel"
git log --oneline | grep -q .; ok $? "git log shows the history"

done_testing
