#!/usr/bin/env bash
# The torture run: shell agents claim, submit, release and heartbeat at full
# speed while spoold is killed with -9 at random moments and restarted, and
# spool commands (claim, approve, reject, reconcile) are started and killed
# with -9 at random. Then, once quiet, check.py compares the spool, its
# history and what every agent logged.
#   run.sh DIR      builds DIR/spool, keeps the logs in DIR/logs
# Parameters (environment):
#   TORTURE_AGENTS       shell agents claiming by mv (4)
#   TORTURE_TASKS        tasks (200)
#   TORTURE_TRANSITIONS  at least this many transitions made (3000)
#   TORTURE_KILLS        at least this many kill -9 of spoold (5)
#   TORTURE_LIFE         spoold runs 0.3 s to this many seconds between
#                        kills (2.3); longer lives make more transitions
#   TORTURE_MAX_SECONDS  stop the load after this long, whatever the counts (600)
#   TORTURE_SETTLE_SECONDS  how long spoold may take to settle afterwards (60)
# Writes the figures to DIR/figures.json (tests/t/0610-torture.t prints and
# judges them); what went wrong is said on stderr as TAP comments.
set -u
here=$(cd "$(dirname "$0")" && pwd)
D=$1
S=$D/spool L=$D/logs
AGENTS=${TORTURE_AGENTS:-4} TASKS=${TORTURE_TASKS:-200}
N=${TORTURE_TRANSITIONS:-3000} K=${TORTURE_KILLS:-5}
MAX=${TORTURE_MAX_SECONDS:-600} SETTLE=${TORTURE_SETTLE_SECONDS:-60}
LIFE_MS=$(awk -v s="${TORTURE_LIFE:-2.3}" 'BEGIN { printf "%d", s * 1000 }')
mkdir -p "$L" || exit 1
export SPOOL_DIR=$S
unset SPOOL_AGENT
ms() { echo $(( $(date +%s%N) / 1000000 )); }
say() { echo "# $*"; }

# ---- the spool: agents, a policy without timers, tasks in ready/ ---------
spool init "$S" >/dev/null || exit 1
mv_agents="" cmd_agents="c1 c2" reviewers="rv1 rv2"
for i in $(seq 1 "$AGENTS"); do mv_agents="$mv_agents m$i"; done
for a in $mv_agents $cmd_agents; do spool agent add "$a" >/dev/null || exit 1; done
for a in $reviewers; do spool agent add "$a" --roles reviewer >/dev/null || exit 1; done
# Releases come back for ever, leases never expire: every move here is legal.
jq '.max_attempts = 1000000000 | .lease_seconds = 10000000' \
	"$S/.spool/config.json" >"$D/config" && cp "$D/config" "$S/.spool/config.json"
perl -e 'my ($d, $n) = @ARGV; for my $i (1 .. $n) {
	my $id = sprintf("T-%05d", $i);
	open(my $f, ">", "$d/ready/$id.json") or die "$id: $!";
	print $f "{\"id\": \"$id\", \"title\": \"task $i\"}\n"; close $f }' "$S" "$TASKS"
spool reconcile >/dev/null || exit 1
git -C "$S" rev-parse HEAD >"$L/base"
echo "$mv_agents" >"$L/mv-agents"
echo "$cmd_agents" >"$L/cmd-agents"
echo "$reviewers" >"$L/reviewers"

# ---- spoold, and killing it ---------------------------------------------
daemon_pid() {	# the pid of this spool's spoold, checked, or nothing
	local p
	p=$(cat "$S/.spool/run/daemon.pid" 2>/dev/null) || return 1
	[ -n "$p" ] && tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null |
		grep -q "spoold -C $S " && echo "$p"
}
# dead PID: gone, or a zombie (its parent is init, which may reap it late;
# its files and locks are closed already).
dead() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	st=${st##*) }
	[ "${st%% *}" = Z ]
}
start_daemon() {
	local i
	for i in 1 2 3 4 5; do
		# debug: check.py reads from its log when each batch read
		# its events and whether it finished
		spoold -C "$S" --detach --log-level debug \
			>>"$L/spoold-start.log" 2>&1 && return 0
		restart_failures=$((restart_failures + 1))
		sleep 0.1
	done
	return 1
}
restart_failures=0 kills=0
# Whatever happens, nothing started here outlives the run.
trap 'touch "$L/STOP"; p=$(daemon_pid) && kill -9 "$p"; wait' EXIT
start_daemon || { say "spoold does not start"; exit 1; }
# When spoold was not watching: moves made then may leave no trace (a claim
# and its release between two looks), so check.py does not ask for them.
windows() { echo "$EPOCHREALTIME $1" >>"$L/spoold.windows"; }

# ---- commands started and killed with -9 at random -----------------------
# run_cmd LOG NAME ARGS...: runs spool ARGS, kills it at a random moment one
# time in three; logs "TIME NAME EXIT OUTPUT" (137: killed). NAME is one
# word: VERB:ID.
run_cmd() {
	local log=$1 name=$2 p rc
	shift 2
	spool "$@" >"$log.out" 2>/dev/null &
	p=$!
	if ((RANDOM % 3 == 0)); then
		sleep "0.$(printf %03d $((RANDOM % 40)))"
		kill -9 "$p" 2>/dev/null
	fi
	wait "$p" 2>/dev/null
	rc=$?
	echo "$EPOCHREALTIME $name $rc $(head -c 200 "$log.out")" >>"$log"
	return $rc
}
# A reviewer sends most work back to ready/ and approves the rest.
reviewer() {
	local me=$1 files f id
	shopt -s nullglob
	while [ ! -e "$L/STOP" ]; do
		files=(review/*.json)
		if ((${#files[@]} == 0)); then
			inotifywait -qq -t 1 -e moved_to review/ 2>/dev/null
			continue
		fi
		f=${files[RANDOM % ${#files[@]}]}
		id=${f#review/}
		id=${id%.json}
		if ((RANDOM % 10 == 0)); then
			run_cmd "$L/$me.log" "approve:$id" approve "$id" --agent "$me"
		else
			run_cmd "$L/$me.log" "reject:$id" reject "$id" --to-ready \
				--feedback "again" --agent "$me"
		fi
	done
}
# A claimer takes work with spool claim, then submits or releases it by mv,
# as well as anything a killed claim left in its directory.
claimer() {
	local me=$1 f id
	shopt -s nullglob
	exec 3>>"$L/$me.mv.log"
	while [ ! -e "$L/STOP" ]; do
		for f in claimed/"$me"/*.json; do
			id=${f##*/}
			id=${id%.json}
			if ((RANDOM % 4 == 0)); then
				mv "$f" review/ 2>/dev/null && echo "$EPOCHREALTIME submit $id" >&3 ||
					echo "$EPOCHREALTIME lost $id" >&3
			else
				mv "$f" ready/ 2>/dev/null && echo "$EPOCHREALTIME release $id" >&3 ||
					echo "$EPOCHREALTIME lost $id" >&3
			fi
		done
		run_cmd "$L/$me.log" claim: claim --agent "$me"
		[ $? -eq 3 ] && inotifywait -qq -t 1 -e moved_to ready/ 2>/dev/null
	done
}

# ---- the run ----------------------------------------------------------------
rm -f "$L/STOP"
t0=$(ms)
cd "$S" || exit 1
for a in $mv_agents; do
	bash "$here/agent.sh" "$S" "$a" "$L/$a.mv.log" "$L/STOP" &
done
for a in $cmd_agents; do claimer "$a" & done
for a in $reviewers; do reviewer "$a" & done

# transitions made: moves that succeeded, commands that exited 0
made() {
	cat "$L"/*.log 2>/dev/null |
		grep -c ' \(claim\|submit\|release\) \| \(claim\|reject\|approve\):[^ ]* 0 '
}
while :; do
	# spoold runs for a random while (0.3 s to TORTURE_LIFE), then dies
	# at once.
	life=$(( 300 + (RANDOM * 32768 + RANDOM) % (LIFE_MS > 300 ? LIFE_MS - 300 : 1) ))
	sleep "$((life / 1000)).$(printf %03d $((life % 1000)))"
	windows down
	if p=$(daemon_pid); then
		kill -9 "$p" && kills=$((kills + 1))
		until dead "$p"; do sleep 0.01; done
	fi
	# Sometimes it stays down a while: work piles up unseen.
	((RANDOM % 3 == 0)) && sleep "0.$(printf %03d $((RANDOM % 500)))"
	# A reconcile of its own, killed at random, now and then, racing
	# spoold's start.
	((RANDOM % 2 == 0)) && { run_cmd "$L/op.log" reconcile: reconcile & }
	start_daemon || say "spoold did not restart after $restart_failures tries"
	windows up
	[ "$(made)" -ge "$N" ] && [ "$kills" -ge "$K" ] && break
	if [ $(( $(ms) - t0 )) -ge $((MAX * 1000)) ]; then
		say "stopped after ${MAX}s with $(made) transitions and $kills kills"
		break
	fi
done
touch "$L/STOP"
wait
t1=$(ms)

# ---- quiet: spoold records what is left; then a reconcile finds nothing -----
daemon_pid >/dev/null || start_daemon
dirs="blocked ready claimed review done failed cancelled quarantine"
settled() {	# nothing waits in new/, and HEAD's tree has the files
	# shellcheck disable=SC2086
	[ -z "$(ls new)" ] &&
	[ "$(git ls-tree -r --name-only HEAD -- $dirs | grep -v '/\.[^/]*$' | sort)" = \
	  "$(find $dirs -type f ! -name '.*' | sort)" ]
}
end=$(( $(ms) + SETTLE * 1000 ))
until settled; do
	[ "$(ms)" -ge "$end" ] && { say "spoold did not settle in ${SETTLE}s"; break; }
	sleep 0.05
done
t2=$(ms)
spool daemon stop --timeout 30 >/dev/null
spool reconcile --json >"$L/final-reconcile.json" 2>&1
echo "$kills" >"$L/kills"
echo "$restart_failures" >"$L/restart-failures"
echo $(( t1 - t0 )) >"$L/run-ms"
echo $(( t2 - t1 )) >"$L/settle-ms"
python3 "$here/check.py" "$S" "$L" >"$D/figures.json"
