#!/bin/bash
# With spoold running: an agent that writes fields only the spool writes
# into the task it holds has them put back at once and recorded as a
# violation; a lease it stretches still runs out at the configured
# lease; a parent whose check passes while a subtask is open waits for
# it in blocked/ and never reaches done/ before it.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

new_spool
spool agent add bob >/dev/null
spool agent add rev --roles reviewer >/dev/null
jq '.lease_seconds = 1 | .max_attempts = 3 | .retry_backoff_seconds = [600]
    | .checks = {"ok": {"command": ["true"], "timeout": 5}}' \
	"$S/.spool/config.json" >"$T/c" && cp "$T/c" "$S/.spool/config.json"
spool add --title stretched >/dev/null                                   # T-0001
spool add --title edited --lease 3600 >/dev/null                         # T-0002
spool add --file - >/dev/null <<<'{"title": "parent", "acceptance": {"check": "ok"}}'  # T-0003
start_daemon || exit 1
revert_of() {	# revert_of ID TEXT: a revert of ID whose note has TEXT
	git -C "$S" log --format=%B --grep="Spool-Task: $1\$" |
		grep -q "violation: .*$2"
}

# A lease the agent stretches in its file still runs out.
mv "$S/ready/T-0001.json" "$S/claimed/bob/"
jq '.lease = 100000' "$S/claimed/bob/T-0001.json" >"$T/e" && cat "$T/e" >"$S/claimed/bob/T-0001.json"
t0=$(date +%s%N)
until_ok 15 in_head ready/T-0001.json; ok $? "the lease of 1s expires all the same"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 8000 ]; ok $? "at the configured lease, not at 100000s (${ms}ms)"
is "$(jq -r '.lease // "none"' "$S/ready/T-0001.json")" none "the stretched lease is not kept"
is "$(jq .attempt "$S/ready/T-0001.json")" 2 "with attempt + 1"
until_ok 5 revert_of T-0001 "changed lease"; ok $? "the edit is recorded as a violation"

# An edit in place of the spool's fields is put back at once; the agent's
# own fields stay.
mv "$S/ready/T-0002.json" "$S/claimed/bob/"
until_ok 15 in_head claimed/bob/T-0002.json; ok $? "claimed"
jq '.plan_approved = true | .attempt = 7 | .["x-progress"] = "half"' \
	"$S/claimed/bob/T-0002.json" >"$T/e" && cat "$T/e" >"$S/claimed/bob/T-0002.json"
put_back() { [ "$(jq -r '.plan_approved // "absent"' "$S/claimed/bob/T-0002.json")" = absent ]; }
until_ok 15 put_back; ok $? "plan_approved is put back in the agent's file"
is "$(jq .attempt "$S/claimed/bob/T-0002.json")" 1 "so is attempt"
is "$(jq -r '.["x-progress"]' "$S/claimed/bob/T-0002.json")" half "the agent's own field stays"
until_ok 5 revert_of T-0002 "changed attempt, plan_approved"; ok $? "recorded as a violation naming the fields"
is "$(git -C "$S" log -1 --format=%an --grep='Spool-Task: T-0002$')" bob "against the agent"
mv "$S/claimed/bob/T-0002.json" "$S/review/"
until_ok 15 in_head review/T-0002.json; ok $? "submitted"

# A parent whose check passes while its subtask is open waits in blocked/.
mv "$S/ready/T-0003.json" "$S/claimed/bob/"
until_ok 15 in_head claimed/bob/T-0003.json; ok $? "the parent is claimed"
C=$(spool add --title child --parent T-0003)
mv "$S/claimed/bob/T-0003.json" "$S/review/"
until_ok 15 in_head blocked/T-0003.json; ok $? "its check passed: it waits in blocked/"
! in_head done/T-0003.json; ok $? "not in done/ with its subtask open"
is "$(git -C "$S" log -1 --format=%an --grep='Spool-Task: T-0003$')" spool "approved by spool"
mv "$S/ready/$C.json" "$S/claimed/bob/"
until_ok 15 in_head "claimed/bob/$C.json"
mv "$S/claimed/bob/$C.json" "$S/review/"
until_ok 15 in_head "review/$C.json"
spool approve "$C" --agent rev >/dev/null; ok $? "the subtask is approved"
until_ok 15 in_head done/T-0003.json; ok $? "then the parent is completed"
stop_daemon
fsck_clean; ok $? "git fsck is clean"
done_testing
