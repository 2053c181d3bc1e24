#!/usr/bin/env bash
# Hostile and broken input is refused with a clear message or put in
# quarantine/ with a .reason, and nothing else is touched or lost: bad
# JSON, an id that does not match its file name, '/' and '..' in ids, a
# 10 MB description, a symlink or a FIFO in ready/ (no hang), a newline in
# a file name, a deleted task. git fsck is clean after every case.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
core_spool || exit 1
cd "$S" || exit 1
to() { timeout 20 "$@"; }	# a hang is a failure, not a stuck test run

# sentinels in several states; their files and history must not change
for t in one two three four; do spool add --title "sentinel $t" >/dev/null; done
spool claim --agent dev >/dev/null; spool claim --agent dev >/dev/null
spool submit T-0002 --agent dev >/dev/null
sentinels() {
	for id in T-0001 T-0002 T-0003 T-0004; do
		d=$(state_of "$id"); echo "$id $d $(sha1sum <"$d/$id.json")"
		git rev-parse "HEAD:$d/$id.json"
	done
}
before=$(sentinels)
untouched() {
	is "$(sentinels)" "$before" "$1: other tasks untouched, on disk and at HEAD"
	fsck_clean; ok $? "$1: git fsck clean"
}
# quarantined NAME PATTERN DESC: NAME in quarantine/ with a reason matching
quarantined() {
	[ -e "quarantine/$1" ] || [ -L "quarantine/$1" ]; ok $? "$3: quarantine/$1 kept"
	grep -q "$2" "quarantine/$1.reason" 2>/dev/null; ok $? "$3: the .reason says '$2'"
	git ls-tree -r --name-only HEAD quarantine/ | grep -qx "quarantine/$1.reason"
	ok $? "$3: the quarantine is committed"
}

# ---- bad JSON ------------------------------------------------------------
drop bad.json '{"title": "unterminated'
to spool reconcile >/dev/null; ok $? "reconcile with bad JSON in new/"
quarantined bad.json "not valid JSON: line 1" "bad JSON in new/"
is "$(cat quarantine/bad.json)" '{"title": "unterminated' "the bad file's content is kept as it was"
untouched "bad JSON"
head=$(head_id)
printf '{"title": ' >"$T/bad.json"
fails 1 "spool add --file with bad JSON" -- spool add --file "$T/bad.json"
grep -q "'$T/bad.json' is not valid JSON" "$T/.err"; ok $? "the error names the file"
is "$(head_id)" "$head" "nothing recorded"
printf '{"title": "x", "priority": "soon"}' >"$T/prio.json"
fails 1 "a bad field value" -- spool add --file "$T/prio.json"
grep -q "'$T/prio.json': field 'priority'" "$T/.err"; ok $? "the error names the file and the field"
printf '{"title": "x", "state": "done"}' >"$T/state.json"
fails 1 "a task that carries its state" -- spool add --file "$T/state.json"
grep -q "field 'state' is not allowed" "$T/.err"; ok $? "says the state is the directory"
untouched "bad fields"

# ---- ids with '/' or '..' --------------------------------------------------
head=$(head_id)
for bad in ../x a/b .. x/../../etc/passwd; do
	fails 1 "add --id '$bad' refused" -- spool add --title evil --id "$bad"
	grep -q "field 'id'" "$T/.err"; ok $? "add --id '$bad': the error names the field"
	fails 2 "show '$bad' refused" -- spool show "$bad"
	grep -q "not a task id" "$T/.err"; ok $? "show '$bad': says it is not a task id"
done
fails 2 "approve '../T-0002' refused" -- spool approve ../T-0002 --agent rev
is "$(head_id)" "$head" "nothing recorded for the refused ids"
[ ! -e "$T/x.json" ] && [ ! -e "$S/../x.json" ]; ok $? "nothing written outside the spool"
drop evil.json '{"title": "evil", "id": "../../escape"}'
drop evil2.json '{"title": "evil", "id": "a/b"}'
drop evil3.json '{"title": "evil", "depends_on": ["../T-0001"]}'
to spool reconcile >/dev/null; ok $? "reconcile with bad ids in files"
quarantined evil.json "field 'id'" "id '../../escape' in a file"
quarantined evil2.json "field 'id'" "id 'a/b' in a file"
quarantined evil3.json "field 'depends_on'" "'../T-0001' in depends_on"
[ ! -e "$T/escape.json" ] && [ ! -e ready/a ]; ok $? "no file written where the bad id points"
untouched "bad ids"

# ---- id not matching the file name -----------------------------------------
printf '{"title": "liar", "id": "T-0901"}\n' >ready/T-0900.json
to spool reconcile >/dev/null; ok $? "reconcile with a mismatched id in ready/"
quarantined T-0900.json "id 'T-0901' does not match the file name" "file T-0900.json with id T-0901"
is "$(state_of T-0901)" . "no T-0901 was made up"
untouched "id mismatch in ready/"
# an agent claims and rewrites the id: the claim is undone, both versions kept
mv ready/T-0003.json claimed/dev/
jq '.id = "T-0004"' claimed/dev/T-0003.json >tmp/e && cat tmp/e >claimed/dev/T-0003.json
to spool reconcile >/dev/null; ok $? "reconcile after a claim that rewrote the id"
is "$(state_of T-0003)" ready "the committed version is back in ready/"
is "$(jq -r .id ready/T-0003.json)" T-0003 "with its own id"
ls quarantine | grep -q '^T-0003.rejected.json$'; ok $? "the rewritten copy is kept in quarantine/"
git log -1 --format=%B | grep -q "violation"; ok $? "recorded as a violation"
before=$(sentinels)
untouched "id rewritten in a claim"

# ---- a 10 MB description -----------------------------------------------------
head -c 10485760 /dev/zero | tr '\0' a >"$T/big.txt"
jq -Rn --rawfile d "$T/big.txt" '{title: "big", description: $d}' >"$T/big.json"
head=$(head_id)
fails 1 "add --file with a 10 MB description" -- to spool add --file "$T/big.json"
grep -q "larger than 1048576 bytes" "$T/.err"; ok $? "refused with a size message"
fails 1 "add --file - with a 10 MB description" -- to spool add --file - <"$T/big.json"
grep -q "larger than" "$T/.err"; ok $? "refused with a size message (stdin)"
is "$(head_id)" "$head" "nothing recorded"
cp "$T/big.json" tmp/big && mv tmp/big new/big.json
to spool reconcile >/dev/null; ok $? "reconcile with a 10 MB task in new/"
quarantined big.json "too large" "10 MB task dropped in new/"
is "$(stat -c %s quarantine/big.json)" "$(stat -c %s "$T/big.json")" "kept whole"
! git cat-file -e HEAD:quarantine/big.json 2>/dev/null; ok $? "but left out of git: over the task size limit"
git cat-file -e HEAD:quarantine/big.json.reason; ok $? "its reason is committed"
cp "$T/big.json" ready/T-0950.json
to spool reconcile >/dev/null; ok $? "reconcile with a 10 MB file in ready/"
quarantined T-0950.json "too large" "10 MB file in ready/"
untouched "10 MB description"

# ---- a symlink and a FIFO in ready/ ---------------------------------------------
echo secret >"$T/secret"
ln -s "$T/secret" ready/T-0960.json
ln -s ../done/T-0004.json ready/T-0961.json
mkfifo ready/T-0962.json
to spool ls >"$T/out" 2>&1; ok $? "spool ls does not hang on a FIFO"
to spool next --agent ops >/dev/null 2>&1; is "$?" 0 "spool next does not hang and skips them"
to spool show T-0962 >/dev/null 2>&1; ok $((($? == 124))) "spool show of a FIFO does not hang"
to spool reconcile >"$T/out"; ok $? "reconcile does not hang"
for f in T-0960.json T-0961.json T-0962.json; do
	[ ! -e "ready/$f" ] && [ ! -L "ready/$f" ]; ok $? "ready/$f is gone from ready/"
	quarantined "$f" "not a task file" "$f"
done
is "$(git cat-file -p "HEAD:quarantine/T-0960.json")" "$T/secret" "the symlink is recorded as a link, not followed"
! git log -p | grep -q '^+secret$'; ok $? "the link's target never entered history"
is "$(cat "$T/secret")" secret "the link's target is untouched"
to spool claim --agent ops >/dev/null 2>&1; ok $? "claim works after the quarantine"
before=$(sentinels)
untouched "symlink and FIFO"
mkfifo new/fifo
to spool reconcile >/dev/null; ok $? "a FIFO in new/ does not hang reconcile"
[ -p quarantine/fifo ]; ok $? "it is set aside in quarantine/"
untouched "FIFO in new/"

# ---- a newline in a file name ------------------------------------------------------
nl=$'\n'
drop "a${nl}b.json" '{"title": "newline in the name, fine in new/"}'
printf '{"title": "x"}\n' >"ready/T-0970${nl}.json"
to spool reconcile >"$T/out" 2>&1; ok $? "reconcile with newlines in names"
is "$(find . -name "*${nl}*" ! -path './.git/*' | wc -l)" 0 "no name with a newline is left"
ls quarantine | grep -q '^T-0970_\.json$'; ok $? "quarantined under a safe name"
is "$(git ls-tree -r -z --name-only HEAD | tr -cd '\n' | wc -c)" 0 "no path with a newline in git"
git log --format=%s | grep -q "^file T-[0-9]* by spool (new -> ready)$"; ok $? "the task dropped in new/ under that name was filed"
untouched "newline in a name"

# ---- deleted and copied tasks are restored ---------------------------------------------
rm ready/T-0004.json 2>/dev/null || rm "$(state_of T-0004)/T-0004.json"
to spool reconcile >/dev/null; ok $? "reconcile after rm"
untouched "a deleted task is restored from git"
git log -1 --format=%B | grep -q "restore"; ok $? "the restore is recorded"
cp review/T-0002.json done/
to spool reconcile >/dev/null; ok $? "reconcile after cp instead of mv"
is "$(find . -name T-0002.json ! -path './.git/*' | wc -l)" 1 "one copy is kept"
fsck_clean; ok $? "git fsck clean"
# the tasks over the size limit are on disk only
rm quarantine/big.json quarantine/T-0950.json
tree_matches_head; ok $? "disk matches HEAD"
done_testing
