#!/usr/bin/env bash
# A task released by mv (claimed/A -> ready) spends an attempt like
# 'spool release'; on the last attempt it ends in failed/, as the CLI's
# release does, instead of coming back with more attempts than allowed.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
core_spool || exit 1
cd "$S" || exit 1

two=$(spool add --title "two tries" --max-attempts 2)
mv "ready/$two.json" claimed/dev/ && spool reconcile >/dev/null
mv "claimed/dev/$two.json" ready/ && spool reconcile >/dev/null
is "$(state_of "$two")" ready "a raw release with attempts left goes back to ready/"
is "$(jq .attempt "ready/$two.json")" 2 "with the next attempt"
mv "ready/$two.json" claimed/dev/ && spool reconcile >/dev/null
mv "claimed/dev/$two.json" ready/ && spool reconcile >/dev/null
is "$(state_of "$two")" failed "on the last attempt it ends in failed/"
is "$(jq .attempt "failed/$two.json")" 2 "without an attempt it does not have"
jq -e '.errors[-1].text | test("released after the last of 2 attempts")' \
	"failed/$two.json" >/dev/null; ok $? "the error says why"
is "$(head_state "$two")" failed "HEAD has it in failed/"
is "$(trailer From)/$(trailer To)/$(trailer Verb)" "claimed/dev/failed/fail" \
	"recorded as claimed/dev -> failed"
is "$(author)" dev "by the agent who released it"
[ ! -e "ready/$two.json" ]; ok $? "no copy left in ready/"

# The same through the CLI, for comparison.
one=$(spool add --title "one try" --max-attempts 1)
spool claim --agent dev >/dev/null
spool release "$one" --agent dev >/dev/null
is "$(state_of "$one")" failed "spool release on the last attempt: failed/ too"
fsck_clean; ok $? "git fsck clean"
done_testing
