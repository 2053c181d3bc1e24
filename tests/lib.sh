# Shared by the integration tests (tests/t/*.t): TAP output for prove,
# the freshly built binaries on PATH, a scratch directory per test.
# shellcheck shell=bash
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# SPOOL_BIN: where the programs under test are (make check-sanitize
# points it at the sanitized ones); the normal build by default.
export SPOOL_BIN="${SPOOL_BIN:-$TOP/bin}"
export PATH="$SPOOL_BIN:$PATH"
export SPOOL_LAYOUT="$TOP/spool-layout"
unset SPOOL_DIR SPOOL_AGENT
export GIT_CONFIG_NOSYSTEM=1 HOME="${TMPDIR:-/tmp}"
T=$(mktemp -d "${TMPDIR:-/tmp}/spool-test.XXXXXX")
_n=0 _failed=0
cleanup() {
	local pids
	pids=$(jobs -p)
	[ -n "$pids" ] && kill $pids 2>/dev/null
	wait 2>/dev/null
	if [ "$_failed" -eq 0 ]; then rm -rf "$T"; else echo "# kept $T"; fi
}
trap cleanup EXIT

plan() { echo "1..$1"; }
ok() {	# ok CONDITION-EXIT-STATUS DESCRIPTION  (use: cmd; ok $? "desc")
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $_n - $2"
	else echo "not ok $_n - $2"; _failed=$((_failed + 1)); fi
}
is() {	# is GOT WANT DESCRIPTION
	_n=$((_n + 1))
	if [ "$1" = "$2" ]; then echo "ok $_n - $3"
	else
		echo "not ok $_n - $3"
		echo "#   got:  '$1'"; echo "#   want: '$2'"
		_failed=$((_failed + 1))
	fi
}
fails() {	# fails EXPECTED-CODE DESCRIPTION -- CMD...: exit code must match
	local want=$1 desc=$2 got; shift 3
	"$@" >"$T/.out" 2>"$T/.err"; got=$?
	is "$got" "$want" "$desc (exit $want)"
}
done_testing() { echo "1..$_n"; [ "$_failed" -eq 0 ]; }

# A fresh spool at $T/spool with agents; prints nothing.
new_spool() {
	S=$T/spool
	spool init "$S" >/dev/null || return 1
	export SPOOL_DIR=$S
}
# git fsck of the spool (or of DIR) must be clean: every object read and
# checked, a nested .git (hasDotgit, a warning by default) an error too.
# What fsck said is shown on failure.
# spoold's packer may move loose objects into a pack while fsck reads
# them ("unable to mmap"): a real fault is there at the next run as well.
fsck_clean() {
	local i
	for i in 1 2 3; do
		git -C "${1:-$SPOOL_DIR}" -c fsck.hasDotgit=error fsck --full \
			--strict --no-progress >"$T/.fsck" 2>&1 && return 0
		grep -q 'unable to mmap' "$T/.fsck" || break
		sleep 1
	done
	sed 's/^/#   fsck: /' "$T/.fsck" | head -n 20
	return 1
}
state_of() {	# state_of ID: the directory the task is in
	local f
	f=$(cd "$SPOOL_DIR" && find new blocked ready claimed review done failed cancelled quarantine -name "$1.json" 2>/dev/null)
	dirname "$f"
}
