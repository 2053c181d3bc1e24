#!/usr/bin/env bash
# make install installs everything the docs call (spool, spoold,
# spool-launch, the man pages, completion, the systemd unit pointing at
# the installed spoold); spool-launch says each step once; spool init
# refuses a project's git repository unless --force.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../hydrate-lib.sh"
D=$T/inst
make -s -C "$TOP" install DESTDIR="$D" PREFIX=/opt/sp >"$T/make.out" 2>&1; ok $? "make install"
for f in bin/spool bin/spool-launch sbin/spoold; do
	[ -x "$D/opt/sp/$f" ]; ok $? "installed $f, executable"
done
for f in share/man/man1/spool.1 share/man/man1/spool-launch.1 share/man/man5/spool.5 \
	share/man/man8/spoold.8 share/bash-completion/completions/spool \
	lib/systemd/system/spoold@.service; do
	[ -f "$D/opt/sp/$f" ]; ok $? "installed $f"
done
unit=$D/opt/sp/lib/systemd/system/spoold@.service
grep -q "^ExecStart=/opt/sp/sbin/spoold -C " "$unit"; ok $? "the unit starts the installed spoold"
grep -q "/usr/local\|@SBINDIR@" "$unit"; is "$?" 1 "and names no other prefix"
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify "$unit" 2>&1 | grep -qi "unknown\|invalid"; is "$?" 1 "systemd-analyze finds no unknown key"
fi
make -s -C "$TOP" install DESTDIR="$D" PREFIX=/opt/sp UNITDIR=/etc/systemd/system >/dev/null 2>&1
[ -f "$D/etc/systemd/system/spoold@.service" ]; ok $? "UNITDIR= places the unit"
make -s -C "$TOP" uninstall DESTDIR="$D" PREFIX=/opt/sp >/dev/null 2>&1; ok $? "make uninstall"
is "$(find "$D/opt" -type f -o -type l | wc -l)" 0 "nothing left behind"

# ---- spool-launch: each step said once ------------------------------------
cd "$T" || exit 1
mkskill roots/a alpha
manifest m.json '{"roots": ["roots/a"], "global_defaults": ["alpha"]}'
mkdir ws
spool hydrate -q --manifest m.json ws
spool-launch --manifest m.json ws -- true >out 2>err; ok $? "spool-launch on a workspace in sync"
is "$(grep -c "up to date" err)" 1 "'up to date' is said once"
mkdir ws2
spool-launch --manifest m.json ws2 -- true >out 2>err; ok $? "spool-launch on a fresh workspace"
is "$(grep -c "^link " err)" 2 "each link is said once"
grep -q "up to date" err; is "$?" 1 "and no 'up to date' after the changes"
spool-launch --manifest nope.json ws -- touch started >out 2>err; is "$?" 1 "a missing manifest: refused"
[ ! -e ws/started ]; ok $? "and the runtime not started"

# ---- spool init in a project's repository ------------------------------------
mkdir proj && git -C proj init -q && echo code >proj/main.c && git -C proj add main.c &&
	git -C proj -c user.name=t -c user.email=t@t commit -qm "first"
head=$(git -C proj rev-parse HEAD)
fails 1 "init in a project's git repository is refused" -- spool init proj
grep -q "^spool: init: 'proj' is a git repository that is not a spool" "$T/.err"; ok $? "and says why"
grep -q -- "--force" "$T/.err"; ok $? "and how to insist"
is "$(git -C proj rev-parse HEAD)" "$head" "nothing committed into the project"
[ ! -e proj/.spool ]; ok $? "nothing written in it"
(cd proj && spool init . >/dev/null 2>&1); is "$?" 1 "spool init . inside it: refused too"
spool init proj/spool >/dev/null; ok $? "a directory of its own inside the project is fine"
is "$(git -C proj rev-parse HEAD)" "$head" "(still nothing in the project's history)"
spool init --force proj >/dev/null; ok $? "--force makes the repository a spool"
[ -f proj/.spool/config.json ]; ok $? "it is one now"
spool init proj >"$T/out"; ok $? "init again on that spool: no refusal"
grep -q "already a spool" "$T/out"; ok $? "it is already a spool"
done_testing
