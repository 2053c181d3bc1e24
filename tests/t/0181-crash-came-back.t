#!/usr/bin/env bash
# A reject killed with -9 after it moved the task to ready/ and before its
# commit, then an agent that claims the task (by mv, or by spool claim)
# and submits it by mv at once, all while spoold is busy (stopped with
# SIGSTOP): the task is back where the reject found it. spoold's events
# show that it left: the reject is recorded from its intent, with its
# reviewer and feedback, then the claim and the submit by their agent.
# Nothing is reverted or taken back, and no writer in between (a command
# taking the lock while spoold is stopped) settles it without the events.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
core_spool || exit 1
cd "$S" || exit 1

N=${CRASH_TASKS:-24}
in_review "$N"
start_daemon || exit 1

# back ID I: the reject, killed once its move is made, then the claim (by
# mv for even I, else by command) and the submit by ops; for I a multiple
# of 3, a command takes the lock before spoold goes on.
back() {
	local id=$1 i=$2 ok=1 d
	d=$(daemon_pid)
	pause_daemon || return 1
	if reject_killed "$id"; then
		if ((i % 2)); then
			spool claim --agent ops >/dev/null
		else
			mv "ready/$id.json" claimed/ops/
		fi &&
			mv "claimed/ops/$id.json" review/ && ok=0
		((i % 3)) || spool add --hold --title "between $i" >/dev/null
	fi
	kill -CONT "$d"
	[ "$ok" = 0 ] && return 0
	# so that the next claim by command finds only its own task
	[ -e "ready/$id.json" ] && spool cancel "$id" --agent boss >/dev/null
	return 1
}
caught=0
for i in $(seq 1 "$N"); do
	id=$(printf 'T-%04d' "$i")
	back "$id" "$i" || continue
	caught=$((caught + 1))
	echo "$id" >>"$T/caught"
done
echo "# $caught of $N rejects killed after their move"
[ "$caught" -gt 0 ]; ok $? "some kills came after the move"
settled() { tree_matches_head && [ -z "$(ls .spool/run/intent 2>/dev/null)" ]; }
until_ok 30 settled; ok $? "spoold records everything"
bad=0
while read -r id; do
	want="operator add dev claim dev submit rev reject ops claim ops submit"
	got=$(git log --reverse --format=%B --grep="^Spool-Task: $id\$" |
		sed -n 's/^Spool-\(Verb\|Agent\): //p' | paste -sd' ')
	fb=$(jq -c '[.feedback[]?.text]' "review/$id.json" 2>&1)
	[ "$got" = "$want" ] && [ "$fb" = "[\"redo $id\"]" ] && continue
	bad=$((bad + 1))
	echo "# $id: $got; feedback $fb"
done <"$T/caught"
is "$bad" 0 "each task: the reject by rev, the claim and the submit by ops, with the feedback"
is "$(git log --format=%B | grep -c '^Spool-Verb: revert')" 0 "no move reverted"
is "$(find quarantine -type f ! -name .gitkeep | wc -l)" 0 "nothing quarantined"
fsck_clean; ok $? "git fsck is clean"
stop_daemon
done_testing
