#!/bin/bash
# spoold polices the protocol: every kind of illegal move is reverted and
# recorded as a violation; deleted tasks come back; copies become one;
# new/ is filed or quarantined with a reason; tasks edited in place where
# the protocol forbids it get their committed content back.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

new_spool
spool agent add bob --capabilities python >/dev/null
spool agent add eve >/dev/null
for i in 1 2 3 4 5 6 7 8; do spool add --title "task $i" >/dev/null; done
spool add --file - >/dev/null <<<'{"title": "needs python", "requires": ["python"]}'   # T-0009
spool add --file - >/dev/null <<<'{"title": "for bob", "assignee": "bob"}'             # T-0010
start_daemon || exit 1

violation() {	# violation ID: the last commit for ID is a revert with a reason
	git -C "$S" log -1 --format=%B --grep="Spool-Task: $1" | grep -q "violation: "
}
placed() {	# placed ID DIR: the task is in DIR on disk and at HEAD
	[ -f "$S/$2/$1.json" ] && in_head "$2/$1.json"
}

# ready -> done skips claim and review.
mv "$S/ready/T-0001.json" "$S/done/"
until_ok 15 violation T-0001; ok $? "ready -> done is recorded as a violation with its reason"
placed T-0001 ready; ok $? "and moved back to ready"
git -C "$S" log -1 --format=%B --grep="Spool-Task: T-0001" | grep -q "must be claimed first"
ok $? "the reason says what to do"

# A claim by an unregistered agent.
mkdir -p "$S/claimed/mallory"
mv "$S/ready/T-0002.json" "$S/claimed/mallory/"
until_ok 15 violation T-0002; placed T-0002 ready; ok $? "a claim by an unregistered agent is reverted"
git -C "$S" log -1 --format=%B --grep="Spool-Task: T-0002" | grep -q "not registered"
ok $? "reason: not registered"

# A claim by an agent lacking the capability.
mv "$S/ready/T-0009.json" "$S/claimed/eve/"
until_ok 15 violation T-0009; placed T-0009 ready; ok $? "a claim by an agent lacking the capability is reverted"
git -C "$S" log -1 --format=%B --grep="Spool-Task: T-0009" | grep -q "lacks a required capability"
ok $? "reason: lacks the capability"
mv "$S/ready/T-0009.json" "$S/claimed/bob/"
until_ok 15 placed T-0009 claimed/bob; ok $? "a capable agent's claim is recorded"

# A claim of a task assigned to someone else.
mv "$S/ready/T-0010.json" "$S/claimed/eve/"
until_ok 15 violation T-0010; placed T-0010 ready; ok $? "a claim of a task assigned to another is reverted"
git -C "$S" log -1 --format=%B --grep="Spool-Task: T-0010" | grep -q "assigned to 'bob'"
ok $? "reason: assigned to bob"

# Edited in place in ready/: committed content back, the edit kept aside.
cp "$S/ready/T-0003.json" "$T/orig.json"
printf '{"id": "T-0003", "title": "I changed it", "priority": "urgent"}\n' >"$S/ready/T-0003.json"
until_ok 15 cmp -s "$S/ready/T-0003.json" "$T/orig.json"; ok $? "a task edited in place in ready/ gets its committed content back"
grep -q "I changed it" "$S"/quarantine/T-0003.rejected.json*; ok $? "the edit is kept in quarantine/"
ls "$S"/quarantine/T-0003.rejected.json*.reason >/dev/null 2>&1; ok $? "with a reason file"
until_ok 15 violation T-0003; ok $? "recorded as a violation"

# Edited in place in review/ and done/.
mv "$S/ready/T-0004.json" "$S/claimed/bob/"
until_ok 15 placed T-0004 claimed/bob; ok $? "claimed"
echo "result" >"$T/r"; mkdir -p "$S/deliverables/T-0004"; cp "$T/r" "$S/deliverables/T-0004/out.txt"
mv "$S/claimed/bob/T-0004.json" "$S/review/"
until_ok 15 placed T-0004 review; ok $? "submitted by mv"
in_head deliverables/T-0004/out.txt; ok $? "the deliverables went with the submission"
git -C "$S" show HEAD:review/T-0004.json >"$T/rev.json"
sed -i 's/"title": "task 4"/"title": "task 4 (better)"/' "$S/review/T-0004.json"
until_ok 15 cmp -s "$S/review/T-0004.json" "$T/rev.json"; ok $? "an edit in review/ is undone"
spool approve T-0004 --agent eve >/dev/null 2>&1 || spool approve T-0004 >/dev/null
until_ok 15 placed T-0004 done; ok $? "approved"
git -C "$S" show HEAD:done/T-0004.json >"$T/done.json"
echo '{"broken' >"$S/done/T-0004.json"
until_ok 15 cmp -s "$S/done/T-0004.json" "$T/done.json"; ok $? "an edit in done/ is undone (even into invalid JSON)"

# In claimed/ the agent may write its task (notes) and touch it.
echo ' ' >>"$S/claimed/bob/T-0009.json"
sleep 0.3
tail -c 2 "$S/claimed/bob/T-0009.json" | grep -q ' '; ok $? "an edit in claimed/ is left alone"

# Finished tasks do not move.
until_ok 15 violation T-0004   # the edit in done/ above
n=$(git -C "$S" rev-list --count HEAD)
mv "$S/done/T-0004.json" "$S/ready/"
until_ok 15 eval '[ $(git -C "$S" rev-list --count HEAD) -gt '$n' ]'
placed T-0004 done && violation T-0004; ok $? "done -> ready is reverted"

# A deleted task is restored from git.
rm "$S/ready/T-0005.json"
restored() { git -C "$S" log -1 --format=%s --grep="Spool-Task: T-0005" | grep -q "^restore"; }
until_ok 15 restored; ok $? "a deleted task is restored and recorded as a restore"
test -f "$S/ready/T-0005.json"; ok $? "it is back in ready/"

# A whole state directory removed comes back.
rm -rf "$S/claimed/bob"
until_ok 15 test -f "$S/claimed/bob/T-0009.json"; ok $? "rm -rf claimed/bob: its task is restored"

# A copy instead of a move becomes one file, and counts as the move.
cp "$S/ready/T-0006.json" "$S/claimed/bob/"
until_ok 15 eval "placed T-0006 claimed/bob && test ! -f '$S/ready/T-0006.json'"; ok $? "cp ready -> claimed/bob: resolved to one claim"
n=$(cd "$S" && find . -path ./.git -prune -o -name T-0006.json -print | wc -l)
is "$n" 1 "the task exists exactly once"

# An illegal copy: the copy goes, the original stays.
cp "$S/ready/T-0007.json" "$S/done/"
until_ok 15 test ! -f "$S/done/T-0007.json"; ok $? "cp ready -> done: the copy is removed"
placed T-0007 ready; ok $? "the original stays"

# A copy written slowly: empty at first (cp between making the file and
# writing it), then filled. It is not taken for a broken copy.
exec 3>"$S/claimed/bob/T-0003.json"
sleep 0.5	# longer than spoold waits for a new file to be closed
cat "$S/ready/T-0003.json" >&3
exec 3>&-
until_ok 15 eval "placed T-0003 claimed/bob && test ! -f '$S/ready/T-0003.json'"
ok $? "a copy written slowly: resolved to one claim"
is "$(find "$S/quarantine" -name 'T-0003.json*' | wc -l)" 0 "and not quarantined"

# new/: filed, or quarantined with a reason.
printf '{"title": "dropped in new"}\n' >"$S/tmp/a.json"; mv "$S/tmp/a.json" "$S/new/"
until_ok 15 eval "test -z \"\$(ls '$S/new')\""; ok $? "a file in new/ is filed"
git -C "$S" log -1 --format=%s | grep -q "^file T-0011"; ok $? "as T-0011"
placed T-0011 ready; ok $? "into ready/"
printf '{"title": 42}\n' >"$S/tmp/b.json"; mv "$S/tmp/b.json" "$S/new/"
until_ok 15 test -f "$S/quarantine/b.json.reason"; ok $? "an invalid file in new/ is quarantined"
grep -q "title" "$S/quarantine/b.json.reason"; ok $? "with the reason"
until_ok 15 in_head quarantine/b.json.reason; ok $? "and recorded"
printf '{"title": "depends", "depends_on": ["T-0008"]}\n' >"$S/tmp/c.json"; mv "$S/tmp/c.json" "$S/new/"
until_ok 15 placed T-0012 blocked; ok $? "a task with open dependencies is filed to blocked/"

# Not a task file.
echo hello >"$S/ready/notes.txt"
until_ok 15 test -f "$S/quarantine/notes.txt"; ok $? "a stray file in ready/ is quarantined"

until_ok 15 tree_matches; ok $? "the tree matches HEAD"
stop_daemon
fsck_clean; r=$?; ok $r "git fsck is clean"
[ $r -eq 0 ] || git -C "$S" fsck --strict --no-progress 2>&1 | sed 's/^/# fsck: /'

done_testing
