#!/bin/bash
# A batch dropped in new/ at once is filed with two syncs in all: every
# task file and intent is written first, then renamed into place, and the
# sources go last. 'spool reconcile' is killed -9 at random moments of
# such batches while an agent claims and submits each task as soon as it
# appears; the next reconcile finishes the record. Nothing is lost,
# doubled or quarantined, no source is filed twice, and nothing the batch
# wrote ahead is left behind. Each batch also holds two files naming the
# same id: one is filed, the other quarantined, whatever the kills.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

ROUNDS=${BATCH_ROUNDS:-6} B=${BATCH_TASKS:-200}
N=$((ROUNDS * B))
new_spool
spool agent add a1 >/dev/null
cd "$S" || exit 1

# Every fifth task names its own id, every seventh has an idempotency key.
drop() {	# drop ROUND: B files moved to new/ in one go
	local i k
	for ((k = 1; k <= B; k++)); do
		i=$(( ($1 - 1) * B + k ))
		if ((i % 5 == 0)); then
			printf '{"id": "X-%04d", "title": "t-%d"}\n' "$i" "$i"
		elif ((i % 7 == 0)); then
			printf '{"title": "t-%d", "idempotency_key": "k-%d"}\n' "$i" "$i"
		else
			printf '{"title": "t-%d"}\n' "$i"
		fi >"tmp/d-$i"
	done
	printf '{"id": "D-%d", "title": "dup-%d"}\n' "$1" "$1" >"tmp/d-a$1"
	printf '{"id": "D-%d", "title": "dup-%d"}\n' "$1" "$1" >"tmp/d-b$1"
	find tmp -name 'd-*' -exec mv -t new/ {} +
}
agent() {	# claims and submits what is filed, as soon as it is there
	local f
	while [ ! -e "$T/stop" ]; do
		for f in ready/*.json; do
			[ -e "$f" ] || continue
			f=${f#ready/}
			mv "ready/$f" claimed/a1/ 2>/dev/null &&
				mv "claimed/a1/$f" review/
		done
	done
}
agent & worker=$!
kills=0
for ((r = 1; r <= ROUNDS; r++)); do
	drop "$r"
	spool reconcile >/dev/null 2>&1 & pid=$!
	# Killed once an intent is there (its batch's, or a killed one's it
	# finishes first), at a random moment after: the first round at
	# once, so that one kill at least lands inside a batch however fast
	# filing is (200 tasks take about a tenth of a second).
	until compgen -G '.spool/run/intent/*' >/dev/null ||
		! kill -0 "$pid" 2>/dev/null; do :; done
	((r == 1)) || sleep "0.0$((RANDOM % 10))"
	kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
	wait "$pid" 2>/dev/null
done
spool reconcile >/dev/null
touch "$T/stop"; wait $worker
spool reconcile >/dev/null
echo "# reconcile killed $kills times in $ROUNDS rounds"
[ "$kills" -ge 1 ]; ok $? "reconcile was killed -9 while filing ($kills)"
is "$(ls new | wc -l)" 0 "new/ is empty: everything was filed"
tree_matches; ok $? "the tree matches HEAD"

titles=$(cat blocked/*.json ready/*.json claimed/*/*.json review/*.json 2>/dev/null |
	jq -r .title | sort)
is "$(wc -l <<<"$titles")" "$((N + ROUNDS))" "$N tasks and one of each pair in the tree: none lost"
is "$(uniq -d <<<"$titles" | wc -l)" 0 "none doubled"
is "$(find quarantine -name '*.reason' | wc -l)" "$ROUNDS" \
	"only the second of each pair naming one id is quarantined"
is "$(grep -l 'already in use' quarantine/*.reason 2>/dev/null | wc -l)" "$ROUNDS" \
	"each for its id"
bad=0
for ((i = 5; i <= N; i += 5)); do
	[ "$(state_of "X-$(printf %04d $i)")" != . ] || bad=$((bad + 1))
done
is "$bad" 0 "tasks that named their id kept it"
is "$(ls .spool/run/intent 2>/dev/null | wc -l)" 0 "no intent is left"
is "$(ls tmp | wc -l)" 0 "no file written ahead is left in tmp/"
is "$(git log --format=%B | grep -c '^Spool-Verb: revert$')" 0 "no move reverted"
fsck_clean; ok $? "git fsck is clean"
done_testing
