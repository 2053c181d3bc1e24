#!/bin/bash
# spoold packs the history itself: not while moves keep coming (packing
# deletes hundreds of files and slows the commits that follow), but once
# quiet, or when the loose objects pile up far past the threshold. Plain
# git reads the history before and after, and fsck stays clean.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

loose() { find "$S/.git/objects" -type f ! -path '*/pack/*' ! -path '*/info/*' | wc -l; }
packs() { find "$S/.git/objects/pack" -name '*.pack' 2>/dev/null | wc -l; }
claim() { mv "$S/ready/T-$1.json" "$S/claimed/a1/"; }
head_has() { in_head "claimed/a1/T-$1.json"; }
set_threshold() {
	jq ".pack_loose_objects = $1" "$S/.spool/config.json" >"$T/c" &&
		cp "$T/c" "$S/.spool/config.json"
}

new_spool
spool agent add a1 >/dev/null
make_tasks 300
spool reconcile >/dev/null
# Its 300 new blobs in one commit went into one pack, not loose.
p0=$(packs) l0=$(loose)
[ "$p0" = 1 ] && [ "$l0" -lt 30 ]
ok $? "the set-up's blobs are in one pack ($p0), $l0 objects loose"
set_threshold 50
# What an indexer killed while writing a pack leaves (two hours old),
# and what a live one is writing now: the packer removes only the first.
P=$S/.git/objects/pack
printf 'PACK' >"$P/pack_git2_0123456789abcdef"
printf 'idx' >"$P/pack_git2_0123456789abidx.lock"
touch -d '2 hours ago' "$P/pack_git2_0123456789abcdef" "$P/pack_git2_0123456789abidx.lock"
printf 'PACK' >"$P/pack_git2_fedcba9876543210"
start_daemon || exit 1

# A move every 0.2 s for 3 s: never a quiet second.
for i in $(seq -w 1 15); do
	claim "000$i"
	sleep 0.2
done
until_ok 10 head_has 00015; ok $? "every move recorded"
[ "$(loose)" -gt 50 ]; ok $? "past the threshold: $(loose) loose objects"
is "$(packs)" "$p0" "no pack while moves keep coming"
until_ok 20 eval '[ "$(packs)" -gt "$p0" ] && [ "$(loose)" -lt 30 ]'
ok $? "packed once quiet: $(loose) loose objects left"
log_has "packed the history"; ok $? "the daemon says so"
[ ! -e "$P/pack_git2_0123456789abcdef" ] && [ ! -e "$P/pack_git2_0123456789abidx.lock" ]
ok $? "a dead indexer's scratch files are removed"
[ -e "$P/pack_git2_fedcba9876543210" ]; ok $? "a fresh one is left"
rm -f "$P/pack_git2_fedcba9876543210"
fsck_clean; ok $? "git fsck is clean"
n=$(git -C "$S" log --format=%s | grep -c '^claim T-')
is "$n" 15 "plain git reads every claim"
git -C "$S" show HEAD~3:claimed/a1/T-00012.json | grep -q '"T-00012"'
ok $? "and the task files of older commits"
stop_daemon

# Past four times the threshold it packs without waiting for quiet.
set_threshold 10
start_daemon || exit 1
for i in $(seq 16 45); do
	claim "000$i"
	sleep 0.1
done
until_ok 10 head_has 00045; ok $? "a second run of moves recorded"
[ "$(packs)" -ge $((p0 + 2)) ]; ok $? "packed again while the moves came"
until_ok 20 eval '[ "$(loose)" -lt 30 ]'; ok $? "and once quiet"
fsck_clean; ok $? "git fsck is still clean"
tree_matches; ok $? "the tree matches HEAD"
stop_daemon
done_testing
