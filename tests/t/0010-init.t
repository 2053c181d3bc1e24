#!/usr/bin/env bash
# spool init: the layout, README, config, hooks, .gitignore, the first
# commit; a second run changes nothing and says so.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"

S=$T/spool
spool init "$S" >"$T/out" 2>&1; ok $? "init a fresh directory"
grep -q "initialised a spool in '$S'" "$T/out"; ok $? "says what it did"
export SPOOL_DIR=$S
for d in new blocked ready claimed review done failed cancelled quarantine \
	deliverables agents modules .spool/hooks tmp; do
	[ -d "$S/$d" ]; ok $? "$d/ exists"
done
[ -s "$S/README.md" ] && grep -q 'mv ready/' "$S/README.md" &&
	grep -q touch "$S/README.md" && grep -q deliverables/ "$S/README.md"
ok $? "README teaches claim by mv, heartbeat by touch, deliverables"
jq -e '.max_attempts and .lease_seconds' "$S/.spool/config.json" >/dev/null
ok $? "config.json parses and has the policy defaults"
n=$(find "$S/.spool/hooks" -name '*.sample' -perm -u+x | wc -l)
[ "$n" -ge 1 ]; ok $? "sample hooks, executable ($n)"
grep -qx 'tmp/' "$S/.gitignore" && grep -qx '.spool/run/' "$S/.gitignore"
ok $? ".gitignore lists tmp/ and .spool/run/"

is "$(git -C "$S" rev-list --count HEAD)" 1 "git repository with one commit"
files=$(git -C "$S" ls-tree -r --name-only HEAD)
for f in README.md .gitignore .spool/config.json ready/.gitkeep \
	claimed/.gitkeep; do
	grep -qx "$f" <<<"$files"; ok $? "first commit holds $f"
done
! grep -q '^tmp/\|^\.spool/run/' <<<"$files"; ok $? "tmp/ and .spool/run/ not versioned"
ls "$S"/.spool/hooks/*.sample | while read -r h; do
	git -C "$S" ls-tree HEAD -- ".spool/hooks/${h##*/}" | grep -q '^100755'
done; ok $? "sample hooks committed executable"
fsck_clean; ok $? "git fsck clean"

# A second run: nothing changes, and it says so.
head=$(head_id)
snap() { (cd "$S" && find . -path ./.git -prune -o -printf '%p %s %T@\n' | sort); }
before=$(snap)
spool init "$S" >"$T/out" 2>&1; ok $? "init again exits 0"
grep -q "already a spool; nothing changed" "$T/out"; ok $? "says nothing changed"
is "$(head_id)" "$head" "no new commit"
is "$(snap)" "$before" "no file touched"

# Re-running on a used spool keeps its tasks and history.
spool agent add dev >/dev/null && spool add --title keep >/dev/null
head=$(head_id)
spool init "$S" >/dev/null 2>&1; ok $? "init on a used spool"
is "$(head_id)" "$head" "history untouched"
is "$(state_of T-0001)" ready "task untouched"

# -C DIR form and an existing non-empty git repository.
spool -C "$T/other" init >/dev/null 2>&1; ok $? "spool -C DIR init"
[ -f "$T/other/.spool/config.json" ]; ok $? "-C DIR init creates the spool there"
SPOOL_DIR=$T/other fsck_clean; ok $? "git fsck clean (-C)"
fails 2 "init without DIR is a usage error" -- spool init
fsck_clean; ok $? "git fsck clean at the end"
done_testing
