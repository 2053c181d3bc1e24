#!/bin/bash
# The race of 3200 with spoold killed -9 several times in the middle and
# started again. Events are lost with it: what it did not see it judges
# from the files, which are the truth. Nothing is lost, doubled or
# reverted; a claim nobody saw may be recorded as unattributed, never
# sent back to ready/ for another agent to redo.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

N=${KILL_TASKS:-400} A=4
new_spool
for i in $(seq $A); do spool agent add "a$i" >/dev/null; done
make_tasks "$N"
spool reconcile >/dev/null; ok $? "$N tasks in ready/"
start_daemon || exit 1
cd "$S" || exit 1

# Claims go in rounds and each round waits for one more kill, so that at
# least four kills land while agents run however fast or slow the
# machine is (a start of spoold after a kill can take a second or more
# when loaded, and the agents could otherwise be done before the third).
Q=$((N / (A * 5) + 1))
agent() {	# as in 3200: claim, then submit at once; no sleep
	local me=$1 f files n=0 k
	while files=(ready/*.json); [ -e "${files[0]}" ]; do
		if ((n > 0 && n % Q == 0)); then
			until k=$(cat "$T/kills" 2>/dev/null); [ "${k:-0}" -ge $((n / Q)) ]; do
				sleep 0.02
			done
		fi
		f=${files[RANDOM % (${#files[@]} < 20 ? ${#files[@]} : 20)]}
		f=${f#ready/}
		if mv "ready/$f" "claimed/$me/" 2>/dev/null; then
			echo "${f%.json} $me" >>"$T/claims.$me"
			mv "claimed/$me/$f" review/
			n=$((n + 1))
		fi
	done
}
pids=""
for i in $(seq $A); do agent "a$i" & pids="$pids $!"; done
# The killer: spoold dies at random moments while the agents run.
kills=0
while kill -0 $pids 2>/dev/null; do
	sleep "0.$((RANDOM % 3 + 1))"
	pid=$(daemon_pid)
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
	echo "$kills" >"$T/kills"
	start_daemon >/dev/null 2>&1
done
wait $pids
echo "# spoold killed $kills times"
[ "$kills" -ge 3 ]; ok $? "spoold was killed -9 at least 3 times ($kills)"
spool daemon status >/dev/null 2>&1 || start_daemon
in_review() { [ "$(git ls-tree --name-only HEAD review/ | grep -c json)" = "$N" ]; }
until_ok 60 in_review; ok $? "all $N submissions recorded"
until_ok 10 tree_matches; ok $? "the tree matches HEAD"
is "$(ls review | grep -c 'json$')" "$N" "all $N tasks in review/: none lost"
is "$(git ls-tree -r --name-only HEAD | grep 'T-[0-9]*\.json$' | xargs -n1 basename | sort | uniq -d | wc -l)" 0 \
	"none doubled at HEAD"
is "$(find quarantine -type f ! -name .gitkeep | wc -l)" 0 "none quarantined"
cat "$T"/claims.* | sort >"$T/claims"
is "$(cut -d' ' -f1 "$T/claims" | uniq -d | wc -l)" 0 "no task claimed twice"
is "$(git log --format=%B | grep -c '^Spool-Verb: revert$')" 0 "no move reverted"

# Each task: a claim and a submit, by its agent or by 'unknown', never by
# another agent than the one whose mv won.
git log --reverse --format=%B | awk '
	/^Spool-Task: / { t = $2 } /^Spool-Agent: / { a = $2 }
	/^Spool-Verb: / { if ($2 != "add") s[t] = s[t] " " $2 ":" a }
	END { for (t in s) print t s[t] }' | sort >"$T/got"
join "$T/claims" "$T/got" >"$T/both"
is "$(wc -l <"$T/both")" "$N" "every task has its history"
bad=$(awk '$3 != "claim:" $2 && $3 != "claim:unknown" { print; next }
	$4 != "submit:" $2 && $4 != "submit:unknown" { print; next }
	NF != 4 { print }' "$T/both")
is "$bad" "" "each task: a claim then a submit, by its agent or unattributed"
un=$(grep -c 'claim:unknown' "$T/both")
echo "# unattributed claims: $un of $N"
fsck_clean; ok $? "git fsck is clean"
stop_daemon
done_testing
