#!/bin/bash
# Hooks run on events with the task in the environment, under a timeout;
# a failing or hanging hook never stops the daemon; a task that becomes
# ready wakes once.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

new_spool
spool agent add bob >/dev/null
H=$S/.spool/hooks
cat >"$H/on-claim" <<EOS
#!/bin/sh
echo "\$SPOOL_EVENT \$SPOOL_TASK \$SPOOL_AGENT \$SPOOL_PATH \$SPOOL_DIR \$1" >>"$T/claims"
echo "hello from on-claim"
EOS
cat >"$H/on-ready" <<EOS
#!/bin/sh
echo "\$SPOOL_TASK \$SPOOL_EVENT" >>"$T/ready"
EOS
cat >"$H/on-submit" <<'EOS'
#!/bin/sh
echo "on-submit fails" >&2
exit 3
EOS
cat >"$H/on-violation" <<EOS
#!/bin/sh
echo "\$SPOOL_TASK \$SPOOL_NOTE" >>"$T/violations"
sleep 60 &
echo \$! \$\$ >>"$T/hookpids"
exec sleep 60
EOS
chmod +x "$H/on-claim" "$H/on-ready" "$H/on-submit" "$H/on-violation"
jq '.hook_timeout_seconds = 1' "$S/.spool/config.json" >"$T/c" && cp "$T/c" "$S/.spool/config.json"
start_daemon || exit 1

spool add --title one >/dev/null
spool add --title two >/dev/null
until_ok 15 eval "[ \$(wc -l <'$T/ready' 2>/dev/null) -eq 2 ]"; ok $? "on-ready ran for each new task (made with the CLI)"

mv "$S/ready/T-0001.json" "$S/claimed/bob/"
until_ok 15 test -s "$T/claims"; ok $? "on-claim ran"
is "$(cat "$T/claims")" "claim T-0001 bob $S/claimed/bob/T-0001.json $S T-0001" \
	"with SPOOL_EVENT, SPOOL_TASK, SPOOL_AGENT, SPOOL_PATH, SPOOL_DIR and the id as \$1"
until_ok 15 log_has "hook on-claim T-0001: | hello from on-claim"; ok $? "its output is logged"

# A failing hook.
mv "$S/claimed/bob/T-0001.json" "$S/review/"
until_ok 15 log_has "hook on-submit T-0001: exit status 3"; ok $? "a failing hook is logged with its status"
log_has "on-submit fails"; ok $? "with its output"

# A hanging hook (and its child) is killed after hook_timeout_seconds.
mv "$S/ready/T-0002.json" "$S/done/"
until_ok 15 test -s "$T/violations"; ok $? "on-violation ran"
grep -q "T-0002 violation: " "$T/violations"; ok $? "with the reason in SPOOL_NOTE"
mv "$S/review/T-0001.json" "$S/claimed/bob/" 2>/dev/null   # review -> claimed: a reject by mv, undone
until_ok 15 eval "git -C '$S' log -1 --format=%B | grep -q '^Spool-Task: T-0001\$'"; ok $? "the daemon records while a hook hangs"
until_ok 15 log_has "hook on-violation T-0002: killed after its timeout"; ok $? "the hanging hook is killed after its timeout"
# (bash's kill succeeds if any of the processes is still there)
until_ok 15 eval "test -s '$T/hookpids' && ! kill -0 \$(cat '$T/hookpids') 2>/dev/null"; ok $? "its children too"

# Waking once: more events and ticks do not wake a ready task again.
touch "$S/ready/T-0002.json"
spool add --title three >/dev/null
until_ok 15 grep -q T-0003 "$T/ready"; ok $? "a third task wakes once"
sleep 0.3
is "$(grep -c '^T-0002 ' "$T/ready")" 1 "T-0002 woke its agents once, not on every event"
kill -0 "$(daemon_pid)"; ok $? "the daemon still runs"

# Transitions made while the daemon was down wake agents after a restart.
stop_daemon
spool add --title four >/dev/null
start_daemon
until_ok 15 grep -q T-0004 "$T/ready"; ok $? "a transition made while it was down runs its hook after the restart"
is "$(grep -c '^T-0001 ' "$T/ready")" 1 "and nothing is run twice"
stop_daemon
done_testing
