#!/usr/bin/env bash
# spool events: JSON lines with cursors; resume from any cursor, even in
# the middle of a commit of several transitions; --follow sleeps on
# inotify and wakes for a commit made by another process after a real mv.
. "$(dirname "$0")/../lib.sh"
new_spool || exit 1
cd "$S" || exit 1
spool agent add dev >/dev/null
for i in 1 2 3; do spool add --title "t$i" >/dev/null; done

spool events >"$T/all"; ok $? "events runs"
is "$(wc -l <"$T/all")" 3 "one line per transition"
jq -e -s 'all(.[]; has("cursor") and has("commit") and has("time") and has("id") and has("verb") and has("from") and has("to") and has("actor") and has("attempt"))' "$T/all" >/dev/null
ok $? "each line has cursor, commit, time, id, verb, from, to, actor, attempt"
c1=$(sed -n 1p "$T/all" | jq -r .cursor)
is "$(spool events --since "$c1" | jq -r .id | tr '\n' ' ')" "T-0002 T-0003 " "--since resumes after the cursor"
is "$(spool events --limit 2 | jq -r .id | tr '\n' ' ')" "T-0001 T-0002 " "--limit"
is "$(spool events --since HEAD | wc -l)" 0 "--since HEAD: nothing yet"

# a commit with two transitions: cursors inside it
printf '{"title":"a"}' >tmp/a && mv tmp/a new/a.json
printf '{"title":"b"}' >tmp/b && mv tmp/b new/b.json
spool reconcile >/dev/null
head=$(git rev-parse HEAD)
spool events --since "$(tail -1 "$T/all" | jq -r .cursor)" >"$T/batch"
is "$(jq -r .cursor "$T/batch" | tr '\n' ' ')" "$head:1 $head " "inside a commit: COMMIT:N, then the commit"
first=$(head -1 "$T/batch" | jq -r .cursor)
is "$(spool events --since "$first" | jq -r .id)" "$(tail -1 "$T/batch" | jq -r .id)" "resume from the middle of a commit"
fails 1 "a cursor that is no commit" -- spool events --since nonsense
fails 1 "a malformed partial cursor" -- spool events --since "$head:x"

# --follow, woken by another process's mv (recorded by reconcile)
spool events --follow --since HEAD >"$T/follow" 2>"$T/follow.err" &
fpid=$!
# once it watches (its inotify descriptor is open: start-up is over,
# however slow the build or the machine), it sleeps: next to no CPU
for _ in $(seq 300); do
	ls -l /proc/$fpid/fd 2>/dev/null | grep -q inotify && break
	sleep 0.1
done
sleep 0.2
ticks=$(awk '{print $14 + $15}' /proc/$fpid/stat)
sleep 1
ticks2=$(awk '{print $14 + $15}' /proc/$fpid/stat)
[ $((ticks2 - ticks)) -le 1 ]; ok $? "--follow sleeps while nothing happens (no polling)"
bash -c 'mkdir -p claimed/dev && mv ready/T-0001.json claimed/dev/ && spool reconcile >/dev/null' &
wait $!
for _ in $(seq 50); do [ -s "$T/follow" ] && break; sleep 0.1; done
is "$(jq -r '.id + " " + .verb + " " + .to' "$T/follow" 2>/dev/null)" "T-0001 claim claimed/dev" "--follow prints the claim made by another process"
kill -0 $fpid 2>/dev/null; ok $? "--follow keeps running"
spool release T-0001 --agent dev >/dev/null
for _ in $(seq 50); do [ "$(wc -l <"$T/follow")" -ge 2 ] && break; sleep 0.1; done
is "$(tail -1 "$T/follow" | jq -r .verb)" release "and the next commit too"
kill $fpid; wait $fpid 2>/dev/null

# --follow with --limit stops after N
spool events --follow --since HEAD --limit 1 >"$T/one" &
lpid=$!
sleep 0.3
spool cancel T-0002 >/dev/null
for _ in $(seq 50); do kill -0 $lpid 2>/dev/null || break; sleep 0.1; done
kill -0 $lpid 2>/dev/null; is $? 1 "--follow --limit 1 exits after one event"
is "$(jq -r .verb "$T/one")" cancel "the one event"

# with the daemon recording a bare mv
if [ -x "$SPOOL_BIN/spoold" ]; then
	spool events --follow --since HEAD >"$T/daemon" &
	epid=$!
	spoold -C "$S" >"$T/spoold.log" 2>&1 &
	dpid=$!
	sleep 0.5
	bash -c 'mv ready/T-0003.json claimed/dev/'
	for _ in $(seq 50); do grep -q T-0003 "$T/daemon" && break; sleep 0.1; done
	is "$(grep T-0003 "$T/daemon" | jq -r .verb)" claim "a bare mv recorded by spoold reaches --follow"
	kill $epid $dpid; wait $epid $dpid 2>/dev/null
fi
[ "$_failed" -gt 0 ] && [ -f "$T/spoold.log" ] && sed "s/^/# /" "$T/spoold.log"
done_testing
