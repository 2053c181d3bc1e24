#!/usr/bin/env bash
# Torture: shell agents claim, submit at once, release and heartbeat at
# full speed while spoold is killed with -9 at random and restarted, and
# spool claim/approve/reject/reconcile are killed with -9 at random. Once
# quiet, nothing is lost, doubled, quarantined or reverted, each transition
# is recorded once with its actor, HEAD's tree equals the files, git fsck
# is clean and the next command works. A short run here; `make torture`
# runs the long one (tests/torture/run.sh says which parameters).
. "$(dirname "$0")/../lib.sh"
# The short run is bounded by time, not by a count: how much gets done in
# it depends on the machine's load, which is not what this tests. With
# TORTURE_STRICT=1 (make torture) the counts asked for must be reached.
: "${TORTURE_TASKS:=100}" "${TORTURE_TRANSITIONS:=600}" "${TORTURE_KILLS:=5}"
: "${TORTURE_MAX_SECONDS:=30}" "${TORTURE_SETTLE_SECONDS:=60}"
: "${TORTURE_STRICT:=0}"
export TORTURE_TASKS TORTURE_TRANSITIONS TORTURE_KILLS TORTURE_MAX_SECONDS \
	TORTURE_SETTLE_SECONDS
echo "# $TORTURE_TASKS tasks; until $TORTURE_TRANSITIONS transitions and $TORTURE_KILLS kill -9 of spoold, or ${TORTURE_MAX_SECONDS}s"
bash "$TOP/tests/torture/run.sh" "$T" 2>&1; ok $? "the torture ran"
F=$T/figures.json
[ -s "$F" ] || { ok 1 "figures written"; done_testing; exit 1; }
fig() { jq -r ".$1" "$F"; }
echo "# $(fig transitions_made) transitions made, $(fig records) recorded in $(fig commits) commits," \
	"in $(fig run_seconds)s (then $(fig settle_seconds)s to settle)"
echo "# kill -9: spoold $(fig spoold_kills), commands $(jq -c .commands_killed "$F");" \
	"$(fig made_while_spoold_was_blind) moves made while spoold was down"
echo "# verbs: $(jq -c .verbs "$F"); unattributed $(fig unattributed);" \
	"submits given to the holder $(fig submits_given_to_the_holder)"
echo "# packs: $(fig packs); scratch files of killed pack writers: $(fig pack_scratch_files)"
if [ "$TORTURE_STRICT" = 1 ]; then
	[ "$(fig transitions_made)" -ge "$TORTURE_TRANSITIONS" ]; ok $? "at least $TORTURE_TRANSITIONS transitions made"
	[ "$(fig spoold_kills)" -ge "$TORTURE_KILLS" ]; ok $? "spoold killed with -9 at least $TORTURE_KILLS times"
else
	[ "$(fig transitions_made)" -gt 0 ]; ok $? "transitions were made"
	[ "$(fig spoold_kills)" -gt 0 ]; ok $? "spoold was killed with -9"
fi
is "$(fig spoold_restart_failures)" 0 "spoold always restarted at once"
is "$(fig lost)" 0 "no task lost"
is "$(fig doubled_files)" 0 "no task in two places"
is "$(fig unknown_tasks)/$(fig stray_files)" 0/0 "no other file appeared"
is "$(fig quarantined)/$(fig quarantine_records)" 0/0 "nothing quarantined"
is "$(fig reverted)" 0 "no legal move reverted"
is "$(fig restored)" 0 "nothing restored (nothing was deleted)"
is "$(fig doubled)" 0 "no claim taken from the agent holding it (no work done twice)"
is "$(fig chain_breaks)" 0 "each task's history is one unbroken chain of transitions"
is "$(fig chain_ends_elsewhere)" 0 "and ends where the file is"
is "$(fig commits_adding_or_dropping_tasks)" 0 "no commit adds or drops a task"
is "$(fig unrecorded)" 0 "every transition made is recorded"
is "$(fig recorded_but_not_made)" 0 "every transition recorded was made, once"
# With spoold down, an agent may release a task HEAD has it holding, and
# another claim and submit it: the files (claimed/A in HEAD, review/ on
# disk) cannot tell that from A's submit. It is credited to A, and its
# note says the submit was not seen, for the reviewer.
is "$(fig submits_given_silently)" 0 "an unseen submit credited to the holder says so in its note"
is "$(fig misattributed)" 0 "none recorded as by another agent"
is "$(fig left_for_the_last_reconcile)" 0 "once spoold settled, a reconcile finds nothing left"
is "$(fig head_differs)" 0 "HEAD's tree equals the files"
is "$(fig git_status_lines)" 0 "git status is clean"
is "$(fig fsck_clean)" true "git fsck --full is clean"
is "$(fig next_ls_ok)" true "the next spool ls lists every task"
is "$(fig next_add_ok)" true "the next spool add works"
done_testing
