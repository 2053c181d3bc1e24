#!/usr/bin/env bash
# spool ls trusts its cache only for files and directories whose stamp
# (inode, size, mtime, ctime) is unchanged, and only stamps older than a
# clock tick or two. Each change here is made against a cache it trusts
# (written after the files settled) and checked after the changes settled
# too, so only the stamps can tell.
. "$(dirname "$0")/../lib.sh"
new_spool || exit 1
cd "$S" || exit 1
spool agent add ann >/dev/null
for i in 1 2 3 4 5 6; do spool add --title "task $i" >/dev/null; done
spool cancel T-0006 >/dev/null
touch -d '2020-01-01 00:00:00' ready/T-0003.json
row() { spool ls | awk -v id="$1" '$1 == id'; }
settle() { sleep 3; }

# stamps taken just after a change are not trusted: the file is read.
# "Just after" must not depend on how fast the commands above ran (a
# loaded machine or a sanitized build takes more than the two seconds a
# stamp needs to settle): a modification time ahead of the clock is a
# stamp that cannot have settled, however long the listing waits.
touch -d '+1 hour' ready/T-0005.json
spool ls >/dev/null
sed -i 's/task 5/fake 5/' .spool/run/summary.cache
[[ "$(row T-0005)" == *"task 5" ]]; ok $? "fresh files are read, not taken from the cache"
touch -d '2020-01-01 00:00:00' ready/T-0005.json	# settles from now on

settle
[[ "$(row T-0006)" == *"cancelled"*"task 6" ]]; ok $? "listed, and cached"
before=$(stat -c '%i %s %Y' ready/T-0003.json)

# a finished task archived out of the tree (which also records and
# puts back whatever else is out of place: it goes first)
spool archive --older-than 0 >/dev/null; ok $? "archived"
# a raw mv into another state
mkdir -p claimed/ann && mv ready/T-0001.json claimed/ann/
# rewritten in place: same inode, same size, mtime set back
sed 's/task 3/TASK 3/' ready/T-0003.json >tmp/x && cat tmp/x >ready/T-0003.json
touch -d '2020-01-01 00:00:00' ready/T-0003.json
# a new file by cp, a deleted one
jq '.id = "T-0009" | .title = "copied"' ready/T-0002.json >tmp/x
cp tmp/x ready/T-0009.json
rm ready/T-0004.json
is "$(stat -c '%i %s %Y' ready/T-0003.json)" "$before" \
	"the rewrite kept inode, size and mtime"
settle

[[ "$(row T-0001)" == *"claimed/ann"*"task 1" ]]; ok $? "a raw mv shows its new state"
[[ "$(row T-0003)" == *"ready"*"TASK 3" ]]; ok $? "an in-place rewrite shows its new title"
[[ "$(row T-0009)" == *"ready"*"copied" ]]; ok $? "a copied file is listed"
is "$(row T-0004)" "" "a deleted file is gone"
is "$(row T-0006)" "" "an archived task is gone"
[[ "$(row T-0005)" == *"ready"*"normal"*"task 5" ]]; ok $? "the rest as they were"
is "$(spool ls | wc -l)" 5 "five tasks in the tree"

# changed again at once: the stamps are too fresh to be trusted
sed 's/TASK 3/Task 3/' ready/T-0003.json >tmp/x && cat tmp/x >ready/T-0003.json
touch -d '2020-01-01 00:00:00' ready/T-0003.json
[[ "$(row T-0003)" == *"Task 3" ]]; ok $? "a rewrite just after a listing shows"
sed 's/Task 3/tASK 3/' ready/T-0003.json >tmp/x && cat tmp/x >ready/T-0003.json
[[ "$(row T-0003)" == *"tASK 3" ]]; ok $? "and the next one too"

# a partial listing keeps the rest of the cache, and a full one drops
# what is no longer on disk
settle
is "$(spool ls --state claimed | wc -l)" 1 "a partial listing"
[[ "$(row T-0005)" == *"task 5" ]]; ok $? "the full listing after it"
rm -r claimed/ann
is "$(spool ls | grep -c claimed)" 0 "a removed agent directory is gone"

# settled and unchanged, a file is shown from the cache alone: a title
# changed in the cache shows, until the file's stamp changes
sed -i 's/task 5/fake 5/' .spool/run/summary.cache
[[ "$(row T-0005)" == *"fake 5" ]]; ok $? "a settled file is shown from the cache"
touch ready/T-0005.json
[[ "$(row T-0005)" == *"task 5" ]]; ok $? "and read again once touched"
done_testing
