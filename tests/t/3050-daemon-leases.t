#!/bin/bash
# Leases expire (back to ready with attempt+1, failed after the last),
# heartbeats keep them, failed tasks are retried after their backoff,
# blocked tasks become ready when their dependencies are done, acceptance
# checks approve or send the work back with their output.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

new_spool
spool agent add bob >/dev/null
jq '.retry_backoff_seconds = [1] | .max_attempts = 2
    | .checks = {"has-result": {"command": ["sh", "-c", "test -s \"$SPOOL_DELIVERABLES/result.txt\" || { echo \"no result.txt in $SPOOL_TASK\"; exit 1; }"], "timeout": 5}}' \
	"$S/.spool/config.json" >"$T/c" && cp "$T/c" "$S/.spool/config.json"
add() { spool add --file - >/dev/null; }
add <<<'{"title": "short lease", "lease": 1}'                          # T-0001
add <<<'{"title": "heartbeat", "lease": 2}'                            # T-0002
add <<<'{"title": "last attempt", "lease": 1, "max_attempts": 1}'      # T-0003
add <<<'{"title": "to fail"}'                                          # T-0004
add <<<'{"title": "checked", "acceptance": {"check": "has-result"}}'   # T-0005
add <<<'{"title": "after 5", "depends_on": ["T-0005"]}'                # T-0006
attempt() { jq -r '.attempt' "$S/$1"; }
start_daemon || exit 1

# Expiry: back to ready with attempt + 1.
mv "$S/ready/T-0001.json" "$S/claimed/bob/"
until_ok 15 in_head claimed/bob/T-0001.json; ok $? "claimed by mv"
t0=$(date +%s%N)
until_ok 15 in_head ready/T-0001.json; ok $? "the lease expires: back to ready"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -ge 500 ]; ok $? "not before its time (${ms}ms for a 1s lease)"
is "$(attempt ready/T-0001.json)" 2 "attempt + 1"
git -C "$S" log -1 --format=%B --grep='Spool-Task: T-0001' | grep -q "lease of 1s expired"; ok $? "recorded with the reason"

# A heartbeat (touch) keeps the lease.
mv "$S/ready/T-0002.json" "$S/claimed/bob/"
for i in 1 2 3 4 5 6; do sleep 0.5; touch "$S/claimed/bob/T-0002.json"; done
test -f "$S/claimed/bob/T-0002.json"; ok $? "touched every 0.5s, a 2s lease holds for 3s"
until_ok 6 in_head ready/T-0002.json; ok $? "without touches it expires"

# The last attempt ends in failed/.
mv "$S/ready/T-0003.json" "$S/claimed/bob/"
until_ok 15 in_head failed/T-0003.json; ok $? "expiry on the last attempt: failed"
jq -e '.errors[-1].text | test("last of 1 attempts")' "$S/failed/T-0003.json" >/dev/null; ok $? "the error says why"
sleep 1.2
test -f "$S/failed/T-0003.json"; ok $? "and it is not retried (no attempts left)"

# A failed task with attempts left is retried after the backoff.
mv "$S/ready/T-0004.json" "$S/claimed/bob/"
until_ok 15 in_head claimed/bob/T-0004.json
spool fail T-0004 --reason "tool broke" --agent bob >/dev/null; ok $? "the agent gives up"
t0=$(date +%s%N)
until_ok 15 in_head ready/T-0004.json; ok $? "retried: back to ready"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -ge 700 ]; ok $? "after the backoff (${ms}ms for 1s)"
is "$(attempt ready/T-0004.json)" 2 "attempt 2"
git -C "$S" log -1 --format=%an --grep='Spool-Task: T-0004' | grep -q spool; ok $? "by spool"

# Acceptance check: fail -> back to the agent with the output; pass -> done.
mv "$S/ready/T-0005.json" "$S/claimed/bob/"
until_ok 15 in_head claimed/bob/T-0005.json
mv "$S/claimed/bob/T-0005.json" "$S/review/"
until_ok 15 eval "git -C '$S' log -1 --format=%B --grep='Spool-Task: T-0005' | grep -q 'check has-result failed'"
ok $? "a failing check rejects the submission"
in_head claimed/bob/T-0005.json; ok $? "back to the agent who submitted it"
jq -e '.feedback[-1].text | test("no result.txt in T-0005")' "$S/claimed/bob/T-0005.json" >/dev/null
ok $? "with the check's output as feedback"
mkdir -p "$S/deliverables/T-0005"; echo 42 >"$S/deliverables/T-0005/result.txt"
mv "$S/claimed/bob/T-0005.json" "$S/review/"
until_ok 15 in_head done/T-0005.json; ok $? "a passing check approves: done"
is "$(git -C "$S" log -1 --format=%an --grep='Spool-Task: T-0005')" spool "approved by spool"
in_head deliverables/T-0005/result.txt; ok $? "the deliverable is in git"

# Blocked -> ready when the dependency is done.
until_ok 15 in_head ready/T-0006.json; ok $? "the dependent task is released"

# A task file can never name a command.
add <<<'{"title": "sneaky", "acceptance": {"check": "rm -rf /"}}'   # T-0007
mv "$S/ready/T-0007.json" "$S/claimed/bob/"; until_ok 15 in_head claimed/bob/T-0007.json
mv "$S/claimed/bob/T-0007.json" "$S/review/"
until_ok 15 log_has "check 'rm -rf /' is not configured"; ok $? "an unknown check name is not run"
in_head review/T-0007.json; ok $? "and the task waits in review/ for a person"

# Idle: no CPU between events (once git's index has caught up, which
# spoold does when the spool has been quiet for a second).
synced() { [ "$(cat "$S/.spool/run/index-tree" 2>/dev/null)" = "$(git -C "$S" rev-parse 'HEAD^{tree}')" ]; }
until_ok 15 synced; ok $? "git's index catches up when the spool is quiet"
sleep 0.2
pid=$(daemon_pid)
# leases: T-0002 expired; nothing else is claimed; T-0007 is in review.
c1=$(awk '{print $14+$15}' /proc/$pid/stat); sleep 1; c2=$(awk '{print $14+$15}' /proc/$pid/stat)
is "$((c2 - c1))" 0 "an idle daemon uses no CPU"
stop_daemon
fsck_clean; ok $? "git fsck is clean"
done_testing
