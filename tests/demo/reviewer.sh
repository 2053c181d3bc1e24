#!/bin/sh
# The reviewer: reads what is in review/, rejects the first draft with
# feedback, approves the rest. It uses the spool CLI, as an operator would,
# and sleeps on inotifywait between reviews.
set -u
ME=$1
say() { printf '  [%s] %s\n' "$ME" "$*"; }
fifo=tmp/.wake-$ME
rm -f "$fifo"; mkfifo "$fifo"
while [ ! -e .demo-stop ]; do
	inotifywait -e moved_to -e create review/ . >/dev/null 2>"$fifo" &
	watcher=$!
	while read -r line; do
		case $line in *established*) break;; esac
	done <"$fifo"
	busy=
	[ -e .demo-stop ] && busy=stop	# asked to stop before the watch began
	for f in review/*.json; do
		[ -e "$f" ] || continue
		id=$(basename "$f" .json) busy=1
		if grep -q '"title": "Draft' "$f" && ! grep -q '"feedback"' "$f"
		then
			# Said first: the agent sees the task back at once,
			# and its rework must not print before the cause.
			say "rejects $id with feedback"
			SPOOL_AGENT=$ME spool reject "$id" --feedback \
				"add a concrete example to the second section" \
				>/dev/null || say "could not reject $id"
		else
			say "approves $id"
			SPOOL_AGENT=$ME spool approve "$id" >/dev/null ||
				say "could not approve $id"
		fi
	done
	[ -n "$busy" ] && kill "$watcher" 2>/dev/null
	wait "$watcher" 2>/dev/null
done
rm -f "$fifo"
