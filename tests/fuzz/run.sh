#!/bin/sh
# Runs each libFuzzer harness for FUZZ_SECONDS, FUZZ_JOBS at a time.
#   run.sh BUILD-DIR NAME...
# Each starts from its seed corpus (tests/fuzz/corpus/NAME, never written
# to) and grows a working corpus in BUILD-DIR/corpus/NAME. A crash, leak,
# timeout or sanitizer report fails the run: the input is kept in
# BUILD-DIR/crashes/ and the log's tail is printed.
set -u
build=$(cd "$1" && pwd) || exit 1; shift
secs=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-2}
top=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$build/crashes" "$build/logs"
rm -f "$build"/logs/*.result
sym=/usr/lib/llvm-14/bin/llvm-symbolizer
[ -x "$sym" ] && export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$sym}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
# Packs are unpacked to disk: a memory-backed scratch dir keeps it fast.
[ -d /dev/shm ] && [ -w /dev/shm ] && export TMPDIR=${FUZZ_TMPDIR:-/dev/shm}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

one() {
	name=$1
	mkdir -p "$build/corpus/$name"
	# -rss_limit_mb: an input that makes the code take that much is a
	# bug too (packs and tasks have size limits); -timeout likewise.
	"$build/tests/fuzz/fuzz-$name" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
		-artifact_prefix="$build/crashes/$name-" \
		"$build/corpus/$name" "$top/tests/fuzz/corpus/$name" \
		>"$build/logs/$name.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
		"$build/logs/$name.log")
	if [ "$rc" -eq 0 ]; then
		echo "fuzz: $name: ok, ${runs:-?} runs in $secs s"
	else
		echo "fuzz: $name: FAILED (exit $rc); log $build/logs/$name.log"
		tail -n 40 "$build/logs/$name.log" | sed "s/^/fuzz: $name: /"
		echo "fuzz: $name: replay with $build/tests/fuzz/fuzz-$name" \
			"$build/crashes/$name-*"
	fi
	return "$rc"
}

failed=0 pids="" running=0
for name in "$@"; do
	one "$name" >"$build/logs/$name.result" &
	pids="$pids $!"
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		# wait for the oldest: the harnesses take the same time
		set -- $pids; wait "$1" || failed=$((failed + 1)); shift
		pids="$*"; running=$((running - 1))
	fi
done
for p in $pids; do wait "$p" || failed=$((failed + 1)); done
cat "$build"/logs/*.result
if [ "$failed" -gt 0 ]; then
	echo "fuzz: $failed harness(es) FAILED; see above" >&2
	exit 1
fi
