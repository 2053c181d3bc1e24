#!/usr/bin/env bash
# A task id is never given twice, archived or not: new ids continue after
# the archived ones, also when the counter in .spool/run is gone (a fresh
# clone) or behind; a task filed with an id used before (in the tree, an
# archive, or only in the history) is refused or quarantined with the
# reason.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
core_spool || exit 1
cd "$S" || exit 1

for i in 1 2 3 4 5; do spool add --title "t$i" >/dev/null; done
# The two highest finish; T-0003 is cancelled.
for id in T-0004 T-0005; do
	mv "ready/$id.json" claimed/dev/ && spool reconcile >/dev/null
	mv "claimed/dev/$id.json" review/ && spool reconcile >/dev/null
	spool approve "$id" --agent rev >/dev/null
done
spool cancel T-0003 >/dev/null
spool archive --older-than 0 --json >"$T/a"; ok $? "archive the finished work"
is "$(jq -r .tasks "$T/a")" 3 "T-0003, T-0004 and T-0005 left the tree"
arch=$(jq -r .last "$T/a")

is "$(spool add --title next)" T-0006 "the next id continues after the archived ones"
rm .spool/run/next-id
is "$(spool add --title "no counter")" T-0007 "without the counter too"
echo 2 >.spool/run/next-id
is "$(spool add --title "old counter")" T-0008 "and with a counter left behind"

# A fresh clone has no .spool/run at all.
git clone -q "$S" "$T/clone" && mkdir -p "$T/clone/tmp"
spool -C "$T/clone" archive --older-than 0 >/dev/null	# nothing left to archive
id=$(spool -C "$T/clone" add --title "in a clone"); ok $? "a clone files a task"
is "$id" T-0009 "past every id the history recorded"

# Explicit ids used before.
drop old.json '{"id": "T-0005", "title": "an archived id again"}'
spool reconcile --json >"$T/rec"
is "$(jq .quarantined "$T/rec")" 1 "an archived id dropped in new/ is quarantined"
[ ! -e ready/T-0005.json ] && [ -e quarantine/old.json ]; ok $? "not filed"
grep -q "task id 'T-0005' was used before (archived in $arch); ids are never reused" \
	quarantine/old.json.reason; ok $? "the reason says where it was used"
echo '{"id": "T-0004", "title": "again"}' | spool add --file - >/dev/null 2>"$T/err"
is $? 1 "spool add refuses an archived id"
grep -q "T-0004' was used before" "$T/err"; ok $? "saying so"
echo '{"id": "T-0001", "title": "again"}' | spool add --file - >/dev/null 2>&1
is $? 1 "and an id in the tree"

# An id only the history knows: its file was removed with git by hand.
git rm -q ready/T-0002.json &&
	git -c user.name=op -c user.email=op@example.org commit -q -m "drop T-0002"
ok $? "T-0002 removed by hand, in a commit"
drop again.json '{"id": "T-0002", "title": "history knows me"}'
spool reconcile >/dev/null
[ -e quarantine/again.json ]; ok $? "its id dropped in new/ is quarantined"
grep -q "T-0002' was used before (it is in the history)" quarantine/again.json.reason
ok $? "because the history has it"
is "$(spool add --title last)" T-0009 "fresh ids still follow (T-0009 went to the clone only)"
drop fresh.json '{"id": "X-1", "title": "an id never used"}'
spool reconcile >/dev/null
[ -e ready/X-1.json ]; ok $? "an id never used is filed"
tree_matches_head; ok $? "HEAD's tree equals the files"
fsck_clean; ok $? "git fsck is clean"
done_testing
