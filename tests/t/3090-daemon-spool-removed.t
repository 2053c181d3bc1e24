#!/bin/bash
# A spool removed while spoold watches it: the daemon says so and exits
# with an error, instead of retrying its lock forever.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
new_spool || exit 1
spool add --title one >/dev/null
spoold -C "$S" --log-level info 2>"$T/log" &
pid=$!
until_ok 15 spool -C "$S" daemon status; ok $? "spoold runs"
rm -rf "$S"
until_ok 15 eval "! kill -0 $pid"; ok $? "spoold stops once the spool is gone"
wait "$pid"; is $? 1 "with exit status 1"
grep -q "the spool '$S' was removed" "$T/log"; ok $? "and says why"
is "$(grep -c 'cannot open' "$T/log")" 0 "without a stream of lock errors"
done_testing
