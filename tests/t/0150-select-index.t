#!/usr/bin/env bash
# The selection index (.spool/run/select.idx) is only a hint: a damaged
# index, a task added or rewritten behind its back, a claim made by mv
# or a damaged claim journal never make next/claim choose wrongly, and
# claims made through it with spoold running are each taken once.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
core_spool || exit 1
cd "$S" || exit 1
R=$(pwd -P)	# next and claim print absolute paths
IDX=.spool/run/select.idx
TAKEN=.spool/run/select.taken
add() { spool add --file - <<<"$1"; }

a=$(add '{"title": "a", "created": "2020-01-01T00:00:00Z"}')
b=$(add '{"title": "b", "created": "2020-01-02T00:00:00Z"}')
c=$(add '{"title": "c", "created": "2020-01-03T00:00:00Z"}')
is "$(spool next --agent dev)" "$R/ready/$a.json" "next: the oldest"
[ -s "$IDX" ]; ok $? "the index is written"

# Damaged in several ways: each is ignored and rebuilt, never trusted.
for damage in garbage truncated empty fifo directory symlink; do
	rm -rf "$IDX"
	case $damage in
	garbage) head -c 4096 /dev/urandom >"$IDX" ;;
	truncated) spool next --agent dev >/dev/null &&
		head -c 100 "$IDX" >"$IDX.x" && mv "$IDX.x" "$IDX" ;;
	empty) : >"$IDX" ;;
	fifo) mkfifo "$IDX" ;;
	directory) mkdir "$IDX" ;;
	symlink) ln -s /dev/zero "$IDX" ;;
	esac
	is "$(timeout 10 spool next --agent dev)" "$R/ready/$a.json" \
		"the index as $damage is not trusted, and the pick is right"
done
rm -rf "$IDX"
spool next --agent dev >/dev/null
head -c 6 "$IDX" | grep -q SPIX; ok $? "and written anew"

# A task dropped into ready/ after the index settled is seen at once.
sleep 0.2
u=urgent-$RANDOM
printf '{"id": "%s", "title": "urgent", "priority": "urgent"}\n' "$u" >"tmp/$u.json"
mv "tmp/$u.json" "ready/$u.json"
is "$(spool next --agent dev)" "$R/ready/$u.json" "a task added by mv is seen by the next pick"
spool reconcile >/dev/null

# A task rewritten by rename (new inode) is read again.
sleep 0.2
sed 's/"urgent"}/"low"}/; s/"priority": "urgent"/"priority": "low"/' "ready/$u.json" >"tmp/$u.json"
mv "tmp/$u.json" "ready/$u.json"
grep -q '"low"' "ready/$u.json"; ok $? "(the task is now low priority)"
is "$(spool next --agent dev)" "$R/ready/$a.json" "a rewritten task is read again"
# (a change in the same clock tick as the last one may go unseen for up
# to a second: leave a tick between them)
sleep 0.05
git show "HEAD:ready/$u.json" >"tmp/$u.json" && mv "tmp/$u.json" "ready/$u.json"

# A claim made by mv after the pick: claim takes the next one.
is "$(spool next --agent dev)" "$R/ready/$u.json" "next: the urgent task"
mv "ready/$u.json" claimed/ops/
is "$(spool claim --agent dev)" "$R/claimed/dev/$a.json" "claim after a raw mv picks again"

# With spoold running a claim is one rename and a journal line.
start_daemon || exit 1
until_ok 10 spool daemon status; ok $? "spoold runs"
is "$(spool claim --agent dev)" "$R/claimed/dev/$b.json" "claim with spoold running"
[ -s "$TAKEN" ]; ok $? "the claim is noted in the journal"
printf 'not a line\nT-nope 99999 1 2\n\n' >>"$TAKEN"
is "$(spool claim --agent dev)" "$R/claimed/dev/$c.json" "a damaged journal line is ignored"
fails 3 "then there is nothing left" -- spool claim --agent dev

# A pick more than a second after the last claim finds ready/ unchanged:
# it compares names and inodes and stamps the journal, and writes no
# index. Whatever changed meanwhile is still seen.
for i in 1 2 3; do
	printf '{"id": "L-%d", "title": "later %d"}\n' "$i" "$i" >"tmp/L-$i.json"
	mv "tmp/L-$i.json" "ready/L-$i.json"
done
is "$(spool claim --agent dev)" "$R/claimed/dev/L-1.json" "a claim after new tasks"
ino=$(stat -c %i "$IDX")
sleep 1.2
is "$(spool next --agent dev)" "$R/ready/L-2.json" "a second later: the same pick"
is "$(stat -c %i "$IDX")" "$ino" "the index is not written again"
tail -n 1 "$TAKEN" | grep -q '^- 0 '; ok $? "a stamp goes to the journal"
sleep 1.2
printf '{"id": "L-0", "title": "urgent", "priority": "urgent"}\n' >tmp/L-0.json
mv tmp/L-0.json ready/L-0.json
is "$(spool next --agent dev)" "$R/ready/L-0.json" "a task added since is seen"
# A journal past 1,000 lines is folded into the index by the next pick.
is "$(spool claim --agent dev)" "$R/claimed/dev/L-0.json" "the urgent task claimed"
sleep 1.2
spool next --agent dev >/dev/null
last=$(tail -n 1 "$TAKEN")
case $last in "- 0 "*) ;; *) last= ;; esac
[ -n "$last" ]; ok $? "(stamped again)"
for i in $(seq 1001); do echo "$last"; done >>"$TAKEN"
is "$(spool next --agent dev)" "$R/ready/L-2.json" "a long journal: the same pick"
[ ! -e "$TAKEN" ]; ok $? "and the journal is folded into the index"
for id in L-2 L-3; do spool cancel "$id" --agent boss >/dev/null; done

# Racing CLI claimers over 200 tasks: each taken once, none left.
for i in $(seq 1 200); do
	printf '{"id": "R-%03d", "title": "race %d"}\n' "$i" "$i" >"tmp/R-$i.json"
	mv "tmp/R-$i.json" "ready/R-$(printf %03d "$i").json"
done
until_ok 20 sh -c "git -C '$S' ls-tree --name-only HEAD ready/ | grep -c R- | grep -qx 200"
ok $? "200 tasks recorded"
for w in dev ops; do
	for k in 1 2; do
		( while spool claim --agent "$w" >>"$T/claims.$w.$k" 2>>"$T/err.$w.$k"; do :; done ) &
	done
done
wait
is "$(cat "$T"/claims.* | grep -c R-)" 200 "200 claims printed"
is "$(cat "$T"/claims.* | sed 's#.*/##' | sort -u | grep -c R-)" 200 "each task claimed once"
is "$(find ready -name 'R-*.json' | wc -l)" 0 "none left in ready/"
is "$(find claimed -name 'R-*.json' | wc -l)" 200 "all 200 in claimed/"
until_ok 20 sh -c "git -C '$S' ls-tree -r --name-only HEAD claimed/ | grep -c R- | grep -qx 200"
ok $? "every claim recorded by spoold"
stop_daemon
fsck_clean; ok $? "git fsck clean"
done_testing
