#!/usr/bin/env bash
# Output that cannot be written is an error, as in git: every command
# whose stdout is a full disk (/dev/full) exits 1 and says why. A reader
# that goes away (spool ls | head -1) is quiet and costs no error, also
# when the caller ignores SIGPIPE. The spool is left as it was.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
new_spool || exit 1
cd "$S" || exit 1
spool agent add dev >/dev/null
make_tasks 3000
spool reconcile >/dev/null; ok $? "3000 tasks"
head=$(git rev-parse HEAD)
[ "$(spool ls | wc -c)" -gt 131072 ]; ok $? "spool ls writes more than a pipe holds"

full() {	# full ARGS...: spool ARGS fails on /dev/full, and says so
	spool "$@" >/dev/full 2>"$T/err"
	is "$?" 1 "spool $*: exit 1 on a full disk"
	grep -qx "spool: $1: cannot write output: No space left on device" "$T/err"
	ok $? "spool $*: says it cannot write its output" || sed 's/^/#   /' "$T/err"
}
full ls
full ls --json
full ls --state ready
full show T-00001
full log T-00001
full events --limit 5
full diagnose T-00001
full help
full help ls
spool --version >/dev/full 2>"$T/err"; is "$?" 1 "--version: exit 1 on a full disk"
grep -qx "spool: cannot write output: No space left on device" "$T/err"; ok $? "--version: says so"
spool ls >/dev/full 2>/dev/null; is "$?" 1 "a small output fails as well (the flush at exit)"

quiet() {	# quiet CMD...: a reader that leaves early is no error
	local codes
	"$@" 2>"$T/err" | head -1 >/dev/null
	codes=${PIPESTATUS[*]}
	is "$codes" "0 0" "$* | head -1: both exit 0"
	[ ! -s "$T/err" ]; ok $? "$* | head -1: nothing on stderr" || sed 's/^/#   /' "$T/err"
}
quiet spool ls
quiet spool ls --json
quiet spool events
quiet spool log
# a caller that ignores SIGPIPE hands that on; the write then fails with
# EPIPE, and that too is quiet
(trap '' PIPE; spool ls 2>"$T/err" | head -1 >/dev/null; exit "${PIPESTATUS[0]}")
is "$?" 0 "with SIGPIPE ignored: exit 0"
[ ! -s "$T/err" ]; ok $? "with SIGPIPE ignored: nothing on stderr"
# a reader gone at once
spool ls 2>"$T/err" | true
is "${PIPESTATUS[0]}" 0 "spool ls | true: exit 0"
[ ! -s "$T/err" ]; ok $? "spool ls | true: quiet"

is "$(git rev-parse HEAD)" "$head" "nothing was recorded"
fsck_clean; ok $? "git fsck clean"
done_testing
