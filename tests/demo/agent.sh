#!/bin/sh
# A worker agent with nothing but a shell: it picks work with 'spool next',
# claims it with mv, writes its deliverable, heartbeats with touch and
# submits with mv. It sleeps on inotifywait between tasks.
#   agent.sh NAME   (run inside the spool directory)
set -u
ME=$1
say() { printf '  [%s] %s\n' "$ME" "$*"; }

work() {	# work ID: produce the deliverable for one task
	id=$1 task=claimed/$ME/$id.json
	title=$(sed -n 's/^ *"title": "\(.*\)",*$/\1/p' "$task")
	mkdir -p "deliverables/$id"
	out=deliverables/$id/$(echo "$title" | tr 'A-Z ' 'a-z-' | tr -cd 'a-z0-9-').md
	{
		echo "# $title"
		echo
		echo "Written by $ME, attempt $(sed -n 's/^ *"attempt": \([0-9]*\).*/\1/p' "$task")."
		# A rejected task comes back with feedback: act on it.
		if grep -q '"feedback"' "$task"; then
			echo
			echo "Revised after review: $(grep '"text"' "$task" | tail -n 1 |
				sed 's/.*"text": "\(.*\)".*/\1/')"
		fi
		for dep in $(grep -o '"T-[0-9]*"' "$task" | tr -d '"'); do
			[ "$dep" = "$id" ] && continue
			[ -d "deliverables/$dep" ] && echo "Builds on $dep."
		done
	} >"$out"
	touch "$task"			# heartbeat
	mv "$task" review/ && say "submitted $id ($out)"
}

while [ ! -e .demo-stop ]; do
	# Work that came back from review first, then new work.
	for f in claimed/"$ME"/*.json; do
		[ -e "$f" ] || continue
		id=$(basename "$f" .json)
		say "reworking $id after feedback"
		work "$id"
	done
	if path=$(spool next --agent "$ME" 2>/dev/null); then
		id=$(basename "$path" .json)
		if mv "$path" "claimed/$ME/" 2>/dev/null; then
			say "claimed $id with mv"
			work "$id"
		fi
		continue
	fi
	inotifywait -qq -t 2 -e moved_to -e create ready/ "claimed/$ME/" \
		2>/dev/null
done
