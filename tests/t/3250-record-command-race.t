#!/usr/bin/env bash
# A command's move is recorded once, by the command, however spoold's
# events and the command's commit interleave; an agent's raw moves made
# around it are recorded once each, with their agent.
#
# The interleaving that recorded moves twice: spoold reads the events of
# an agent's claim and waits for the lock; a command (spool release)
# takes it first, records the claim and the release; spoold then had the
# claim's events but not the release's, and replayed the claim from
# where HEAD had the task by then (a claim and a release too many). The
# first part makes that interleaving exactly: spoold is held at the lock
# and stopped there, so the command wins it. The second part races a
# shell agent against commands, with no sleep, as the model test does.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

new_spool
spool agent add a1 >/dev/null
spool agent add a2 >/dev/null
start_daemon || exit 1
cd "$S" || exit 1
pid=$(daemon_pid)
lock_ino=$(stat -c %i .spool/run/lock)

# Each task's transitions, oldest first: "VERB AGENT, VERB AGENT, ...".
history_of() {
	git log --reverse --format=%B | awk -v id="$1" '
		/^Spool-Task: / { t = $2 } /^Spool-Agent: / { a = $2 }
		/^Spool-Verb: / { if (t == id && $2 != "add") {
			printf "%s%s %s", sep, $2, a; sep = ", " } }'
}
waits_for_lock() { grep -q -- "-> FLOCK .* $pid .*:$lock_ino " /proc/locks; }
stopped_off_lock() {
	[ "$(cut -d' ' -f3 "/proc/$pid/stat")" = T ] && ! waits_for_lock
}
recorded() { [ "$(history_of "$1")" = "$2" ]; }

# held ID DESC CMD...: an agent claims ID by mv while the lock is held
# here; once spoold has read that and waits for the lock, it is stopped
# and the lock let go, so CMD (the agent's command) takes it first.
held() {
	local id=$1 desc=$2
	shift 2
	exec 9>.spool/run/lock
	flock 9
	mv "ready/$id.json" claimed/a1/
	until_ok 10 waits_for_lock; ok $? "$desc: spoold waits for the lock"
	kill -STOP "$pid"
	until_ok 10 stopped_off_lock
	exec 9>&-
	"$@" >/dev/null; ok $? "$desc: $*"
}

# after DESC VERB WANT [DIR...]: a task claimed by a1 as held() does,
# then VERB by command, then moved by mv into each DIR at once, before
# spoold goes on: its history must be WANT.
after() {
	local desc=$1 verb=$2 want=$3 id dir
	shift 3
	id=$(spool add --title "$desc")
	held "$id" "$desc" spool "$verb" "$id" --agent a1
	for dir in "$@"; do mv "$(state_of "$id")/$id.json" "$dir/"; done
	kill -CONT "$pid"
	until_ok 10 recorded "$id" "$want"
	is "$(history_of "$id")" "$want" "$desc: each move recorded once"
}

# A command's release, nothing after it: nothing more to record.
after "release" release "claim a1, release a1"
# The agent claims again by mv at once: recorded as its claim.
after "claim after" release "claim a1, release a1, claim a1" claimed/a1
# Claims and releases again, back where HEAD has it: both recorded.
after "back again" release \
	"claim a1, release a1, claim a1, release a1" claimed/a1 ready
# Another agent takes it over.
after "handed on" release "claim a1, release a1, claim a2" claimed/a2
after "submit" submit "claim a1, submit a1"

# The race, free: an agent claims by mv, waits until spoold recorded it,
# releases by command, and the other agent claims by mv at once, while
# spoold may still be reading the events of its own rewrite of the claim.
R=${RACE_ROUNDS:-15}
id=$(spool add --title race --max-attempts $((4 * R + 2)))
until_ok 10 in_head "ready/$id.json"
want=
for r in $(seq "$R"); do
	mv "ready/$id.json" claimed/a1/
	until_ok 10 in_head "claimed/a1/$id.json"
	spool release "$id" --agent a1 >/dev/null || break
	mv "ready/$id.json" claimed/a2/
	until_ok 10 in_head "claimed/a2/$id.json"
	spool release "$id" --agent a2 >/dev/null || break
	want="$want${want:+, }claim a1, release a1, claim a2, release a2"
done
until_ok 10 tree_matches; ok $? "race: the tree matches HEAD"
stop_daemon
got=$(history_of "$id")
[ "$got" = "$want" ]; ok $? "race: $R rounds, each move recorded once"
[ "$got" = "$want" ] || { echo "#   got:  $got"; echo "#   want: $want"; } |
	cut -c1-400
is "$(git log --format=%B | grep -c '^Spool-Verb: revert$')" 0 "nothing reverted"
fsck_clean; ok $? "git fsck is clean"
done_testing
