#!/bin/sh
# The reviewer: reads what is in review/, rejects the first draft with
# feedback, approves the rest. It uses the spool CLI, as an operator would.
set -u
ME=$1
say() { printf '  [%s] %s\n' "$ME" "$*"; }

while [ ! -e .demo-stop ]; do
	for f in review/*.json; do
		[ -e "$f" ] || continue
		id=$(basename "$f" .json)
		if grep -q '"title": "Draft' "$f" && ! grep -q '"feedback"' "$f"
		then
			SPOOL_AGENT=$ME spool reject "$id" --feedback \
				"add a concrete example to the second section" \
				>/dev/null && say "rejected $id with feedback"
		else
			SPOOL_AGENT=$ME spool approve "$id" >/dev/null &&
				say "approved $id"
		fi
	done
	inotifywait -qq -t 2 -e moved_to -e create review/ 2>/dev/null
done
