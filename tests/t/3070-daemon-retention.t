#!/bin/bash
# With a retention policy in the config, spoold archives old finished work
# on a timer; without one it never does.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

new_spool
cd "$S" || exit 1
spool agent add bob >/dev/null
spool add --title keep >/dev/null          # T-0001 stays open
spool add --title finished >/dev/null      # T-0002
spool cancel T-0002 >/dev/null
start_daemon
sleep 1
[ -e cancelled/T-0002.json ]; ok $? "no policy: nothing is archived"
stop_daemon

jq '.retention = {"archive_after": "0s", "interval_seconds": 1}' \
	.spool/config.json >"$T/c" && cp "$T/c" .spool/config.json
spool reconcile >/dev/null
start_daemon
until_ok 10 test ! -e cancelled/T-0002.json; ok $? "with a policy the finished task leaves the tree"
ls archive/*.tar.gz >/dev/null 2>&1; ok $? "into a dated archive"
spool show T-0002 >/dev/null; ok $? "spool show still finds it"
[ -e ready/T-0001.json ]; ok $? "open work stays"
spool add --title later >/dev/null         # T-0003
spool cancel T-0003 >/dev/null
until_ok 10 test ! -e cancelled/T-0003.json; ok $? "and again on the next tick"
daemon_log | grep -q "retention: archived"; ok $? "the daemon says what it archived"
stop_daemon
fsck_clean; ok $? "git fsck is clean"
done_testing
