#!/usr/bin/env bash
# Core benchmark: exactly-once claims by racing shell agents, the latency of
# 'spool claim' with 10,000 ready tasks, and the cost of one recorded
# transition against one 'git add -A && git commit' per transition, all in
# the same run on the same filesystem.
#
#   bench/core.sh [TASKS [CLAIMERS [SAMPLES]]]     defaults: 10000 8 50
#
# Prints a Markdown section; exits 1 if a claim was lost or doubled.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
export PATH="${SPOOL_BIN:-$here/../bin}:$PATH"
export SPOOL_LAYOUT="$here/../spool-layout"
TASKS=${1:-10000} CLAIMERS=${2:-8} SAMPLES=${3:-50}
unset SPOOL_AGENT
B=$(mktemp -d "${TMPDIR:-/tmp}/spool-bench-core.XXXXXX")
trap 'rm -rf "$B"' EXIT

now() { date +%s%N; }
ms() { awk -v ns="$1" 'BEGIN { printf "%.1f", ns / 1e6 }'; }
stats() {	# reads ns values; prints "median p99" in ms
	sort -n | awk '{ v[NR] = $1 } END {
		m = v[int((NR + 1) / 2)]; p = v[int(NR * 0.99 + 0.999)]
		printf "%.2f %.2f", m / 1e6, p / 1e6 }'
}

# A spool with TASKS ready tasks, filed the way a shell planner does it.
make_spool() {	# make_spool DIR
	spool init "$1" >/dev/null
	(
		cd "$1"
		for a in $(seq 1 "$CLAIMERS"); do spool agent add "a$a" >/dev/null; done
		spool agent add w1 >/dev/null
		for i in $(seq 1 "$TASKS"); do
			printf '{"title": "benchmark task %d"}\n' "$i" >"tmp/t$i.json"
		done
		find tmp -name 't*.json' -exec mv -t new/ {} +
		spool reconcile >/dev/null
	)
}

t0=$(now)
make_spool "$B/race"
t_setup=$(( $(now) - t0 ))
cp -a "$B/race" "$B/claim"

# 1. The race: CLAIMERS shell agents, each going through ready/ in its own
# order, claiming with mv; then one reconcile records every claim.
cd "$B/race"
t0=$(now)
for a in $(seq 1 "$CLAIMERS"); do
	(
		ls ready | grep '\.json$' | shuf | while read -r f; do
			mv "ready/$f" "claimed/a$a/" 2>/dev/null || true
		done
	) &
done
wait
t_race=$(( $(now) - t0 ))
claimed=$(find claimed -name '*.json' | wc -l)
unique=$(find claimed -name '*.json' -printf '%f\n' | sort -u | wc -l)
left=$(find ready -name '*.json' | wc -l)
t0=$(now)
spool reconcile >/dev/null
t_record=$(( $(now) - t0 ))
in_git=$(git ls-tree -r --name-only HEAD claimed | grep -c '\.json$' || true)
in_log=$(git log --format=%B | grep -c '^Spool-To: claimed/' || true)
git fsck --no-progress >/dev/null 2>&1 && fsck=clean || fsck=ERRORS

# 2. 'spool claim' latency with TASKS ready tasks (each run claims one).
cd "$B/claim"
spool next --agent w1 >/dev/null	# warm the selection index
lat=$(for i in $(seq 1 "$SAMPLES"); do
	t0=$(now); spool claim --agent w1 >/dev/null; echo $(( $(now) - t0 ))
done | stats)
# With spoold running, a claim is one rename and the daemon records it.
daemon_lat="- -"
if command -v spoold >/dev/null; then
	spoold -C "$B/claim" --log-level error 2>/dev/null &
	dpid=$!
	for _ in $(seq 1 100); do
		spool daemon status >/dev/null 2>&1 && break; sleep 0.05
	done
	daemon_lat=$(for i in $(seq 1 "$SAMPLES"); do
		t0=$(now); spool claim --agent w1 >/dev/null; echo $(( $(now) - t0 ))
	done | stats)
	kill "$dpid"; wait "$dpid" 2>/dev/null
	spool reconcile >/dev/null
fi
next_lat=$(for i in $(seq 1 "$SAMPLES"); do
	t0=$(now); spool next --agent w1 >/dev/null; echo $(( $(now) - t0 ))
done | stats)

# 3. One recorded transition (mv + spool reconcile, a process each time)
# against the git CLI doing the same (mv + git add -A && git commit).
cp -a "$B/claim" "$B/gitcli"
ids=$(ls ready | head -n "$SAMPLES")
spool_t=$(for f in $ids; do
	mv "ready/$f" claimed/w1/
	t0=$(now); spool reconcile >/dev/null; echo $(( $(now) - t0 ))
done | stats)
cd "$B/gitcli"
git -c user.name=bench -c user.email=bench@spool add -A >/dev/null 2>&1
git -c user.name=bench -c user.email=bench@spool commit -qm setup >/dev/null 2>&1 || true
git_t=$(for f in $ids; do
	mv "ready/$f" claimed/w1/
	t0=$(now)
	git add -A && git -c user.name=bench -c user.email=bench@spool \
		commit -qm "claim ${f%.json}"
	echo $(( $(now) - t0 ))
done | stats)

read -r lat_med lat_p99 <<<"$lat"
read -r next_med next_p99 <<<"$next_lat"
read -r dlat_med dlat_p99 <<<"$daemon_lat"
read -r sp_med _ <<<"$spool_t"
read -r git_med _ <<<"$git_t"
ratio=$(awk -v a="$git_med" -v b="$sp_med" 'BEGIN { printf "%.1f", a / b }')

cat <<EOF2
## Core

\`bench/core.sh $TASKS $CLAIMERS $SAMPLES\`: $TASKS tasks, $CLAIMERS racing shell claimers, $SAMPLES samples.

| measure | result |
|---|---|
| filing $TASKS tasks dropped in new/ (one reconcile) | $(ms "$t_setup") ms |
| race: $CLAIMERS shell agents claiming with mv | $(ms "$t_race") ms wall |
| claimed / distinct / left in ready | $claimed / $unique / $left |
| recording all $claimed raw claims (one reconcile) | $(ms "$t_record") ms |
| claims in the HEAD tree / in the log's trailers | $in_git / $in_log |
| git fsck | $fsck |
| \`spool next\` with ~$TASKS ready: median / p99 | $next_med / $next_p99 ms |
| \`spool claim\` with ~$TASKS ready, no daemon (commits itself): median / p99 | $lat_med / $lat_p99 ms |
| \`spool claim\` with ~$TASKS ready, spoold running (records it): median / p99 | $dlat_med / $dlat_p99 ms |
| one transition recorded by \`spool reconcile\` (median) | $sp_med ms |
| baseline: one \`git add -A && git commit\` (median) | $git_med ms |
| recorded transition vs git CLI | ${ratio}x cheaper |

Targets: \`spool claim\` median under 5 ms with 10,000 ready tasks; a recorded
transition at least 20 times cheaper than \`git add -A && git commit\`.
Where the time goes: starting the process costs 3-4 ms before any work
(dynamic loading of libgit2 and its dependencies; libarchive is loaded only
by the commands that use it, and libgit2's load of the system CA
certificates is skipped). With spoold running a claim is the selection index
(kept in .spool/run/select.idx, a claim appends one line to a journal) and
one rename; without it the claim also reconciles the tree and commits, and
every commit rewrites the 390 KB tree object of ready/. The "recorded by
spool reconcile" row is a whole process per transition at 10,000 tasks;
recorded by spoold, a transition costs 1/throughput (see the Daemon
section: about 0.6 ms, some 90 times less than the git CLI's commit).
EOF2

[ "$claimed" -eq "$TASKS" ] && [ "$unique" -eq "$TASKS" ] && [ "$left" -eq 0 ] &&
	[ "$in_git" -eq "$TASKS" ] && [ "$fsck" = clean ]
