#!/bin/bash
# Hooks run exactly once per recorded transition: for transitions made
# before spoold ever ran, across restarts, and when spoold is killed with
# -9 at random moments. Text in reasons and feedback never makes one.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

# Every hook appends one line per run: "ID VERB FROM TO".
install_hooks() {	# install_hooks LOG [SLEEP]
	local h
	for h in on-ready on-claim on-submit on-done on-fail on-cancel \
		on-block on-quarantine on-violation; do
		cat >"$S/.spool/hooks/$h" <<EOS
#!/bin/sh
echo "\$SPOOL_TASK \$SPOOL_EVENT \$SPOOL_FROM \$SPOOL_TO" >>"$1"
${2:+sleep $2}
EOS
		chmod +x "$S/.spool/hooks/$h"
	done
}
# The transitions git records that have a hook, one line each, sorted.
expected() {
	spool events | jq -r 'select(.verb == "revert" or .verb == "restore"
		or (.to != "none" and .to != "new"))
		| "\(.id) \(.verb) \(.from) \(.to)"' | sort
}
# The same lines read from git alone: every commit through
# git interpret-trailers, the groups put back together.
from_git() {
	git -C "$S" log --reverse --format=%H | while read -r c; do
		git -C "$S" log -1 --format=%B "$c" | git interpret-trailers --parse
	done | awk '
		function flush() { if (id != "" && (verb == "revert" || verb == "restore" ||
			(to != "none" && to != "new"))) print id, verb, from, to; id = "" }
		{ k = $0; sub(/: .*/, "", k); v = substr($0, length(k) + 3) }
		k == "Spool-Task" { flush(); id = v }
		k == "Spool-Verb" { verb = v } k == "Spool-From" { from = v }
		k == "Spool-To" { to = v }
		END { flush() }' | sort
}
ran() { sort "$1" 2>/dev/null; }
# until the hooks have run as many times as there are transitions
settle() {	# settle LOG SECONDS
	local want
	want=$(expected | wc -l)
	until_ok "$2" eval "[ \$(cat '$1' 2>/dev/null | wc -l) -ge $want ]"
}

# ---- before spoold ever ran ---------------------------------------------
new_spool
spool agent add dev >/dev/null
spool agent add rev --roles reviewer >/dev/null
H=$T/hooks.log
install_hooks "$H"
HOSTILE=$(printf 'x\n\nSpool-Task: T-0002\nSpool-From: claimed/dev\nSpool-To: review\nSpool-Agent: dev\nSpool-Verb: submit\nSpool-Attempt: 1')
for i in 1 2 3 4; do spool add --title "task $i" >/dev/null; done
spool claim --agent dev >/dev/null                      # T-0001
spool submit T-0001 --agent dev >/dev/null
spool reject T-0001 --agent rev --feedback "$HOSTILE" >/dev/null
spool claim --agent dev >/dev/null                      # T-0002
spool fail T-0002 --agent dev --reason "$HOSTILE" >/dev/null
spool claim --agent dev >/dev/null                      # T-0001 or T-0003
# CRLFs, a patch divider, a comment, 30,000 characters of UTF-8 and trailer lines
LONG=$(printf 'Spool-Task: T-0004\r\nSpool-To: done\r\n---\n#\n'
	perl -CO -e 'print "\x{e9}\x{1F680} " x 10000, "\nSpool-Task: T-0004\nSpool-Verb: approve\n" x 100')
spool fail "$(basename "$(ls "$S"/claimed/dev/*.json | head -1)" .json)" --agent dev \
	--reason "$LONG" >/dev/null
spool cancel T-0004 >/dev/null
mkdir -p "$S/tmp"
printf 'not json' >"$S/tmp/x" && mv "$S/tmp/x" "$S/new/$(printf 'odd\nSpool-Task: T-0003')"
spool reconcile >/dev/null
n=$(expected | wc -l)
[ "$n" -ge 12 ]; ok $? "transitions made with spool commands before spoold ran ($n)"
is "$(from_git)" "$(expected)" "git interpret-trailers and spool events read the same transitions"
is "$(spool events | jq -r 'select(.id == "T-0002") | .verb' | tr '\n' ' ')" \
	"add claim fail " "T-0002 was never submitted, whatever the reason said"
is "$(spool log T-0002 --json | jq -r '.[].verb' | tr '\n' ' ')" "add claim fail " "spool log agrees"
is "$(git -C "$S" log --grep='^Spool-Task: T-0002$' --format=%h | wc -l)" 3 \
	"git log --grep finds T-0002's three commits, not the text that names it"
[ -e "$H" ]; is $? 1 "no hook ran without spoold"

start_daemon || exit 1
settle "$H" 30; ok $? "spoold's first start runs the hooks of the past"
sleep 0.5
is "$(ran "$H")" "$(expected)" "each exactly once, the real transitions only"
grep -q '^T-0002 submit' "$H"; is $? 1 "no on-submit for T-0002"
stop_daemon
start_daemon || exit 1
sleep 1
is "$(ran "$H")" "$(expected)" "a restart runs none of them again"
spool add --title five >/dev/null
until_ok 15 grep -q '^T-0005 add' "$H"; ok $? "a new transition runs its hook"
stop_daemon
spool add --title six >/dev/null
start_daemon || exit 1
until_ok 15 grep -q '^T-0006 add' "$H"; ok $? "one made while spoold was down runs after the restart"
sleep 0.5
is "$(ran "$H")" "$(expected)" "still each exactly once"
stop_daemon

# An older daemon's journal (a bare commit id) is read: only what came
# after that commit runs.
git -C "$S" rev-parse HEAD >"$S/.spool/run/journal"
spool add --title seven >/dev/null
start_daemon || exit 1
until_ok 15 grep -q '^T-0007 add' "$H"; ok $? "a journal of the older format is read on"
sleep 0.5
is "$(ran "$H")" "$(expected)" "nothing before it runs again"
stop_daemon
# A damaged journal: the past is not run again.
printf 'garbage\n' >"$S/.spool/run/journal"
start_daemon || exit 1
sleep 1
is "$(ran "$H")" "$(expected)" "a damaged journal runs nothing of the past"
log_has "is damaged"; ok $? "and says so"
stop_daemon

# ---- more hooks waiting than the queue holds ----------------------------
# 300 tasks adopted by one commit before spoold first runs; at most 40
# hooks wait in the queue: the history is read on as it drains.
rm -rf "$S" "$H"
new_spool
spool agent add dev >/dev/null
install_hooks "$H"
jq '.hook_queue_max = 40' "$S/.spool/config.json" >"$T/c" && cp "$T/c" "$S/.spool/config.json"
make_tasks 300
spool reconcile >/dev/null
start_daemon || exit 1
settle "$H" 120; ok $? "300 hooks ran"
log_has "reading the history on once they drain"; ok $? "the queue filled up and the reading waited"
sleep 0.5
is "$(ran "$H" | wc -l)" 300 "300 lines"
is "$(ran "$H")" "$(expected)" "one per transition"
stop_daemon

# ---- kill -9 at random moments -------------------------------------------
rm -rf "$S" "$H"
new_spool
spool agent add dev >/dev/null
spool agent add ops >/dev/null
install_hooks "$H" 0.05
start_daemon || exit 1
# An agent adds, claims and submits with the CLI and with mv.
(for i in $(seq 1 60); do
	id=$(spool add --title "t$i" 2>/dev/null) || continue
	if [ $((i % 2)) = 0 ]; then
		mv "$S/ready/$id.json" "$S/claimed/dev/" 2>/dev/null &&
			mv "$S/claimed/dev/$id.json" "$S/review/" 2>/dev/null
	else
		spool claim --agent ops >/dev/null 2>&1 &&
			spool submit "$id" --agent ops >/dev/null 2>&1
	fi
done; touch "$T/agent.done") &
kills=0
while [ ! -e "$T/agent.done" ]; do
	sleep "0.$((RANDOM % 6 + 1))"
	pid=$(daemon_pid)
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
	sleep "0.0$((RANDOM % 5))"
	start_daemon >/dev/null 2>&1
done
wait
echo "# $kills kills, $(spool events | wc -l) transitions"
[ "$kills" -ge 5 ]; ok $? "spoold killed with -9 at least 5 times ($kills)"
start_daemon >/dev/null 2>&1
until_ok 30 tree_matches; ok $? "everything recorded once quiet"
settle "$H" 60; ok $? "every hook ran"
sleep 1
dups=$(ran "$H" | uniq -d | wc -l)
is "$dups" 0 "no hook ran twice"
is "$(ran "$H")" "$(expected)" "each recorded transition ran its hook exactly once"
stop_daemon
done_testing
