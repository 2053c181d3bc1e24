#!/usr/bin/env bash
# spool work leaves no orphan and no stale lock: a command that ignores
# SIGTERM and forks grandchildren is killed as a group at its timeout,
# when the runner is stopped, and when the runner is killed with -9 (then
# spoold's lease expiry returns the task); a command that outlives
# several leases keeps its task.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
new_spool || exit 1
cd "$T" || exit 1
spool agent add dev >/dev/null

# alive PID: running (a zombie is not).
alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}
# gone PID...: none of them runs, within 10 s.
gone() {
	local p
	for p in "$@"; do until_ok 10 eval "! alive $p" || return 1; done
}
pids() { cat "$S/deliverables/$1/child.pid" "$S/deliverables/$1/grandchild.pid" 2>/dev/null; }
started() { [ -s "$S/deliverables/$1/child.pid" ] && [ -s "$S/deliverables/$1/grandchild.pid" ]; }
sleeping() {	# sleeping PID: asleep on inotify, waiting for work
	ls -l "/proc/$1/fd" 2>/dev/null | grep -q inotify &&
	[ "$(awk '{print $3}' "/proc/$1/stat")" = S ]
}
note() { git -C "$S" log -1 --format=%B -- "$2/$1.json" | sed -n 's/^Spool-Note: //p'; }

# Ignores SIGTERM, and so do its two grandchildren.
cat >"$T/stubborn.sh" <<'EOF'
#!/bin/sh
trap '' TERM
echo "stubborn $SPOOL_TASK"
sleep 1000 &
sh -c 'trap "" TERM; sleep 1000' &
echo $! >"$SPOOL_DELIVERABLES/grandchild.pid"
echo $$ >"$SPOOL_DELIVERABLES/child.pid"
wait
EOF
chmod +x "$T/stubborn.sh"

# The timeout: SIGTERM to the group, SIGKILL after the grace period.
spool add --title "too slow" >/dev/null                        # T-0001
t0=$(date +%s%N)
spool work --agent dev --once --timeout 1 --grace 300ms -- "$T/stubborn.sh" >out 2>err
is $? 0 "a timeout: the runner goes on (exit 0)"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -ge 1000 ]; ok $? "not before the timeout (${ms} ms)"
is "$(state_of T-0001)" ready "given back"
is "$(note T-0001 ready)" "timed out after 1s; killed with SIGKILL after the grace period" \
   "the reason says it timed out"
set -- $(pids T-0001)
is $# 2 "the command started its grandchildren"
gone "$@"; ok $? "no process of its group is left"
grep -q "stubborn T-0001" "$S/deliverables/T-0001/run.log"; ok $? "its output is in run.log"
spool cancel T-0001 >/dev/null

# SIGTERM to the runner mid-task: the command is stopped, the task given
# back, the runner exits 0.
spool add --title "interrupted" >/dev/null                     # T-0002
spool work --agent dev --grace 300ms -- "$T/stubborn.sh" >out 2>err &
rpid=$!
until_ok 10 started T-0002; ok $? "the command runs"
set -- $(pids T-0002)
kill -TERM $rpid
wait $rpid; is $? 0 "SIGTERM: the runner exits 0"
is "$(state_of T-0002)" ready "the task is given back"
is "$(note T-0002 ready)" "stopped: the runner got SIGTERM; killed with SIGKILL after the grace period" \
   "the reason says why"
gone "$@"; ok $? "no process of its group is left"

# SIGINT, to a command that stops when asked: still given back, though it
# exited 0 (it did not finish its work).
spool work --agent dev -- sh -c 'trap "exit 0" TERM; echo $$ >"$SPOOL_DELIVERABLES/child.pid"; sleep 1000 & wait' >out 2>err &
rpid=$!
old=$1
restarted() { [ -s "$S/deliverables/T-0002/child.pid" ] && [ "$(cat "$S/deliverables/T-0002/child.pid")" != "$old" ]; }
until_ok 10 restarted
ok $? "taken again, started again"
kill -INT $rpid
wait $rpid; is $? 0 "SIGINT: the runner exits 0"
is "$(state_of T-0002)" ready "given back, not submitted"
is "$(jq -r .attempt "$S/ready/T-0002.json")" 3 "each release counted"
is "$(note T-0002 ready)" "stopped: the runner got SIGINT" "the reason says SIGINT"

# SIGTERM to a runner waiting for work: it exits 0 at once.
spool cancel T-0002 >/dev/null
spool work --agent dev -- true >out 2>err &
rpid=$!
until_ok 10 eval 'ls -l /proc/$rpid/fd | grep -q inotify'
kill -TERM $rpid
wait $rpid; is $? 0 "SIGTERM while waiting: exit 0"

# kill -9 of the runner: the guard kills the whole group, and spoold's
# lease expiry returns the task.
start_daemon || exit 1
spool add --file - >/dev/null <<<'{"title": "orphaned", "lease": 1}'   # T-0003
spool work --agent dev -- "$T/stubborn.sh" >out 2>err &
rpid=$!
until_ok 10 started T-0003; ok $? "the command runs"
until_ok 10 in_head claimed/dev/T-0003.json; ok $? "the claim is recorded"
set -- $(pids T-0003) $(ps -o pid= --ppid $rpid)
kill -9 $rpid
wait $rpid 2>/dev/null
gone "$@"; ok $? "kill -9 of the runner: no child, grandchild or guard left"
until_ok 15 in_head ready/T-0003.json; ok $? "the lease expires: the task is back in ready/"
is "$(jq -r .attempt "$S/ready/T-0003.json")" 2 "with attempt 2"
note T-0003 ready | grep -q "lease of 1s expired"; ok $? "recorded as an expiry"

# A command that outlives several leases keeps its task: the runner
# renews the lease while it lives.
spool cancel T-0003 >/dev/null
spool add --file - >/dev/null <<<'{"title": "long", "lease": 2}'      # T-0004
spool work --agent dev --once -- sh -c 'sleep 5; echo finished' >out 2>err
is $? 0 "ran for 2.5 leases"
until_ok 15 in_head review/T-0004.json; ok $? "submitted"
is "$(jq -r .attempt "$S/review/T-0004.json")" 1 "on its first attempt"
git -C "$S" log --format=%B --grep='Spool-Task: T-0004' | grep -q "Spool-Verb: expire"
is $? 1 "its lease never expired"
# A runner that stalls past the lease (SIGSTOP: no heartbeat) loses its
# task to another runner of the same agent; when it resumes, it must not
# submit or release that other claim.
spool add --file - >/dev/null <<<'{"title": "stalled", "lease": 2}'   # T-0005
spool work --agent dev --once --json -- sh -c 'touch "$0/a-started"; until [ -e "$0/a-go" ]; do sleep 0.05; done' "$T" >a.out 2>a.err &
apid=$!
until_ok 10 test -e "$T/a-started"; ok $? "runner a runs the task"
kill -STOP $apid
until_ok 15 in_head ready/T-0005.json; ok $? "a stalls: the lease expires"
spool work --agent dev --once --json -- sh -c 'touch "$0/b-started"; until [ -e "$0/b-go" ]; do sleep 0.05; done' "$T" >b.out 2>b.err &
bpid=$!
until_ok 10 test -e "$T/b-started"; ok $? "runner b claims it again, for the same agent"
touch "$T/a-go"
kill -CONT $apid
until_ok 30 eval '! alive $apid'; wait $apid; is $? 0 "a resumes and ends"
is "$(jq -r .result a.out)" handed-over "a leaves the task alone: another claim owns it"
is "$(state_of T-0005)" claimed/dev "still claimed, by b's run"
touch "$T/b-go"
until_ok 30 eval '! alive $bpid'; wait $bpid; is $? 0 "b ends"
is "$(jq -r .result b.out)" submitted "b submits it"
is "$(jq -r .attempt "$S/review/T-0005.json")" 2 "on the second attempt"
# A task released by another agent's mv and claimed at once: spoold
# records the release after the claim and counts its attempt in the
# claimed file. That is the same claim, and it is submitted.
spool agent add feeder >/dev/null
spool add --title "released by mv" >/dev/null                  # T-0006
mv "$S/ready/T-0006.json" "$S/claimed/feeder/" 2>/dev/null ||
	{ mkdir -p "$S/claimed/feeder" && mv "$S/ready/T-0006.json" "$S/claimed/feeder/"; }
until_ok 10 in_head claimed/feeder/T-0006.json
spool work --agent dev --once --json -- sh -c 'until [ "$(jq -r .attempt "$SPOOL_TASK_FILE")" -ge 2 ]; do sleep 0.05; done' >c.out 2>c.err &
cpid=$!
until_ok 10 sleeping $cpid
mv "$S/claimed/feeder/T-0006.json" "$S/ready/"
until_ok 30 eval '! alive $cpid' || kill $cpid; wait $cpid; is $? 0 "claimed the released task"
is "$(jq -r .result c.out)" submitted "submitted, though spoold counted the attempt after the claim"
until_ok 10 in_head review/T-0006.json; ok $? "in review/"
stop_daemon
done_testing
