#!/usr/bin/env bash
# A reject killed with -9 after it moved the task to ready/ and before its
# commit, and an agent that claims the task by mv at once, before any
# process has recorded the reject: the next process records the reject
# from its intent, with its reviewer, feedback and attempt, then the claim
# by its agent. Nothing is reverted, the agent keeps the task and the
# feedback, and HEAD's tree equals the files.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
core_spool || exit 1
cd "$S" || exit 1

N=${CRASH_TASKS:-30}
for i in $(seq 1 "$N"); do
	spool add --title "task $i" >/dev/null
	spool claim --agent dev >/dev/null
	spool submit "$(printf 'T-%04d' "$i")" --agent dev >/dev/null
done
is "$(ls review | wc -l)" "$N" "$N tasks in review"

# reject_then_claim ID: starts the reject; the moment the task lands in
# ready/, stops the reject with -9 and claims the task by mv as agent ops.
# Prints "caught" when the kill came before the reject's commit.
reject_then_claim() {
	local id=$1 pid
	spool reject "$id" --agent rev --to-ready --feedback "redo $id" \
		>/dev/null 2>&1 &
	pid=$!
	until [ -e "ready/$id.json" ] || ! kill -0 "$pid" 2>/dev/null; do :; done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ -e "ready/$id.json" ] || return 0
	mv "ready/$id.json" claimed/ops/ 2>/dev/null || return 0
	git ls-tree --name-only HEAD review/ | grep -q "$id" && echo caught
}
caught=0
for i in $(seq 1 "$N"); do
	id=$(printf 'T-%04d' "$i")
	[ "$(reject_then_claim "$id")" = caught ] || continue
	caught=$((caught + 1))
	echo "$id" >>"$T/caught"
	# Half the time the next process is a reconcile, else the next
	# reject's own start.
	((i % 2)) && spool reconcile >/dev/null
done
spool reconcile >/dev/null; ok $? "the next reconcile works"
echo "# $caught of $N rejects killed between their move and their commit"
[ "$caught" -gt 0 ]; ok $? "some kills came between the move and the commit"
is "$(git log --format=%B | grep -c '^Spool-Verb: revert')" 0 "no move reverted"
is "$(find quarantine -type f ! -name .gitkeep | wc -l)" 0 "nothing quarantined"
tree_matches_head; ok $? "HEAD's tree equals the files"
is "$(ls .spool/run/intent 2>/dev/null | wc -l)" 0 "no intent left behind"
bad=0
while read -r id; do
	got=$(git log --reverse --format=%B --grep="^Spool-Task: $id\$" |
		sed -n 's/^Spool-\(Verb\|Agent\): //p' | paste -sd' ')
	want="operator add dev claim dev submit rev reject ops claim"
	[ "$got" = "$want" ] || { bad=$((bad + 1)); echo "# $id: $got"; }
	[ -e "claimed/ops/$id.json" ] &&
		[ "$(jq -c '[.feedback[]?.text]' "claimed/ops/$id.json")" = "[\"redo $id\"]" ] ||
		{ bad=$((bad + 1)); echo "# $id: feedback $(jq -c .feedback "claimed/ops/$id.json" 2>&1)"; }
done < <(cat "$T/caught" 2>/dev/null)
is "$bad" 0 "each caught task: the reject by rev, then the claim by ops, with the feedback"
fsck_clean; ok $? "git fsck is clean"
done_testing
