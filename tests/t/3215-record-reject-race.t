#!/bin/bash
# A reject racing the agents: a reviewer rejects tasks while shell agents
# take back, by mv and at once, whatever lands in ready/ or in their own
# claimed/ directory, and submit it again, while spoold runs. The reject
# writes its feedback and attempt before the task shows in its new place,
# so an agent never takes a task without them; every reject succeeds; no
# legal move is reverted; each step is recorded once, with its actor.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

N=${REJECT_TASKS:-120}
new_spool
spool agent add a1 >/dev/null
spool agent add rev --roles reviewer >/dev/null
make_tasks "$N"
spool reconcile >/dev/null
cd "$S" || exit 1
for f in ready/*.json; do mv "$f" claimed/a1/; done
spool reconcile >/dev/null
for f in claimed/a1/*.json; do mv "$f" review/; done
spool reconcile >/dev/null; ok $? "$N tasks submitted by a1"
spool agent add a2 >/dev/null
start_daemon || exit 1

# agent NAME: takes back whatever is in ready/ or its own claimed/ and
# submits it, with no pause, until told to stop.
agent() {
	local me=$1 f
	while [ ! -e "$T/stop" ]; do
		for f in ready/*.json claimed/"$me"/*.json; do
			case $f in
			ready/*) mv "$f" "claimed/$me/" 2>/dev/null &&
				mv "claimed/$me/${f#ready/}" review/ ;;
			claimed/*) mv "$f" review/ 2>/dev/null ;;
			esac
		done
	done
}
agent a1 & p1=$!
agent a2 & p2=$!
fails=0 i=0
for f in $(cd review && ls); do
	id=${f%.json} i=$((i + 1))
	if ((i % 2)); then to=--to-ready; else to=; fi
	spool reject "$id" --agent rev --feedback "redo $id" $to \
		>/dev/null 2>>"$T/errors" || fails=$((fails + 1))
done
back() { [ "$(ls review | grep -c 'json$')" = "$N" ]; }
until_ok 60 back; ok $? "every task is back in review/"
touch "$T/stop"; wait $p1 $p2
is "$fails" 0 "every reject succeeded"
[ -s "$T/errors" ] && head -n 3 "$T/errors" | sed 's/^/# /'
until_ok 30 tree_matches; ok $? "the tree matches HEAD"
is "$(find quarantine -type f ! -name .gitkeep | wc -l)" 0 "none quarantined"
is "$(git log --format=%B | grep -c '^Spool-Verb: revert$')" 0 "no move reverted"
is "$(git log --format=%B | grep -c '^Spool-Verb: reject$')" "$N" "$N rejects recorded"
nofb=0
for f in review/*.json; do
	id=$(basename "$f" .json)
	jq -e --arg w "redo $id" '[.feedback[]? | tostring | contains($w)] | any' \
		"$f" >/dev/null || nofb=$((nofb + 1))
done
is "$nofb" 0 "every task carries its feedback"
# After its reject, each task is submitted once more, and by whoever took it.
git log --reverse --format=%B | awk '
	/^Spool-Task: / { t = $2 } /^Spool-Agent: / { a = $2 }
	/^Spool-Verb: / { v[t] = v[t] " " $2 }
	END { for (t in v) print t v[t] }' | sort >"$T/seq"
bad=$(grep -v -E '^T-[0-9]+ add claim submit reject (claim )?submit$' "$T/seq" | wc -l)
is "$bad" 0 "each task: add, claim, submit, reject, [claim,] submit"
[ "$bad" = 0 ] || grep -v -E 'add claim submit reject (claim )?submit$' "$T/seq" | head -n 5 | sed 's/^/# /'
is "$(git log --format=%B | grep -c '^Spool-Agent: unknown$')" 0 "every step attributed"
fsck_clean; ok $? "git fsck is clean"
stop_daemon
done_testing
