#!/usr/bin/env bash
# A commit that cannot move the branch (its lock file cannot be taken:
# a directory stands in its place) fails cleanly: the error names the
# branch, read from memory that is still valid (checked under valgrind
# when it is installed), and the command changes nothing.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
core_spool || exit 1
cd "$S" || exit 1
spool add --title one >/dev/null && spool claim --agent dev >/dev/null &&
	spool submit T-0001 --agent dev >/dev/null
ok $? "a task in review"
snap() { find . -path ./.git -prune -o -path ./.spool/run -prune -o -path ./tmp -prune -o -type f -print | sort | xargs md5sum; git rev-parse HEAD; }
before=$(snap)
branch=$(git symbolic-ref HEAD)
mkdir ".git/$branch.lock"
run=()
command -v valgrind >/dev/null && run=(valgrind -q --error-exitcode=99)
"${run[@]}" spool approve T-0001 --agent rev >"$T/out" 2>"$T/err"
is $? 1 "approve fails${run:+ (under valgrind, with no memory error)}"
grep -q "spool: approve: cannot update '$branch'" "$T/err"; ok $? "naming the branch"
grep -q "Invalid read" "$T/err"; is $? 1 "reading no freed memory"
[ "$(snap)" = "$before" ]; ok $? "nothing changed"
is "$(ls .spool/run/intent | wc -l)" 0 "no intent left"
"${run[@]}" spool add --title two >/dev/null 2>"$T/err"
is $? 1 "add fails the same way"
[ "$(snap)" = "$before" ]; ok $? "and leaves no task behind"
rmdir ".git/$branch.lock"
spool approve T-0001 --agent rev >/dev/null; ok $? "once the way is clear, approve works"
recorded "approved" T-0001 review done rev approve
tree_matches_head; ok $? "HEAD's tree equals the files"
fsck_clean; ok $? "git fsck is clean"
done_testing
