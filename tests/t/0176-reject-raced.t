#!/usr/bin/env bash
# A reject whose task an agent claims from ready/ and submits again the
# moment it lands there, before the reject commits, spoold not running:
# the reject records the task where it put it, never also where the agent
# took it, so no commit has a task in two places; the agent's moves are
# recorded by the next look, nothing is reverted.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
core_spool || exit 1
cd "$S" || exit 1

N=${RACE_TASKS:-30}
for i in $(seq 1 "$N"); do
	spool add --title "task $i" >/dev/null
	spool claim --agent dev >/dev/null
	spool submit "$(printf 'T-%04d' "$i")" --agent dev >/dev/null
done
is "$(ls review | wc -l)" "$N" "$N tasks in review"

# reject_then_resubmit ID: rev rejects; ops, spinning on rename(2) from
# before the reject starts, claims the task the moment it lands in ready/
# and submits it.
reject_then_resubmit() {
	local id=$1 pid agent rc
	perl -e 'my $id = shift; my $t = time + 20;
		until (rename("ready/$id.json", "claimed/ops/$id.json")) {
			exit 1 if time > $t }
		rename("claimed/ops/$id.json", "review/$id.json") or exit 1' \
		"$id" &
	agent=$!
	spool reject "$id" --agent rev --to-ready --feedback "redo $id" \
		>/dev/null 2>&1 &
	pid=$!
	wait "$pid"; rc=$?
	wait "$agent" && return "$rc"
}
failed=0
for i in $(seq 1 "$N"); do
	reject_then_resubmit "$(printf 'T-%04d' "$i")" || failed=$((failed + 1))
done
is "$failed" 0 "every reject succeeds"
spool reconcile >/dev/null; ok $? "the next reconcile works"
twice=0
for c in $(git rev-list HEAD); do
	d=$(git ls-tree -r --name-only "$c" | sed -n 's#.*/\(T-[0-9]*\)\.json$#\1#p' | sort | uniq -d)
	[ -z "$d" ] || { twice=$((twice + 1)); echo "# $(git log -1 --format='%h %s' "$c"): $d"; }
done
is "$twice" 0 "no commit has a task in two places"
is "$(git log --format=%B | grep -c '^Spool-Verb: revert')" 0 "no move reverted"
is "$(ls review | wc -l)" "$N" "every task is back in review"
tree_matches_head; ok $? "HEAD's tree equals the files"
fsck_clean; ok $? "git fsck is clean"
done_testing
