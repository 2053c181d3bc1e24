#!/usr/bin/env bash
# Every transition an agent may make with plain mv (as a shell-only agent
# does: file, claim, release, submit), then recorded by spool reconcile:
# author, trailers, HEAD's tree, the fields the spool writes, deliverables
# in the submission's commit. The transitions made by commands only
# (reject, approve, fail, retry, cancel) are undone when made by mv.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
core_spool || exit 1
cd "$S" || exit 1
rec() { spool reconcile >"$T/rec" 2>&1; ok $? "reconcile after: $1"; }

# new -> ready: a file under any name, without id, gets one
drop "my task" '{"title": "from a shell planner"}'
rec "drop into new/"
is "$(ls new | grep -v '^\.' | wc -l)" 0 "new/ is empty again"
is "$(state_of T-0001)" ready "filed to ready with an id"
is "$(jq -r .id ready/T-0001.json)" T-0001 "the id is written in the file"
recorded "file" T-0001 new ready spool file
grep -q "filed 1" "$T/rec"; ok $? "reconcile says it filed one"

# new -> blocked
drop b.json '{"title": "waits", "depends_on": ["T-0001"]}'
rec "drop a task with a dependency"
is "$(state_of T-0002)" blocked "filed to blocked"
recorded "file blocked" T-0002 new blocked spool file

# new -> quarantine
drop bad.json '{"title": '
rec "drop bad JSON"
[ -f quarantine/bad.json ] && [ -f quarantine/bad.json.reason ]; ok $? "bad file in quarantine/ with a .reason"
is "$(trailer Verb)/$(trailer To)" quarantine/quarantine "quarantine recorded"

# ready -> claimed/dev
mkdir -p claimed/dev && mv ready/T-0001.json claimed/dev/
rec "mv ready -> claimed/dev"
recorded "claim by mv" T-0001 ready claimed/dev dev claim 1
is "$(subject)" "claim T-0001 by dev" "claim subject"

# claimed -> ready (release: attempt + 1)
mv claimed/dev/T-0001.json ready/
rec "mv claimed/dev -> ready"
recorded "release by mv" T-0001 claimed/dev ready dev release 2
is "$(jq .attempt ready/T-0001.json)" 2 "attempt + 1 written in the file"

# claimed -> review, deliverables in the same commit
mv ready/T-0001.json claimed/dev/ && spool reconcile >/dev/null
mkdir -p deliverables/T-0001 && echo v1 >deliverables/T-0001/out.txt
mv claimed/dev/T-0001.json review/
rec "mv claimed/dev -> review"
recorded "submit by mv" T-0001 claimed/dev review dev submit
git show --name-only --format= HEAD | grep -qx deliverables/T-0001/out.txt
ok $? "deliverable in the submit commit"
is "$(git log --format=%an -- deliverables/T-0001)" dev "git log -- deliverables/T-0001: by dev"
is "$(jq -r .submitted_by review/T-0001.json)" dev "submitted_by written"

# By mv an agent may only claim, submit and release (and file through
# new/). Whatever else is done by mv is undone and recorded as a revert
# naming the verb it would have been, never as that verb.
# reverted DESC ID AT MOVED-TO AUTHOR VERB: put back in AT, recorded.
reverted() {
	is "$(state_of "$2")" "$3" "$1: moved back to $3"
	is "$(author)|$(trailer Task)|$(trailer From)|$(trailer To)|$(trailer Verb)" \
		"$5|$2|$4|$3|revert" "$1: recorded as a revert by $5"
	git log -1 --format=%B | grep -q "$6 is made with 'spool $6', not by mv"
	ok $? "$1: the note says $6 is a command"
	! git log -1 --format=%B | grep -q "^Spool-Verb: $6\$"
	ok $? "$1: not recorded as $6"
}
# review -> claimed/dev: a reject is a command
mv review/T-0001.json claimed/dev/
rec "mv review -> claimed/dev"
reverted "reject by mv" T-0001 review claimed/dev dev reject
spool reject T-0001 --agent rev --feedback "more" >/dev/null
recorded "reject by command" T-0001 review claimed/dev rev reject
# review -> ready
mv claimed/dev/T-0001.json review/ && spool reconcile >/dev/null
mv review/T-0001.json ready/
rec "mv review -> ready"
reverted "reject to ready by mv" T-0001 review ready operator reject
# review -> done: the approval is a command, so the dependant waits
spool reject T-0001 --agent rev --feedback "again" >/dev/null &&
	echo v2 >deliverables/T-0001/out.txt &&
	mv claimed/dev/T-0001.json review/ && spool reconcile >/dev/null
is "$(git show HEAD:deliverables/T-0001/out.txt)" v2 "second version committed with the second submission"
mv review/T-0001.json done/
rec "mv review -> done"
reverted "approve by mv" T-0001 review done operator approve
is "$(state_of T-0002)" blocked "the dependant is not released by an approval by mv"
spool approve T-0001 --agent rev >"$T/rec" 2>&1; ok $? "spool approve"
is "$(state_of T-0001)" done "done"
git log -3 --format=%B | grep -q '^Spool-Verb: approve$'; ok $? "approve recorded"
# blocked -> ready, released by the spool
is "$(state_of T-0002)" ready "the dependant was released"
recorded "unblock" T-0002 blocked ready spool unblock

# claimed -> failed by mv: giving up is a command (it needs a reason)
mv ready/T-0002.json claimed/dev/ && spool reconcile >/dev/null
mv claimed/dev/T-0002.json failed/
rec "mv claimed/dev -> failed"
reverted "fail by mv" T-0002 claimed/dev failed dev fail
spool fail T-0002 --agent dev --reason "cannot" >/dev/null
recorded "fail by command" T-0002 claimed/dev failed dev fail
# failed -> ready by mv: a retry is a command
mv failed/T-0002.json ready/
rec "mv failed -> ready"
reverted "retry by mv" T-0002 failed ready operator retry

# open -> cancelled by mv (ready, claimed, review, blocked): reverted
drop c1 '{"title": "c1"}'; drop c2 '{"title": "c2"}'
drop c3 '{"title": "c3"}'; drop c4 '{"title": "c4", "depends_on": ["T-0002"]}'
spool reconcile >/dev/null
is "$(state_of T-0003)/$(state_of T-0004)/$(state_of T-0005)/$(state_of T-0006)" \
	ready/ready/ready/blocked "four more tasks filed"
mv ready/T-0004.json claimed/dev/ && mv ready/T-0005.json claimed/dev/ &&
	spool reconcile >/dev/null && mv claimed/dev/T-0005.json review/ &&
	spool reconcile >/dev/null
for x in "T-0003 ready" "T-0004 claimed/dev" "T-0005 review" "T-0006 blocked"; do
	set -- $x
	mv "$2/$1.json" cancelled/
	rec "mv $2 -> cancelled"
	reverted "cancel by mv from $2" "$1" "$2" cancelled \
		"$([ "$2" = claimed/dev ] && echo dev || echo operator)" cancel
done

fsck_clean; ok $? "git fsck clean"
tree_matches_head; ok $? "disk matches HEAD"
done_testing
