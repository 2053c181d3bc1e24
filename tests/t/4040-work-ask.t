#!/usr/bin/env bash
# spool ask and spool answer from inside a spool work run: the asking
# task waits in blocked/ (the runner leaves it: no release, no attempt),
# the question goes to an operator or to an agent, and the answer brings
# the task back to the agent who asked, whose runner takes it up with
# the answer in its feedback.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
new_spool || exit 1
cd "$T" || exit 1
spool agent add dev >/dev/null
spool agent add boss >/dev/null
sleeping() {	# sleeping PID: asleep on inotify, waiting for work
	ls -l "/proc/$1/fd" 2>/dev/null | grep -q inotify &&
	[ "$(awk '{print $3}' "/proc/$1/stat")" = S ]
}
alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# Asks once, then works with the answer from its feedback.
cat >"$T/asker.sh" <<'EOS'
#!/bin/sh
answer=$(jq -r '[.feedback[]?.text | select(startswith("answer to "))] | last // empty' "$SPOOL_TASK_FILE")
if [ -z "$answer" ]; then
	spool ask "$SPOOL_TASK" --question "which color?" ${ASK_TO:+--to "$ASK_TO"} >"$SPOOL_DELIVERABLES/question-id" || exit 1
	exit 0
fi
echo "$answer" >"$SPOOL_DELIVERABLES/result.txt"
EOS
chmod +x "$T/asker.sh"

fails 2 "ask needs --question" -- spool ask T-0001
spool add --title "paint it" >/dev/null                        # T-0001
spool work --agent dev --max-tasks 2 --json -- "$T/asker.sh" >out 2>err &
wpid=$!
until_ok 20 test -e "$S/blocked/T-0001.json"; ok $? "the command asked: the task waits in blocked/"
until_ok 20 test -s "$S/deliverables/T-0001/question-id"
is "$(cat "$S/deliverables/T-0001/question-id")" T-0002 "spool ask printed the question's id"
is "$(jq -r .question_for "$S/ready/T-0002.json")" T-0001 "the question names its task"
is "$(jq -r '.requires | join(",")' "$S/ready/T-0002.json")" operator "for an operator (the creator is not an agent)"
until_ok 20 sleeping $wpid; ok $? "the runner waits: it does not take the question"
is "$(head -n 1 out | jq -r .result)" handed-over "the runner left the task asked about"
is "$(jq -r .attempt "$S/blocked/T-0001.json")" 1 "no release, no attempt counted"
is "$(jq -r .asked.by "$S/blocked/T-0001.json")" dev "the task remembers who asked"
fails 1 "a task that is not a question cannot be answered" -- spool answer T-0001 --text x
grep -q "not a question" "$T/.err"; ok $? "and says so"
spool answer T-0002 --text "blue, like the sea" >ans; ok $? "the operator answers"
is "$(cat ans)" "T-0002 answered; T-0001 now in claimed/dev" "the task went back to dev"
is "$(state_of T-0002)" done "the question is done"
until_ok 20 eval '! alive $wpid'; wait $wpid; is $? 0 "the runner took it up and ended"
is "$(tail -n 1 out | jq -r .result)" submitted "and submitted it"
is "$(cat "$S/deliverables/T-0001/result.txt")" "answer to T-0002 from operator: blue, like the sea" \
   "the command read the answer in its feedback"
is "$(jq -r .attempt "$S/review/T-0001.json")" 1 "still its first attempt"
git -C "$S" log --format=%B | grep -q '^Spool-Verb: resume$'; ok $? "the return is recorded as resume"

# To an agent: its own runner takes the question up and answers it.
spool add --title "frame it" >/dev/null                        # T-0003
ASK_TO=boss spool work --agent dev --once -- "$T/asker.sh" >out 2>err
is "$(state_of T-0003)" blocked "asked boss"
is "$(jq -r .assignee "$S/ready/T-0004.json")" boss "the question is assigned to boss"
spool work --agent boss --once --json -- sh -c 'spool answer "$SPOOL_TASK" --text oak >/dev/null' >bout 2>berr
is "$(jq -r .result bout)" handed-over "boss's runner answered it through spool answer"
is "$(state_of T-0004)" done "the question is done"
is "$(state_of T-0003)" claimed/dev "and the task is dev's again"
spool work --agent dev --once -- "$T/asker.sh" >out 2>err
is "$(state_of T-0003)" review "dev's runner took it up and submitted it"
is "$(cat "$S/deliverables/T-0003/result.txt")" "answer to T-0004 from boss: oak" "with boss's answer"
fsck_clean; ok $? "git fsck clean"
done_testing
