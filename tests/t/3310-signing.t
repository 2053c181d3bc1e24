#!/bin/bash
# Signed history: with "signing": {"key": ...} in the config, every commit
# the spool writes (commands and spoold) is signed by ssh-keygen in the
# format git verifies, and plain git verify-commit accepts each one.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

command -v ssh-keygen >/dev/null || { echo "1..0 # SKIP no ssh-keygen"; exit 0; }
new_spool || exit 1
ssh-keygen -q -t ed25519 -N '' -C spool -f "$T/key" || exit 1
echo "spool@spool namespaces=\"git\" $(cat "$T/key.pub")" >"$T/allowed"
verify() { git -C "$S" -c gpg.format=ssh -c gpg.ssh.allowedSignersFile="$T/allowed" verify-commit "$@"; }

jq --arg k "$T/key" '.signing = {key: $k}' "$S/.spool/config.json" >"$T/c" &&
	cp "$T/c" "$S/.spool/config.json"
spool agent add dev >/dev/null; ok $? "a command commits with signing on"
first=$(git -C "$S" rev-parse HEAD)
verify HEAD 2>"$T/v"; ok $? "git verify-commit accepts its commit"
grep -q 'Good "git" signature for spool@spool' "$T/v"; ok $? "signed by the spool's key"

start_daemon || exit 1
spool add --title one >/dev/null && spool add --title two >/dev/null
mv "$S/ready/T-0001.json" "$S/claimed/dev/"
until_ok 15 in_head claimed/dev/T-0001.json; ok $? "spoold records a raw move"
spool submit T-0001 --agent dev >/dev/null; ok $? "and a command beside it"
# a function: until_ok runs it again, and each run reads the status anew
settled() { [ -z "$(git -C "$S" status --porcelain -- claimed review)" ]; }
until_ok 15 settled
stop_daemon

n=0 bad=0
for c in $(git -C "$S" rev-list "$first^..HEAD"); do
	n=$((n + 1)); verify "$c" 2>/dev/null || bad=$((bad + 1))
done
[ "$n" -ge 4 ]; ok $? "$n commits since signing was turned on"
is "$bad" 0 "every one verifies with git alone"
git -C "$S" -c gpg.format=ssh -c gpg.ssh.allowedSignersFile="$T/allowed" \
	log --show-signature -1 2>&1 | grep -q 'Good "git" signature'
ok $? "git log --show-signature shows it"

spool verify >"$T/out"; ok $? "spool verify checks them too"
grep -q ", $n signed" "$T/out"; ok $? "all $n signed"

# One not made by the spool does not verify.
git -C "$S" -c user.name=mallory -c user.email=m@x commit -q --allow-empty -m forged
verify HEAD 2>/dev/null; ok $((!$?)) "a commit made by hand does not verify"
git -C "$S" reset -q --hard HEAD^

# A key that cannot be used: nothing is written.
head=$(git -C "$S" rev-parse HEAD)
SPOOL_SIGNING_KEY=$T/nokey spool add --title three >/dev/null 2>"$T/err"
ok $((!$?)) "with a key that cannot sign, the command fails"
grep -q "cannot sign" "$T/err"; ok $? "and says so"
is "$(git -C "$S" rev-parse HEAD)" "$head" "nothing was committed"
done_testing
