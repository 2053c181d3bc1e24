#!/bin/bash
# Tasks dropped into new/ while spoold is killed -9 at random moments, and
# an agent claims and submits them as soon as they are filed: a task the
# spool filed but had not committed when it died is adopted on its return,
# wherever the agent took it; one still in new/ is filed once. Nothing is
# lost, doubled or quarantined.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

N=${FILE_TASKS:-300}
new_spool
spool agent add a1 >/dev/null
start_daemon || exit 1
cd "$S" || exit 1

# Every fifth task names its own id, every seventh has an idempotency key.
# The drop goes in six rounds and each round waits for one more kill, so
# the kills land while tasks are being filed however fast or slow the
# machine is.
drop() {
	local i round=0
	for ((i = 1; i <= N; i++)); do
		if ((i % (N / 6 + 1) == 0)); then
			round=$((round + 1))
			until k=$(cat "$T/kills" 2>/dev/null); [ "${k:-0}" -ge "$round" ]; do
				sleep 0.05
			done
		fi
		if ((i % 5 == 0)); then
			printf '{"id": "X-%04d", "title": "t-%d"}\n' "$i" "$i"
		elif ((i % 7 == 0)); then
			printf '{"title": "t-%d", "idempotency_key": "k-%d"}\n' "$i" "$i"
		else
			printf '{"title": "t-%d"}\n' "$i"
		fi >"tmp/d-$i"
		mv "tmp/d-$i" new/
	done
}
agent() {	# claims and submits what is filed, blocks when there is none
	local f files
	while [ ! -e "$T/stop" ]; do
		files=(ready/*.json)
		if [ ! -e "${files[0]}" ]; then
			inotifywait -qq -t 1 -e moved_to -e create ready/
			continue
		fi
		for f in "${files[@]}"; do
			f=${f#ready/}
			mv "ready/$f" claimed/a1/ 2>/dev/null &&
				mv "claimed/a1/$f" review/
		done
	done
}
drop & dropper=$!
agent & worker=$!
kills=0
while kill -0 $dropper 2>/dev/null; do
	sleep "0.$((RANDOM % 4 + 1))"
	pid=$(daemon_pid)
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
	echo "$kills" >"$T/kills"
	start_daemon >/dev/null 2>&1
done
wait $dropper
spool daemon status >/dev/null 2>&1 || start_daemon
echo "# spoold killed $kills times"
[ "$kills" -ge 3 ]; ok $? "spoold was killed -9 at least 3 times ($kills)"
empty_new() { [ -z "$(ls new)" ]; }
until_ok 60 empty_new; ok $? "new/ is empty: everything was filed"
touch "$T/stop"; wait $worker
until_ok 30 tree_matches; ok $? "the tree matches HEAD"

titles=$(cat blocked/*.json ready/*.json claimed/*/*.json review/*.json 2>/dev/null |
	jq -r .title | sort)
is "$(wc -l <<<"$titles")" "$N" "$N tasks in the tree: none lost"
is "$(uniq -d <<<"$titles" | wc -l)" 0 "none doubled"
is "$(find quarantine -type f ! -name .gitkeep | wc -l)" 0 "none quarantined"
bad=0
for ((i = 5; i <= N; i += 5)); do
	[ "$(state_of "X-$(printf %04d $i)")" != . ] || bad=$((bad + 1))
done
is "$bad" 0 "tasks that named their id kept it"
is "$(git log --format=%B | grep -c '^Spool-Verb: revert$')" 0 "no move reverted"
is "$(git log --format=%B | grep -c '^Spool-Verb: submit$')" "$(ls review | wc -l)" \
	"every submission recorded once"
echo "# filed but not committed when killed, adopted: $(git log --format=%B |
	grep -c '^Spool-Verb: add$')"
fsck_clean; ok $? "git fsck is clean"
stop_daemon
done_testing
