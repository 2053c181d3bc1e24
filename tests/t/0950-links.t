#!/usr/bin/env bash
# No path leaves the spool. A deliverables/, a claimed/A/ or a state
# directory that is a symbolic link to elsewhere (also one swapped in
# while spoold runs) is refused and reported by spoold's log, spool
# status and spool diagnose: nothing behind it is read into git, moved
# or deleted, not even a root-only file, and spool archive removes
# nothing outside. A link inside a deliverable is committed as a link.
# Each step: nothing outside the spool read or changed, spoold running,
# git fsck clean.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
core_spool || exit 1
cd "$S" || exit 1

O=$T/outside
mark=OUTSIDE-$$-MARK
mkdir -p "$O/T-0001" "$O/T-0002" "$O/dev"
echo "$mark secret" >"$O/secret" && chmod 600 "$O/secret"
echo "$mark report" >"$O/T-0001/report.md"
echo "$mark report" >"$O/T-0002/report.md"
printf '{"id": "T-0099", "title": "%s"}\n' "$mark" >"$O/T-0099.json"
cp "$O/T-0099.json" "$O/dev/T-0098.json"
outside() { (cd "$O" && find . -printf '%p %s %m %T@\n' | sort; cat secret T-0099.json); }
was_outside=$(outside)
# Nothing of what lies outside is in any object of the repository.
no_mark() {
	! git cat-file --batch-all-objects --batch 2>/dev/null | grep -aq "$mark"
}
safe() {
	is "$(outside)" "$was_outside" "$1: nothing outside the spool changed"
	no_mark; ok $? "$1: nothing outside the spool is in git"
	kill -0 "$pid"; ok $? "$1: spoold kept running"
	fsck_clean; ok $? "$1: git fsck clean"
}
recorded_all() { [ -z "$(spool status --json | jq '.daemon.unrecorded_moves | select(. > 0)')" ]; }

start_daemon || exit 1
pid=$(daemon_pid)

# ---- a link inside a deliverable ---------------------------------------------
spool add --title one >/dev/null; spool add --title two >/dev/null
spool claim --agent dev >/dev/null	# T-0001
mkdir -p deliverables/T-0001
echo mine >deliverables/T-0001/report.md
ln -s "$O/secret" deliverables/T-0001/secret-link
ln -s "$O" deliverables/T-0001/dir-link
spool submit T-0001 --agent dev >/dev/null 2>"$T/err"; ok $? "submit with links in the deliverable"
is "$(git ls-tree HEAD deliverables/T-0001/secret-link | cut -c1-6)" 120000 "a link is committed as a link"
is "$(git show HEAD:deliverables/T-0001/secret-link)" "$O/secret" "holding its target, not the file"
is "$(git ls-tree HEAD deliverables/T-0001/dir-link | cut -c1-6)" 120000 "a link to a directory too"
safe "links in a deliverable"
spool approve T-0001 --agent rev >/dev/null; ok $? "approved"

# ---- a symlinked deliverables/ -------------------------------------------------
spool claim --agent dev >/dev/null	# T-0002
mv deliverables "$T/deliverables.real" && ln -s "$O" deliverables
mv claimed/dev/T-0002.json review/
until_ok 20 sh -c "git log -1 --format=%B | grep -q 'Spool-Verb: reject'"
ok $? "a submission through a linked deliverables/ is sent back"
is "$(state_of T-0002)" claimed/dev "to its agent"
jq -r '.feedback[-1].text' claimed/dev/T-0002.json | grep -q "symbolic link"
ok $? "with the reason as feedback"
spool submit T-0002 --agent dev 2>"$T/err"; is $? 1 "spool submit refuses it too"
grep -q "'deliverables/T-0002' is a symbolic link or lies under one" "$T/err"; ok $? "and says why" ||
	sed 's/^/#   /' "$T/err"
spool status >"$T/out"; grep -q "^layout: 'deliverables' is a symbolic link" "$T/out"
ok $? "spool status reports it" || sed 's/^/#   /' "$T/out"
spool diagnose T-0002 >"$T/out"; grep -q "'deliverables' is a symbolic link" "$T/out"
ok $? "spool diagnose reports it"
until_ok 10 log_has "'deliverables' is a symbolic link"; ok $? "spoold's log reports it"
safe "linked deliverables/"

spool archive --older-than 0s >/dev/null 2>"$T/err"; ok $? "spool archive with deliverables/ a link" ||
	sed 's/^/#   /' "$T/err"
[ -e "$O/T-0001/report.md" ]; ok $? "it deleted nothing behind the link"
safe "archive through a linked deliverables/"
rm deliverables && mv "$T/deliverables.real" deliverables

# ---- a symlinked claimed/A/ ------------------------------------------------------
rmdir claimed/ops 2>/dev/null || rm -rf claimed/ops
ln -s "$O/dev" claimed/ops
spool heartbeat T-0098 --agent ops >/dev/null 2>&1
[ "$(stat -c %Y "$O/dev/T-0098.json")" = "$(echo "$was_outside" | sed -n 's#^\./dev/T-0098.json [0-9]* [0-9]* \([0-9]*\).*#\1#p')" ]
ok $? "spool heartbeat does not touch a file behind it"
# spoold moves the link itself aside, as a link
until_ok 20 test -L quarantine/ops; ok $? "spoold quarantines the link claimed/ops, as a link"
until_ok 10 in_head quarantine/ops.reason; ok $? "and records why"
is "$(git ls-tree HEAD quarantine/ops | cut -c1-6)" 120000 "git has it as a link"
safe "linked claimed/A/"

# ---- a state directory swapped for a link while spoold runs ---------------------
# renameat2(RENAME_EXCHANGE): the link takes ready/'s place in one step
exchange() {
	python3 -c 'import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.renameat2(-100, sys.argv[1].encode(), -100, sys.argv[2].encode(), 2):
	sys.exit(ctypes.get_errno())' "$1" "$2"
}
ln -s "$O" ready.link && exchange ready.link ready; ok $? "ready/ swapped for a link"
drop x.json '{"title": "wakes the daemon"}'
until_ok 20 log_has "'ready' is a symbolic link"; ok $? "spoold reports a linked ready/"
log_has "recording stops until then"; ok $? "and that it records nothing meanwhile"
spool status >"$T/out"; grep -q "^layout: 'ready' is a symbolic link.*spoold records nothing until then" "$T/out"
ok $? "spool status says so" || sed 's/^/#   /' "$T/out"
spool claim --agent dev >/dev/null 2>&1; [ -e "$O/T-0099.json" ]; ok $? "spool claim takes nothing from behind it"
spool reconcile >/dev/null 2>&1
safe "ready/ swapped for a link"
exchange ready.link ready && rm ready.link; ok $? "ready/ is a directory again"
drop y.json '{"title": "after the fix"}'
until_ok 20 log_has "recording resumes"; ok $? "spoold resumes once ready/ is a directory again"
until_ok 20 sh -c '! ls new | grep -q json'; ok $? "and files what waited in new/"
safe "after the fix"

stop_daemon
done_testing
