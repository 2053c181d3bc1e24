#!/bin/bash
# One short run of spoold under valgrind: no memory errors, no leaks.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

# ASan and valgrind both replace the allocator and watch memory their own
# way: valgrind cannot run an ASan binary. make check-sanitize checks the
# same run with ASan and LeakSanitizer instead.
if [ -n "${SPOOL_SANITIZE:-}" ]; then
	echo "1..0 # SKIP spoold is built with ASan (make check-sanitize)"; exit 0
fi
if ! command -v valgrind >/dev/null; then
	echo "1..0 # SKIP valgrind is not installed"; exit 0
fi
new_spool
spool agent add bob >/dev/null
spool add --title one >/dev/null
spool add --title two >/dev/null
spool add --title three >/dev/null
printf '#!/bin/sh\necho woke $SPOOL_TASK\n' >"$S/.spool/hooks/on-claim"
chmod +x "$S/.spool/hooks/on-claim"

valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	--show-leak-kinds=definite,indirect --child-silent-after-fork=yes --trace-children=no \
	--log-file="$T/vg.log" spoold -C "$S" --log-level debug 2>"$T/spoold.log" &
vg=$!
until_ok 60 grep -q "info: watching" "$T/spoold.log"; ok $? "spoold started under valgrind"
mv "$S/ready/T-0001.json" "$S/claimed/bob/"
until_ok 30 in_head claimed/bob/T-0001.json; ok $? "a claim is recorded"
mv "$S/ready/T-0002.json" "$S/done/"
until_ok 30 eval "git -C '$S' log -1 --format=%s | grep -q '^revert T-0002'"; ok $? "an illegal move is reverted"
printf '{"title": "new"}' >"$S/tmp/n.json"; mv "$S/tmp/n.json" "$S/new/"
until_ok 30 in_head ready/T-0004.json; ok $? "a new task is filed"
echo edit >>"$S/ready/T-0003.json"
until_ok 30 eval "git -C '$S' log -1 --format=%B | grep -q 'edited in place'"; ok $? "an edit in place is undone"
until_ok 30 grep -q "hook on-claim T-0001: ok" "$T/spoold.log"; ok $? "the hook ran"
kill -HUP $vg
until_ok 30 grep -q "reloaded" "$T/spoold.log"; ok $? "config reloaded"
kill -TERM $vg
wait $vg; rc=$?
is "$rc" 0 "valgrind: no errors, no leaks (exit $rc)"
grep -q "ERROR SUMMARY: 0 errors" "$T/vg.log"; ok $? "valgrind checked the run: 0 errors"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$T/vg.log" | tail -40
done_testing
