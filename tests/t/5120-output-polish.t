#!/usr/bin/env bash
# Output for people: spool ls has a header on a terminal only, spool log
# aligns its columns, counts are in the right number, and registering an
# agent that does not claim gives no claim instructions.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
new_spool || exit 1
command -v script >/dev/null || { echo "1..0 # SKIP script(1) is missing"; exit 0; }

spool agent add alice --roles reviewer >"$T/out"; ok $? "register a reviewer"
is "$(cat "$T/out")" "agent 'alice' registered (roles: reviewer)" "no claim instructions for a reviewer"
spool agent add devbot >"$T/out"
grep -q "it claims with: mv ready/ID.json claimed/devbot/" "$T/out"; ok $? "a worker is told how to claim"
spool agent add both --roles worker,reviewer >"$T/out"
grep -q "it claims with" "$T/out"; ok $? "so is a worker that also reviews"

spool add --title one >/dev/null && spool add --title two >/dev/null
script -qec "spool ls" /dev/null </dev/null | tr -d '\r' >"$T/tty"
is "$(head -1 "$T/tty" | tr -s ' ')" "ID STATE PRIO TITLE" "ls on a terminal: a header"
is "$(wc -l <"$T/tty")" 3 "then a row per task"
spool ls >"$T/pipe"
is "$(wc -l <"$T/pipe")" 2 "ls into a pipe: rows only"
is "$(head -1 "$T/pipe" | cut -d' ' -f1)" T-0001 "the first row is a task"

# log: columns aligned whatever the lengths
spool agent add a-very-long-agent-name >/dev/null
spool claim --agent a-very-long-agent-name >/dev/null
spool submit 1 --agent a-very-long-agent-name >/dev/null
spool log T-0001 >"$T/log"
arrows=$(awk '{ print index($0, "->") }' "$T/log" | sort -u | wc -l)
is "$arrows" 1 "log: every '->' in the same column"
bys=$(awk '{ print index($0, " by ") }' "$T/log" | sort -u | wc -l)
is "$bys" 1 "log: every 'by' in the same column"
spool add --title x --id LONG-TASK-ID-0001 >/dev/null
spool log >"$T/log"
is "$(awk '{ print index($0, "->") }' "$T/log" | sort -u | wc -l)" 1 "log of the spool: aligned with ids of any length"

# plurals
mkdir -p "$T/x"
spool export T-0001 -o "$T/x/t.tar.gz" >"$T/out"
grep -q "1 deliverable version " "$T/out" || grep -q "0 deliverable versions" "$T/out"
ok $? "export: deliverable version(s) in the right number"
grep -q "3 transitions" "$T/out"; ok $? "export: transitions counted"
spool cancel 2 >/dev/null
spool archive --older-than 0s >"$T/out"
grep -q "^archived 1 task into 1 archive, archive/" "$T/out"; ok $? "archive: one task into one archive" || sed 's/^/#   /' "$T/out"
done_testing
