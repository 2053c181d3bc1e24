#!/usr/bin/env bash
# A task file holding values the spool itself recorded before, because
# the spool's later writes never reached it (an agent moved it on while
# a process recorded its steps from the record, or a killed process's
# rewrite was undone): its agent's move is recorded, the recorded values
# go back in the file, and no violation is recorded. A value the spool
# never wrote is still an edit: reverted and recorded as a violation.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
core_spool || exit 1
cd "$S" || exit 1
reverts() { git log --format=%B | grep -c '^Spool-Verb: revert$'; }
# Waited for with until_ok, which runs its command again: each reads anew.
reverts_are() { [ "$(reverts)" = "$1" ]; }
committed() { [ -z "$(git status --porcelain claimed ready)" ]; }
# attempt_is FILE N [MAX]: the file's attempt (and max_attempts)
attempt_is() {
	[ "$(jq .attempt "$1")" = "$2" ] &&
		{ [ $# -lt 3 ] || [ "$(jq .max_attempts "$1")" = "$3" ]; }
}
rec() { spool reconcile >"$T/rec" 2>&1; ok $? "reconcile after: $1"; }
# stale ID REV: the file of ID in claimed/dev gets the bytes REV recorded
stale() {
	git show "$2:claimed/dev/$1.json" >"$T/old" &&
		cat "$T/old" >"claimed/dev/$1.json"
}
# take ID: dev claims it by mv, recorded at once
take() { mv "ready/$1.json" claimed/dev/ && spool reconcile >/dev/null; }
# held_stale ID TITLE: dev holds the new task ID on attempt 2, its file
# as the first claim recorded it (attempt 1)
held_stale() {
	spool add --title "$2" --max-attempts 9 >/dev/null && take "$1" &&
		spool release "$1" --agent dev >/dev/null && take "$1" &&
		stale "$1" "$(git rev-parse HEAD~2)"
}
# stands ID TO VERB ATTEMPT REVERTS: dev's move recorded with no new
# violation (REVERTS in all), the recorded attempt back in the file
stands() {
	recorded "the $3" "$1" claimed/dev "$2" dev "$3" "$4"
	is "$(reverts)" "$5" "$3 of $1: no violation recorded"
	is "$(field "$1" .attempt)" "$4" "$3 of $1: the file has the recorded attempt"
	tree_matches_head; ok $? "$3 of $1: HEAD's tree equals the files"
}

# ---- a release by mv of a file the last release's write missed ----------
held_stale T-0001 a
is "$(field T-0001 .attempt)" 1 "the file holds the first claim's values (attempt 1)"
mv claimed/dev/T-0001.json ready/
rec "release by mv of the stale file"
stands T-0001 ready release 3 0

# ---- the same value written by the agent, never recorded: an edit -------
take T-0001
jq '.attempt = 7' claimed/dev/T-0001.json >tmp/e && cat tmp/e >claimed/dev/T-0001.json
mv claimed/dev/T-0001.json ready/
rec "release by mv with attempt 7 written"
is "$(reverts)" 1 "attempt 7 was never recorded: a violation"
git log -1 --format=%B | grep -q "violation: 'dev' changed attempt, which only the spool writes"
ok $? "... by dev, for attempt"
is "$(field T-0001 .attempt)" 4 "the release counts from the record"

# ---- a command on a stale file ------------------------------------------
held_stale T-0002 b
spool submit T-0002 --agent dev >/dev/null; ok $? "spool submit of the stale file"
stands T-0002 review submit 2 1

# ---- edited back in place, then submitted by mv ------------------------
held_stale T-0003 c
mv claimed/dev/T-0003.json review/
rec "submit by mv of the stale file"
stands T-0003 review submit 2 1
is "$(git status --porcelain | wc -l)" 0 "git status is clean"

# ---- with spoold: an attempt only a trailer holds -----------------------
start_daemon; ok $? "spoold starts"
spool add --title d --max-attempts 9 >/dev/null                          # T-0004
until_ok 10 in_head ready/T-0004.json; ok $? "spoold records the filing"
# Paused, spoold takes the three moves in one batch: the tree keeps the
# last attempt (3), only the trailers have the one between (2).
pause_daemon; ok $? "spoold paused"
mv ready/T-0004.json claimed/dev/ && mv claimed/dev/T-0004.json ready/ &&
	mv ready/T-0004.json claimed/dev/ && mv claimed/dev/T-0004.json ready/ &&
	mv ready/T-0004.json claimed/dev/
kill -CONT "$(daemon_pid)"
until_ok 10 in_head claimed/dev/T-0004.json; ok $? "spoold records them"
is "$(git log -1 --format=%B | grep -c '^Spool-Task: T-0004$')" 5 "in one commit of five steps"
is "$(field T-0004 .attempt)" 3 "on attempt 3"
pause_daemon; ok $? "spoold paused"
jq '.attempt = 2' claimed/dev/T-0004.json >tmp/e && cat tmp/e >claimed/dev/T-0004.json
mv claimed/dev/T-0004.json ready/
kill -CONT "$(daemon_pid)"
until_ok 10 in_head ready/T-0004.json; ok $? "spoold records the release"
until_ok 10 attempt_is ready/T-0004.json 4; ok $? "the file has the recorded attempt (4)"
is "$(git show HEAD:ready/T-0004.json | jq .attempt)" 4 "... and HEAD"
is "$(reverts)" 1 "no violation recorded"
# In place, with spoold watching: put back, no violation.
mv ready/T-0004.json claimed/dev/
until_ok 10 in_head claimed/dev/T-0004.json; ok $? "spoold records the claim"
jq '.attempt = 3' claimed/dev/T-0004.json >tmp/e && cat tmp/e >claimed/dev/T-0004.json
until_ok 10 attempt_is claimed/dev/T-0004.json 4; ok $? "spoold puts the attempt back"
until_ok 10 committed; ok $? "... and records it"
is "$(reverts)" 1 "with no violation"
# A value never recorded, in place: a violation.
jq '.attempt = 1 | .max_attempts = 50' claimed/dev/T-0004.json >tmp/e && cat tmp/e >claimed/dev/T-0004.json
until_ok 10 reverts_are 2; ok $? "max_attempts 50 was never recorded: a violation"
until_ok 10 attempt_is claimed/dev/T-0004.json 4 9; ok $? "both fields are put back"
stop_daemon
is "$(spool reconcile --json | jq -c '.recorded')" 0 "a reconcile finds nothing left"
tree_matches_head; ok $? "HEAD's tree equals the files"
fsck_clean; ok $? "git fsck is clean"
done_testing
