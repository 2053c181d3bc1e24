#!/usr/bin/env bash
# One shell agent of the torture test, at full speed and without sleeps:
#   agent.sh SPOOL NAME LOG STOPFILE
# It claims with mv (often the same few files as the others, so that they
# race), then at once submits or releases, or holds the task a while and
# heartbeats it with touch; it releases more often than it submits, so
# that the reviewers keep up. With nothing in ready/ it waits as agents
# do, with inotifywait. It logs each move that succeeded, one line
# each: "TIME VERB ID". A task it holds that is no longer where it left it
# was taken from it: it logs "lost ID" (nobody else moves its tasks here).
set -u
cd "$1" || exit 1
me=$2 stop=$4
exec 3>>"$3"
held=()
say() { echo "$EPOCHREALTIME $1 $2" >&3; }
# act VERB ID: submit or release a task it holds; touch first, sometimes.
act() {
	local f=$2.json
	if [ ! -e "claimed/$me/$f" ]; then say lost "$2"; return; fi
	if ((RANDOM % 4 == 0)); then
		touch -c "claimed/$me/$f" && say touch "$2"
	fi
	local to=review
	[ "$1" = release ] && to=ready
	if mv "claimed/$me/$f" "$to/" 2>/dev/null; then
		say "$1" "$2"
	else
		say lost "$2"
	fi
}
shopt -s nullglob
while [ ! -e "$stop" ]; do
	# Work on a task it holds, now and then.
	if ((${#held[@]} > 0 && RANDOM % 3 == 0)); then
		i=$((RANDOM % ${#held[@]}))
		id=${held[$i]}
		unset "held[$i]"; held=("${held[@]}")
		if ((RANDOM % 8 == 0)); then act submit "$id"
		else act release "$id"; fi
		continue
	fi
	files=(ready/*.json)
	if ((${#files[@]} == 0)); then
		inotifywait -qq -t 1 -e moved_to -e create ready/ 2>/dev/null
		continue
	fi
	if ((RANDOM % 2)); then
		f=${files[RANDOM % (${#files[@]} < 8 ? ${#files[@]} : 8)]}
	else
		f=${files[RANDOM % ${#files[@]}]}
	fi
	f=${f#ready/}
	mv "ready/$f" "claimed/$me/" 2>/dev/null || continue
	id=${f%.json}
	say claim "$id"
	case $((RANDOM % 16)) in
	0) act submit "$id";;		# claim and submit in one breath
	1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9) act release "$id";;
	*) held+=("$id");;
	esac
done
# Leave nothing half done: what it still holds goes to review.
for id in "${held[@]}"; do act submit "$id"; done
