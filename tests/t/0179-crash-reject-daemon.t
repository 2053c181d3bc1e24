#!/usr/bin/env bash
# A reject killed with -9 after it moved the task to ready/ and before its
# commit, while spoold runs, and an agent that claims the task by mv at
# once: spoold's next batch, or its start when it was down, records the
# reject from its intent, with its reviewer and feedback, then the claim
# by its agent. Nothing is reverted, the agent keeps the task and the
# feedback, and HEAD's tree equals the files. (Recorded again from the
# task as it was, the reject wrote the file in ready/ anew: the agent had
# taken it, the write failed and the reject was judged an agent's mv.)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
core_spool || exit 1
cd "$S" || exit 1

N=${CRASH_TASKS:-40}
in_review "$N"
is "$(ls review | wc -l)" "$N" "$N tasks in review"
start_daemon || exit 1

# Every third reject runs while spoold is down (killed with -9), and
# spoold starts again right after the claim: its start finds the intent.
kill_daemon() {
	local p; p=$(daemon_pid)
	[ -n "$p" ] && kill -9 "$p" 2>/dev/null
	while [ -n "$p" ] && [ -e "/proc/$p" ] &&
		! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null; do :; done
}
killed=0
for i in $(seq 1 "$N"); do
	id=$(printf 'T-%04d' "$i")
	((i % 3)) || kill_daemon
	reject_then_claim "$id"
	r=$?
	((i % 3)) || start_daemon || exit 1
	[ "$r" = 0 ] || continue
	killed=$((killed + 1))
	echo "$id" >>"$T/killed"
done
echo "# $killed of $N rejects killed after their move"
[ "$killed" -gt 0 ]; ok $? "some kills came after the move"
settled() { tree_matches_head && [ -z "$(ls .spool/run/intent 2>/dev/null)" ]; }
until_ok 30 settled; ok $? "spoold records everything"
is "$(git log --format=%B | grep -c '^Spool-Verb: revert')" 0 "no move reverted"
is "$(find quarantine -type f ! -name .gitkeep | wc -l)" 0 "nothing quarantined"
is "$(rejected_then_claimed "$T/killed")" 0 \
	"each task killed: the reject by rev, then the claim by ops, with the feedback"
fsck_clean; ok $? "git fsck is clean"
stop_daemon
done_testing
