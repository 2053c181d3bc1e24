#!/bin/bash
# spoold records every step of a task's moves in the order they were made,
# however little time lies between them: a single fast agent (with a
# second one registered, so a claim cannot be guessed), a release and a
# claim by another agent, a round trip, an illegal step in the middle.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

N=${SEQ_TASKS:-300}
new_spool
spool agent add a1 >/dev/null
spool agent add a2 >/dev/null
make_tasks "$N"
spool reconcile >/dev/null; ok $? "$N tasks in ready/"
start_daemon || exit 1
cd "$S" || exit 1

# history ID...: each task's transitions, oldest first, "ID VERB FROM TO AGENT"
history() {
	git log --reverse --format=%B | awk '
		/^Spool-Task: / { t = $2 } /^Spool-From: / { f = $2 }
		/^Spool-To: / { to = $2 } /^Spool-Agent: / { a = $2 }
		/^Spool-Verb: / { if ($2 != "add") print t, $2, f, to, a }' |
		sort -s -k1,1
}
recorded() {	# recorded DIR COUNT: HEAD has COUNT tasks in DIR
	[ "$(git ls-tree -r --name-only HEAD "$1/" | grep -c json)" = "$2" ]
}
reverts() { git log --format=%B | grep -c '^Spool-Verb: revert$'; }

# ---- one fast agent, a second registered --------------------------------
for f in $(ls ready | head -n 150); do
	mv "ready/$f" claimed/a1/ && mv "claimed/a1/$f" review/
done
until_ok 30 recorded review 150; ok $? "a single fast agent: 150 submissions recorded"
history | grep -v ' a1$' | head -n 3 | sed 's/^/# /'
is "$(history | grep -c ' claim ready claimed/a1 a1$')" 150 "every claim recorded as a1's"
is "$(history | grep -c ' submit claimed/a1 review a1$')" 150 "every submit recorded as a1's"
is "$(history | wc -l)" 300 "and nothing else"
is "$(reverts)" 0 "nothing reverted"

# ---- a release by a1 and a claim by a2, then a2's submit ------------------
for f in $(ls ready | head -n 40); do
	mv "ready/$f" claimed/a1/ && mv "claimed/a1/$f" ready/ &&
		mv "ready/$f" claimed/a2/ && mv "claimed/a2/$f" review/
	echo "${f%.json}" >>"$T/handed"
done
until_ok 30 recorded review 190; ok $? "release and reclaim: 40 more submissions recorded"
sort "$T/handed" | while read -r id; do
	echo "$id claim ready claimed/a1 a1"
	echo "$id release claimed/a1 ready a1"
	echo "$id claim ready claimed/a2 a2"
	echo "$id submit claimed/a2 review a2"
done >"$T/want"
history | grep -F -f "$T/handed" >"$T/got"
cmp -s "$T/want" "$T/got"; ok $? "each: claim a1, release a1, claim a2, submit a2"
[ $? -eq 0 ] || diff "$T/want" "$T/got" | head -n 10 | sed 's/^/# /'
bad=0
while read -r id; do
	[ "$(jq .attempt "review/$id.json")" = 2 ] || bad=$((bad + 1))
done <"$T/handed"
is "$bad" 0 "each release spent an attempt"
is "$(reverts)" 0 "nothing reverted"

# ---- a round trip: claim, release, claim again, all by a1 -----------------
for f in $(ls ready | head -n 20); do
	mv "ready/$f" claimed/a1/ && mv "claimed/a1/$f" ready/ &&
		mv "ready/$f" claimed/a1/
	echo "${f%.json}" >>"$T/trip"
done
until_ok 30 recorded claimed/a1 20; ok $? "round trips: 20 claims recorded"
until_ok 10 tree_matches
bad=0
while read -r id; do
	[ "$(history | grep "^$id " | awk '{ printf "%s ", $2 }')" = "claim release claim " ] ||
		bad=$((bad + 1))
done <"$T/trip"
is "$bad" 0 "each recorded as claim, release, claim"

# ---- an agent registered while spoold runs claims at once ---------------
# Its claimed/ directory is watched only once spoold sees it created: moves
# into it before that are lost, and the claim is judged from the files.
spool agent add a3 >/dev/null
for f in $(ls ready | head -n 20); do
	mv "ready/$f" claimed/a3/ && mv "claimed/a3/$f" review/
	echo "${f%.json}" >>"$T/late"
done
until_ok 30 recorded review 210; ok $? "a new agent: 20 submissions recorded"
bad=0
while read -r id; do
	[ "$(history | grep "^$id " | awk '{ printf "%s:%s ", $2, $5 }')" = "claim:a3 submit:a3 " ] ||
		bad=$((bad + 1))
done <"$T/late"
is "$bad" 0 "each recorded as a3's claim and submit"
is "$(reverts)" 0 "nothing reverted"

# ---- an illegal step in the middle: claim, then straight to done ---------
f=$(ls ready | head -n 1); id=${f%.json}
mv "ready/$f" claimed/a2/ && mv "claimed/a2/$f" done/
until_ok 15 in_head "claimed/a2/$f"; ok $? "claim then claimed -> done: back in claimed/a2"
until_ok 10 test -f "claimed/a2/$f"; ok $? "on disk too"
is "$(history | grep "^$id " | awk '{ printf "%s ", $2 }')" "claim revert " \
	"the claim is recorded, the illegal step reverted"

until_ok 10 tree_matches; ok $? "the tree matches HEAD"
is "$(find quarantine -type f ! -name .gitkeep | wc -l)" 0 "none quarantined"
fsck_clean; ok $? "git fsck is clean"
echo "# $(daemon_log | grep -o "[0-9]* waits for a rename's second half" | tail -n 1)"
stop_daemon
done_testing
