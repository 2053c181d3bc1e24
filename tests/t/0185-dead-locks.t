#!/usr/bin/env bash
# Locks left by a dead process never block the next writer: the spool's
# own lock is an flock the kernel drops with its holder, and the lock
# files git writers take (REF.lock, index.lock) are removed by the next
# holder of the spool lock when no live process has them open. One that
# a live git has open is waited for.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
core_spool || exit 1
cd "$S" || exit 1

# A long holder: a reconcile filing many dropped tasks, killed midway.
n=400
perl -e 'my ($d, $n) = @ARGV; for my $i (1..$n) { my $f = "$d/tmp/x$i.json";
	open(my $h, ">", $f) or die; print $h "{\"title\": \"dropped $i\"}\n";
	close $h; rename($f, "$d/new/x$i.json") or die }' "$S" "$n"
spool reconcile >/dev/null 2>&1 &
holder=$!
held=1
for _ in $(seq 1 500); do
	flock -n .spool/run/lock true 2>/dev/null || { held=0; break; }
	sleep 0.01
done
is "$held" 0 "a reconcile holds the spool lock"
# Kill it while it holds the lock, once its batch has begun (its intents
# are written first; the sources in new/ go only once all is in place).
for _ in $(seq 1 500); do
	[ -n "$(ls .spool/run/intent 2>/dev/null)" ] && break
	sleep 0.01
done
kill -9 "$holder"; wait "$holder" 2>/dev/null
left=$(ls new | wc -l)
[ "$left" -gt 0 ]; ok $? "killed with -9 while filing ($left of $n still in new/)"
start=$(date +%s%N)
flock -n .spool/run/lock true; ok $? "the lock is free the moment its holder is dead"
spool reconcile --json >"$T/rec"; ok $? "the next reconcile runs"
echo "# it took $(( ($(date +%s%N) - start) / 1000000 )) ms, filing $(jq .filed "$T/rec")"
is "$(ls new | wc -l)" 0 "everything in new/ is filed"
is "$(find ready -name 'T-*.json' | wc -l)" "$n" "each dropped task once, none lost"
titles=$(cat ready/*.json | jq -r .title | sort | uniq -d | wc -l)
is "$titles" 0 "none filed twice"
is "$(ls quarantine | wc -l)" 0 "none quarantined"
tree_matches_head; ok $? "HEAD's tree equals the files"
is "$(ls .spool/run/intent | wc -l)" 0 "no intent left"
fsck_clean; ok $? "git fsck is clean"

# The lock files git writers take, as a writer killed inside one leaves
# them: the branch's, git's index's.
head=$(git rev-parse HEAD)
branch=$(git symbolic-ref HEAD)
echo "$head" >".git/$branch.lock"
cp .git/index .git/index.lock 2>/dev/null || echo junk >.git/index.lock
id=$(spool add --title "after a dead git writer"); ok $? "the next command commits"
is "$(head_state "$id")" ready "and its task is recorded"
[ ! -e ".git/$branch.lock" ] && [ ! -e .git/index.lock ]
ok $? "the dead writer's lock files are gone"
git status --porcelain >"$T/st" 2>&1; ok $? "git works in the spool"

# One a live process has open is git at work, run by hand: the spool
# waits for it instead of breaking it.
( exec 9>.git/index.lock; sleep 1.5
  [ -e .git/index.lock ] && echo kept >"$T/kept"; rm -f .git/index.lock ) &
sleep 0.3
start=$(date +%s%N)
spool add --title "while git works" >/dev/null; ok $? "a command meanwhile commits"
took=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$took" -ge 1000 ]; ok $? "once git's lock is gone (it waited $took ms)"
wait
[ -e "$T/kept" ]; ok $? "the live lock was left alone"
fsck_clean; ok $? "git fsck is clean"
done_testing
