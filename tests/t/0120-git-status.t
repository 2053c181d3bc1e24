#!/usr/bin/env bash
# Plain git in a spool: after spool's commands, 'git status' shows nothing
# to commit, and a raw move shows up as a change until it is recorded.
. "$(dirname "$0")/../lib.sh"
new_spool
cd "$S" || exit 1
is "$(git status --porcelain)" "" "clean after init"
spool agent add ann >/dev/null
spool add --title one >/dev/null
is "$(git status --porcelain)" "" "clean after agent add and add"
spool claim --agent ann >/dev/null
spool reconcile >/dev/null
is "$(git status --porcelain)" "" "clean after claim and reconcile"
mv claimed/ann/T-0001.json review/
[ -n "$(git status --porcelain)" ]; ok $? "a raw mv shows in git status"
spool reconcile >/dev/null
is "$(git status --porcelain)" "" "clean once reconcile recorded it"
git diff --quiet HEAD; ok $? "git diff HEAD is empty"

# With spoold running, the index catches up once the spool is quiet.
. "$TOP/tests/daemon-lib.sh"
spool add --title two >/dev/null
start_daemon
mv ready/T-0002.json claimed/ann/
clean() { [ -z "$(git status --porcelain)" ]; }
until_ok 10 clean; ok $? "spoold brings git status back to clean"
stop_daemon
done_testing
