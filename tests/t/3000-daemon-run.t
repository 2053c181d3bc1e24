#!/bin/bash
# spoold: one per spool, start/stop/status, a killed daemon's lock never
# blocks, SIGHUP reloads, SIGTERM stops; a claim by mv reaches git fast.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

new_spool
spool agent add bob >/dev/null
spool add --title one >/dev/null
spool add --title two >/dev/null

fails 1 "status says not running" -- spool daemon status
out=$(spool daemon start); ok $? "spool daemon start"
pid=$(daemon_pid)
kill -0 "$pid" 2>/dev/null; ok $? "the daemon runs (pid $pid)"
spool daemon status >/dev/null; ok $? "status says running"
is "$(spool daemon status --json | jq -r .pid)" "$pid" "status --json gives the pid"

spoold -C "$S" 2>"$T/second.err"; is $? 1 "a second spoold is refused"
grep -q "pid $pid" "$T/second.err"; ok $? "and says who holds the spool"

# A claim by mv is in git within a bounded wait, authored by the agent.
start=$(date +%s%N)
mv "$S/ready/T-0001.json" "$S/claimed/bob/"
until_ok 15 in_head claimed/bob/T-0001.json; ok $? "the claim by mv is committed"
echo "# mv to commit: $(( ($(date +%s%N) - start) / 1000000 )) ms (with the polling of this test)"
is "$(git -C "$S" log -1 --format=%an)" "bob" "the commit's author is the agent"
git -C "$S" log --format=%s --grep='Spool-Task: T-0001' | grep -q '^claim T-0001 by bob'
ok $? "the claim is findable with git log --grep"

# The CLI still works while the daemon runs (the writer lock is per batch).
spool add --title three >/dev/null; ok $? "spool add works while the daemon runs"
in_head ready/T-0003.json; ok $? "and is committed"

# SIGHUP reloads the config.
sed -i 's/"lease_seconds": 1800/"lease_seconds": 1700/' "$S/.spool/config.json"
kill -HUP "$pid"
until_ok 15 log_has "reloaded .spool/config.json"; ok $? "SIGHUP reloads the config"

# kill -9 leaves the lock file; a restart is not blocked by it.
kill -9 "$pid"
until_ok 15 eval '! kill -0 '"$pid"; ok $? "killed with -9"
mv "$S/ready/T-0002.json" "$S/claimed/bob/"
start_daemon; ok $? "a restart after kill -9 is not blocked"
pid2=$(daemon_pid)
until_ok 15 in_head claimed/bob/T-0002.json; ok $? "the move made while it was down is recorded"

# SIGTERM finishes and exits; stop is idempotent.
out=$(spool daemon stop); ok $? "spool daemon stop"
kill -0 "$pid2" 2>/dev/null; is $? 1 "the daemon is gone"
log_has "stopped"; ok $? "it logged that it stopped"
spool daemon stop >/dev/null; ok $? "stop again is fine"
tree_matches; ok $? "the tree matches HEAD"
fsck_clean; ok $? "git fsck is clean"

# Foreground: logs to stderr with levels.
spoold -C "$S" --log-level info 2>"$T/fg.log" &
fg=$!
until_ok 15 grep -q "info: watching" "$T/fg.log"; ok $? "foreground spoold logs to stderr with levels"
kill -TERM $fg; wait $fg; is $? 0 "SIGTERM: exit 0"
fails 2 "a bad --log-level is a usage error" -- spoold --log-level loud
done_testing
