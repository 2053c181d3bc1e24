#!/usr/bin/env bash
# Without the daemon an agent may claim and submit before anything looks:
# the spool sees ready -> review and must tell who claimed it.
. "$(dirname "$0")/../lib.sh"
new_spool
cd "$S" || exit 1
spool agent add ann >/dev/null
spool agent add bob >/dev/null
spool add --title one >/dev/null
spool add --title two >/dev/null
spool add --title three >/dev/null

# ann claims and submits with two mv; only her claimed/ dir changed.
mv ready/T-0001.json claimed/ann/ && mv claimed/ann/T-0001.json review/
spool reconcile >/dev/null; ok $? "reconcile runs"
is "$(state_of T-0001)" review "the submission stands"
is "$(git log -1 --format='%an|%s')" "ann|claim+submit T-0001 by ann" \
	"recorded as claim and submit by ann, in one commit"
is "$(git log -1 --format=%B | grep -c '^Spool-Task: T-0001$')" 2 \
	"both steps have their trailers"
is "$(jq -r .submitted_by review/T-0001.json)" ann "submitted_by is ann"

# Both agents' dirs changed since the last commit: nobody can tell who.
mv ready/T-0002.json claimed/ann/ && mv claimed/ann/T-0002.json review/
mv ready/T-0003.json claimed/bob/
spool reconcile >/dev/null
is "$(state_of T-0002)" ready "ambiguous claim+submit is undone"
git log --format=%B -n 3 | grep -q 'violation: .*T-0002'; ok $? \
	"and recorded as a violation"
is "$(state_of T-0003)" claimed/bob "bob's own claim is recorded"
fsck_clean; ok $? "git fsck is clean"
done_testing
