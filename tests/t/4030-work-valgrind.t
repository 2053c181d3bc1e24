#!/usr/bin/env bash
# spool work under valgrind over the ways a task ends (exit 0 with more
# output than the cap, a timeout with SIGKILL, a failing exit to the last
# attempt): no memory errors, no leaks. (A stop by SIGTERM is left out:
# valgrind does not deliver a blocked signal to a signalfd.)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

if ! command -v valgrind >/dev/null; then
	echo "1..0 # SKIP valgrind is not installed"; exit 0
fi
new_spool || exit 1
cd "$T" || exit 1
spool agent add dev >/dev/null
spool add --title chatty >/dev/null                              # T-0001
spool add --file - >/dev/null <<<'{"title": "slow", "max_attempts": 1}'     # T-0002
spool add --file - >/dev/null <<<'{"title": "broken", "max_attempts": 1}'   # T-0003
vg() {
	valgrind --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite,indirect \
		--show-leak-kinds=definite,indirect --trace-children=no \
		--log-file="$T/vg.%p.log" "$@"
}
vg spool work --agent dev --no-wait --timeout 2 --grace 100ms --log-max 1K -- \
	sh -c 'case $SPOOL_TASK in T-0001) seq 1 5000;; T-0002) trap "" TERM; sleep 100;; *) exit 2;; esac' \
	>out 2>err
is $? 0 "three tasks run under valgrind"
is "$(state_of T-0001)" review "exit 0: submitted"
is "$(state_of T-0002)" failed "timed out on the last attempt: failed"
is "$(state_of T-0003)" failed "exit 2 on the last attempt: failed"

cat "$T"/vg.*.log >vg.all
grep -q "ERROR SUMMARY: 0 errors" vg.all; ok $? "valgrind watched the runner"
grep -q "ERROR SUMMARY: [1-9]" vg.all; is $? 1 "no memory errors"
grep -qE "(definitely|indirectly) lost: [1-9]" vg.all; is $? 1 "no leaks"
grep -E "ERROR SUMMARY: [1-9]|lost: [1-9]" -A12 vg.all | head -40 | sed 's/^/# /'
done_testing
