#!/usr/bin/env bash
# Racing claimers: 16 shell agents racing mv over 2,000 tasks, then 16
# racing spool claim over 500 (each claim is a commit of its own), then
# both kinds at once over 200. Every task is claimed
# exactly once, none is lost, and every claim ends up in git.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
new_spool || exit 1
cd "$S" || exit 1
N=${RACE_TASKS:-2000} P=16
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
for i in $(seq 1 $P); do
	spool agent add "m$i" >/dev/null && spool agent add "c$i" >/dev/null &&
		spool agent add "x$i" >/dev/null || exit 1
done
# make N PREFIX: N tasks dropped into new/ through tmp/, filed by one reconcile
make_tasks() {
	local t0=$(now) i
	for ((i = 1; i <= $1; i++)); do
		printf '{"title": "%s %d"}\n' "$2" "$i" >"tmp/$2-$i"
	done
	# one rename each, as an agent files, without a process for each
	find tmp -maxdepth 1 -name "$2-*" -exec mv -t new/ {} +
	echo "# wrote $1 tasks into new/ in $(took "$t0") s"
	t0=$(now)
	spool reconcile >"$T/rec" || return 1
	echo "# spool reconcile filed them in $(took "$t0") s"
	grep -q "filed $1," "$T/rec"
}
# check PREFIX OUTPUTS DESC: exactly once in claimed/PREFIX*/, none in ready/
check_once() {
	local claimed dup
	claimed=$(find claimed -path "claimed/$1*/*.json" -printf '%f\n')
	is "$(wc -l <<<"$claimed")" "$N" "$2: $N files in claimed/$1*/"
	is "$(ls ready | wc -l)" 0 "$2: none left in ready/"
	dup=$(sort <<<"$claimed" | uniq -d | wc -l)
	is "$dup" 0 "$2: no task in two claimed/ directories"
	is "$(find new blocked review done failed cancelled quarantine -name 'T-*' | wc -l)" 0 \
		"$2: nothing went anywhere else"
}
# recorded_once PREFIX: HEAD's tree and the history hold each claim once
in_git() {
	is "$(git ls-tree -r --name-only HEAD claimed/ | grep -c "^claimed/$1[0-9]*/T-")" "$N" \
		"$2: every claim is in HEAD's tree"
	is "$(git ls-tree -r --name-only HEAD ready/ | grep -c '\.json$')" 0 "$2: HEAD's ready/ is empty"
	is "$(git log --format=%B | grep -c "^Spool-To: claimed/$1[0-9]*$")" "$N" \
		"$2: one claim trailer per task in history"
	is "$(git log --format=%B | grep "^Spool-To: claimed/$1[0-9]*$" -B2 | sed -n 's/^Spool-Task: //p' | sort -u | wc -l)" "$N" \
		"$2: and each for a different task"
	fsck_clean; ok $? "$2: git fsck clean"
}

# ---- 16 shell agents racing mv -----------------------------------------
make_tasks "$N" mv; ok $? "$N tasks filed for the mv race"
ls ready >"$T/list"
t0=$(now)
for i in $(seq 1 $P); do
	# each racer tries every task, in its own order, with rename(2) via mv
	( shuf "$T/list" | (cd ready && xargs mv -t "../claimed/m$i/" 2>"$T/mv-err.$i"); true ) &
done
wait
echo "# 16 mv racers: $(took "$t0") s"
check_once m "mv race"
fails_total=$(cat "$T"/mv-err.* | grep -c "No such file")
is "$fails_total" "$(( (P - 1) * N ))" "every other attempt failed with 'No such file': exactly one winner per task"
t0=$(now)
spool reconcile >"$T/rec"; ok $? "reconcile records the raw claims"
echo "# reconcile of $N raw claims: $(took "$t0") s"
grep -q "recorded $N," "$T/rec"; ok $? "reconcile says it recorded $N"
in_git m "mv race"

# ---- 16 processes racing spool claim -----------------------------------
N=${CLAIM_TASKS:-500}
make_tasks "$N" cl; ok $? "$N tasks filed for the spool claim race"
t0=$(now)
for i in $(seq 1 $P); do
	( while spool claim --agent "c$i" >>"$T/claims.$i"; rc=$?; [ $rc -eq 0 ]; do :; done
	  echo $rc >"$T/claim-rc.$i" ) &
done
wait
echo "# 16 spool claim racers: $(took "$t0") s"
is "$(cat "$T"/claim-rc.* | sort -u | tr '\n' ' ')" "3 " "every claimer stopped with exit 3 (nothing left), none with an error"
is "$(cat "$T"/claims.* | wc -l)" "$N" "$N claims reported"
is "$(cat "$T"/claims.* | sed 's#.*/##' | sort -u | wc -l)" "$N" "no task reported to two claimers"
bad=0
for i in $(seq 1 $P); do
	while read -r p; do [ "${p%/*}" = "$(pwd -P)/claimed/c$i" ] && [ -f "$p" ] || bad=$((bad + 1)); done <"$T/claims.$i"
done
is "$bad" 0 "each claimer's printed path is in its own claimed/ directory"
check_once c "spool claim race"
in_git c "spool claim race"
is "$(git log --format=%s | grep -c '^claim T-[0-9]* by c[0-9]*$')" "$N" "one commit per spool claim"

# ---- both at once: 8 mv racers and 8 spool claim racers ------------------
N=${MIX_TASKS:-200}
make_tasks "$N" mix; ok $? "$N tasks filed for the mixed race"
ls ready >"$T/list"
t0=$(now)
for i in $(seq 1 8); do
	# one mv per try with a breath between, so spool claim gets a share
	( shuf "$T/list" | while read -r f; do
		mv "ready/$f" "claimed/x$i/" 2>/dev/null; sleep 0.005; done ) &
	j=$((i + 8))
	( while spool claim --agent "x$j" >>"$T/xclaims.$j"; rc=$?; [ $rc -eq 0 ]; do :; done
	  echo $rc >"$T/xrc.$j" ) &
done
wait
echo "# mixed race: $(took "$t0") s"
is "$(cat "$T"/xrc.* | sort -u | tr '\n' ' ')" "3 " "mixed: every spool claim ended with exit 3"
check_once x "mixed race"
is "$(cat "$T"/xclaims.* | sed 's#.*/##' | sort | uniq -d | wc -l)" 0 "mixed: no task reported to two spool claimers"
bad=0
for f in "$T"/xclaims.*; do while read -r p; do [ -f "$p" ] || bad=$((bad + 1)); done <"$f"; done
is "$bad" 0 "mixed: every path spool claim printed is where it said"
n=$(cat "$T"/xclaims.* | wc -l)
echo "# mixed: $n claims by spool claim, the rest by mv"
[ "$n" -gt 0 ]; ok $? "mixed: spool claim won some races against mv"
spool reconcile >/dev/null; ok $? "reconcile after the mixed race"
in_git x "mixed race"
tree_matches_head; ok $? "disk matches HEAD"
done_testing
