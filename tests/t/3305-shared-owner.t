#!/bin/bash
# A shared spool as deployed: owned by an account of its own that spoold
# runs as, not root. Root registers agents and steps in as the owner;
# agents reach spoold; everything in .git stays the owner's; a hook the
# owner wrote runs.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root to create Unix users and groups"
	exit 0
fi
# Root's commands here take the owner's uid, and a process that changes
# its uid is no longer dumpable: LeakSanitizer cannot stop it to look for
# leaks and fails at its exit. Under make check-sanitize, ASan and UBSan
# still check everything here; the other tests check for leaks.
if [ -n "${SPOOL_SANITIZE:-}" ]; then
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fi
G=sog$$ O=soo$$ A=soa$$ B=sob$$
users_cleanup() {
	[ -f "$SPOOL_DIR/.spool/run/daemon.pid" ] && spool daemon stop --timeout 10 >/dev/null 2>&1
	for u in $O $A $B; do userdel "$u" 2>/dev/null; done
	groupdel "$G" 2>/dev/null
	cleanup
}
trap users_cleanup EXIT
groupadd "$G" && useradd -M -U -G "$G" "$O" && useradd -M -U -G "$G" "$A" &&
	useradd -M -U -G "$G" "$B" || { echo "1..0 # SKIP cannot add users"; exit 0; }
chmod 755 "$T"
as() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --init-groups "$@"; }
git() { command git -c safe.directory='*' "$@"; }

S=$T/spool
export SPOOL_DIR=$S
spool init --shared "$G" --owner "$O" "$S" >/dev/null; ok $? "init --shared --owner"
is "$(stat -c '%U %G %a' "$S/.git")" "$O $G 2750" "the spool is the owner's"
spool agent add alice --user "$A" >/dev/null && spool agent add bob --user "$B" >/dev/null
ok $? "root binds agents to users"
is "$(stat -c '%U %G %a' "$S/claimed/alice")" "$A $O 2775" "claimed/alice: alice's, and the owner's group's"
spool add --title one >/dev/null && spool add --title two >/dev/null
printf '#!/bin/sh\ntouch %s/.spool/run/ran\n' "$S" >"$S/.spool/hooks/on-submit"
chmod 755 "$S/.spool/hooks/on-submit" && chown "$O" "$S/.spool/hooks/on-submit"

as "$O" spoold -C "$S" --detach --log-level debug; ok $? "spoold runs as the owner"
as "$A" mv "$S/ready/T-0001.json" "$S/claimed/alice/"
until_ok 15 in_head claimed/alice/T-0001.json; ok $? "it records alice's claim"
fails 0 "alice submits through spoold" -- as "$A" spool submit T-0001
until_ok 15 test -e "$S/.spool/run/ran"; ok $? "a hook the owner wrote runs"
fails 0 "bob claims through spoold" -- as "$B" spool claim
is "$(state_of T-0002)" "claimed/bob" "into his claimed/"
fails 0 "root approves directly, as the owner" -- spool approve T-0001
is "$(git -C "$S" log -1 --format=%an)" "root" "recorded as root"
as "$A" mv "$S/claimed/bob/T-0002.json" "$S/review/" 2>/dev/null
ok $((!$?)) "alice cannot submit bob's task"
spool daemon stop --timeout 10 >/dev/null
is "$(find "$S/.git" ! -user "$O" | wc -l)" 0 "everything in .git is the owner's"
spool verify >/dev/null; ok $? "spool verify accepts the history"
grep -q "error" "$S/.spool/run/spoold.log"; ok $((!$?)) "spoold logged no error"
done_testing
