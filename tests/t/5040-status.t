#!/usr/bin/env bash
# spool status: counts per state and agent, oldest ready, leases, how far
# git is behind the disk, the last commit; --watch redraws on a change.
. "$(dirname "$0")/../lib.sh"
new_spool || exit 1
cd "$S" || exit 1
spool agent add dev >/dev/null && spool agent add ann >/dev/null
for i in 1 2 3 4 5; do spool add --title "t$i" >/dev/null; done
spool add --title quick --lease 60 >/dev/null   # T-0006
spool claim --agent dev >/dev/null              # T-0001
spool cancel T-0002 >/dev/null
st() { spool status --json | jq -r "$1"; }

spool status --json >"$T/s"; ok $? "status --json"
is "$(jq -c .counts "$T/s")" '{"new":0,"blocked":0,"ready":4,"claimed":1,"review":0,"done":0,"failed":0,"cancelled":1,"quarantine":0}' "counts per state"
is "$(jq -c .agents "$T/s")" '{"ann":0,"dev":1}' "claimed per agent, idle agents too"
is "$(jq -r .oldest_ready.id "$T/s")" T-0003 "the oldest ready task"
is "$(jq -r .daemon.running "$T/s")" false "no daemon"
is "$(jq -r .daemon.unrecorded_moves "$T/s")" 0 "git is up to date"
jq -r .last_commit.subject "$T/s" | grep -q "^cancel T-0002 by .* (ready -> cancelled)$"; ok $? "the last commit"
is "$(jq -r .leases_expiring "$T/s")" "[]" "no lease near its end (lease 1800s)"
mv ready/T-0006.json claimed/ann/ 2>/dev/null || { mkdir -p claimed/ann && mv ready/T-0006.json claimed/ann/; }
is "$(st .daemon.unrecorded_moves)" 1 "a raw mv: one move not recorded yet"
printf '{"title":"x"}' >new/x.json
is "$(st .daemon.waiting_in_new)" 1 "a file waiting in new/"
spool reconcile >/dev/null
is "$(st .daemon.unrecorded_moves)/$(st .daemon.waiting_in_new)" 0/0 "caught up after reconcile"
is "$(st '.leases_expiring[0].id')" T-0006 "a 60s lease is within --soon 300s"
is "$(spool status --json --soon 10 | jq -r '.leases_expiring | length')" 0 "--soon 10: not yet"
spool status >"$T/text"; ok $? "text status"
grep -q "ready 4" "$T/text" && grep -q "claimed 2" "$T/text"; ok $? "text: counts"
grep -q "oldest ready: T-0003" "$T/text"; ok $? "text: oldest ready"
grep -q "^daemon: not running; behind by 0 unrecorded moves" "$T/text"; ok $? "text: daemon line"
grep -q "^last commit: " "$T/text"; ok $? "text: last commit"

# --watch: a new frame when another process moves a task
spool status --watch --json --interval 60 >"$T/watch" &
wpid=$!
for _ in $(seq 30); do [ -s "$T/watch" ] && break; sleep 0.1; done
is "$(wc -l <"$T/watch")" 1 "--watch: the first frame"
bash -c 'mv ready/T-0003.json claimed/dev/'
for _ in $(seq 50); do [ "$(wc -l <"$T/watch")" -ge 2 ] && break; sleep 0.1; done
is "$(tail -1 "$T/watch" | jq -r '.counts.claimed')" 3 "--watch: redrawn after the mv, long before the interval"
kill $wpid; wait $wpid 2>/dev/null
done_testing
