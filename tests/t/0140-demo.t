#!/usr/bin/env bash
# make demo runs end to end: four steps done, a rejection with feedback,
# every step a commit by its agent, spoold stopped afterwards.
. "$(dirname "$0")/../lib.sh"
DEMO_DIR=$T/demo timeout 120 sh "$TOP/tests/demo/run.sh" >"$T/out" 2>&1
ok $? "the demo finishes"
S=$T/demo/spool
is "$(ls "$S/done" | grep -c json)" 4 "four tasks done"
# "AGENT VERB TASK" for every transition, from the trailers: under load
# spoold may record a claim and a submit of one task in one commit.
git -C "$S" log --format=%B | awk '
	/^Spool-Task: / { t = $2 } /^Spool-Agent: / { a = $2 }
	/^Spool-Verb: / { print a, $2, t }' >"$T/log"
grep -q '^chief reject T-0003$' "$T/log"; ok $? "the draft was rejected once"
is "$(grep -c '^quill submit T-0003$' "$T/log")" 2 "and submitted twice"
for a in scout quill judge; do
	grep -q "^$a claim T-" "$T/log"; ok $? "$a's claim by mv is in git, by $a"
done
git -C "$S" log --format='%an %s' | grep -q '^chief reject T-0003 by chief'
ok $? "the rejection's commit is by the reviewer"
git -C "$S" log --format=%B | grep -q 'Revised after review' ||
	git -C "$S" show HEAD~0:deliverables/T-0003/draft-the-post.md | grep -q 'Revised'
ok $? "the second draft answers the feedback"
grep -q "The spool is in $S" "$T/out"; ok $? "says where its spool is"
# the lines in the order things happened: a rejection before its rework,
# a submission before its review
line() { grep -n -m1 -- "$1" "$T/out" | cut -d: -f1; }
rej=$(line "\[chief\] rejects T-0003") rew=$(line "\[quill\] reworking T-0003")
[ -n "$rej" ] && [ -n "$rew" ] && [ "$rej" -lt "$rew" ]
ok $? "the rejection is printed before the rework it caused ($rej < $rew)"
sub=$(line "\[quill\] submits T-0003") app=$(line "\[chief\] rejects T-0003")
[ -n "$sub" ] && [ "$sub" -lt "$app" ]; ok $? "the submission before its review"
pgrep -f "spoold -C $S" >/dev/null; is $? 1 "spoold was stopped"
git -C "$S" fsck --no-progress >/dev/null 2>&1; ok $? "git fsck is clean"
# act two: the same pipeline run by spool work
S2=$T/demo/spool2
is "$(ls "$S2/done" | grep -c json)" 5 "act two: four steps and a question done under spool work"
is "$(jq -r .question_for "$S2/done/T-0005.json")" T-0004 "act two: the editor asked a question"
jq -e '.feedback[] | select(.text | test("^answer to T-0005 from .*: casual"))' "$S2/done/T-0004.json" >/dev/null
ok $? "act two: the operator's answer came back to the editor"
grep -q "Revised after review: answer to T-0005" "$S2/deliverables/T-0004/edit-the-draft.md"
ok $? "act two: and the edit used it"
git -C "$S2" log --format=%B | awk '
	/^Spool-Task: / { t = $2 } /^Spool-Agent: / { a = $2 }
	/^Spool-Verb: / { print a, $2, t }' >"$T/log2"
is "$(grep -c '^quill submit T-0003$' "$T/log2")" 2 "act two: the rejected draft taken up and submitted again"
git -C "$S2" cat-file -e HEAD:deliverables/T-0003/run.log; ok $? "act two: the run's transcript is committed"
grep -q "Revised after review" "$S2/deliverables/T-0003/draft-the-post.md"; ok $? "act two: the rework read the feedback"
pgrep -f "spool work --agent [a-z]* --workspace $T/demo/" >/dev/null; is $? 1 "act two: no runner left"
done_testing
