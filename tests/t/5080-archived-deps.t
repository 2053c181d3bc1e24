#!/usr/bin/env bash
# A task may depend on work that was archived out of the tree: an archived
# done task counts as done, an archived cancelled one as cancelled.
. "$(dirname "$0")/../lib.sh"
new_spool || exit 1
cd "$S" || exit 1
spool agent add dev >/dev/null
spool add --title done-one >/dev/null          # T-0001
spool add --title dropped >/dev/null           # T-0002
mv ready/T-0001.json claimed/dev/ && spool reconcile >/dev/null
mv claimed/dev/T-0001.json review/ && spool reconcile >/dev/null
spool approve T-0001 >/dev/null
spool cancel T-0002 >/dev/null
spool archive --older-than 0 >/dev/null; ok $? "archived"
[ ! -e done/T-0001.json ]; ok $? "T-0001 left the tree"
id=$(spool add --title after --depends-on T-0001); ok $? "depending on an archived task is accepted"
is "$(state_of "$id")" ready "an archived done dependency counts as done"
id2=$(spool add --title doomed --depends-on T-0002)
is "$(state_of "$id2")" blocked "an archived cancelled dependency does not"
jq -e '.errors[-1].text | test("T-0002")' "blocked/$id2.json" >/dev/null
ok $? "and it is reported in errors"
fails 1 "a dependency that never existed is refused" -- spool add --title x --depends-on T-0999
fsck_clean; ok $? "git fsck is clean"
done_testing
