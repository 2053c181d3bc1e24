#!/bin/sh
# make demo: a blog post goes from idea to accepted deliverable, carried by
# agents that are plain shell scripts. Every step lands in git.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
export PATH="$TOP/bin:$PATH"
export SPOOL_LAYOUT="${SPOOL_LAYOUT:-$TOP/spool-layout}"
DEMO=${DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/spool-demo.XXXXXX")}
mkdir -p "$DEMO"
S=$DEMO/spool
export SPOOL_DIR=$S
unset SPOOL_AGENT

echo "== a spool in $S"
spool init "$S" >/dev/null
cd "$S"
spool agent add scout --capabilities research >/dev/null
spool agent add quill --capabilities writing >/dev/null
spool agent add judge --capabilities editing >/dev/null
spool agent add chief --roles reviewer >/dev/null
spool module add blog --description "the launch blog post" >/dev/null

echo "== the pipeline: research -> outline -> draft -> review"
r=$(spool add --module blog --title "Research the topic" --requires research \
	--deliverable "notes with five sources")
o=$(spool add --module blog --title "Outline the post" --requires writing \
	--depends-on "$r" --deliverable "an outline of four sections")
d=$(spool add --module blog --title "Draft the post" --requires writing \
	--depends-on "$o" --priority high --deliverable "a 1,000-word draft")
v=$(spool add --module blog --title "Edit the draft" --requires editing \
	--depends-on "$d" --deliverable "an edited post ready to publish")
spool ls

# spoold records the agents' raw mv moves as they happen, polices them and
# releases each step when the one before it is done.
spoold -C "$S" --log-level warn 2>"$DEMO/spoold.log" &
DAEMON=$!
for _ in $(seq 1 100); do
	spool daemon status >/dev/null 2>&1 && break; sleep 0.05
done
echo "== agents at work"
pids=""
for a in scout:research quill:writing judge:editing; do
	sh "$TOP/tests/demo/agent.sh" "${a%:*}" "${a#*:}" & pids="$pids $!"
done
sh "$TOP/tests/demo/reviewer.sh" chief & pids="$pids $!"

# Wait for the last task to be done: 'spool wait' sleeps on inotify
# (bounded, so a bug cannot hang make).
spool wait "$v" --state done --timeout 60 >/dev/null || true
touch .demo-stop			# wakes every agent's inotifywait
for p in $pids; do wait "$p" 2>/dev/null || true; done
rm -f .demo-stop
if [ -n "${DAEMON:-}" ]; then
	kill "$DAEMON" 2>/dev/null; wait "$DAEMON" 2>/dev/null
fi
spool reconcile >/dev/null

echo "== spool ls"
spool ls
echo "== git log --oneline"
git log --oneline
echo
echo "== the story of the draft: git log --format='%h %an %s' -- deliverables/$d"
git log --format='%h %an %s' -- "deliverables/$d"
[ -e "done/$v.json" ] || { echo "demo: the pipeline did not finish" >&2; exit 1; }
echo
echo "The spool is in $S; try: cd $S && git log --stat"

# Act two: the same pipeline, each worker one 'spool work' line whose
# command is a small script (tests/demo/step.sh). The runners claim,
# keep the leases, submit on exit 0 and take a rejected draft up again.
S=$DEMO/spool2
export SPOOL_DIR=$S
echo
echo "== act two: the same pipeline under spool work, in $S"
spool init "$S" >/dev/null
cd "$S"
spool agent add scout --capabilities research >/dev/null
spool agent add quill --capabilities writing >/dev/null
spool agent add judge --capabilities editing >/dev/null
spool agent add chief --roles reviewer >/dev/null
r=$(spool add --title "Research the topic" --requires research)
o=$(spool add --title "Outline the post" --requires writing --depends-on "$r")
d=$(spool add --title "Draft the post" --requires writing --depends-on "$o")
v=$(spool add --title "Edit the draft" --requires editing --depends-on "$d")
spoold -C "$S" --log-level warn 2>"$DEMO/spoold2.log" &
DAEMON=$!
for _ in $(seq 1 100); do
	spool daemon status >/dev/null 2>&1 && break; sleep 0.05
done
runners=""
for a in scout quill judge; do
	mkdir -p "$DEMO/ws/$a"
	echo "  spool work --agent $a --workspace $DEMO/ws/$a --timeout 1m -- sh tests/demo/step.sh"
	spool work --agent "$a" --workspace "$DEMO/ws/$a" --timeout 1m \
		-- sh "$TOP/tests/demo/step.sh" >"$DEMO/work-$a.out" &
	runners="$runners $!"
done
sh "$TOP/tests/demo/reviewer.sh" chief & reviewer=$!
# The editor asks the operator a question; the operator, asleep on
# inotifywait until it comes (5 s at a time, a minute at most), answers.
question() { grep -l "\"question_for\": \"$v\"" ready/*.json 2>/dev/null | head -n 1; }
i=0
while [ -z "$(question)" ] && [ $i -lt 12 ]; do
	inotifywait -qq -t 5 -e moved_to -e create ready/ 2>/dev/null
	i=$((i + 1))
done
if q=$(question) && [ -n "$q" ]; then
	q=$(basename "$q" .json)
	echo "  [operator] $q asks: $(sed -n 's/^ *"description": "\(.*\)",*$/\1/p' "ready/$q.json")"
	spool answer "$q" --text "casual, with one joke" | sed 's/^/  [operator] /'
fi
spool wait "$v" --state done --timeout 60 >/dev/null || true
# SIGTERM: each runner exits 0 (a runner at work would give its task back)
for p in $runners; do kill -TERM "$p" 2>/dev/null || true; done
for p in $runners; do wait "$p" 2>/dev/null || true; done
for a in scout quill judge; do sed "s/^/  [spool work $a] /" "$DEMO/work-$a.out"; done
touch .demo-stop
wait "$reviewer" 2>/dev/null || true
rm -f .demo-stop
kill "$DAEMON" 2>/dev/null; wait "$DAEMON" 2>/dev/null
spool reconcile >/dev/null
echo "== spool ls"
spool ls
echo "== the draft's transcript, committed with it: deliverables/$d/run.log"
sed 's/^/  /' "deliverables/$d/run.log"
[ -e "done/$v.json" ] || { echo "demo: act two did not finish" >&2; exit 1; }
echo
echo "Act two's spool is in $S"
