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
in_review "$N"
is "$(ls review | wc -l)" "$N" "$N tasks in review"

caught=0
for i in $(seq 1 "$N"); do
	id=$(printf 'T-%04d' "$i")
	# caught: killed before the reject's commit
	reject_then_claim "$id" &&
		git ls-tree --name-only HEAD review/ | grep -q "$id" || continue
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
is "$(rejected_then_claimed "$T/caught")" 0 \
	"each caught task: the reject by rev, then the claim by ops, with the feedback"
fsck_clean; ok $? "git fsck is clean"
done_testing
