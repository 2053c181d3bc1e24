#!/bin/bash
# spool verify walks the whole history: a transition its actor could not
# make, an author that is not the actor, an unsigned or badly signed
# commit once signing is on, files that are not HEAD's: each is found and
# the first bad commit named.
. "$(dirname "$0")/../lib.sh"

new_spool || exit 1
spool agent add dev >/dev/null && spool agent add rev --roles reviewer >/dev/null
for i in 1 2 3; do spool add --title "t$i" >/dev/null; done
spool claim --agent dev >/dev/null && spool submit T-0001 --agent dev >/dev/null &&
	spool approve T-0001 --agent rev >/dev/null
mv "$S/ready/T-0002.json" "$S/claimed/dev/" && spool reconcile >/dev/null
mv "$S/ready/T-0003.json" "$S/done/" && spool reconcile >/dev/null   # reverted
spool cancel T-0003 >/dev/null
spool verify >"$T/out"; ok $? "a history made by the spool verifies"
grep -q "^[0-9]* commits, [0-9]* transitions, 0 signed" "$T/out"; ok $? "and says what it walked"
is "$(spool verify --json | jq -r .ok)" "true" "--json says ok"

good=$(git -C "$S" rev-parse HEAD)
# A commit by hand that claims a worker approved: a move its actor could
# not make.
msg="approve T-0002 by dev

Spool-Task: T-0002
Spool-From: review
Spool-To: done
Spool-Agent: dev
Spool-Verb: approve
Spool-Attempt: 1"
forge() { git -C "$S" -c user.name="$1" -c user.email=x@y commit -q --allow-empty -m "$2"; }
forge dev "$msg"
bad=$(git -C "$S" rev-parse HEAD)
fails 1 "a transition its actor could not make is found" -- spool verify
grep -q "commit $bad: 'dev' may not approve 'T-0002'" "$T/.err"; ok $? "naming the commit and why"
is "$(spool verify --json | jq -r .commit)" "$bad" "--json names it too"
git -C "$S" reset -q --hard "$good"

# The same transition under another author: amend --author.
git -C "$S" -c user.name=m -c user.email=m@x commit -q --amend --allow-empty --no-edit --author="mallory <m@x>"
fails 1 "an author that is not the actor is found" -- spool verify
grep -q "its author 'mallory' is not the actor" "$T/.err"; ok $? "and said"
git -C "$S" reset -q --hard "$good"

# Files that are not HEAD's.
echo '{"title":"changed"}' >"$S/done/T-0001.json"
fails 1 "a task file that differs from HEAD is found" -- spool verify
grep -q "'done/T-0001.json' differs from HEAD's" "$T/.err"; ok $? "and named"
git -C "$S" checkout -q -- done/T-0001.json
spool verify >/dev/null; ok $? "put back, it verifies again"

# Signatures, once signing is on.
if command -v ssh-keygen >/dev/null; then
	ssh-keygen -q -t ed25519 -N '' -C spool -f "$T/key"
	jq --arg k "$T/key" '.signing = {key: $k}' "$S/.spool/config.json" >"$T/c" &&
		cp "$T/c" "$S/.spool/config.json"
	spool add --title signed >/dev/null && spool add --title signed2 >/dev/null
	spool verify >"$T/out"; ok $? "signed commits verify"
	grep -q ", 2 signed" "$T/out"; ok $? "and are counted"
	forge spool "a commit by hand"
	fails 1 "an unsigned commit after signed ones is found" -- spool verify
	grep -q "not signed" "$T/.err"; ok $? "and said"
	git -C "$S" reset -q --hard HEAD^
	cp "$T/c" "$S/.spool/config.json"	# the reset put back HEAD's
	ssh-keygen -q -t ed25519 -N '' -C other -f "$T/other"
	SPOOL_SIGNING_KEY=$T/other spool add --title other >/dev/null
	fails 1 "a commit signed by another key is found" -- spool verify
	grep -q "not the spool key.s" "$T/.err"; ok $? "and said"
else
	echo "ok $((_n += 1)) # SKIP no ssh-keygen"
fi
done_testing
