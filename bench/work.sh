#!/bin/sh
# spool work: from a task landing in ready/ to its command starting, with
# an idle runner; the CPU an idle runner uses; the runner's own time per
# task beyond the command and the recording. Beside each figure, in the
# same run, the baseline: a shell loop doing the same with inotifywait,
# mv and touch.
#   sh bench/work.sh [SAMPLES] [IDLE_SECONDS] [TASKS]   (defaults 100, 10, 100)
# spoold runs throughout, as it does beside runners: claims are renames it
# records. A task lands in ready/ by a legal raw release from another
# agent (mv claimed/feeder/ID.json ready/), timed until the command has
# created its marker file.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
PATH="$TOP/bin:$PATH"
export SPOOL_LAYOUT="$TOP/spool-layout" GIT_CONFIG_NOSYSTEM=1 HOME="${TMPDIR:-/tmp}"
unset SPOOL_DIR SPOOL_AGENT
SAMPLES=${1:-100}
IDLE=${2:-10}
TASKS=${3:-100}
W=$(mktemp -d "${TMPDIR:-/tmp}/spool-bench-work.XXXXXX")
RUNNER= LOOP=
trap '[ -n "$RUNNER" ] && kill $RUNNER 2>/dev/null; [ -n "$LOOP" ] && kill $LOOP 2>/dev/null
	wait 2>/dev/null; spool -C "$W/s" daemon stop >/dev/null 2>&1; [ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
echo "bench/work.sh: $SAMPLES samples, idle ${IDLE}s, $TASKS tasks" >&2

S=$W/s
spool init "$S" >/dev/null
for a in feeder runner shell; do spool -C "$S" agent add "$a" >/dev/null; done
mkdir -p "$S/claimed/shell"
i=1
while [ $i -le $((2 * SAMPLES)) ]; do
	spool -C "$S" add --title "land $i" >/dev/null
	i=$((i + 1))
done
# every one claimed by feeder: each sample releases one into ready/
i=1
while [ $i -le $((2 * SAMPLES)) ]; do
	spool -C "$S" claim --agent feeder >/dev/null
	i=$((i + 1))
done
spoold -C "$S" --detach
export SPOOL_DIR=$S

ticks() {	# utime + stime (+ children reaped) of a process, in ticks
	awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
latency() {	# latency FIRST COUNT: median and p90 of release -> marker, ms
	perl -MTime::HiRes=time,sleep -e '
	my ($d, $first, $n) = @ARGV; my @lat;
	for my $k (0 .. $n - 1) {
		my $id = sprintf("T-%04d", $first + $k);
		my $m = "$d/deliverables/$id/started";
		sleep 0.05;	# idle between tasks
		my $t0 = time;
		rename("$d/claimed/feeder/$id.json", "$d/ready/$id.json") or die "$id: $!";
		my $t1 = $t0 + 10;
		until (-e $m) { sleep 0.0002; die "$id never started\n" if time > $t1; }
		push @lat, (time - $t0) * 1000;
		until (-e "$d/review/$id.json") { sleep 0.001; die "$id never submitted\n" if time > $t1; }
	}
	@lat = sort { $a <=> $b } @lat;
	printf("%.1f %.1f\n", $lat[int(@lat / 2)], $lat[int(@lat * 0.9)]);
	' "$S" "$1" "$2"
}
idle_ticks() {	# idle_ticks PID...: ticks used over IDLE seconds
	b=0; for p in "$@"; do b=$((b + $(ticks "$p"))); done
	sleep "$IDLE"
	a=0; for p in "$@"; do a=$((a + $(ticks "$p"))); done
	echo $((a - b))
}

# --- spool work ---------------------------------------------------------
spool work --agent runner --workspace "$W" -- sh -c ': >"$SPOOL_DELIVERABLES/started"' \
	>"$W/runner.out" 2>"$W/runner.err" &
RUNNER=$!
sleep 1	# let it start and go idle before the idle window
R_IDLE=$(idle_ticks $RUNNER $(ps -o pid= --ppid $RUNNER))
set -- $(latency 1 "$SAMPLES")
R_MED=$1 R_P90=$2
kill $RUNNER; wait $RUNNER 2>/dev/null || true; RUNNER=

# --- the baseline: a shell loop ----------------------------------------
cat >"$W/loop.sh" <<'EOF'
#!/bin/sh
# what a shell agent does: wait, claim, run, submit
cd "$SPOOL_DIR" || exit 1
while :; do
	for f in ready/*.json; do
		[ -e "$f" ] || break
		id=${f#ready/}; id=${id%.json}
		mv "$f" claimed/shell/ 2>/dev/null || continue
		touch "claimed/shell/$id.json"		# heartbeat
		mkdir -p "deliverables/$id"
		sh -c ': >"$0/started"' "deliverables/$id"
		mv "claimed/shell/$id.json" review/
		continue 2
	done
	inotifywait -qq -t 60 -e moved_to -e create ready/
done
EOF
sh "$W/loop.sh" >/dev/null 2>&1 &
LOOP=$!
sleep 1
B_IDLE=$(idle_ticks $LOOP $(ps -o pid= --ppid $LOOP))
set -- $(latency $((SAMPLES + 1)) "$SAMPLES")
B_MED=$1 B_P90=$2
kids=$(ps -o pid= --ppid $LOOP)
kill $LOOP; wait $LOOP 2>/dev/null || true; LOOP=
[ -z "$kids" ] || kill $kids 2>/dev/null || true	# its inotifywait

# --- per-task overhead: TASKS queued tasks, command 'true' -------------
i=1
while [ $i -le "$TASKS" ]; do spool add --title "run $i" >/dev/null; i=$((i + 1)); done
t0=$(date +%s%N)
spool work --agent runner --workspace "$W" --no-wait --json -- true >"$W/o.json" 2>"$W/o.err"
t1=$(date +%s%N)
R_PER=$(( (t1 - t0) / 1000 / TASKS ))
# the runner's own: each task's time less the command, the claim and the
# submission (the recording); medians
set -- $(jq -s -r '
	def med: sort | .[length / 2 | floor];
	[.[] | .total_us - .elapsed_ms * 1000 - .claim_us - .settle_us] as $own |
	[.[] | .claim_us + .settle_us] as $rec |
	"\($own | med) \($rec | med) \(length)"' "$W/o.json")
R_OWN=$1 R_REC=$2 R_N=$3
i=1
while [ $i -le "$TASKS" ]; do spool add --title "loop $i" >/dev/null; i=$((i + 1)); done
t0=$(date +%s%N)
(
	cd "$S"
	for f in ready/*.json; do
		id=${f#ready/}; id=${id%.json}
		mv "$f" claimed/shell/ 2>/dev/null || continue
		touch "claimed/shell/$id.json"; mkdir -p "deliverables/$id"; true
		mv "claimed/shell/$id.json" review/
	done
)
t1=$(date +%s%N)
B_PER=$(( (t1 - t0) / 1000 / TASKS ))

ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
echo "## spool work"
echo
echo "\`bench/work.sh $SAMPLES $IDLE $TASKS\`, spoold running. Wake-up: a task released into"
echo "\`ready/\` by another agent's \`mv\`, every 50 ms, timed until the idle runner's command"
echo "has created a file ($SAMPLES samples). Idle: CPU ticks of the runner (and its guard, or the"
echo "loop's inotifywait) over ${IDLE} s with nothing to do. Per task: $TASKS queued tasks run"
echo "with \`true\`; the runner's own time is each task's time less the command, the claim and"
echo "the submission (the recording), from its \`--json\` lines. Baseline: a shell loop that"
echo "claims with \`mv\`, heartbeats with \`touch\`, runs the command, submits with \`mv\` and"
echo "waits with \`inotifywait\`; it keeps no lease, log or deliverables and records nothing."
echo
printf '| %-44s | %22s | %22s |\n' measure "spool work" "shell loop"
printf '|%s|%s|%s|\n' "----------------------------------------------" "-----------------------:" "-----------------------:"
printf '| %-44s | %22s | %22s |\n' "ready/ -> command started (median / p90)" "$R_MED / $R_P90 ms" "$B_MED / $B_P90 ms"
printf '| %-44s | %22s | %22s |\n' "CPU ticks while idle for ${IDLE} s" "$R_IDLE" "$B_IDLE"
printf '| %-44s | %22s | %22s |\n' "wall time per task, command 'true'" "$(ms $R_PER) ms" "$(ms $B_PER) ms"
printf '| %-44s | %22s | %22s |\n' "  recording (claim + submit), median" "$(ms $R_REC) ms" "-"
printf '| %-44s | %22s | %22s |\n' "  runner's own time per task, median" "$(ms $R_OWN) ms" "-"
echo
fail=0 missed=""
awk -v m="$R_MED" 'BEGIN { exit !(m <= 20) }' || { fail=1; missed="$missed wake-up;"; }
[ "$R_IDLE" -le 1 ] || { fail=1; missed="$missed idle CPU;"; }
awk -v o="$R_OWN" 'BEGIN { exit !(o <= 10000) }' || { fail=1; missed="$missed overhead;"; }
[ "$R_N" -eq "$TASKS" ] || { fail=1; missed="$missed tasks run ($R_N of $TASKS);"; }
echo "Targets: wake-up median <= 20 ms; <= 1 tick idle over ${IDLE} s; the runner's own time"
echo "<= 10 ms per task."
if [ $fail -eq 0 ]; then echo "All met."; else echo "Missed:$missed"; fi
exit $fail
