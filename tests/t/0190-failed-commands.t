#!/usr/bin/env bash
# A command that reports failure has changed nothing: not a file moved or
# written, not a commit. Failures made real: git's object store read-only
# (a bind mount), then a disk that fills up at every point of a command
# (a small tmpfs). Each command either completes and is recorded, or
# fails and leaves the spool exactly as it was. Needs root for mount.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"

if [ "$(id -u)" -ne 0 ] || ! mkdir -p "$T/probe" ||
   ! mount -t tmpfs -o size=1m tmpfs "$T/probe" 2>/dev/null; then
	echo "1..0 # SKIP mounting needs root"
	exit 0
fi
umount "$T/probe"
mounts=()
trap 'cd /; for m in "${mounts[@]}"; do umount "$m" 2>/dev/null; done; cleanup' EXIT

# The spool's state: every versioned file with its content, and HEAD.
snapshot() {
	(cd "$SPOOL_DIR" && find . -path ./.git -prune -o -path ./.spool/run \
		-prune -o -path ./tmp -prune -o -type f -print | sort |
		xargs md5sum && git rev-parse HEAD)
}

# The tasks of a small working spool, in every state a command starts from.
populate() {
	spool agent add dev --capabilities code,docs >/dev/null &&
	spool agent add rev --roles reviewer >/dev/null &&
	for i in 1 2 3 4 5 6; do spool add --title "t$i" >/dev/null; done &&
	spool claim --agent dev >/dev/null && spool submit T-0001 --agent dev >/dev/null &&
	spool claim --agent dev >/dev/null &&
	spool claim --agent dev >/dev/null && spool fail T-0003 --agent dev --reason "stuck" >/dev/null &&
	spool claim --agent dev >/dev/null && spool submit T-0004 --agent dev >/dev/null
}

# In this order each one works from what the previous ones did.
cmds=(
	"spool add --title fresh"
	"spool add --title child --parent T-0005"
	"spool approve T-0001 --agent rev"
	"spool reject T-0004 --agent rev --feedback again"
	"spool submit T-0004 --agent dev"
	"spool fail T-0002 --agent dev --reason broken"
	"spool retry T-0003"
	"spool claim --agent dev"
	'spool release "$(cd "$SPOOL_DIR/claimed/dev" && ls *.json | head -n1 | sed "s/.json//")" --agent dev'
	"spool cancel T-0005"
	"spool agent add late"
)

# try CMD: fails and changes nothing, or succeeds and is recorded.
# Sets $failed_runs / $done_runs.
try() {
	local before after rc
	before=$(snapshot)
	eval "$1" >"$T/.out" 2>"$T/.err"; rc=$?
	after=$(snapshot)
	if [ "$rc" -ne 0 ]; then
		failed_runs=$((failed_runs + 1))
		if [ "$before" != "$after" ] || [ -n "$(ls "$SPOOL_DIR/.spool/run/intent" 2>/dev/null)" ]; then
			bad=$((bad + 1))
			echo "# '$1' failed ($(cat "$T/.err")) but changed:"
			diff <(echo "$before") <(echo "$after") | head -n 6 | sed 's/^/#   /'
		fi
	else
		done_runs=$((done_runs + 1))
		tree_matches_head || { bad=$((bad + 1)); echo "# '$1' done but not recorded"; }
	fi
}

# ---- git's object store read-only ----------------------------------------
new_spool || exit 1
cd "$S" || exit 1
populate; ok $? "a spool with work in every state"
mount --bind .git/objects .git/objects && mounts+=("$S/.git/objects") &&
	mount -o remount,ro,bind .git/objects
ok $? "git's object store made read-only"
bad=0 failed_runs=0 done_runs=0
for c in "${cmds[@]}"; do try "$c"; done
is "$failed_runs" "${#cmds[@]}" "every command fails"
is "$bad" 0 "and changes nothing"
grep -q "Read-only file system" "$T/.err"; ok $? "saying why ($(head -c 120 "$T/.err"))"
umount .git/objects; mounts=()
spool reconcile --json >"$T/rec"; ok $? "writable again, reconcile runs"
is "$(jq -c '[.filed, .quarantined, .recorded, .reverted, .restored]' "$T/rec")" \
	"[0,0,0,0,0]" "and finds nothing left behind to record"
bad=0 failed_runs=0 done_runs=0
for c in "${cmds[@]}"; do try "$c"; done
is "$done_runs/$bad" "${#cmds[@]}/0" "then every command works"
fsck_clean; ok $? "git fsck is clean"

# ---- a disk that fills up ------------------------------------------------
small=$T/small
mkdir -p "$small" && mount -t tmpfs -o size=6m tmpfs "$small" && mounts+=("$small")
ok $? "a 6 MB tmpfs"
spool init "$small/s" >/dev/null && export SPOOL_DIR=$small/s && cd "$SPOOL_DIR" &&
	populate && perl -e 'for my $i (1..250) { my $id = sprintf("T-1%04d", $i);
		open(my $f, ">", "ready/$id.json") or die;
		print $f "{\"id\": \"$id\", \"title\": \"filler $i\", \"attempt\": 1}\n" }' &&
	spool reconcile >/dev/null
ok $? "a spool on it, with a tree big enough to fail on"
# Pages to give back a few at a time, then a file that takes all the rest.
# A failed command may leave unreferenced git objects (git's own
# behaviour, collected by gc): each level frees more than the last.
pages=96
for i in $(seq 1 $pages); do dd if=/dev/zero of="$small/page$i" bs=4k count=1 2>/dev/null; done
dd if=/dev/zero of="$small/fill" bs=4k 2>/dev/null
bad=0 failed_runs=0 done_runs=0 levels=0 p=0
while [ "$p" -lt "$pages" ]; do
	levels=$((levels + 1))
	for _ in $(seq 1 $((2 * levels))); do p=$((p + 1)); rm -f "$small/page$p"; done
	for c in "${cmds[@]}"; do try "$c"; done
	[ "$done_runs" -ge 4 ] && [ "$failed_runs" -gt 0 ] && break
done
echo "# $levels levels of free space, $failed_runs failed runs, $done_runs completed"
[ "$failed_runs" -gt 0 ]; ok $? "commands fail on a full disk ($failed_runs)"
is "$bad" 0 "each one either completed and was recorded, or changed nothing"
rm -f "$small/fill" "$small"/page*
spool reconcile --json >"$T/rec"; ok $? "with space again, reconcile runs"
is "$(jq -c '[.filed, .quarantined, .recorded, .reverted, .restored]' "$T/rec")" \
	"[0,0,0,0,0]" "and finds nothing left behind to record"
spool add --title "after the disk was full" >/dev/null; ok $? "the next command works"
tree_matches_head; ok $? "HEAD's tree equals the files"
fsck_clean; ok $? "git fsck is clean" ||
	git fsck --strict 2>&1 | grep -v dangling | head -5 | sed 's/^/# /'
done_testing
