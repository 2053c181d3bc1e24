#!/bin/sh
# A worker agent with nothing but a shell. It finds work with ls and grep,
# claims it with mv, heartbeats with touch, writes its deliverable and
# submits with mv. Between tasks it sleeps on inotifywait: no polling.
#   agent.sh NAME CAPABILITY   (run inside the spool directory)
set -u
ME=$1 CAP=$2
say() { printf '  [%s] %s\n' "$ME" "$*"; }
field() { sed -n "s/^ *\"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$2" | head -n 1; }

work() {	# work ID: produce the deliverable for one task
	id=$1 task=claimed/$ME/$id.json
	title=$(field title "$task")
	mkdir -p "deliverables/$id"
	out=deliverables/$id/$(echo "$title" | tr 'A-Z ' 'a-z-' | tr -cd 'a-z0-9-').md
	{
		echo "# $title"
		echo
		echo "Written by $ME, attempt $(field attempt "$task")."
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
	# Said before the move: once the file is in review/ the reviewer
	# may answer before this agent gets to print a word.
	say "submits $id ($out)"
	mv "$task" review/ || say "could not submit $id"
}

# A task is mine to take if it requires my capability and is not assigned
# to someone else.
mine() {
	grep -q "\"$CAP\"" "$1" || return 1
	a=$(field assignee "$1")
	[ -z "$a" ] || [ "$a" = "$ME" ]
}

fifo=tmp/.wake-$ME
rm -f "$fifo"; mkfifo "$fifo"
while [ ! -e .demo-stop ]; do
	# Watch first, then look: nothing that arrives in between is missed.
	inotifywait -e moved_to -e create ready/ "claimed/$ME/" . \
		>/dev/null 2>"$fifo" &
	watcher=$!
	while read -r line; do
		case $line in *established*) break;; esac
	done <"$fifo"
	busy=
	[ -e .demo-stop ] && busy=stop	# asked to stop before the watch began
	# Work that came back from review first, then new work.
	for f in claimed/"$ME"/*.json; do
		[ -e "$f" ] || continue
		say "reworking $(basename "$f" .json) after feedback"
		work "$(basename "$f" .json)"; busy=1
	done
	for f in ready/*.json; do
		[ -e "$f" ] && mine "$f" || continue
		id=$(basename "$f" .json)
		# Exactly one claimer wins; a loser just looks again.
		if mv "$f" "claimed/$ME/" 2>/dev/null; then
			say "claimed $id with mv"
			work "$id"; busy=1
		fi
		break
	done
	if [ -n "$busy" ]; then
		kill "$watcher" 2>/dev/null
	fi
	wait "$watcher" 2>/dev/null
done
rm -f "$fifo"
