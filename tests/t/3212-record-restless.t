#!/bin/bash
# Tasks that never sit still while spoold records them: agents shuttle
# them between ready/ and their claimed/ directories as fast as mv goes,
# so a file is often gone from where spoold looks for it, or moving
# while spoold searches the tree. Whatever spoold manages to see, what it
# records must hold together: each task's transitions form one chain, a
# release is never dropped from the middle of one, and every release it
# records has spent its attempt in the file.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

TASKS=4
ROUNDS=${RESTLESS_ROUNDS:-150}
new_spool
spool agent add a1 >/dev/null
spool agent add a2 >/dev/null
for i in $(seq 1 $TASKS); do
	printf '{"id": "R-%d", "title": "restless %d", "attempt": 1, "max_attempts": 100000}\n' \
		"$i" "$i" >"$SPOOL_DIR/ready/R-$i.json"
done
spool reconcile >/dev/null; ok $? "$TASKS tasks in ready/"
start_daemon || exit 1
cd "$S" || exit 1

# Task i goes to a1 and back; the even ones to a2 and back as well.
shuttle() {
	local f=R-$1.json
	for _ in $(seq 1 "$ROUNDS"); do
		mv "ready/$f" claimed/a1/ && mv "claimed/a1/$f" ready/ || return 1
		[ $(($1 % 2)) -eq 0 ] || continue
		mv "ready/$f" claimed/a2/ && mv "claimed/a2/$f" ready/ || return 1
	done
}
pids=()
for i in $(seq 1 $TASKS); do shuttle "$i" & pids+=($!); done
bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
is "$bad" 0 "every agent's moves succeeded"

# chain ID: the task's recorded transitions as "FROM TO VERB", oldest first
chain() {
	git log --reverse --format=%B | awk -v id="$1" '
		/^Spool-Task: / { t = $2 } /^Spool-From: / { f = $2 }
		/^Spool-To: / { to = $2 }
		/^Spool-Verb: / { if (t == id && $2 != "add") print f, to, $2 }'
}
# broken ID: the first transition that does not start where the one
# before it ended, or the last one not ending in ready/
broken() {
	chain "$1" | awk '
		BEGIN { at = "ready" }
		$1 != at { print NR ": " $0 " (was in " at ")"; exit }
		{ at = $2 }
		END { if (at != "ready") print "ends in " at }' | head -n 1
}
settled() {
	tree_matches && [ "$(git ls-tree -r --name-only HEAD ready/ | grep -c json)" = $TASKS ]
}
until_ok 60 settled; ok $? "the tree settles with every task in ready/"

for i in $(seq 1 $TASKS); do
	b=$(broken "R-$i")
	is "$b" "" "R-$i: the transitions recorded form one chain"
	rel=$(chain "R-$i" | grep -c ' release$')
	is "$(jq .attempt "ready/R-$i.json")" $((rel + 1)) \
		"R-$i: each of its $rel releases recorded spent an attempt"
	made=$(( $(( i % 2 )) == 0 ? 2 * ROUNDS : ROUNDS ))
	echo "# R-$i: $made round trips made, $rel releases recorded"
done
is "$(git log --format=%B | grep -c '^Spool-Verb: revert$')" 0 "nothing reverted"
is "$(find quarantine -type f ! -name .gitkeep | wc -l)" 0 "none quarantined"
fsck_clean; ok $? "git fsck is clean"
stop_daemon
done_testing
