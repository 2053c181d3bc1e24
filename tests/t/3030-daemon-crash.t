#!/bin/bash
# kill -9 during a burst of 2,000 transitions, restart: every task exists
# exactly once, every transition is in git, fsck is clean, the tree
# matches HEAD.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

new_spool
spool agent add a1 >/dev/null
spool agent add a2 >/dev/null
make_tasks 2000
spool reconcile >/dev/null; ok $? "2000 tasks recorded"
start_daemon || exit 1
pid=$(daemon_pid)

# Two agents claim everything with mv while the daemon is killed midway.
claim() {	# claim AGENT FIRST LAST
	perl -e 'my ($d,$a,$f,$l)=@ARGV; for my $i ($f..$l) { my $id=sprintf("T-%05d",$i);
		rename("$d/ready/$id.json", "$d/claimed/$a/$id.json"); }' "$S" "$1" "$2" "$3"
}
claim a1 1 1000 & c1=$!
claim a2 1001 2000 & c2=$!
# Kill it once it has recorded some of the burst, not all.
until_ok 10 eval '[ $(git -C "$S" ls-tree --name-only HEAD claimed/a1/ claimed/a2/ | grep -c json) -gt 50 ]'
kill -9 "$pid"; ok $? "killed with -9 in the middle of the burst"
wait $c1 $c2
recorded=$(git -C "$S" ls-tree --name-only HEAD claimed/a1/ claimed/a2/ | grep -c json)
echo "# recorded before the kill: $recorded of 2000"
# More moves while it is down: submissions of three claims already recorded.
for p in $(git -C "$S" ls-tree --name-only HEAD claimed/a1/ claimed/a2/ | grep json | head -3); do
	mv "$S/$p" "$S/review/"
done

start_daemon; ok $? "restarted"
until_ok 20 tree_matches; ok $? "the tree matches HEAD after the restart"
n=$(git -C "$S" ls-tree -r --name-only HEAD | grep -c 'T-[0-9]*\.json$')
is "$n" 2000 "2000 tasks at HEAD: none lost"
d=$(git -C "$S" ls-tree -r --name-only HEAD | grep 'T-[0-9]*\.json$' | xargs -n1 basename | sort | uniq -d | wc -l)
is "$d" 0 "none doubled"
disk=$(cd "$S" && find blocked ready claimed review done failed cancelled -name 'T-*.json' | wc -l)
is "$disk" 2000 "2000 task files on disk"
is "$(git -C "$S" ls-tree --name-only HEAD review/ | grep -c json)" 3 "the moves made while it was down are recorded"
missing=0
for i in 00007 00500 01000 01001 01500 02000; do
	git -C "$S" log --format=%B --grep="Spool-Task: T-$i\$" | grep -q "Spool-Verb: claim" || missing=$((missing + 1))
done
is "$missing" 0 "every claim is findable in git log by id"
fsck_clean; ok $? "git fsck is clean"
stop_daemon
done_testing
