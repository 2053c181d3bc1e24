#!/usr/bin/env bash
# What next/claim choose: the tasks assigned to the agent first, only what
# it may take (assignee, capabilities), then priority, then the oldest.
# Exit 3 when there is nothing.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
core_spool || exit 1
cd "$S" || exit 1
R=$(pwd -P)	# next and claim print absolute paths
add() { spool add --file - <<<"$1"; }

fails 3 "next on an empty spool" -- spool next --agent dev
is "$(cat "$T/.out")" "" "next prints no path when there is nothing"
fails 3 "claim on an empty spool" -- spool claim --agent dev

low=$(add '{"title": "low, oldest", "priority": "low", "created": "2020-01-01T00:00:00Z"}')
gpu=$(add '{"title": "urgent, needs gpu", "priority": "urgent", "requires": ["gpu"], "created": "2020-01-01T00:00:00Z"}')
theirs=$(add '{"title": "urgent, for ops", "priority": "urgent", "assignee": "ops", "created": "2020-01-01T00:00:00Z"}')
normal=$(add '{"title": "normal", "created": "2020-01-01T00:00:00Z"}')
high_new=$(add '{"title": "high, newer", "priority": "high", "created": "2020-03-01T00:00:00Z"}')
high_old=$(add '{"title": "high, older", "priority": "high", "created": "2020-02-01T00:00:00Z"}')
urgent=$(add '{"title": "urgent, needs code", "priority": "urgent", "requires": ["code"], "created": "2020-06-01T00:00:00Z"}')
mine=$(add '{"title": "low, but mine", "priority": "low", "assignee": "dev", "created": "2021-01-01T00:00:00Z"}')
is "$(ls ready | wc -l)" 8 "eight ready tasks"

head=$(head_id)
spool next --agent dev >"$T/out"; ok $? "next"
is "$(cat "$T/out")" "$R/ready/$mine.json" "next: the task assigned to me comes first, even at low priority"
is "$(head_id)" "$head" "next changes nothing"
is "$(state_of "$mine")" ready "next does not move the task"
SPOOL_AGENT=dev spool next >"$T/out2"; ok $? "next with SPOOL_AGENT"
is "$(cat "$T/out2")" "$(cat "$T/out")" "SPOOL_AGENT is the agent when --agent is omitted"

order=""
for i in 1 2 3 4 5 6; do
	want=$(spool next --agent dev)
	got=$(spool claim --agent dev) || break
	[ "$got" = "$R/claimed/dev/$(basename "$want")" ] || order="$order MISMATCH($want,$got)"
	order="$order $(basename "$got" .json)"
done
is "$order" " $mine $urgent $high_old $high_new $normal $low" \
	"claim order: assigned, then priority, then oldest; capabilities and other assignees filtered"
fails 3 "dev: nothing left it may take" -- spool claim --agent dev
is "$(state_of "$gpu")/$(state_of "$theirs")" ready/ready "the gpu task and ops's task are left"
is "$(spool next --agent ops)" "$R/ready/$theirs.json" "ops gets the task assigned to it"
spool agent add gpubox --capabilities gpu >/dev/null
is "$(spool next --agent gpubox)" "$R/ready/$gpu.json" "an agent with the capability gets the gpu task"
fails 1 "next for an unregistered agent is an error, not 'nothing'" -- spool next --agent ghost
grep -q "not registered" "$T/.err"; ok $? "and says so"

# a task another agent took by mv after next chose it: claim picks again
spool agent add plain >/dev/null
a=$(add '{"title": "a", "created": "2019-01-01T00:00:00Z"}')
b=$(add '{"title": "b", "created": "2019-06-01T00:00:00Z"}')
is "$(spool next --agent plain)" "$R/ready/$a.json" "next picks the oldest"
mv "ready/$a.json" claimed/ops/
is "$(spool claim --agent plain)" "$R/claimed/plain/$b.json" "claim after a lost race takes the next one"
is "$(state_of "$a")" claimed/ops "the raw claim stands"
git log --format=%B -3 | grep -q "^Spool-To: claimed/ops$"; ok $? "and was recorded before the claim"
fsck_clean; ok $? "git fsck clean"
done_testing
