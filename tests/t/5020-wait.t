#!/usr/bin/env bash
# spool wait: returns at once for a task already there; sleeps on inotify
# until another process's mv brings the task to the state; exit codes
# 0 reached, 1 another terminal state, 4 timed out.
. "$(dirname "$0")/../lib.sh"
new_spool || exit 1
cd "$S" || exit 1
spool agent add dev >/dev/null
for i in 1 2 3 4; do spool add --title "t$i" >/dev/null; done
spool cancel T-0004 >/dev/null
ms() { date +%s%3N; }

fails 0 "a task already finished" -- spool wait T-0004 --timeout 5
is "$(cat "$T/.out")" "T-0004 cancelled" "prints where it is"
fails 1 "finished, but not in the state asked" -- spool wait T-0004 --state done --timeout 5
t0=$(ms)
fails 4 "timed out" -- spool wait T-0001 --timeout 1
el=$(( $(ms) - t0 ))
[ $el -ge 900 ] && [ $el -lt 3000 ]; ok $? "the timeout is kept (${el} ms)"
grep -q "timed out" "$T/.err"; ok $? "says it timed out"
fails 1 "no such task" -- spool wait T-0099 --timeout 1
fails 2 "not a state" -- spool wait T-0001 --state nowhere
fails 2 "no id" -- spool wait

# woken by a real mv in another process
t0=$(ms)
spool wait T-0001 --state claimed --timeout 10 >"$T/w1" &
wpid=$!
sleep 0.3
bash -c 'sleep 0.7; mkdir -p claimed/dev; mv ready/T-0001.json claimed/dev/' &
wait $wpid; rc=$?
el=$(( $(ms) - t0 ))
is $rc 0 "wait --state claimed: reached"
[ $el -lt 3000 ]; ok $? "woken at once by the mv (${el} ms), not by the timeout"
is "$(cat "$T/w1")" "T-0001 claimed/dev" "prints the new place"

# a terminal state other than the one asked: exit 1
spool wait T-0002 --state done --timeout 10 >/dev/null &
wpid=$!
sleep 0.3
spool cancel T-0002 >/dev/null
wait $wpid; is $? 1 "waiting for done, the task was cancelled: exit 1"

# several tasks: returns when the last one arrives
spool wait T-0001 T-0003 --timeout 10 --json >"$T/w3" &
wpid=$!
sleep 0.3
spool cancel T-0003 >/dev/null
sleep 0.3
kill -0 $wpid 2>/dev/null; ok $? "still waiting for the other task"
mv claimed/dev/T-0001.json failed/
wait $wpid; is $? 0 "both finished (any terminal state)"
is "$(jq -r '.[] | .id + " " + .state + " " + (.reached|tostring)' "$T/w3" | tr '\n' ';')" \
   "T-0001 failed true;T-0003 cancelled true;" "--json: state per task"

# an agent directory created while waiting is watched too
spool add --title t5 >/dev/null
spool wait T-0005 --state review --timeout 10 >/dev/null &
wpid=$!
sleep 0.3
bash -c 'mkdir -p claimed/newbie && mv ready/T-0005.json claimed/newbie/ && sleep 0.3 && mv claimed/newbie/T-0005.json review/'
wait $wpid; is $? 0 "followed the task through a brand new claimed/ directory"
done_testing
