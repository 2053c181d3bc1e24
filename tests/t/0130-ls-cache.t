#!/usr/bin/env bash
# spool ls reads each task file once and keeps what it shows in a cache:
# the listing must follow every change all the same.
. "$(dirname "$0")/../lib.sh"
new_spool
cd "$S" || exit 1
spool agent add ann >/dev/null
spool add --title "first title" >/dev/null
spool add --title "other" --priority high >/dev/null
row() { spool ls | awk -v id="$1" '$1 == id'; }
[[ "$(row T-0001)" == *"ready"*"normal"*"first title" ]]; ok $? "listed"
[ -s .spool/run/summary.cache ]; ok $? "the cache is written"
mv ready/T-0001.json claimed/ann/
[[ "$(row T-0001)" == *"claimed/ann"*"first title" ]]; ok $? "a move shows its new state"
jq '.title = "second title"' claimed/ann/T-0001.json >tmp/x && mv tmp/x claimed/ann/T-0001.json
[[ "$(row T-0001)" == *"second title" ]]; ok $? "a rewritten file shows its new title"
# an in-place edit keeping the size: the mtime still tells
sed -i 's/second title/SECOND TITLE/' claimed/ann/T-0001.json
[[ "$(row T-0001)" == *"SECOND TITLE" ]]; ok $? "an edit in place shows too"
is "$(spool ls --state ready | wc -l)" 1 "--state lists one"
[[ "$(row T-0002)" == *"high"*"other" ]]; ok $? "a partial listing did not drop the rest"
rm .spool/run/summary.cache
[[ "$(row T-0002)" == *"high"*"other" ]]; ok $? "works without the cache"
printf 'SPSUM1\ngarbage line\n1 2\n' >.spool/run/summary.cache
[[ "$(row T-0002)" == *"high"*"other" ]]; ok $? "a damaged cache is ignored"
is "$(spool ls --module nope | wc -l)" 0 "module filter"
# files that cannot be read say so, the same on every listing
echo '{ not json' >ready/T-0098.json
echo '{ not json' >quarantine/T-0099.json
for run in first second; do
	is "$(row T-0098)" "T-0098     ready              ?       (unreadable: run 'spool reconcile')" \
		"an unreadable file ($run listing)"
	is "$(row T-0099)" "T-0099     quarantine         -       (refused: see quarantine/T-0099.json.reason)" \
		"a quarantined file ($run listing)"
done
done_testing
