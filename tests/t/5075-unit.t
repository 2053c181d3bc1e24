#!/bin/bash
# The systemd unit: installed by make install with the install's paths,
# rated 4.0 or lower by systemd-analyze security; spoold tells systemd it
# is ready over $NOTIFY_SOCKET (Type=notify), and only once it watches.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

D=$T/inst
make -s -C "$TOP" install DESTDIR="$D" PREFIX=/usr >"$T/make.out" 2>&1; ok $? "make install"
U=$D/usr/lib/systemd/system/spoold@.service
[ -f "$U" ]; ok $? "installs spoold@.service"
[ -x "$D/usr/bin/spool-launch" ]; ok $? "and spool-launch"
grep -q '^ExecStart=/usr/sbin/spoold -C %f ' "$U"; ok $? "the unit runs the installed spoold on %f"
for k in Type=notify User= Group= NoNewPrivileges=yes ProtectSystem=strict \
	ReadWritePaths=%f PrivateTmp=yes ProtectHome=read-only \
	RestrictAddressFamilies=AF_UNIX UMask=0002; do
	grep -q "^$k" "$U"; ok $? "the unit sets $k"
done
if command -v systemd-analyze >/dev/null &&
	systemd-analyze security --help 2>/dev/null | grep -q -- --offline; then
	mkdir -p "$T/units" && cp "$U" "$T/units/spoold@srv-spool.service"
	(cd "$T/units" && systemd-analyze security --offline=yes --no-pager \
		spoold@srv-spool.service) >"$T/sec" 2>&1
	level=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$T/sec")
	[ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 4.0) }'
	ok $? "systemd-analyze security rates it ${level:-?}, 4.0 or lower"
else
	echo "ok $((_n += 1)) # SKIP no systemd-analyze security --offline"
fi
make -s -C "$TOP" uninstall DESTDIR="$D" PREFIX=/usr >/dev/null 2>&1
is "$(find "$D" -type f -o -type l | wc -l)" 0 "make uninstall leaves nothing behind"

# READY=1 over the notify socket, as systemd would receive it.
new_spool || exit 1
python3 - "$T/notify" >"$T/got" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
while True:
    m = s.recv(4096).decode()
    print(m, flush=True)
    if m == "STOPPING=1":
        break
PY
until_ok 15 test -S "$T/notify"; ok $? "a notify socket listens"
NOTIFY_SOCKET=$T/notify spoold -C "$S" --log-level debug 2>"$T/log" &
pid=$!
until_ok 15 grep -q "READY=1" "$T/got"; ok $? "spoold sends READY=1"
grep -q "watching $S" "$T/log"; ok $? "once it watches the spool"
kill -TERM "$pid"; wait "$pid"
until_ok 15 grep -q "STOPPING=1" "$T/got"; ok $? "and STOPPING=1 when told to stop"
wait
done_testing
