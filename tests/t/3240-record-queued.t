#!/bin/bash
# spoold watches, then waits for the lock before it looks at the whole
# tree. Agents move meanwhile: a task claimed and released by two agents,
# then claimed again. The look records where the task ended; the events
# queued during the wait tell of moves it saw the outcome of, and must
# not be replayed from HEAD's place as if new (each claim and release
# was recorded a second time). Nothing is recorded twice.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

new_spool
cd "$S" || exit 1
spool agent add a1 >/dev/null && spool agent add a2 >/dev/null
make_tasks 2
spool reconcile >/dev/null; ok $? "2 tasks in ready/"
base=$(git rev-parse HEAD)

# The lock held, spoold starts, watches and waits for it.
mkdir -p .spool/run
flock .spool/run/lock sh -c 'touch "$1"; while [ ! -e "$0" ]; do sleep 0.02; done' \
	"$T/unlock" "$T/held" &
holder=$!
until_ok 10 test -e "$T/held"; ok $? "the spool lock is held"
spoold -C "$S" --log-level debug >/dev/null 2>&1 &
pid=$!
watching() { [ "$(cat /proc/"$pid"/fdinfo/* 2>/dev/null | grep -c '^inotify wd:')" -ge 8 ]; }
until_ok 20 watching; ok $? "spoold watches while it waits for the lock"

mv ready/T-00001.json claimed/a1/ && mv claimed/a1/T-00001.json ready/ &&
	mv ready/T-00001.json claimed/a2/ && mv claimed/a2/T-00001.json ready/ &&
	mv ready/T-00001.json claimed/a1/
ok $? "a1 claims and releases, a2 claims and releases, a1 claims again"
touch "$T/unlock"
wait "$holder"

until_ok 20 in_head claimed/a1/T-00001.json; ok $? "recorded in claimed/a1"
# One more move, so that a batch surely follows the queued events.
mv ready/T-00002.json claimed/a2/
until_ok 20 in_head claimed/a2/T-00002.json; ok $? "and the next move too"
recs=$(git log --format=%B "$base..HEAD" | awk '
	/^Spool-Task: / { t = $2 } /^Spool-Verb: / { v = $2 }
	/^Spool-Agent: / { if (t == "T-00001") print v ":" $2 }' | sort | tr '\n' ' ')
is "$recs" "claim:a1 " "T-00001: one claim by a1 recorded, nothing replayed"
is "$(git log --format=%B "$base..HEAD" | grep -c '^Spool-Verb: revert$')" 0 \
	"nothing reverted"
tree_matches; ok $? "HEAD's tree equals the files"
kill "$pid"; wait "$pid"
fsck_clean; ok $? "git fsck is clean"
done_testing
