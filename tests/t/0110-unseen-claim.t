#!/usr/bin/env bash
# Without the daemon only snapshots remain: an agent may claim and submit
# (or release to another) before anything looks. The files are the truth:
# a jump that agents' moves explain is kept and recorded as those moves,
# with the agent where it can be known and as unattributed otherwise;
# only what no sequence of legal moves explains is undone.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
new_spool
cd "$S" || exit 1
spool agent add ann >/dev/null
spool agent add bob --capabilities gpu >/dev/null
for t in one two three four five six seven; do spool add --title $t >/dev/null; done
spool add --file - >/dev/null <<<'{"title": "gpu only", "requires": ["gpu"]}'   # T-0008
spool add --title short --max-attempts 1 >/dev/null                              # T-0009
verbs() { git log -1 --format=%B | sed -n 's/^Spool-Verb: //p' | tr '\n' ' '; }
agents() { git log -1 --format=%B | sed -n 's/^Spool-Agent: //p' | tr '\n' ' '; }

# ann claims and submits with two mv; only her claimed/ dir changed since
# the last commit. That proves nothing: moves made before a commit that
# did not record them leave no such trace, while another agent's dir may
# change after it. Either could have claimed it: unattributed, not guessed.
mv ready/T-0001.json claimed/ann/ && mv claimed/ann/T-0001.json review/
spool reconcile >/dev/null; ok $? "reconcile runs"
is "$(state_of T-0001)" review "the submission stands"
is "$(git log -1 --format='%an|%s')" "unknown|claim+submit T-0001 by unknown" \
	"recorded as claim and submit, in one commit, by nobody named"
is "$(git log -1 --format=%B | grep -c '^Spool-Task: T-0001$')" 2 \
	"both steps have their trailers"
is "$(jq -r .submitted_by review/T-0001.json)" unknown "submitted_by says unknown"

# Both agents' dirs changed since the last commit: nobody can tell who.
mv ready/T-0002.json claimed/ann/ && mv claimed/ann/T-0002.json review/
mv ready/T-0003.json claimed/bob/
spool reconcile >"$T/out"; ok $? "reconcile runs"
grep -q "reverted 0" "$T/out"; ok $? "nothing is reverted"
is "$(state_of T-0002)" review "an ambiguous claim+submit is kept in review"
is "$(head_state T-0002)" review "and recorded there"
is "$(git log --format=%B -n 3 | grep -c '^Spool-Task: T-0002$')" 2 \
	"as two steps"
git log --format=%B -n 3 | grep -q '^Spool-To: claimed/unknown$'; ok $? \
	"the claim is recorded to claimed/unknown"
git log --format=%B -n 3 | grep -q '^Spool-Note: claim not seen; claimer unknown$'
ok $? "the note says the claimer is unknown"
is "$(jq -r .submitted_by review/T-0002.json)" unknown "submitted_by says unknown"
spool show T-0002 >"$T/show"; ok $? "spool show runs"
grep -q "^unattributed: claim ready -> claimed/unknown .*claimer unknown" "$T/show"
ok $? "spool show says the claim is unattributed"
is "$(spool show T-0002 --json | jq '.unattributed | length')" 2 \
	"spool show --json lists both unattributed steps"
is "$(state_of T-0003)" claimed/bob "bob's own claim is recorded"
[ ! -e claimed/unknown ]; ok $? "no claimed/unknown directory on disk"

# Both dirs changed, but only bob has the capability: bob claimed it.
mv ready/T-0008.json claimed/bob/ && mv claimed/bob/T-0008.json review/
mv ready/T-0004.json claimed/ann/
spool reconcile >/dev/null
is "$(state_of T-0008)" review "a claim only one agent could make is kept"
is "$(git log --format=%an -1 --grep='Spool-Task: T-0008')" bob \
	"and attributed to the only agent able to make it"
spool show T-0008 --json | jq -e 'has("unattributed") | not' >/dev/null
ok $? "an attributed task has no such list"

# claimed/ann -> claimed/bob: ann released it, bob claimed it.
mv claimed/ann/T-0004.json claimed/bob/
spool reconcile >"$T/out"
grep -q "reverted 0" "$T/out"; ok $? "claimed/ann -> claimed/bob: nothing reverted"
is "$(state_of T-0004)" claimed/bob "it stays with bob"
is "$(verbs)" "release claim " "recorded as a release and a claim"
is "$(agents)" "ann bob " "by ann, then bob"
is "$(jq .attempt claimed/bob/T-0004.json)" 2 "the release spent an attempt"

# The same on the last attempt: a release would have ended in failed/.
mv ready/T-0009.json claimed/ann/ && spool reconcile >/dev/null
mv claimed/ann/T-0009.json claimed/bob/
spool reconcile >"$T/out"
is "$(state_of T-0009)" claimed/ann "no legal sequence explains it: back to ann"
is "$(verbs)" "revert " "recorded as a revert"

# ready -> failed: a claim, then a give-up by mv, which is a command's.
mv ready/T-0005.json claimed/ann/ && mv claimed/ann/T-0005.json failed/
spool reconcile >/dev/null
is "$(state_of T-0005)" ready "ready -> failed is undone: no agent fails a task by mv"
is "$(verbs)" "revert " "recorded as a revert"

# ready -> done: no agent's moves lead there.
mv ready/T-0006.json done/
spool reconcile >"$T/out"
is "$(state_of T-0006)" ready "ready -> done is undone"
grep -q "reverted 1" "$T/out"; ok $? "and counted as reverted"

# ann's claim is recorded, then her task lands in review/ unseen: she
# submitted it, or released it and another agent claimed and submitted
# it. Credited to her, as the holder, and the note says it was not seen.
mv ready/T-0007.json claimed/ann/
spool reconcile >/dev/null
mv claimed/ann/T-0007.json review/
spool reconcile >/dev/null; ok $? "reconcile runs"
is "$(git log -1 --format='%an|%s')" "ann|submit T-0007 by ann (claimed/ann -> review)" \
	"an unseen submit is credited to the holder"
is "$(trailer Note)" "submit not seen; credited to the agent that held it" \
	"and its note says it was not seen"
spool show T-0007 >"$T/show"
grep -q "^not seen: submit claimed/ann -> review .*credited to the agent that held it" "$T/show"
ok $? "spool show tells the reviewer the submit was not seen"
is "$(spool show T-0007 --json | jq -r '.unattributed[0].agent')" ann \
	"spool show --json lists it, with the agent credited"

fails 1 "the name 'unknown' cannot be registered" -- spool agent add unknown
grep -q "reserved" "$T/.err"; ok $? "it says the name is reserved"
fsck_clean; ok $? "git fsck is clean"
tree_matches_head; ok $? "disk matches HEAD"
done_testing
