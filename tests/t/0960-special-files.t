#!/usr/bin/env bash
# What an agent's shell can make, everywhere it can write: a FIFO, a
# socket and a device node hang neither spoold nor a command and never
# reach git; a hard link to a file outside the spool in a deliverable is
# left out; names with newlines make no line of their own in a commit
# message; a 100,000-deep JSON document is refused, not a crash. Each
# step: nothing outside the spool read or changed, spoold running, git
# fsck clean.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
core_spool || exit 1
cd "$S" || exit 1

O=$T/outside
mark=OUTSIDE-$$-MARK
mkdir -p "$O" && echo "$mark secret" >"$O/secret" && chmod 600 "$O/secret"
outside() { (cd "$O" && find . -printf '%p %s %m %n %T@\n' | sort; cat secret); }
was_outside=$(outside)
no_mark() {
	! git cat-file --batch-all-objects --batch 2>/dev/null | grep -aq "$mark"
}
safe() {
	is "$(outside)" "$was_outside" "$1: nothing outside the spool changed"
	no_mark; ok $? "$1: nothing outside the spool is in git"
	kill -0 "$pid"; ok $? "$1: spoold kept running"
	fsck_clean; ok $? "$1: git fsck clean"
}
# quick CMD...: the command ends within 20 s (it does not hang)
quick() { timeout 20 "$@" >/dev/null 2>&1; [ $? -ne 124 ]; }
# sockets PATH...: a listening-less unix socket at each path, in one go
sockets() {
	python3 -c 'import socket, sys
for p in sys.argv[1:]:
	socket.socket(socket.AF_UNIX).bind(p)' "$@"
}

start_daemon || exit 1
pid=$(daemon_pid)
spool add --title one >/dev/null
spool add --title two >/dev/null
spool claim --agent dev >/dev/null	# T-0001
mkdir -p deliverables/T-0001 && echo fine >deliverables/T-0001/report.md

n=0 socks=()
for d in new blocked ready claimed claimed/dev review done failed cancelled \
	 quarantine tmp deliverables deliverables/T-0001 agents modules .; do
	n=$((n + 1)) p="$d/T-09$(printf %02d $n)"
	mkfifo "${p}1.json" && mknod "${p}3.json" c 1 5
	ok $? "a FIFO and a device node (/dev/zero's) in $d/"
	socks+=("${p}2.json")
done
sockets "${socks[@]}"; ok $? "a socket in each of them"
drop x.json '{"title": "wakes the daemon"}'
until_ok 30 sh -c '! ls new | grep -q x.json'; ok $? "spoold still files a task"
for c in "ls" "ls --json" "status" "show T-0001" "diagnose T-0001" \
	 "log T-0001" "reconcile" "events --limit 5"; do
	# shellcheck disable=SC2086
	quick spool $c; ok $? "spool $c does not hang"
done
quick spool submit T-0001 --agent dev; ok $? "spool submit with them in the deliverable does not hang"
is "$(state_of T-0001)" review "and submits"
is "$(git show HEAD:deliverables/T-0001/report.md)" fine "the deliverable is committed"
is "$(git ls-tree -r HEAD | awk '$1 != "100644" && $1 != "100755" && $1 != "120000"' | wc -l)" 0 \
	"git holds only files and links"
! git ls-tree -r --name-only HEAD | grep -q 'T-09[0-9]*[123]\.json$' || \
	[ -z "$(git ls-tree -r HEAD | grep 'T-09[0-9]*[123]\.json$' | grep -v '\.reason$')" ]
ok $? "none of them is in git"
safe "special files"

# ---- a hard link to a file outside the spool ------------------------------------
spool reject T-0001 --agent rev --feedback again >/dev/null
ln "$O/secret" deliverables/T-0001/hard
spool submit T-0001 --agent dev >/dev/null 2>"$T/err"; ok $? "submit with a hard link in the deliverable"
grep -q "left 'deliverables/T-0001/hard' out of the commit: a hard link; deliver a copy" "$T/err"
ok $? "it is left out, and said why" || sed 's/^/#   /' "$T/err"
! git cat-file -e HEAD:deliverables/T-0001/hard 2>/dev/null; ok $? "not committed"
rm deliverables/T-0001/hard
was_outside=$(outside)	# the link count went back
safe "hard link"

# ---- names with newlines -----------------------------------------------------------
spool reject T-0001 --agent rev --feedback again >/dev/null
echo x >"deliverables/T-0001/two
lines"
ln "$O/secret" "deliverables/T-0001/hard
Spool-Verb: approve"
mkdir -p "deliverables/T-0001/sub
Spool-Task: T-0002" && echo y >"deliverables/T-0001/sub
Spool-Task: T-0002/.git"
spool submit T-0001 --agent dev >/dev/null 2>"$T/err"; ok $? "submit with newlines in names"
git log -1 --format=%B | grep -c "^Spool-Verb:" | grep -qx 1; ok $? "the message has one Spool-Verb"
is "$(trailer Verb)" submit "and it is the submission's"
git log -1 --format=%B | grep -q "^Spool-Task: T-0002"; is $? 1 "no forged trailer line"
is "$(git show "HEAD:deliverables/T-0001/two
lines")" x "a file with a newline in its name is committed as it is"
git log -1 --format=%B | grep -q "^ *deliverables/T-0001/hard?Spool-Verb: approve: a hard link"
ok $? "a name left out is told on one line"
rm "deliverables/T-0001/hard
Spool-Verb: approve"
was_outside=$(outside)
drop "$(printf 'nl\nname.json')" '{"title": "newline"}'
until_ok 20 sh -c '! ls new | grep -q name'; ok $? "a task named with a newline is dealt with"
safe "newlines"

# ---- a 100,000-deep JSON document ------------------------------------------------
python3 -c 'import sys
open(sys.argv[1], "w").write("[" * 100000 + "]" * 100000)
open(sys.argv[2], "w").write("{\"a\":" * 100000 + "1" + "}" * 100000)' \
	"$T/deep.json" "$T/deep2.json"
quick spool add --file "$T/deep.json"; ok $? "spool add of a 100,000-deep array ends"
spool add --file "$T/deep2.json" >/dev/null 2>&1; is $? 1 "spool add of a 100,000-deep object is refused"
cp "$T/deep.json" tmp/deep && mv tmp/deep new/deep.json
cp "$T/deep2.json" tmp/deep2 && mv tmp/deep2 new/deep2.json
until_ok 20 in_head quarantine/deep2.json.reason; ok $? "spoold quarantines a 100,000-deep object"
until_ok 20 in_head quarantine/deep.json.reason; ok $? "and a 100,000-deep array"
safe "deep JSON"

stop_daemon
done_testing
