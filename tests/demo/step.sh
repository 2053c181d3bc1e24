#!/bin/sh
# One step of the pipeline as a command under 'spool work': the runner
# has claimed the task, and hands it over in the environment. Writing the
# deliverable and exiting 0 is all there is to do; the runner submits.
set -eu
field() { sed -n "s/^ *\"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$2" | head -n 1; }
title=$(field title "$SPOOL_TASK_FILE")
out=$SPOOL_DELIVERABLES/$(echo "$title" | tr 'A-Z ' 'a-z-' | tr -cd 'a-z0-9-').md
echo "$SPOOL_AGENT: working $SPOOL_TASK ($title) in $PWD"
# The editor needs a decision first: it asks, and comes back with it.
if [ "$title" = "Edit the draft" ] && ! grep -q '"answer to ' "$SPOOL_TASK_FILE"; then
	q=$(spool ask "$SPOOL_TASK" --question "Which tone: formal or casual?")
	echo "$SPOOL_AGENT: asked $q; the task waits in blocked/ for the answer"
	exit 0
fi
{
	echo "# $title"
	echo
	echo "Written by $SPOOL_AGENT under spool work, attempt $(field attempt "$SPOOL_TASK_FILE")."
	# A rejected or answered task comes back with feedback: act on it.
	if grep -q '"feedback"' "$SPOOL_TASK_FILE"; then
		echo
		echo "Revised after review: $(grep '"text"' "$SPOOL_TASK_FILE" | tail -n 1 |
			sed 's/.*"text": "\(.*\)".*/\1/')"
	fi
	for dep in $(grep -o '"T-[0-9]*"' "$SPOOL_TASK_FILE" | tr -d '"'); do
		[ "$dep" = "$SPOOL_TASK" ] && continue
		[ -d "$SPOOL_DIR/deliverables/$dep" ] && echo "Builds on $dep."
	done
} >"$out"
echo "$SPOOL_AGENT: wrote $out"
