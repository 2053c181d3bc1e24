#!/usr/bin/env bash
# Hydrate in a workspace that is a git repository: the links never show
# in git status (info/exclude, managed by hydrate, pruned with them); the
# conflict advice is a command that works; a moved root is recognised
# and retired_roots fixes it; --check tells drift (1) from errors (5).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../hydrate-lib.sh"

cd "$T" || exit 1
mkskill root alpha; mkskill root beta
manifest m.json '{"roots": ["root"], "global_defaults": ["alpha", "beta"]}'
mkdir ws && git -C ws init -q && echo hello >ws/README && git -C ws add README &&
	git -C ws -c user.name=t -c user.email=t@t commit -qm init; ok $? "a workspace that is a git repository"
printf '# mine\n*.log\n' >ws/.git/info/exclude

spool hydrate --manifest m.json ws >out 2>err; ok $? "hydrate it"
grep -q "^exclude $T/ws/.git/info/exclude$" out; ok $? "says it updated info/exclude"
is "$(git -C ws status --porcelain --untracked-files=all)" "" "git status shows none of the links"
grep -qx '/.claude/skills/alpha' ws/.git/info/exclude; ok $? "each link is listed, anchored"
grep -qx '\*.log' ws/.git/info/exclude; ok $? "the user's own lines are kept"
is "$(grep -c '^/' ws/.git/info/exclude)" 4 "two skills in two targets: four lines"
before=$(fingerprint ws/.git/info)
spool hydrate --manifest m.json ws >out 2>&1; ok $? "again"
grep -q "up to date" out; ok $? "a second run is up to date"
is "$(fingerprint ws/.git/info)" "$before" "and leaves info/exclude alone"
fails 0 "--check: in sync, exclude included" -- spool hydrate --check --manifest m.json ws

# pruned from the set: the link and its exclude line go
manifest m.json '{"roots": ["root"], "global_defaults": ["alpha"]}'
spool hydrate -q --manifest m.json ws; ok $? "beta dropped from the set"
grep -q beta ws/.git/info/exclude; is "$?" 1 "its lines left info/exclude"
is "$(git -C ws status --porcelain --untracked-files=all)" "" "git status still clean"
# the block lost (someone edited the file): --check sees it, hydrate restores
printf '*.log\n' >ws/.git/info/exclude
fails 1 "--check: a lost exclude block is drift" -- spool hydrate --check --manifest m.json ws
spool hydrate -q --manifest m.json ws && grep -qx '/.agents/skills/alpha' ws/.git/info/exclude
ok $? "hydrate puts it back"
# a workspace below the repository's top: paths from the top
mkdir -p ws/sub/agent && spool hydrate -q --manifest m.json ws/sub/agent
grep -qx '/sub/agent/.claude/skills/alpha' ws/.git/info/exclude; ok $? "a workspace in a subdirectory: anchored at the top"
is "$(git -C ws status --porcelain --untracked-files=all)" "" "git status clean with both"
# a worktree: the common directory's info/exclude
git -C ws worktree add -q "$T/wt" 2>/dev/null; spool hydrate -q --manifest m.json "$T/wt"
is "$(git -C "$T/wt" status --porcelain --untracked-files=all)" "" "a git worktree: links unseen too"

# ---- conflict advice that works -------------------------------------------
manifest m.json '{"roots": ["root"], "global_defaults": ["alpha", "beta"]}'
mkdir -p w2/.claude/skills/beta && echo mine >w2/.claude/skills/beta/NOTES
spool hydrate --manifest m.json w2 >out 2>err; is "$?" 1 "a real directory where a link goes"
fix=$(sed -n 's/^  to resolve: //p' err)
mvcmd=$(grep -o "mv '[^']*' '[^']*'" <<<"$fix")
[ -n "$mvcmd" ]; ok $? "the advice has a mv command ($mvcmd)"
eval "$mvcmd"; ok $? "which works as printed"
spool hydrate -q --manifest m.json w2; ok $? "then hydrate succeeds"
[ -f w2/.claude/skills/beta.local/NOTES ]; ok $? "and the user's files are kept aside"

# ---- a moved root -----------------------------------------------------------
mkdir w3 && spool hydrate -q --manifest m.json w3
mv root central
manifest m.json '{"roots": ["central"], "global_defaults": ["alpha", "beta"]}'
spool hydrate --manifest m.json w3 >out 2>err; is "$?" 1 "links into the old root are refused"
grep -q "root that moved or was removed ('$T/root')" err; ok $? "recognised as a moved root" || sed 's/^/#   /' err
grep -q "add '$T/root' to the manifest's retired_roots" err; ok $? "and retired_roots suggested"
manifest m.json "{\"roots\": [\"central\"], \"retired_roots\": [\"$T/root\"], \"global_defaults\": [\"alpha\", \"beta\"]}"
spool hydrate -q --manifest m.json w3; ok $? "with retired_roots it relinks"
is "$(link_of w3/.claude/skills/alpha)" "$T/central/alpha" "to the new root"

# ---- --check: drift 1, errors 5 -----------------------------------------------
fails 0 "--check, in sync" -- spool hydrate --check --manifest m.json w3
rm w3/.claude/skills/alpha
fails 1 "--check, drift" -- spool hydrate --check --manifest m.json w3
fails 5 "--check, a manifest that does not exist" -- spool hydrate --check --manifest nope.json w3
echo '{not json' >bad.json
fails 5 "--check, a manifest that does not parse" -- spool hydrate --check --manifest bad.json w3
fails 5 "--check, an unknown project" -- spool hydrate --check --manifest m.json --project nope w3
fails 5 "--check, a workspace that does not exist" -- spool hydrate --check --manifest m.json "$T/nothing"
fails 1 "without --check an error is 1" -- spool hydrate --manifest nope.json w3
# ---- targets may name runtimes --------------------------------------------------
manifest rt.json "{\"roots\": [\"central\"], \"global_defaults\": [\"alpha\"], \"targets\": [\"claude-code\", \"codex\", \"cursor\", \"goose\", \"./codex\"]}"
mkdir w4 && spool hydrate -q --manifest rt.json w4; ok $? "targets named by runtime"
for d in .claude/skills .agents/skills .goose/skills codex; do
	is "$(link_of "w4/$d/alpha")" "$T/central/alpha" "a link in $d"
done
is "$(find w4 -name alpha | wc -l)" 4 "codex and cursor share .agents/skills: four links, not five"
manifest bad.json '{"roots": ["central"], "global_defaults": ["alpha"], "targets": ["/abs"]}'
fails 5 "--check: a bad target is an error, not drift" -- spool hydrate --check --manifest bad.json w4
done_testing
