#!/usr/bin/env bash
# spool work: a command per claimed task. Exit 0 submits with the
# deliverables and run.log; another status gives the task back, and the
# last attempt ends in failed/ with the status as the reason; the
# environment; hydrate, and a hydrate failure that never starts the
# command; --once, --max-tasks, --no-wait (exit 3); the log cap; usage.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../hydrate-lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
new_spool || exit 1
cd "$T" || exit 1
spool agent add dev >/dev/null
spool agent add ops >/dev/null
# sleeping: an inotify descriptor open, and the process asleep
sleeping() {
	ls -l "/proc/$1/fd" 2>/dev/null | grep -q inotify &&
	[ "$(awk '{print $3}' "/proc/$1/stat")" = S ]
}
mkdir ws

# Nothing to claim with --no-wait: exit 3, the command never runs.
fails 3 "--no-wait, nothing to claim" -- spool work --agent dev --no-wait -- touch "$T/ran"
test ! -e "$T/ran"; ok $? "the command did not run"
fails 2 "no command" -- spool work --agent dev --no-wait
fails 2 "no agent" -- env -u SPOOL_AGENT spool work --no-wait -- true
fails 1 "an agent that is not registered" -- spool work --agent nobody --no-wait -- true
grep -q "nobody" "$T/.err"; ok $? "and says which"
fails 2 "a bad timeout" -- spool work --agent dev --timeout soon -- true
fails 2 "a bad log size" -- spool work --agent dev --log-max lots -- true

# Exit 0: submitted, with its deliverables and its transcript.
spool add --title "write it" >/dev/null                       # T-0001
cat >"$T/cmd.sh" <<'EOF'
#!/bin/sh
env | grep '^SPOOL_' | sort >"$SPOOL_DELIVERABLES/env.txt"
pwd >"$SPOOL_DELIVERABLES/pwd.txt"
jq -r .title "$SPOOL_TASK_FILE" >"$SPOOL_DELIVERABLES/title.txt"
echo "to stdout"; echo "to stderr" >&2
exit "${EXIT_WITH:-0}"
EOF
chmod +x "$T/cmd.sh"
spool work --agent dev --workspace ws --once --json -- "$T/cmd.sh" >out 2>err
is $? 0 "--once: one task, exit 0"
is "$(state_of T-0001)" review "exit 0: submitted"
is "$(jq -r '.id + " " + .result + " " + (.exit|tostring) + " " + .state' out)" \
   "T-0001 submitted 0 review" "--json says what became of it"
D=$S/deliverables/T-0001
grep -qx "SPOOL_TASK=T-0001" "$D/env.txt"; ok $? "SPOOL_TASK"
grep -qx "SPOOL_AGENT=dev" "$D/env.txt"; ok $? "SPOOL_AGENT"
grep -qx "SPOOL_DIR=$S" "$D/env.txt"; ok $? "SPOOL_DIR, absolute"
grep -qx "SPOOL_TASK_FILE=$S/claimed/dev/T-0001.json" "$D/env.txt"; ok $? "SPOOL_TASK_FILE, absolute, the claimed file"
grep -qx "SPOOL_DELIVERABLES=$D" "$D/env.txt"; ok $? "SPOOL_DELIVERABLES, absolute"
is "$(cat "$D/title.txt")" "write it" "the task file could be read"
is "$(cat "$D/pwd.txt")" "$T/ws" "runs in the workspace"
is "$(cat "$D/run.log")" "$(printf 'to stdout\nto stderr')" "stdout and stderr in run.log"
git -C "$S" ls-tree -r --name-only HEAD deliverables/T-0001 >files
grep -qx deliverables/T-0001/run.log files; ok $? "run.log committed with the submission"
grep -qx deliverables/T-0001/env.txt files; ok $? "and the deliverables"
is "$(git -C "$S" log -1 --format=%an -- review/T-0001.json)" dev "submitted by the agent"
fsck_clean; ok $? "git fsck clean"

# Non-zero: given back with the status; the last attempt ends in failed/.
spool add --file - >/dev/null <<<'{"title": "breaks", "max_attempts": 2}'   # T-0002
EXIT_WITH=7 spool work --agent dev --workspace ws --max-tasks 1 -- "$T/cmd.sh" >out 2>err
is $? 0 "--max-tasks 1: exit 0 whatever the command did"
is "$(state_of T-0002)" ready "exit 7: back in ready/"
is "$(jq -r .attempt "$S/ready/T-0002.json")" 2 "attempt counted"
git -C "$S" log -1 --format=%B -- ready/T-0002.json | grep -q "Spool-Note: exit status 7"
ok $? "the release names the status"
is "$(cat out)" "T-0002 released: exit status 7; now in ready" "and says so"
EXIT_WITH=7 spool work --agent dev --workspace ws --no-wait -- "$T/cmd.sh" >out 2>err
is $? 0 "--no-wait after work: exit 0"
is "$(state_of T-0002)" failed "the last attempt: failed/"
is "$(jq -r '.errors[-1].text' "$S/failed/T-0002.json")" "exit status 7" "the error is the status"
grep -q "^T-0002 failed: exit status 7" out; ok $? "says it failed"

# A command killed by a signal: the signal is named.
spool add --title "crashes" >/dev/null                        # T-0003
spool work --agent dev --once -- sh -c 'kill -SEGV $$' >out 2>&1
git -C "$S" log -1 --format=%B -- ready/T-0003.json | grep -q "killed by signal 11 (SIGSEGV)"
ok $? "a signal is named in the reason"
spool cancel T-0003 >/dev/null

# A command that cannot be started: given back, the reason in run.log.
spool add --title "no such command" >/dev/null                # T-0004
spool work --agent dev --once -- "$T/no-such-command" >out 2>&1
is "$(state_of T-0004)" ready "not found: given back"
grep -q "cannot run '$T/no-such-command'" "$S/deliverables/T-0004/run.log"; ok $? "run.log says why"
git -C "$S" log -1 --format=%B -- ready/T-0004.json | grep -q "exit status 127"; ok $? "exit status 127"
spool cancel T-0004 >/dev/null

# Only tasks the agent may claim: assigned to another, left alone.
spool add --title "for ops" --assignee ops >/dev/null          # T-0005
fails 3 "a task assigned to another agent is not dev's" -- spool work --agent dev --no-wait -- true
is "$(state_of T-0005)" ready "left in ready/"
spool cancel T-0005 >/dev/null

# The log cap: a command that writes far more than it.
spool add --title "chatty" >/dev/null                         # T-0006
spool work --agent dev --once --log-max 10K -- sh -c 'head -c 3000000 /dev/zero | tr "\0" x; echo done' >out 2>&1
is "$(state_of T-0006)" review "a chatty command still finishes (never blocked on its pipe)"
L=$S/deliverables/T-0006/run.log
size=$(stat -c %s "$L")
[ "$size" -ge 10240 ] && [ "$size" -lt 10500 ]; ok $? "run.log capped at 10K plus one line ($size bytes)"
tail -n 1 "$L" | grep -q "capped at 10240 bytes; 2989765 more bytes dropped"; ok $? "it says what was dropped"

# Hydrate: the workspace gets the manifest's skills before the command.
mkskill roots/a alpha
manifest m.json '{"roots": ["roots/a"], "global_defaults": ["alpha"]}'
spool add --title "with skills" >/dev/null                     # T-0007
spool work --agent dev --workspace ws --manifest m.json --once -- \
	sh -c 'test -f .agents/skills/alpha/SKILL.md' >out 2>&1
is "$(state_of T-0007)" review "hydrated before the command ran"
is "$(link_of ws/.claude/skills/alpha)" "$T/roots/a/alpha" "the skill is linked"

# A hydrate failure: the command never starts, the task goes back, the
# runner stops (every task would fail the same way).
mkdir -p ws2/.agents/skills/alpha                               # a conflict
spool add --title "bad workspace" >/dev/null                  # T-0008
spool work --agent dev --workspace ws2 --manifest m.json -- touch "$T/ran" >out 2>err
is $? 1 "a hydrate failure: exit 1"
test ! -e "$T/ran"; ok $? "the command never started"
is "$(state_of T-0008)" ready "the task is given back"
is "$(jq -r .attempt "$S/ready/T-0008.json")" 2 "as any release"
git -C "$S" log -1 --format=%B -- ready/T-0008.json | grep -q "not started: hydrate"
ok $? "the reason says hydrate"
grep -q "T-0008" err; ok $? "and the runner says so"
echo '{not json' >bad.json
spool work --agent dev --manifest bad.json --once -- touch "$T/ran" >out 2>err
is $? 1 "a broken manifest: exit 1"
test ! -e "$T/ran"; ok $? "the command never started"
spool cancel T-0008 >/dev/null

# Subtasks from inside a run: the parent waits for them.
spool add --title "parent" >/dev/null                          # T-0009
cat >"$T/split.sh" <<'EOF'
#!/bin/sh
case "$(jq -r .title "$SPOOL_TASK_FILE")" in
parent) spool add --parent "$SPOOL_TASK" --title "child" >/dev/null || exit 1 ;;
esac
echo "did $SPOOL_TASK" >"$SPOOL_DELIVERABLES/result.txt"
EOF
chmod +x "$T/split.sh"
spool work --agent dev --max-tasks 2 -- "$T/split.sh" >out 2>err
is $? 0 "two tasks"
is "$(jq -r .parent "$S/review/T-0010.json")" T-0009 "the command added a subtask, and ran it next"
is "$(state_of T-0009)" review "the parent submitted"
spool approve T-0009 >/dev/null
is "$(state_of T-0009)" blocked "approved, the parent waits for its subtask"
spool approve T-0010 >/dev/null
is "$(state_of T-0009)" done "done with its subtask"

# A reject sends the task back to claimed/dev/: the runner takes it up
# from there, woken by inotify, and the command sees the feedback.
spool agent add alice --roles reviewer >/dev/null
spool add --title "rework" >/dev/null                          # T-0011
cat >"$T/rework.sh" <<'EOF'
#!/bin/sh
fb=$(jq -r '.feedback[-1].text // empty' "$SPOOL_TASK_FILE")
echo "${fb:-first try}" >"$SPOOL_DELIVERABLES/result.txt"
EOF
chmod +x "$T/rework.sh"
spool work --agent dev --once -- "$T/rework.sh" >out 2>err
is "$(state_of T-0011)" review "first try submitted"
spool work --agent dev --max-tasks 1 --json -- "$T/rework.sh" >out 2>err &
wpid=$!
until_ok 10 sleeping $wpid; ok $? "the runner waits"
spool reject T-0011 --agent alice --feedback "cite your sources" >/dev/null
wait $wpid; is $? 0 "the runner took it up"
is "$(jq -r .result out)" submitted "and submitted it again"
is "$(cat "$S/deliverables/T-0011/result.txt")" "cite your sources" "the command read the feedback"
is "$(jq -r .attempt "$S/review/T-0011.json")" 1 "a reject is no new attempt"

# Work that arrives while the runner waits: woken by inotify.
spool work --agent dev --max-tasks 1 -- sh -c 'echo ran >"$SPOOL_DELIVERABLES/x"' >out 2>err &
wpid=$!
until_ok 10 sleeping $wpid; ok $? "with nothing to do, the runner sleeps on inotify"
spool add --title "late" >/dev/null                           # T-0012
until_ok 10 in_head review/T-0012.json; ok $? "the waiting runner took the new task"
wait $wpid; is $? 0 "and exited after it"
done_testing
