#!/usr/bin/env bash
# A shell-only agent: finds work with ls, waits with inotifywait, claims
# with mv, heartbeats with touch, writes deliverables, submits with mv.
# A planner drops tasks into new/ through tmp/ under any name, without id.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
core_spool || exit 1
cd "$S" || exit 1

# the planner: no id, odd names
drop "idea 1" '{"title": "research the topic"}'
drop "x" '{"title": "outline", "priority": "high"}'
drop "T-0099.json" '{"title": "named like a task but no id inside"}'
spool reconcile >/dev/null; ok $? "reconcile files what the planner dropped"
is "$(ls new | wc -l)" 0 "new/ is empty"
is "$(ls ready | wc -l)" 3 "three tasks filed to ready/"
is "$(ls ready | sort -u | wc -l)" 3 "with distinct ids"
for f in ready/*.json; do
	id=$(basename "$f" .json)
	is "$(jq -r .id "$f")" "$id" "$id: the id inside equals the file name"
done
first=$(ls ready | head -n1)
is "$(git log --format=%an -1 -- "ready/$first")" spool "filing is recorded"

# an agent blocks on inotifywait until work appears, no polling
mkdir -p "$T/w"
( inotifywait -qq -t 10 -e moved_to -e create "$S/ready/" && echo woke >"$T/w/flag" ) &
w=$!
sleep 0.3
drop later '{"title": "arrives later"}'
spool reconcile >/dev/null
wait "$w"; ok $? "inotifywait on ready/ wakes when a task is filed"
is "$(cat "$T/w/flag" 2>/dev/null)" woke "the waiting agent woke"

# claim by mv
id=$(basename "$(spool next --agent dev)" .json)
mkdir -p claimed/dev && mv "ready/$id.json" claimed/dev/; ok $? "claim: mv ready/$id.json claimed/dev/"
mv "ready/$id.json" claimed/ops/ 2>"$T/err"; is "$?" 1 "a second mv of the same file fails"
grep -q "No such file" "$T/err"; ok $? "with 'No such file'"

# heartbeat by touch
touch -d '2001-01-01' "claimed/dev/$id.json"
m1=$(stat -c %Y "claimed/dev/$id.json")
touch "claimed/dev/$id.json"
m2=$(stat -c %Y "claimed/dev/$id.json")
[ "$m2" -gt "$m1" ]; ok $? "touch renews the heartbeat (mtime $m1 -> $m2)"
spool heartbeat "$id" --agent dev; ok $? "spool heartbeat works on a raw claim"
spool reconcile >/dev/null   # what the daemon does on its own

# deliverables, submit by mv
mkdir -p "deliverables/$id/notes" &&
	echo "# findings" >"deliverables/$id/report.md" &&
	echo "a source" >"deliverables/$id/notes/sources.txt"
mv "claimed/dev/$id.json" review/; ok $? "submit: mv claimed/dev/$id.json review/"
spool reconcile >/dev/null
is "$(git log --format='%an %s' | sed -n 2p)" "dev claim $id by dev" "the claim is in git, by dev"
is "$(git log -1 --format='%an %s')" "dev submit $id by dev (claimed/dev -> review)" "the submission is in git, by dev"
is "$(git show --name-only --format= HEAD | grep "^deliverables/$id/" | sort | tr '\n' ' ')" \
	"deliverables/$id/notes/sources.txt deliverables/$id/report.md " "every deliverable is in the submit commit"
is "$(git log --format=%s -- "deliverables/$id")" "submit $id by dev (claimed/dev -> review)" \
	"git log -- deliverables/$id tells which submission produced them"
spool approve "$id" --agent rev >/dev/null; ok $? "reviewer approves"
is "$(state_of "$id")" done "done"
git show HEAD~1:"deliverables/$id/report.md" | grep -q findings; ok $? "git show has the deliverable without Spool"

# a task written in place (not via tmp/) with a bad name is quarantined, not lost
printf '{"title": "half"}' >new/.hidden-scratch
spool reconcile >/dev/null
[ -f new/.hidden-scratch ]; ok $? "hidden scratch files in new/ are left alone"
fsck_clean; ok $? "git fsck clean"
tree_matches_head; ok $? "disk matches HEAD"
done_testing
