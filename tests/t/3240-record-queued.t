#!/bin/bash
# spoold watches, then waits for the lock before it looks at the whole
# tree. Agents move meanwhile: a task claimed and released by two agents,
# then claimed again; another, held by a1 as HEAD says, released by a1,
# claimed and submitted by a2. The events queued during the wait name
# who made each move: each is recorded once, in order, with its agent
# (a look at the files alone gave a2's submit to a1). Events queued while
# the look went on tell of moves it saw the outcome of, and must not be
# replayed from HEAD's place as if new: nothing is recorded twice.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

new_spool
cd "$S" || exit 1
spool agent add a1 >/dev/null && spool agent add a2 >/dev/null
make_tasks 3
spool reconcile >/dev/null; ok $? "3 tasks in ready/"
mv ready/T-00003.json claimed/a1/ && spool reconcile >/dev/null &&
	in_head claimed/a1/T-00003.json
ok $? "a1 holds T-00003, recorded"
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
mv claimed/a1/T-00003.json ready/ && mv ready/T-00003.json claimed/a2/ &&
	mv claimed/a2/T-00003.json review/
ok $? "a1 releases T-00003, a2 claims and submits it"
touch "$T/unlock"
wait "$holder"

until_ok 20 in_head claimed/a1/T-00001.json; ok $? "recorded in claimed/a1"
# One more move, so that a batch surely follows the queued events.
mv ready/T-00002.json claimed/a2/
until_ok 20 in_head claimed/a2/T-00002.json; ok $? "and the next move too"
# verb:agent of each record of task $1, oldest first
recs() {
	git log --reverse --format=%B "$base..HEAD" | awk -v id="$1" '
		/^Spool-Task: / { t = $2 } /^Spool-Agent: / { a = $2 }
		/^Spool-Verb: / { if (t == id) print $2 ":" a }' | tr '\n' ' '
}
is "$(recs T-00001)" "claim:a1 release:a1 claim:a2 release:a2 claim:a1 " \
	"T-00001: each move recorded once, in order, with its agent"
until_ok 20 in_head review/T-00003.json; ok $? "T-00003 recorded in review"
is "$(recs T-00003)" "release:a1 claim:a2 submit:a2 " \
	"T-00003: the submit is a2's, not given to a1 who held it before"
is "$(git log --format=%B "$base..HEAD" | grep -c '^Spool-Verb: revert$')" 0 \
	"nothing reverted"
tree_matches; ok $? "HEAD's tree equals the files"
kill "$pid"; wait "$pid"
fsck_clean; ok $? "git fsck is clean"
done_testing
