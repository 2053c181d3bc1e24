#!/usr/bin/env bash
# docs/protocol.md shows the transition table as the code has it: the
# copy between its markers is what 'spool help protocol' prints from
# src/core/machine.c, and every verb in it is one the spool records.
. "$(dirname "$0")/../lib.sh"
DOC=$TOP/docs/protocol.md
spool help protocol >"$T/code"; ok $? "spool help protocol prints the table"
sed -n '/^<!-- BEGIN spool help protocol -->$/,/^<!-- END spool help protocol -->$/p' "$DOC" |
	sed '1d;$d' >"$T/doc"
[ -s "$T/doc" ]; ok $? "docs/protocol.md has the table between its markers"
diff -u "$T/doc" "$T/code" >"$T/diff"; ok $? "the table in docs/protocol.md is the code's"
[ -s "$T/diff" ] && sed 's/^/# /' "$T/diff" | head -n 40
head -n 1 "$T/code" | grep -q '^| from | to | verb | who | by | guards | effects |'
ok $? "with the columns from, to, verb, who, by, guards, effects"
rows=$(tail -n +3 "$T/code" | wc -l)
[ "$rows" -ge 20 ]; ok $? "and a row per transition ($rows)"
for v in claim submit release fail expire approve approve-plan reject retry cancel unblock complete block file add; do
	grep -q "| \`$v\`" "$T/code"; ok $? "verb $v is in the table"
done
# the raw channel: only the agent's own moves
is "$(awk -F'|' '$6 ~ /mv/ { gsub(/[ `]/, "", $4); print $4 }' "$T/code" | sort -u | tr '\n' ' ')" \
	"claim fail(release) file release submit " "by mv: file, claim, submit, release (ending in failed/ on the last attempt)"
done_testing
