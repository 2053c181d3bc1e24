#!/usr/bin/env bash
# spool export: one self-contained .tar.gz whose versions match git's
# content byte for byte, whose history matches spool log, for a task in
# the tree and for an archived one.
. "$(dirname "$0")/../lib.sh"
new_spool || exit 1
cd "$S" || exit 1
spool agent add dev >/dev/null && spool agent add rev --roles reviewer >/dev/null
spool add --title report >/dev/null
spool claim --agent dev >/dev/null
mkdir -p deliverables/T-0001/img
echo "draft" >deliverables/T-0001/report.md
printf '\x89PNG\x00\x01binary' >deliverables/T-0001/img/fig.png
spool submit T-0001 --agent dev >/dev/null
spool reject T-0001 --agent rev --feedback "add a conclusion" >/dev/null
printf 'draft\nconclusion\n' >deliverables/T-0001/report.md
chmod +x deliverables/T-0001/report.md
ln -s report.md deliverables/T-0001/latest
spool submit T-0001 --agent dev >/dev/null

spool export T-0001 -o "$T/t1.tar.gz" >"$T/out"; ok $? "export runs"
grep -q "2 deliverable versions" "$T/out"; ok $? "two versions"
mkdir "$T/x" && tar -xzf "$T/t1.tar.gz" -C "$T/x"; ok $? "it extracts with tar"
is "$(ls "$T/x/T-0001/versions" | wc -l)" 2 "a directory per version"
jq -e . "$T/x/T-0001/task.json" >/dev/null; ok $? "task.json is JSON"
cmp -s <(jq -S . "$T/x/T-0001/task.json") <(jq -S . review/T-0001.json); ok $? "task.json is the task"
is "$(jq length "$T/x/T-0001/history.json")" "$(spool log T-0001 --json | jq length)" "history.json has every transition"
cmp -s <(jq -c '.[]' "$T/x/T-0001/history.json") <(spool log T-0001 --json | jq -c '.[]'); ok $? "history.json is spool log --json"
# every file of every version equals git's blob at that commit
n=0 bad=0
for row in $(jq -r '.versions[] | .dir + "=" + .commit' "$T/x/T-0001/manifest.json"); do
	dir=${row%%=*} commit=${row#*=}
	while read -r mode type obj path; do
		rel=${path#deliverables/T-0001/}
		f="$T/x/T-0001/$dir/$rel"
		n=$((n + 1))
		if [ "$mode" = 120000 ]; then
			[ "$(readlink "$f")" = "$(git cat-file blob "$obj")" ] || bad=$((bad + 1))
		else
			cmp -s "$f" <(git cat-file blob "$obj") || bad=$((bad + 1))
			if [ "$mode" = 100755 ]; then [ -x "$f" ] || bad=$((bad + 1)); fi
		fi
	done < <(git ls-tree -r "$commit" deliverables/T-0001 | tr '\t' ' ')
	is "$(cd "$T/x/T-0001/$dir" && find . ! -type d | wc -l)" \
	   "$(git ls-tree -r "$commit" deliverables/T-0001 | wc -l)" "$dir: no more and no fewer files than git"
done
[ $n -ge 5 ] && [ $bad -eq 0 ]; ok $? "every file of every version matches git ($n files, $bad differ)"
is "$(jq -r '.versions[0].tree' "$T/x/T-0001/manifest.json")" \
   "$(git rev-parse "$(jq -r '.versions[0].commit' "$T/x/T-0001/manifest.json"):deliverables/T-0001")" "manifest: tree ids are git's"

# archived: exported from the archive and git alone
spool approve T-0001 --agent rev >/dev/null
spool archive --older-than 0 >/dev/null
[ ! -e done/T-0001.json ] && [ ! -e deliverables/T-0001 ]; ok $? "archived out of the tree"
spool export T-0001 -o "$T/t2.tar.gz" >/dev/null; ok $? "an archived task exports"
mkdir "$T/y" && tar -xzf "$T/t2.tar.gz" -C "$T/y"
is "$(jq -r '.state + " " + (.archived|tostring)' "$T/y/T-0001/manifest.json")" "done true" "manifest: done, archived"
diff -r "$T/x/T-0001/versions" "$T/y/T-0001/versions" >/dev/null; ok $? "the same versions"
is "$(jq -r '.[-1].verb' "$T/y/T-0001/history.json")" archive "its history ends with the archiving"
fails 2 "no -o" -- spool export T-0001
fails 1 "unknown task" -- spool export T-0404 -o "$T/none.tar.gz"
[ ! -e "$T/none.tar.gz" ]; ok $? "nothing written on failure"
done_testing
