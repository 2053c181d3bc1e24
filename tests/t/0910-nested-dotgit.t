#!/usr/bin/env bash
# A nested .git in a deliverable, and every name git reads as one (.GIT,
# .git., '.git ', git~1, .g<U+200C>it, a .gitmodules link): left out of
# the commit and said so (on stderr, in the commit message, in spoold's
# log), never committed. git fsck with hasDotgit an error stays clean,
# and the commands after it exit 0. Names that only look alike ('...',
# '..a', .gitx, git~2) are committed as they are. Nothing outside the
# spool changes.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
core_spool || exit 1
cd "$S" || exit 1

mkdir -p "$T/outside" && echo keep >"$T/outside/file"
outside() { (cd "$T/outside" && find . -printf '%p %s %T@\n' | sort; cat file); }
was_outside=$(outside)

spool add --title one >/dev/null
spool claim --agent dev >/dev/null
D=deliverables/T-0001
mkdir -p "$D/.git/objects" "$D/.git/hooks"
printf '[core]\n\tworktree = %s\n' "$T/outside" >"$D/.git/config"
echo 'ref: refs/heads/main' >"$D/.git/HEAD"
printf '#!/bin/sh\ntouch %s/pwned\n' "$T" >"$D/.git/hooks/post-checkout"
echo report >"$D/report.md"
# a real repository, made by git, one level down
git init -q "$D/sub" && echo x >"$D/sub/x" &&
	git -C "$D/sub" add x && git -C "$D/sub" -c user.name=a -c user.email=a@a commit -qm x

spool submit T-0001 --agent dev 2>"$T/err"; ok $? "submit with a nested .git exits 0"
grep -q "spool: submit: left 'deliverables/T-0001/.git' out of the commit: git refuses the name '.git'" "$T/err"
ok $? "and says it left the .git out" || sed 's/^/#   /' "$T/err"
grep -q "left 'deliverables/T-0001/sub/.git' out" "$T/err"; ok $? "and the one of a repository made by git"
tree=$(git ls-tree -r --name-only HEAD "$D")
is "$tree" "$D/report.md
$D/sub/x" "the commit holds the deliverable without any .git"
git log -1 --format=%B | grep -q "^ *Left out, names git refuses:$"; ok $? "the commit message says what was left out"
git log -1 --format=%B | grep -qx " *$D/.git"; ok $? "and names it"
is "$(trailer Verb)" submit "the trailers still end the message"
is "$(state_of T-0001)" review "the submission went through"
fsck_clean; ok $? "git fsck with fsck.hasDotgit=error is clean"

spool add --title two >/dev/null 2>"$T/err"; ok $? "a later add exits 0"
[ ! -s "$T/err" ]; ok $? "and says nothing" || sed 's/^/#   /' "$T/err"
spool approve T-0001 --agent rev >/dev/null 2>"$T/err"; ok $? "approve exits 0"
! grep -q "invalid path" "$T/err"; ok $? "no 'invalid path' from the git index"
is "$(git status --porcelain -- ready done | wc -l)" 0 "git status: the index matches HEAD"
fsck_clean; ok $? "git fsck clean after approve"

# ---- names git reads as .git, through spoold ---------------------------
start_daemon || exit 1
pid=$(daemon_pid)
spool claim --agent dev >/dev/null	# T-0002
D=deliverables/T-0002
mkdir -p "$D/.GIT" "$D/.git." "$D/.git " "$D/git~1" "$D/.Git/objects" \
	"$D/"$'.g\u200cit' "$D/..." "$D/..a" "$D/.gitx" "$D/git~2"
for d in .GIT .git. '.git ' git~1 .Git $'.g\u200cit' ... ..a .gitx git~2; do
	echo "$d" >"$D/$d/config"
done
echo 'ref: x' >"$D/GIT~1"
ln -s /etc/passwd "$D/.gitmodules"
ln -s ../report.md "$D/.gitignore"
echo fine >"$D/report.md"
mv claimed/dev/T-0002.json review/
until_ok 20 in_head review/T-0002.json; ok $? "spoold records the submission"
tree=$(git ls-tree -r --name-only HEAD "$D" | sed "s#^$D/##" | tr '\n' '|')
is "$tree" ".../config|..a/config|.gitignore|.gitx/config|git~2/config|report.md|" \
	"only the names git accepts are committed" # (ls-tree quotes none of them)
for d in .GIT .git. '.git ' git~1 GIT~1 .Git $'.g\u200cit' .gitmodules; do
	until_ok 10 log_has "left '$D/$d' out of the commit"
	ok $? "spoold logs that it left '$d' out"
done
git log -1 --format=%B review/T-0002.json | grep -q "^ *$D/\.GIT$"; ok $? "the commit message names them"
kill -0 "$pid"; ok $? "spoold kept running"
fsck_clean; ok $? "git fsck clean"

# a recorded file turned into a directory, and back, is recorded each time
spool reject T-0002 --agent rev --feedback again >/dev/null; ok $? "reject"
is "$(state_of T-0002)" claimed/dev "back with its agent"
rm "$D/report.md" && mkdir "$D/report.md" && echo inner >"$D/report.md/part"
mv claimed/dev/T-0002.json review/
until_ok 20 in_head "review/T-0002.json"; ok $? "resubmitted with a file turned into a directory"
until_ok 10 in_head "$D/report.md/part"; ok $? "the directory is committed in the file's place"
is "$(git cat-file -t "HEAD:$D/report.md")" tree "and the file is gone"
spool reject T-0002 --agent rev --feedback again >/dev/null; ok $? "reject"
rm -r "$D/report.md" && echo flat >"$D/report.md"
spool submit T-0002 --agent dev >/dev/null 2>&1; ok $? "resubmit with the directory a file again"
is "$(git show "HEAD:$D/report.md")" flat "the file is committed in the directory's place"
kill -0 "$pid"; ok $? "spoold kept running"
stop_daemon
fsck_clean; ok $? "git fsck clean"

[ ! -e "$T/pwned" ]; ok $? "no hook of the nested repository ran"
is "$(outside)" "$was_outside" "nothing outside the spool changed"
done_testing
