#!/bin/bash
# The branch moved in a way that is not a fast-forward (an operator's
# 'git reset --hard HEAD~4' in the spool): spoold moves no task file to
# follow it and commits nothing; status and diagnose say so, naming the
# commit last seen and the new HEAD; commands refuse to write; and
# 'spool reconcile --accept-head' resumes. A fast-forward made by hand
# stops nothing.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
. "$(dirname "$0")/../core-lib.sh"

core_spool || exit 1
cd "$S" || exit 1
for i in 1 2 3 4 5; do spool add --title "task $i" >/dev/null; done
start_daemon || exit 1
spool claim --agent dev >/dev/null && spool submit T-0001 --agent dev >/dev/null &&
	spool approve T-0001 --agent rev >/dev/null
mv ready/T-0002.json claimed/dev/ && until_ok 10 in_head claimed/dev/T-0002.json
mv claimed/dev/T-0002.json review/ && until_ok 10 in_head review/T-0002.json
ok $? "T-0001 done, T-0002 in review, all recorded"
# git's index too: a reset by an index behind HEAD keeps the files it
# does not know of (a second copy of T-0002, once quarantined here)
until_ok 10 eval '[ -z "$(git status --porcelain)" ]'; ok $? "git status is clean"
seen=$(git rev-parse HEAD)
target=$(git log -1 --format=%H --grep='^add T-0005')
back=$(git rev-list --count "$target..HEAD")
[ "$back" -ge 4 ]; ok $? "$back commits since every task was ready"

# disk: every file of the spool but the daemon's own, with its content
disk() {
	find . -path ./.git -prune -o -path ./.spool/run -prune -o -path ./tmp \
		-prune -o -type f -print | sort | xargs md5sum
}

git reset -q --hard "HEAD~$back"; ok $? "an operator resets the branch $back commits back"
after=$(disk)
until_ok 10 log_has "recording is stopped"; ok $? "spoold says it stops recording"
sleep 1
is "$(git rev-parse HEAD)" "$target" "spoold committed nothing"
[ "$(disk)" = "$after" ]; ok $? "spoold moved no file"
[ -e ready/T-0001.json ] && [ ! -e done/T-0001.json ]
ok $? "T-0001 is where git's reset put it, and only there"

spool status >"$T/st"; ok $? "status runs"
grep -q "recording: STOPPED.*${seen:0:12}.*${target:0:12}.*spool reconcile --accept-head" "$T/st"
ok $? "status says recording stopped, naming both commits"
spool status --json | jq -e --arg s "$seen" --arg h "$target" \
	'.recording == {stopped: true, seen: $s, head: $h, since: .recording.since}' >/dev/null
ok $? "status --json gives both commits in full"
spool diagnose T-0003 --json | jq -e --arg s "$seen" --arg h "$target" \
	'.causes[0].code == "recording-stopped" and (.causes[0].message | contains($s) and contains($h))' >/dev/null
ok $? "diagnose ranks it first and names both commits"

fails 1 "approve refuses while stopped" -- spool approve T-0002 --agent rev
grep -q "spool reconcile --accept-head" "$T/.err"; ok $? "saying what to run"
fails 1 "claim refuses while stopped" -- spool claim --agent dev
fails 1 "add refuses too" -- spool add --title "while stopped"
fails 1 "and agent add" -- spool agent add late
is "$(git rev-parse HEAD)" "$target" "nothing was committed"
[ "$(disk)" = "$after" ]; ok $? "nothing was changed"

# An agent's mv while stopped is not recorded (nor reverted).
mv ready/T-0003.json claimed/dev/
sleep 1
is "$(git rev-parse HEAD)" "$target" "an agent's claim is not recorded while stopped"
[ -e claimed/dev/T-0003.json ]; ok $? "nor undone"

spool reconcile --accept-head >"$T/acc"; ok $? "the operator accepts HEAD"
grep -q "accepted HEAD ${target:0:12} after the branch moved from ${seen:0:12}" "$T/acc"
ok $? "it says what it accepted"
is "$(git log -1 --format=%s HEAD)" "accept ${target:0:12} after the branch moved from ${seen:0:12}" \
	"one commit records the files as they are"
is "$(git rev-parse HEAD~1)" "$target" "on top of the new HEAD"
in_head claimed/dev/T-0003.json; ok $? "with the claim made meanwhile"
spool status --json | jq -e '.recording.stopped == false' >/dev/null
ok $? "status: recording again"
until_ok 10 log_has "recording resumes"; ok $? "spoold resumes"
mv claimed/dev/T-0003.json review/
until_ok 10 in_head review/T-0003.json; ok $? "and records the next move"
spool approve T-0003 --agent rev >/dev/null; ok $? "commands work again"
is "$(git log --format=%B | grep -c '^Spool-Verb: revert')" 0 "nothing was reverted, ever"
tree_matches_head; ok $? "HEAD's tree equals the files"
stop_daemon

# Without spoold: the first writer notices, even a soft reset.
git reset -q --soft HEAD~1
spool status | grep -q "recording: STOPPED"
ok $? "status sees a rewrite no writer has met yet"
fails 1 "the next command stops recording" -- spool add --title "after a soft reset"
grep -q "is not a fast-forward" "$T/.err"; ok $? "and says why"
[ -e .spool/run/stopped ]; ok $? "for every later writer"
spool reconcile --accept-head >/dev/null; ok $? "accepted"
spool add --title "accepted" >/dev/null; ok $? "writes again"

# A fast-forward by hand is no rewrite.
git -c user.name=op -c user.email=op@example.org commit -q --allow-empty \
	-m "a note by hand"; ok $? "an operator commits on top with git"
spool add --title "after a note" >/dev/null; ok $? "the spool goes on recording"
spool status | grep -q "recording: STOPPED"; is $? 1 "status does not say stopped"
fsck_clean; ok $? "git fsck is clean"
done_testing
