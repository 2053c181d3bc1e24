#!/bin/sh
# Runs one test script for prove, bounded in time: a test that hangs
# fails on its own, loudly, rather than holding the whole suite until
# CI gives up on it. TEST_TIMEOUT (seconds) overrides the bound.
limit=${TEST_TIMEOUT:-600}
timeout -k 10 "$limit" bash "$@"
rc=$?
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
	echo "not ok - $1 did not finish within $limit s (TEST_TIMEOUT)"
	echo "# $1 timed out after $limit s" >&2
fi
exit "$rc"
