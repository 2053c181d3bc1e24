#!/usr/bin/env bash
# make bench: every benchmark in one run, side by side with its baseline.
# Prints the tables and writes them to docs/benchmarks.md.
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=$here/../docs/benchmarks.md
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
status=0

{
	echo "# Benchmarks"
	echo
	echo "Produced by \`make bench\` (bench/run.sh) on $(date -u +%Y-%m-%d):"
	echo "$(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo),"
	echo "$(df -T "${TMPDIR:-/tmp}" | awk 'NR == 2 { print $2 }') under ${TMPDIR:-/tmp}, kernel $(uname -r)."
	echo "Machines here are shared: compare the ratios within one run, not"
	echo "absolute times across runs."
	echo
} >"$tmp"
for b in core daemon filing hydrate operator work; do
	[ -x "$here/$b.sh" ] || continue
	echo "== bench/$b.sh" >&2
	if ! "$here/$b.sh" >>"$tmp"; then
		echo "bench: $b.sh missed a target or failed" >&2
		status=1
	fi
	echo >>"$tmp"
done
cat "$tmp"
cp "$tmp" "$out"
exit $status
