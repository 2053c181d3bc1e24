#!/usr/bin/env bash
# Limits, checked with fstat on the opened file before a byte is read:
# a task file over limits.task_bytes is quarantined, with the reason in
# git and not the content; a submission over file_bytes, submission_bytes
# or submission_files is refused by spool submit and, made by mv, sent
# back to its agent with the reason as feedback. Sparse files count by
# their apparent size: a 1 GB one is refused without being read, .git
# does not grow by it and spoold's memory stays small. A file that keeps
# growing while it is recorded never puts more than the limit into git.
# Each step: nothing outside the spool read or changed, spoold running,
# git fsck clean.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
core_spool || exit 1
cd "$S" || exit 1

jq '.limits = {"task_bytes": 4096, "file_bytes": 65536,
	       "submission_bytes": 131072, "submission_files": 20}' \
	.spool/config.json >"$T/c" && cp "$T/c" .spool/config.json
mkdir -p "$T/outside" && echo keep >"$T/outside/file" && chmod 600 "$T/outside/file"
outside() { (cd "$T/outside" && find . -printf '%p %s %T@\n' | sort; cat file); }
was_outside=$(outside)
gitkb() { du -sk .git | cut -f1; }
# The largest blob anywhere in the repository.
largest_blob() {
	git cat-file --batch-all-objects --batch-check='%(objecttype) %(objectsize)' |
		awk '$1 == "blob" && $2 > m { m = $2 } END { print m + 0 }'
}
peak_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status"; }
safe() {	# safe WHAT: the three checks of every step
	is "$(outside)" "$was_outside" "$1: nothing outside the spool changed"
	kill -0 "$pid"; ok $? "$1: spoold kept running"
	fsck_clean; ok $? "$1: git fsck clean"
}

start_daemon || exit 1
pid=$(daemon_pid)

# ---- task files ------------------------------------------------------------
kb=$(gitkb)
head -c 600000 /dev/urandom | base64 -w0 >"$T/blob"
jq -Rn --rawfile d "$T/blob" '{title: "big", description: $d}' >tmp/big
mv tmp/big new/big.json
until_ok 20 in_head quarantine/big.json.reason; ok $? "an 800 KB task in new/ is quarantined"
grep -q "'new/big.json' is too large (.* bytes, the limit is 4096)" quarantine/big.json.reason
ok $? "the reason says too large, and the limit" || sed 's/^/#   /' quarantine/big.json.reason
[ -s quarantine/big.json ]; ok $? "the file is kept on disk"
! in_head quarantine/big.json; ok $? "but not in git"
git log --format=%B | grep -q "quarantine/big.json: [0-9]* bytes, over the limit of 4096"
ok $? "the commit says it left it out, and why"
[ $(( $(gitkb) - kb )) -lt 300 ]; ok $? ".git grew by less than 300 KB ($(( $(gitkb) - kb )) KB)"
safe "task over the limit"

jq -n --arg d "$(head -c 5000 /dev/zero | tr '\0' x)" '{title: "5 KB", description: $d}' >"$T/5k.json"
spool add --file "$T/5k.json" 2>"$T/err"; is $? 1 "spool add --file of a 5 KB task exits 1"
grep -q "is larger than 4096 bytes (limits.task_bytes)" "$T/err"; ok $? "by the configured limit"

kb=$(gitkb)
truncate -s 1G tmp/sparse && mv tmp/sparse new/sparse.json
until_ok 20 in_head quarantine/sparse.json.reason; ok $? "a sparse 1 GB task in new/ is quarantined"
grep -q "is too large (1073741824 bytes" quarantine/sparse.json.reason; ok $? "by its apparent size"
! in_head quarantine/sparse.json; ok $? "and not committed"
[ $(( $(gitkb) - kb )) -lt 300 ]; ok $? ".git did not grow by it ($(( $(gitkb) - kb )) KB)"
[ "$(peak_kb)" -lt 100000 ]; ok $? "spoold's peak memory stays under 100 MB ($(peak_kb) KB)"
safe "sparse task"

truncate -s 1G ready/T-0900.json
until_ok 20 in_head quarantine/T-0900.json.reason; ok $? "a sparse 1 GB file in ready/ is quarantined"
! in_head quarantine/T-0900.json; ok $? "and not committed"
safe "sparse file in ready/"

# ---- submissions -----------------------------------------------------------
spool add --title work >/dev/null
id=$(spool claim --agent dev --json | jq -r .id)
D=deliverables/$id
mkdir -p "$D" && echo fine >"$D/report.md"
head -c 100000 /dev/urandom >"$D/big.bin"
spool submit "$id" --agent dev 2>"$T/err"; is $? 1 "spool submit with a 100 KB file exits 1"
grep -q "spool: submit: cannot submit '$id': 'big.bin' in '$D' is 100000 bytes, over the limit of 65536 (limits.file_bytes)" "$T/err"
ok $? "and says which file and which limit" || sed 's/^/#   /' "$T/err"
is "$(state_of "$id")" claimed/dev "the task stays with its agent"

kb=$(gitkb)
mv "claimed/dev/$id.json" review/
until_ok 20 sh -c "git log -1 --format=%B | grep -q 'Spool-Verb: reject'"
ok $? "a raw submit over the limit is sent back by spoold"
is "$(state_of "$id")" claimed/dev "back with its agent"
is "$(head_state "$id")" claimed/dev "and so recorded"
jq -r '.feedback[-1].text' "claimed/dev/$id.json" | grep -q "deliverables refused: 'big.bin' in '$D' is 100000 bytes"
ok $? "with the reason as feedback"
git log -1 --format=%B | grep -q "^Spool-Verb: submit"; ok $? "the submission is recorded too"
! git cat-file -e "HEAD:$D" 2>/dev/null; ok $? "none of the deliverables is committed"
[ $(( $(gitkb) - kb )) -lt 100 ]; ok $? ".git did not grow by the refused file"
safe "submission over file_bytes"

rm "$D/big.bin" && truncate -s 1G "$D/sparse.bin"
mv "claimed/dev/$id.json" review/
until_ok 20 sh -c "jq -r '.feedback[-1].text' claimed/dev/$id.json | grep -q sparse.bin"
ok $? "a sparse 1 GB deliverable is sent back"
! git cat-file -e "HEAD:$D/sparse.bin" 2>/dev/null; ok $? "and not committed"
[ "$(peak_kb)" -lt 100000 ]; ok $? "spoold's peak memory stays under 100 MB ($(peak_kb) KB)"
safe "sparse deliverable"

rm "$D/sparse.bin"
for i in 1 2 3; do head -c 60000 /dev/urandom >"$D/part$i"; done
spool submit "$id" --agent dev 2>"$T/err"; is $? 1 "180 KB in three files: refused"
grep -q "holds 180[0-9]* bytes, over the limit of 131072 (limits.submission_bytes)" "$T/err"
ok $? "by the submission limit" || sed 's/^/#   /' "$T/err"
rm "$D"/part*
for i in $(seq 1 30); do echo "$i" >"$D/f$i"; done
spool submit "$id" --agent dev 2>"$T/err"; is $? 1 "30 files: refused"
grep -q "holds more than 20 files (the limit, limits.submission_files)" "$T/err"
ok $? "by the file count" || sed 's/^/#   /' "$T/err"
mv "claimed/dev/$id.json" review/
until_ok 20 sh -c "jq -r '.feedback[-1].text' claimed/dev/$id.json | grep -q 'more than 20 files'"
ok $? "and sent back when made by mv"
safe "too many files"

rm "$D"/f*
spool submit "$id" --agent dev >/dev/null 2>"$T/err"; ok $? "within the limits, submit goes through"
is "$(git show "HEAD:$D/report.md")" fine "and the deliverable is committed"
spool reject "$id" --agent rev --feedback more >/dev/null; ok $? "rejected back to dev"

# ---- a file that grows while it is recorded --------------------------------
# 4 KB at a time until the submission is recorded (64 MB at most)
perl -e 'open(my $f, ">>", $ARGV[0]) or die; select $f; $| = 1;
	for (1 .. 16384) { last if -e $ARGV[1]; print "x" x 4096 }' \
	"$D/growing" "$T/stop" &
writer=$!
mv "claimed/dev/$id.json" review/
until_ok 20 sh -c "git log -1 --format=%B | grep -q 'Spool-Task: $id'"
ok $? "a submission with a file being written is recorded"
touch "$T/stop" && wait "$writer"
[ "$(largest_blob)" -le 65536 ]; ok $? "no blob in git is over the file limit ($(largest_blob) bytes)"
safe "growing file"

stop_daemon
done_testing
