#!/bin/bash
# A batch dropped in new/ is announced in one intent, not one per task:
# while 'spool reconcile' files it, .spool/run/intent never holds more
# than one file, and that file names every task of the batch. Killed -9
# while placing the batch, then again at random moments while the next
# reconciles replay that intent, the last one files each task once:
# nothing lost, doubled or quarantined, nothing left in tmp/ or the
# intent log. A task without an id whose fresh id another file of the
# batch names for itself gets another one: the file naming it keeps it.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

new_spool
cd "$S" || exit 1

drop() {	# drop FROM TO: task files moved to new/ at once
	perl -e 'my ($from, $to) = @ARGV; for my $i ($from..$to) {
		my $f = "tmp/d-$i"; open(my $h, ">", $f) or die;
		if ($i % 7 == 0) {
			print $h "{\"title\": \"t-$i\", \"idempotency_key\": \"k-$i\"}\n";
		} else {
			print $h "{\"title\": \"t-$i\"}\n";
		}
		close $h; rename($f, "new/d-$i.json") or die }' "$1" "$2"
}
intents() { ls .spool/run/intent 2>/dev/null | wc -l; }

drop 1 300
spool reconcile >/dev/null 2>&1 & pid=$!
most=0
while kill -0 "$pid" 2>/dev/null; do
	c=$(intents)
	[ "$c" -gt "$most" ] && most=$c
done
wait "$pid"; ok $? "reconcile files a batch of 300"
is "$most" 1 "its filings are announced in one intent"
is "$(find ready -name '*.json' | wc -l)" 300 "all of it is filed"

# Killed once the batch is in place in part: its intent is left.
killed=0
for ((round = 1; round <= 10 && !killed; round++)); do
	base=$(find ready -name '*.json' | wc -l)
	drop $((round * 1000)) $((round * 1000 + 599))
	spool reconcile >/dev/null 2>&1 & pid=$!
	until [ "$(intents)" -gt 0 ] &&
	      [ "$(find ready -name '*.json' | wc -l)" -gt "$base" ]; do
		kill -0 "$pid" 2>/dev/null || break
	done
	kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
	[ "$(intents)" -eq 1 ] && [ -n "$(ls new)" ] && killed=1
	[ "$killed" = 1 ] || spool reconcile >/dev/null
done
is "$killed" 1 "killed -9 while placing a batch, its intent left"
f=.spool/run/intent/$(ls .spool/run/intent)
is "$(jq -r .kind "$f")" batch "the intent is the batch's"
is "$(jq '.filings | length' "$f")" 600 "it names each of its 600 tasks"
is "$(jq '[.filings[].id] | unique | length' "$f")" 600 "each once"

# The replays are killed too, at random moments.
for ((k = 1; k <= 4; k++)); do
	spool reconcile >/dev/null 2>&1 & pid=$!
	sleep "0.$(printf %02d $((RANDOM % 30)))"
	kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
done
spool reconcile >/dev/null; ok $? "the next reconcile runs"
spool reconcile >/dev/null
n=$((300 + (round - 1) * 600))
is "$(ls new | wc -l)" 0 "new/ is empty"
titles=$(cat ready/*.json | jq -r .title | sort)
is "$(wc -l <<<"$titles")" "$n" "$n tasks in ready/: none lost"
is "$(uniq -d <<<"$titles" | wc -l)" 0 "none filed twice"
is "$(ls quarantine | wc -l)" 0 "none quarantined"
tree_matches; ok $? "the tree matches HEAD"
is "$(intents)" 0 "no intent is left"
is "$(ls tmp | wc -l)" 0 "nothing is left in tmp/"

# The counter's next id, named by one file of a batch for itself.
next=$(printf 'T-%04d' "$(cat .spool/run/next-id)")
echo '{"title": "fresh"}' >tmp/a; mv tmp/a new/a.json
printf '{"id": "%s", "title": "own"}\n' "$next" >tmp/b; mv tmp/b new/b.json
spool reconcile >/dev/null; ok $? "a batch with a file naming the next id"
is "$(jq -r .title "ready/$next.json" 2>/dev/null)" own "that file keeps its id"
is "$(cat ready/*.json | jq -r .title | grep -c '^fresh$')" 1 \
	"the other gets another"
is "$(ls quarantine | wc -l)" 0 "neither is quarantined"
tree_matches; ok $? "the tree matches HEAD"
fsck_clean; ok $? "git fsck is clean"
done_testing
