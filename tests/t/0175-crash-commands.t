#!/usr/bin/env bash
# Commands killed with -9 at random instructions: approve, reject and
# cancel move a task, then commit. Killed between the two, the move must
# not look like an agent's raw mv (review -> done by mv is an approval
# nobody made): the next process records it from the command's intent,
# with the command's verb, actor and effects, once. Afterwards every task
# is in the tree exactly once, HEAD's tree equals the files, nothing was
# reverted, and git fsck is clean.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
core_spool || exit 1
cd "$S" || exit 1

N=${CRASH_TASKS:-40}
for i in $(seq 1 $((N + 1))); do spool add --title "task $i" >/dev/null; done
for i in $(seq 1 $((N + 1))); do
	spool claim --agent dev >/dev/null && spool submit "$(printf 'T-%04d' "$i")" --agent dev >/dev/null
done
is "$(ls review | wc -l)" $((N + 1)) "$((N + 1)) tasks in review"
# How long a command runs on this machine now: the kills spread over it.
t0=$(date +%s%N)
spool approve "$(printf 'T-%04d' $((N + 1)))" --agent rev >/dev/null
span=$(( ($(date +%s%N) - t0) / 1000 * 5 / 4 ))
echo "# a command takes $((span * 4 / 5)) us; kills fall within $span us"

# killrun USEC CMD...: starts CMD, kills it with -9 after USEC microseconds
# (if it is still running); prints "killed" or "finished".
killrun() {
	perl -MTime::HiRes=usleep -e '
		my $us = shift; my $pid = fork // die;
		if (!$pid) { open(STDOUT, ">", "/dev/null"); open(STDERR, ">", "/dev/null"); exec @ARGV or exit 127 }
		usleep($us);
		my $gone = waitpid($pid, 1) == $pid;
		kill 9, $pid unless $gone;
		waitpid($pid, 0) unless $gone;
		print $gone ? "finished\n" : "killed\n";' "$@"
}

# A kill lands between a command's move and its commit only now and then,
# so the runs go on in rounds of N tasks until one has (at most 5 rounds).
# A kill there leaves an intent behind for the next process to finish.
killed=0 finished=0 recovered=0 midway=0 runs=0 total=$((N + 1))
crash_round() { # crash_round FIRST LAST
	local i id cmd
	for i in $(seq "$1" "$2"); do
		id=$(printf 'T-%04d' "$i")
		case $((RANDOM % 3)) in
		0) cmd=(spool approve "$id" --agent rev) ;;
		1) cmd=(spool reject "$id" --agent rev --feedback "redo $id") ;;
		2) cmd=(spool cancel "$id" --agent boss --reason "not needed") ;;
		esac
		runs=$((runs + 1))
		# Spread the kills over a command's whole run.
		case $(killrun $(( (RANDOM * 32768 + RANDOM) % span )) "${cmd[@]}") in
		killed) killed=$((killed + 1)) ;;
		*) finished=$((finished + 1)) ;;
		esac
		[ -n "$(ls .spool/run/intent 2>/dev/null)" ] && midway=$((midway + 1))
		# The next process finds what the killed one left: sometimes a
		# reconcile, sometimes the next command's own start.
		if [ $((i % 2)) -eq 0 ]; then
			r=$(spool reconcile --json | jq .recorded)
			recovered=$((recovered + r))
		fi
	done
}
crash_round 1 "$N"
round=1
while [ "$midway" -eq 0 ] && [ "$round" -lt 5 ]; do
	first=$((total + 1)) total=$((total + N))
	for i in $(seq "$first" "$total"); do
		spool add --title "task $i" >/dev/null
		spool claim --agent dev >/dev/null
		spool submit "$(printf 'T-%04d' "$i")" --agent dev >/dev/null
	done
	crash_round "$first" "$total"
	round=$((round + 1))
done
spool reconcile --json >"$T/last"; ok $? "the next reconcile works"
recovered=$((recovered + $(jq .recorded "$T/last")))
echo "# $killed killed, $finished finished in $round rounds; $midway left an intent, $recovered moves recorded by reconcile"
[ "$killed" -gt 0 ]; ok $? "runs were killed ($killed of $runs)"
[ "$midway" -gt 0 ]; ok $? "some were killed between their move and their commit ($midway)"

tasks=$(find new blocked ready claimed review done failed cancelled quarantine -name 'T-*.json' | wc -l)
is "$tasks" "$total" "every task is in the tree"
dups=$(find new blocked ready claimed review done failed cancelled quarantine -name 'T-*.json' -printf '%f\n' | sort | uniq -d | wc -l)
is "$dups" 0 "none twice"
is "$(ls quarantine | wc -l)" 0 "none quarantined"
tree_matches_head; ok $? "HEAD's tree equals the files"
is "$(git log --format=%B | grep -c '^Spool-Verb: revert')" 0 "no revert recorded"
is "$(ls .spool/run/intent 2>/dev/null | wc -l)" 0 "no intent left behind"

# Each move is recorded once, as its command records it.
bad=0
for f in done/*.json cancelled/*.json claimed/dev/*.json; do
	[ -e "$f" ] || continue
	id=$(basename "$f" .json)
	want=approve who=rev
	[ "$id" = "$(printf 'T-%04d' $((N + 1)))" ] && continue
	case $f in
	cancelled/*) want=cancel who=boss ;;
	claimed/*) want=reject ;;
	esac
	got=$(git log --format=%B --grep="^Spool-Task: $id\$" | sed -n 's/^Spool-\(Verb\|Agent\): //p' | paste -sd' ')
	# newest first: the move out of review, then submit, claim, add
	case $got in
	"$want $who submit dev claim dev add operator"|"$who $want dev submit dev claim operator add") ;;
	*) bad=$((bad + 1)); echo "# $id in $(dirname "$f"): $got" ;;
	esac
done
is "$bad" 0 "each move out of review recorded once, with its command's verb and actor"
bad=0
for f in claimed/dev/*.json; do
	[ -e "$f" ] || continue
	id=$(basename "$f" .json)
	[ "$(jq -c '[.feedback[]?.text]' "$f")" = "[\"redo $id\"]" ] || { bad=$((bad + 1)); echo "# $id: $(jq -c .feedback "$f")"; }
done
is "$bad" 0 "each rejected task has its feedback, once"
fsck_clean; ok $? "git fsck is clean"
spool add --title after >/dev/null; ok $? "the next command works"
done_testing
