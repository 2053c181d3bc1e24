#!/usr/bin/env bash
# spool log: a task's story from git, across directories, with feedback
# and the deliverables version of each submission; the index behind it
# survives deletion and rewritten history; archived tasks keep their log.
. "$(dirname "$0")/../lib.sh"
new_spool || exit 1
cd "$S" || exit 1
spool agent add dev >/dev/null && spool agent add rev --roles reviewer >/dev/null
spool add --title one >/dev/null && spool add --title two >/dev/null
spool claim --agent dev >/dev/null
mkdir -p deliverables/T-0001 && echo v1 >deliverables/T-0001/out.txt
spool submit T-0001 --agent dev >/dev/null
spool reject T-0001 --agent rev --feedback "tighten the intro" >/dev/null
echo v2 >deliverables/T-0001/out.txt
# a raw mv by a shell agent, recorded by reconcile
mv claimed/dev/T-0001.json review/ && spool reconcile >/dev/null
spool approve T-0001 --agent rev >/dev/null

spool log T-0001 --json >"$T/logdoc"; ok $? "log --json runs"
is "$(jq -r type "$T/logdoc")" array "log --json: one array"
jq -c '.[]' "$T/logdoc" >"$T/log"
is "$(jq -r .verb "$T/log" | tr '\n' ' ')" "add claim submit reject submit approve " "every transition, oldest first"
is "$(jq -r '.from + ">" + .to' "$T/log" | tr '\n' ' ')" \
   "none>ready ready>claimed/dev claimed/dev>review review>claimed/dev claimed/dev>review review>done " \
   "follows the task across directories"
# each move starts where the previous one ended
jq -r .from "$T/log" | tail -n +2 >"$T/froms"; jq -r .to "$T/log" | head -n -1 >"$T/tos"
cmp -s "$T/froms" "$T/tos"; ok $? "from of each = to of the one before"
is "$(jq -r 'select(.verb=="reject") | .feedback' "$T/log")" "tighten the intro" "the reviewer's feedback"
is "$(jq -r 'select(.verb=="reject") | .actor' "$T/log")" rev "who rejected"
is "$(jq -r 'select(.verb=="claim") | .actor' "$T/log")" dev "who claimed"
# the deliverable version of each submission is git's
n=0
while read -r commit tree; do
	n=$((n + 1))
	is "$tree" "$(git rev-parse "$commit:deliverables/T-0001")" "submission $n: deliverables tree = git's"
done < <(jq -r 'select(.verb=="submit") | .commit + " " + .deliverables' "$T/log")
v1=$(jq -r 'select(.verb=="submit") | .commit' "$T/log" | head -1)
v2=$(jq -r 'select(.verb=="submit") | .commit' "$T/log" | tail -1)
is "$(git show "$v1:deliverables/T-0001/out.txt")/$(git show "$v2:deliverables/T-0001/out.txt")" v1/v2 \
   "the two submissions carry the two versions"
is "$(jq -r .time "$T/log" | grep -c '^20[0-9][0-9]-[01][0-9]-[0-3][0-9]T..:..:..Z$')" 6 "ISO times"

# agrees with plain git log
is "$(git log --grep='^Spool-Task: T-0001$' --format=%h | wc -l)" 6 "the documented git log line finds the same commits"

spool log T-0001 >"$T/text"; ok $? "text log"
grep -q "reject .*review .*-> claimed/dev .*by rev" "$T/text"; ok $? "text: a reject line"
grep -q "tighten the intro" "$T/text"; ok $? "text: the feedback"
grep -q "deliverables: " "$T/text"; ok $? "text: the deliverables version"
is "$(spool log T-0001 --limit 2 --json | jq -r '.[].verb' | tr '\n' ' ')" "submit approve " "--limit keeps the last N"
is "$(spool log --limit 1 --json | jq -r '.[] | .id + " " + .verb')" "T-0001 approve" "log without ID: the last transition of the spool"

# one commit recording several transitions: each task gets its own
printf '{"title":"a"}' >tmp/a && mv tmp/a new/a.json
printf '{"title":"b"}' >tmp/b && mv tmp/b new/b.json
spool reconcile >/dev/null
batch=$(git rev-parse HEAD)
is "$(git log -1 --format=%B | grep -c '^Spool-Task: ')" 2 "one commit, two transitions"
for id in T-0003 T-0004; do
	is "$(spool log $id --json | jq -r '.[] | .verb + " " + .commit')" "file $batch" "$id: its own event from the batch commit"
done

# the index is a cache: deleted, rebuilt; rewritten history, rebuilt
spool log T-0001 --json >"$T/a"
rm -r .spool/run/history
spool log T-0001 --json >"$T/b"
cmp -s "$T/a" "$T/b"; ok $? "same story after the index is deleted"
git update-ref refs/heads/main "$(git rev-parse HEAD~1)"
is "$(spool log T-0003 --json | jq length)" 0 "history rewritten back: the dropped commit is gone from the log"
git update-ref refs/heads/main "$batch"
is "$(spool log T-0003 --json | jq length)" 1 "and back again"

fails 1 "unknown task" -- spool log T-9999
grep -q "no task 'T-9999'" "$T/.err"; ok $? "says which task"
fails 2 "bad id" -- spool log '../x'
fails 2 "extra argument" -- spool log T-0001 T-0002
fsck_clean; ok $? "git fsck clean"
done_testing
