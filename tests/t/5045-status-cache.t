#!/usr/bin/env bash
# spool status keeps what it found in the tree while HEAD and every state
# directory's stamp are the same, and the oldest ready task while its own
# ctime is. Each change here is made against a cache it trusts (written
# after the directories settled) and checked after the change settled
# too, so only the stamps and HEAD can tell.
. "$(dirname "$0")/../lib.sh"
new_spool || exit 1
cd "$S" || exit 1
spool agent add dev >/dev/null
for i in 1 2 3 4; do spool add --title "t$i" >/dev/null; done
st() { spool status --json | jq -r "$1"; }
settle() { sleep 3; }

# a cache taken too close to the changes before it is not trusted
is "$(st .counts.ready)" 4 "four ready"
settle
is "$(st .counts.ready)/$(st .oldest_ready.id)" 4/T-0001 "cached, trusted from here"
[ -s .spool/run/survey.cache ]; ok $? "the cache is written"

mkdir -p claimed/dev && mv ready/T-0002.json claimed/dev/
printf '{"title":"x"}' >new/x.json
settle
is "$(st .counts.ready)/$(st .counts.claimed)" 3/1 "a raw mv moves the counts"
is "$(st .agents.dev)" 1 "and the agent's"
is "$(st .daemon.unrecorded_moves)" 1 "one move not recorded"
is "$(st .daemon.waiting_in_new)" 1 "a file waiting in new/"

# recorded by a commit: the directories are as they were, HEAD is not
rm new/x.json
settle
is "$(st .daemon.unrecorded_moves)/$(st .daemon.waiting_in_new)" 1/0 "new/ emptied"
spool reconcile >/dev/null
settle
is "$(st .daemon.unrecorded_moves)" 0 "a new HEAD: caught up"

# the oldest ready task rewritten in place: the next one is the oldest
cat ready/T-0001.json >tmp/x && cat tmp/x >ready/T-0001.json
settle
is "$(st .oldest_ready.id)" T-0003 "the oldest, rewritten, is no longer the oldest"
is "$(st .counts.ready)" 3 "ready/ as it was"

# a new agent directory
mkdir claimed/ann && mv ready/T-0004.json claimed/ann/
settle
is "$(st .agents.ann)" 1 "a new claimed/AGENT directory"

# archived tasks: counted from archive/'s indexes, again when one changed
# (the cancel records T-0004's move first: ann is no registered agent,
# so it goes back to ready/)
spool cancel T-0003 >/dev/null && spool archive --older-than 0 >/dev/null
settle
is "$(st .archived.tasks)/$(st .archived.archives)" 1/1 "an archive"
printf 'T-0099\tdone\t%s\t0\n' "$(git rev-parse HEAD)" >>archive/*.tsv
settle
is "$(st .archived.tasks)" 2 "an index changed in place"

# HEAD as git keeps it: a loose ref, packed refs, a loose ref newer
# than its packed line, a detached HEAD
head_ok() {
	is "$(st .last_commit.commit)/$(st .last_commit.subject)" \
		"$(git rev-parse HEAD)/$(git log -1 --format=%s)" "$1"
}
commit() { git -c user.name=op -c user.email=op@example.com commit -q --allow-empty -m "$1"; }
br=$(git branch --show-current)
head_ok "the last commit"
git pack-refs --all
[ ! -e ".git/refs/heads/$br" ]; ok $? "refs packed"
head_ok "the last commit from packed refs"
commit "after packing"
head_ok "a loose ref wins over its packed line"
commit "$(printf 'long%.0s' $(seq 300))"
head_ok "a subject too long to keep"
git update-ref --no-deref HEAD HEAD~1
head_ok "a detached HEAD"
git symbolic-ref HEAD "refs/heads/$br"
head_ok "on the branch again"

rm .spool/run/survey.cache
is "$(st .counts.claimed)/$(st .archived.tasks)" 1/2 "works without the cache"
printf 'garbage' >.spool/run/survey.cache
is "$(st .counts.claimed)" 1 "a damaged cache is ignored"
done_testing
