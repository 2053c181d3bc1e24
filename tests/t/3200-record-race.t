#!/bin/bash
# An exact record under a race: four shell agents each claim a task by mv
# and at once submit it, as fast as they can, while spoold runs. Every
# task ends in review/, none quarantined, none claimed twice, no legal
# move reverted, and each task's history in git is exactly its claim by
# the agent whose mv won, then its submit by the same agent.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

N=${RACE_TASKS:-600} A=4
new_spool
for i in $(seq $A); do spool agent add "a$i" >/dev/null; done
make_tasks "$N"
spool reconcile >/dev/null; ok $? "$N tasks in ready/"
start_daemon || exit 1
cd "$S" || exit 1

# agent NAME: claim one of the first tasks listed (so agents collide), then
# submit it at once; log every claim its mv won. No sleep anywhere.
agent() {
	local me=$1 f files
	while files=(ready/*.json); [ -e "${files[0]}" ]; do
		f=${files[RANDOM % (${#files[@]} < 20 ? ${#files[@]} : 20)]}
		f=${f#ready/}
		if mv "ready/$f" "claimed/$me/" 2>/dev/null; then
			echo "${f%.json} $me" >>"$T/claims.$me"
			mv "claimed/$me/$f" review/
		fi
	done
}
t0=$(date +%s%N)
for i in $(seq $A); do agent "a$i" & done
wait
echo "# $A agents, $N claims and submits: $(( ($(date +%s%N) - t0) / 1000000 )) ms"

in_review() { [ "$(git ls-tree --name-only HEAD review/ | grep -c json)" = "$N" ]; }
until_ok 60 in_review; ok $? "all $N submissions recorded"
until_ok 10 tree_matches; ok $? "the tree matches HEAD"
is "$(ls review | grep -c 'json$')" "$N" "all $N tasks in review/"
is "$(find quarantine -type f ! -name .gitkeep | wc -l)" 0 "none quarantined"
cat "$T"/claims.* | sort >"$T/claims"
is "$(wc -l <"$T/claims")" "$N" "$N claims won"
is "$(cut -d' ' -f1 "$T/claims" | uniq -d | wc -l)" 0 "no task claimed twice"
is "$(git log --format=%B | grep -c '^Spool-Verb: revert$')" 0 "no move reverted"

# Each task's transitions, oldest first: "ID VERB FROM TO AGENT".
git log --reverse --format=%B | awk '
	/^Spool-Task: / { t = $2 } /^Spool-From: / { f = $2 }
	/^Spool-To: / { to = $2 } /^Spool-Agent: / { a = $2 }
	/^Spool-Verb: / { if ($2 != "add") print t, $2, f, to, a }' |
	sort -s -k1,1 >"$T/got"
awk '{ print $1, "claim ready claimed/" $2, $2
       print $1, "submit claimed/" $2, "review", $2 }' "$T/claims" >"$T/want"
cmp -s "$T/want" "$T/got"; ok $? "each task: claim by its agent, then submit by it, nothing else"
[ $? -eq 0 ] || diff "$T/want" "$T/got" | head -n 10 | sed 's/^/# /'
is "$(git log --format=%B | grep -c '^Spool-Agent: unknown$')" 0 "every step attributed"
log_has "policed" && daemon_log | grep policed | head -n 3 | sed 's/^/# /'
! log_has "policed"; ok $? "the daemon policed nothing"
fsck_clean; ok $? "git fsck is clean"
stop_daemon
done_testing
