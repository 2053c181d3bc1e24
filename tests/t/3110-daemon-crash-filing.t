#!/bin/bash
# spoold killed with -9 again and again while it files a burst dropped in
# new/ (some tasks with their own ids, some without): after a restart
# every dropped task is filed exactly once, none quarantined, none lost;
# HEAD's tree equals the files and git fsck is clean.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

new_spool
spool agent add dev >/dev/null
n=${FILING_TASKS:-300}
kills=${FILING_KILLS:-4}
start_daemon || exit 1
# Half name their id, half let the spool give one.
perl -e 'my ($d, $n) = @ARGV; for my $i (1..$n) { my $f = "$d/tmp/d$i.json";
	open(my $h, ">", $f) or die;
	if ($i % 2) { printf $h "{\"id\": \"F-%04d\", \"title\": \"dropped %d\"}\n", $i, $i }
	else { print $h "{\"title\": \"dropped $i\"}\n" }
	close $h; rename($f, "$d/new/d$i.json") or die }' "$S" "$n"
killed=0 pid=$(daemon_pid)
for k in $(seq 1 "$kills"); do
	# Let it file a while, then kill it in the middle: the first time
	# while it files from events, then while it files at start-up.
	left=$(ls "$S/new" | wc -l)
	until_ok 30 eval "[ \$(ls '$S/new' | wc -l) -lt $((left - 15)) ]" || break
	kill -9 "$pid" && killed=$((killed + 1))
	wait "$pid" 2>/dev/null
	[ "$(ls "$S/new" | wc -l)" -gt 20 ] || break
	spoold -C "$S" >/dev/null 2>&1 &
	pid=$!
done
kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
echo "# killed $killed times while filing"
[ "$killed" -gt 0 ]; ok $? "spoold was killed while filing"
start_daemon || exit 1
until_ok 120 eval '[ -z "$(ls "$S/new")" ] && tree_matches'; ok $? "everything filed and recorded"
stop_daemon
cd "$S" || exit 1
titles=$(find ready -name '*.json' -exec jq -r .title {} + | sort)
is "$(echo "$titles" | wc -l)" "$n" "$n tasks in ready/: none lost"
is "$(echo "$titles" | uniq -d | wc -l)" 0 "none filed twice"
is "$(ls quarantine | wc -l)" 0 "none quarantined"
is "$(ls ready | grep -c '^F-')" $((n / 2 + n % 2)) "every named id kept"
is "$(ls .spool/run/intent 2>/dev/null | wc -l)" 0 "no intent left"
is "$(git log --format=%B | grep -c '^Spool-Verb: revert')" 0 "nothing reverted"
fsck_clean; ok $? "git fsck is clean"
done_testing
