#!/bin/bash
# spoold brings git's index up to date a second after its last commit;
# when that fails (a git command run by hand holding index.lock at that
# moment, which the CI met), it tries again a little later, so that 'git
# status' comes clean without another move. Left behind, an operator's
# 'git reset --hard' keeps files git's index did not know of. The failure
# is made here by an immutable .git/index (chattr +i): libgit2 cannot
# rename its new index over it.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
. "$(dirname "$0")/../core-lib.sh"

core_spool || exit 1
cd "$S" || exit 1
if ! chattr +i .git/index 2>/dev/null; then
	echo "1..0 # SKIP chattr +i is not supported here"
	exit 0
fi
chattr -i .git/index
trap 'chattr -i "$S/.git/index" 2>/dev/null; cleanup' EXIT
spool add --title one >/dev/null
start_daemon || exit 1
clean() { [ -z "$(git status --porcelain)" ]; }
until_ok 10 clean; ok $? "git status is clean"

chattr +i .git/index
mv ready/T-0001.json claimed/dev/
until_ok 10 in_head claimed/dev/T-0001.json; ok $? "spoold records the claim"
until_ok 10 log_has "git's index is not updated"; ok $? "its index update fails"
! clean; ok $? "git status shows the claim as a change meanwhile"
# A failure that lasts is tried again less and less often (1, 2, 4 s...),
# not rebuilt every second with a warning each time.
sleep 7
tries=$(grep -c "git's index is not updated" .spool/run/spoold.log)
[ "$tries" -le 4 ]; ok $? "tried $tries times in 8 s, backing off"
chattr -i .git/index
# Nothing else happens in the spool: only spoold's retry can catch up.
until_ok 20 clean; ok $? "git status comes clean once the index can be written"
git status --porcelain | sed 's/^/# /'
git ls-files claimed | grep -qx claimed/dev/T-0001.json; ok $? "git's index has the claim"
stop_daemon
done_testing
