#!/usr/bin/env bash
# A process killed after its commit and before it forgot its intents
# leaves the intents of rewrites its commit recorded. The next process
# must not undo them: the agent may have moved the file on since (a
# claim from ready/ right after the release was recorded), and the bytes
# in it are the recorded ones. The intents are kept here the way a kill
# would leave them: the intent directory is made append-only (chattr +a),
# so the process commits and cannot delete them. (Rewrites never
# recorded are undone: 0175-crash-commands.t, 3220-record-kill.t.)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
core_spool || exit 1
cd "$S" || exit 1
I=.spool/run/intent
mkdir -p "$I"
if ! chattr +a "$I" 2>/dev/null; then
	echo "1..0 # SKIP chattr +a is not supported here"
	exit 0
fi
chattr -a "$I"
# Append-only, the directory could not be removed afterwards.
trap 'chattr -a "$S/$I" 2>/dev/null; cleanup' EXIT
reverts() { git log --format=%B | grep -c '^Spool-Verb: revert$'; }
# released ID: dev's release of ID by mv is recorded by a reconcile
# that cannot forget its intents, as if killed right after its commit
released() {
	chattr +a "$I" && mv "claimed/dev/$1.json" ready/ &&
		spool reconcile >/dev/null
	local rc=$?
	chattr -a "$I"
	return $rc
}
ino() { stat -c %i "$1"; }

# ---- the next process is a reconcile ------------------------------------
spool add --title a --max-attempts 9 >/dev/null                          # T-0001
mv ready/T-0001.json claimed/dev/ && spool reconcile >/dev/null
released T-0001; ok $? "the release is recorded"
recorded "the release" T-0001 claimed/dev ready dev release 2
is "$(ls "$I" | wc -l)" 1 "its rewrite's intent is left, as a kill leaves it"
mv ready/T-0001.json claimed/dev/
before=$(ino claimed/dev/T-0001.json)
spool reconcile >/dev/null; ok $? "the next reconcile works"
recorded "the claim" T-0001 ready claimed/dev dev claim 2
is "$(ino claimed/dev/T-0001.json)" "$before" "the agent's file is not touched"
is "$(field T-0001 .attempt)" 2 "it holds the recorded attempt"
is "$(reverts)" 0 "nothing reverted"
is "$(ls "$I" | wc -l)" 0 "the intent is gone"
tree_matches_head; ok $? "HEAD's tree equals the files"

# ---- the next process is spoold, starting --------------------------------
released T-0001; ok $? "the next release is recorded"
mv ready/T-0001.json claimed/dev/
before=$(ino claimed/dev/T-0001.json)
start_daemon; ok $? "spoold starts"
until_ok 10 in_head claimed/dev/T-0001.json; ok $? "spoold records the claim"
is "$(ino claimed/dev/T-0001.json)" "$before" "the agent's file is not touched"
is "$(field T-0001 .attempt)" 3 "it holds the recorded attempt"
is "$(reverts)" 0 "nothing reverted"
stop_daemon
is "$(ls "$I" | wc -l)" 0 "no intent is left"

tree_matches_head; ok $? "HEAD's tree equals the files"
fsck_clean; ok $? "git fsck is clean"
done_testing
