#!/usr/bin/env bash
# spool archive: old finished tasks and their deliverables leave the tree
# for a dated .tar.gz, in one commit by the operator; show, log, wait and
# export still find them; work that open tasks depend on stays; nothing
# is restored or lost afterwards.
. "$(dirname "$0")/../lib.sh"
new_spool || exit 1
cd "$S" || exit 1
spool agent add dev >/dev/null && spool agent add rev --roles reviewer >/dev/null
for i in 1 2 3 4 5; do spool add --title "t$i" >/dev/null; done
spool add --title "needs 3" --depends-on T-0003 >/dev/null   # T-0006, blocked
for id in T-0001 T-0003; do
	mkdir -p claimed/dev && mv ready/$id.json claimed/dev/ && spool reconcile >/dev/null
	mkdir -p deliverables/$id && echo "out of $id" >deliverables/$id/out.txt
	mv claimed/dev/$id.json review/ && spool reconcile >/dev/null
done
spool approve T-0001 --agent rev >/dev/null
spool approve T-0003 --agent rev >/dev/null   # releases T-0006
spool cancel T-0002 >/dev/null
spool add --title "needs 1" --depends-on T-0001 >/dev/null    # T-0007: ready at once
spool add --title "sub" --parent T-0005 >/dev/null 2>&1 || true
before=$(git rev-list --count HEAD)

fails 0 "nothing old enough" -- spool archive --older-than 1d
grep -q "archived 0 tasks" "$T/.out"; ok $? "says so"
is "$(git rev-list --count HEAD)" "$before" "no commit when nothing is archived"
fails 2 "a bad age" -- spool archive --older-than soon
fails 1 "no age and no retention policy" -- spool archive
spool archive --older-than 0 --dry-run >"$T/dry"; ok $? "dry run"
is "$(git rev-list --count HEAD)" "$before" "a dry run changes nothing"
[ -e done/T-0001.json ]; ok $? "nothing moved on a dry run"

# a retention policy in the config is used without --older-than
jq '. + {retention: {archive_after: "0s"}}' .spool/config.json >tmp/c && mv tmp/c .spool/config.json
spool archive --json >"$T/a"; ok $? "archive by the retention policy"
is "$(jq -r .tasks "$T/a")" 3 "three finished tasks archived (done T-0001, T-0003; cancelled T-0002)"
arch=$(jq -r .last "$T/a")
[[ "$arch" =~ ^archive/[0-9]{4}-[0-9]{2}-[0-9]{2}\.tar\.gz$ ]]; ok $? "a dated archive ($arch)"
for id in T-0001 T-0002 T-0003; do
	[ ! -e "done/$id.json" ] && [ ! -e "cancelled/$id.json" ] && [ ! -e "deliverables/$id" ]
	ok $? "$id and its deliverables left the tree"
done
is "$(git rev-list --count HEAD)" $((before + 1)) "one commit"
is "$(git log -1 --format=%an)" "$(spool events --limit 1 --since HEAD~1 | jq -r .actor)" "by the operator, as its trailers say"
is "$(git log -1 --format=%s)" "archive 3 tasks into $arch" "its subject"
git ls-tree -r --name-only HEAD | grep -qE '^(done|cancelled)/T-000[123]\.json$'; is $? 1 "gone from HEAD's tree"
git ls-tree -r --name-only HEAD | grep -qx "$arch"; ok $? "the archive is committed"
tar -tzf "$arch" >"$T/list"; ok $? "it is a tar.gz"
grep -qx done/T-0001.json "$T/list" && grep -qx deliverables/T-0001/out.txt "$T/list" && grep -qx cancelled/T-0002.json "$T/list"
ok $? "it holds the tasks and deliverables in the spool's layout"
is "$(tar -xzOf "$arch" deliverables/T-0003/out.txt)" "out of T-0003" "the deliverable's content"

# T-0006 and T-0007 depended on archived tasks but are past blocked/
is "$(state_of T-0006)" ready "released work is untouched"
spool reconcile --json >"$T/rec"
is "$(jq -r .restored "$T/rec")" 0 "reconcile restores nothing afterwards"

# still found
spool show T-0001 >"$T/show"; ok $? "show finds an archived task"
grep -q "archived in $arch" "$T/show"; ok $? "and says where"
is "$(spool show T-0002 --json | jq -r .state)" cancelled "show --json: its state"
is "$(spool log T-0001 --json | jq -r '.[-1] | .verb + " " + .from')" "archive done" "log: ends with the archiving"
is "$(spool log T-0001 --json | jq -r '.[0].verb')" add "log: from the start"
fails 0 "wait on an archived task" -- spool wait T-0001 --state done --timeout 5
is "$(spool status --json | jq -r .archived.tasks)" 3 "status counts archived tasks"

# a finished task that blocked work waits for stays in the tree
spool add --title a >/dev/null                                  # T-0008 (or next)
id=$(spool ls --state ready --json | jq -r '.[].id' | tail -1)
spool cancel "$id" >/dev/null
spool add --title b --depends-on "$id" >/dev/null 2>&1
spool archive --older-than 0 --json >"$T/k"
is "$(jq -r .kept "$T/k")" 1 "the dependency of blocked work is kept"
[ -e "cancelled/$id.json" ]; ok $? "and stays in the tree"

# a second run the same day: a new numbered archive
spool add --title late >/dev/null
late=$(spool ls --state ready --json | jq -r '.[].id' | tail -1)
spool cancel "$late" >/dev/null
spool archive --older-than 0 --json >"$T/b"
[[ "$(jq -r .last "$T/b")" =~ \.2\.tar\.gz$ ]]; ok $? "a second archive that day is .2"
spool show "$late" >/dev/null; ok $? "found in the second archive"

# an archived id typed in full is found as typed, whatever its width
spool add --title wide --id T-000042 >/dev/null
spool cancel T-000042 >/dev/null
spool archive --older-than 0 >/dev/null
[ ! -e cancelled/T-000042.json ]; ok $? "T-000042 is archived"
is "$(spool show T-000042 --json | jq -r .id)" T-000042 "show T-000042 finds it"
is "$(spool log T-000042 --json | jq -r '.[-1].verb')" archive "log T-000042 finds its history"
fails 1 "show T-0042: another id, not there" -- spool show T-0042
grep -q "'T-0042'" "$T/.err"; ok $? "... and the error names it as typed"
is "$(spool show t-000042 --json | jq -r .id)" T-000042 "show t-000042 finds it too"
# a short form of an archived id takes the spool's form
is "$(spool show T-1 --json | jq -r .id)" T-0001 "show T-1 finds the archived T-0001"
is "$(spool log 1 --json | jq -r '.[-1].verb')" archive "log 1 finds its history"
fsck_clean; ok $? "git fsck clean"
done_testing
