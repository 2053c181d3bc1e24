#!/usr/bin/env bash
# Two spool work runners for one agent never take the same task: with
# spoold (claims are raw renames that race) and without it (claims under
# the lock). Every task runs exactly once and ends in review/.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
new_spool || exit 1
cd "$T" || exit 1
spool agent add dev >/dev/null
N=15

# Records the run; a second run of one task is a double claim.
cat >"$T/once.sh" <<'EOF'
#!/bin/sh
mkdir "$SEEN/$SPOOL_TASK" 2>/dev/null || { echo "$SPOOL_TASK twice" >>"$SEEN/doubles"; exit 1; }
echo "$RUNNER" >"$SEEN/$SPOOL_TASK/by"
echo "$RUNNER" >"$SPOOL_DELIVERABLES/by.txt"
EOF
chmod +x "$T/once.sh"

race() {	# race LABEL: two runners over N new tasks
	local label=$1 i a b ra rb
	export SEEN=$T/seen-$label
	mkdir -p "$SEEN"
	for i in $(seq 1 $N); do spool add --title "$label $i" >/dev/null; done
	RUNNER=a spool work --agent dev --no-wait -- "$T/once.sh" >"$T/a.out" 2>"$T/a.err" &
	a=$!
	RUNNER=b spool work --agent dev --no-wait -- "$T/once.sh" >"$T/b.out" 2>"$T/b.err" &
	b=$!
	wait $a; ra=$?
	wait $b; rb=$?
	[ "$ra" -le 3 ] && [ "$rb" -le 3 ] && [ $((ra + rb)) -le 3 ]
	ok $? "$label: both runners ended well (exit $ra, $rb)"
	test ! -e "$SEEN/doubles"; ok $? "$label: no task ran twice"
	is "$(ls "$SEEN" | wc -l)" $N "$label: every task ran"
	is "$(cat "$T/a.out" "$T/b.out" | grep -c ' submitted: ')" $N "$label: $N submissions between them"
	is "$(cat "$T/a.out" "$T/b.out" | awk '{print $1}' | sort | uniq -d)" "" "$label: no task reported twice"
	echo "# $label: a ran $(grep -c . "$T/a.out"), b ran $(grep -c . "$T/b.out")"
}

race locked
is "$(spool ls --state review | wc -l)" $N "without spoold: all in review/"
start_daemon || exit 1
race raw
until_ok 15 tree_matches; ok $? "with spoold: every move recorded"
is "$(spool ls --state review | wc -l)" $((2 * N)) "all in review/"
n=$(git -C "$S" log --format=%B | grep -c '^Spool-Verb: claim$')
is "$n" $((2 * N)) "one claim recorded per task"
fsck_clean; ok $? "git fsck clean"
stop_daemon
done_testing
