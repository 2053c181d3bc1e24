#!/usr/bin/env bash
# `spool claim` killed with -9 at any point after its rename, with spoold
# down, then with spoold running, and an agent that takes the task on by
# mv at once: a submit to review/, or a release to ready/. Killed before
# its commit, the next process records what the files show and reverts
# nothing; killed after its commit, the claim stands as recorded.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
core_spool || exit 1
cd "$S" || exit 1

N=${CRASH_TASKS:-40}
for i in $(seq 1 "$N"); do spool add --title "task $i" >/dev/null; done
is "$(ls ready | wc -l)" "$N" "$N tasks ready"

# claim_then_move I: starts spool claim as dev; the moment a task lands in
# claimed/dev/, stops the claim with -9 and moves the task on by mv: to
# review/ for odd I, back to ready/ for even I. Prints where it went.
claim_then_move() {
	local pid f= got caught=
	spool claim --agent dev >/dev/null 2>&1 &
	pid=$!
	# Globbing is a builtin: no fork between the rename and the kill.
	until [ -n "$f" ] || ! kill -0 "$pid" 2>/dev/null; do
		got=(claimed/dev/T-*.json)
		[ -e "${got[0]}" ] && f=${got[0]##*/}
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ -n "$f" ] || return 0
	git ls-tree --name-only HEAD claimed/dev/ | grep -q "$f" || caught=" caught"
	if (($1 % 2)); then
		mv "claimed/dev/$f" review/ && echo "review ${f%.json}$caught"
	else
		mv "claimed/dev/$f" ready/ && echo "ready ${f%.json}$caught"
	fi
}
: >"$T/moved"
# phase NAME: N claims killed and taken on, then the next process looks.
phase() {
	for i in $(seq 1 "$N"); do
		claim_then_move "$i" >>"$T/moved"
		# With spoold down, every third time the next process is a
		# reconcile, else the next claim's own start.
		[ "$1" = up ] || ((i % 3)) || spool reconcile >/dev/null
	done
}
phase down
spool reconcile >/dev/null; ok $? "the next reconcile works"
for i in $(seq 1 "$N"); do spool add --title "task $((N + i))" >/dev/null; done
start_daemon; ok $? "spoold starts"
phase up
spool reconcile >/dev/null; ok $? "a reconcile with spoold running works"
stop_daemon; ok $? "spoold stops"
N=$((2 * N))
echo "# $(wc -l <"$T/moved") claims killed and taken on by mv, $(grep -c caught "$T/moved") of them before their commit"
grep -q caught "$T/moved"; ok $? "some claims were killed before their commit and their task moved on"
is "$(git log --format=%B | grep -c '^Spool-Verb: revert')" 0 "no move reverted"
is "$(find quarantine -type f ! -name .gitkeep | wc -l)" 0 "nothing quarantined"
bad=0
while read -r where id _; do
	# A task released to ready/ may have been claimed again by a later
	# claim of the loop; one sent to review/ stays there.
	if [ "$where" = review ]; then
		[ -e "review/$id.json" ] || { bad=$((bad + 1)); echo "# $id not in review/"; }
	fi
done <"$T/moved"
is "$bad" 0 "each task sent to review/ by mv is there"
is "$(find ready claimed review failed -name 'T-*.json' | wc -l)" "$N" "no task lost or doubled"
tree_matches_head; ok $? "HEAD's tree equals the files"
is "$(ls .spool/run/intent 2>/dev/null | wc -l)" 0 "no intent left behind"
fsck_clean; ok $? "git fsck is clean"
spool claim --agent ops >/dev/null; ok $? "the next claim works"
done_testing
