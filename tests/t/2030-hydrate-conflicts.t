#!/usr/bin/env bash
# Every conflict is refused with nothing changed anywhere, and says what
# is in the way and how to resolve it.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../hydrate-lib.sh"

cd "$T" || exit 1
mkskill root alpha; mkskill root beta; mkskill elsewhere alpha
manifest m.json '{"roots": ["root"], "global_defaults": ["alpha", "beta"]}'

# conflict NAME SETUP PATTERN: in a workspace where one target is in sync
# except for what SETUP puts there, hydrate must fail, change nothing in
# either target, and print PATTERN and a fix.
conflict() {
	local name=$1 setup=$2 pat=$3 ws=$T/ws-$1
	mkdir -p "$ws"
	spool hydrate -q --manifest m.json "$ws" || return 1
	rm "$ws/.agents/skills/beta" "$ws/.claude/skills/beta"	# work to do
	(cd "$ws/.claude/skills" && eval "$setup")
	local before; before=$(fingerprint "$ws")
	spool hydrate --manifest m.json "$ws" >"$T/out" 2>"$T/err"
	is "$?" 1 "$name: refused"
	is "$(fingerprint "$ws")" "$before" "$name: nothing changed, not even the other target"
	grep -q -- "$pat" "$T/err"; ok $? "$name: says what is in the way" || sed 's/^/#   /' "$T/err"
	grep -q "to resolve: " "$T/err"; ok $? "$name: says how to resolve it"
	grep -q "1 conflict; nothing was changed" "$T/err"; ok $? "$name: says nothing changed"
	spool hydrate --check --manifest m.json "$ws" >/dev/null 2>&1
	is "$?" 1 "$name: --check fails too"
}

conflict realdir 'rm alpha && mkdir alpha && touch alpha/mine' \
	"is a real directory, not a link made by hydrate"
conflict realfile 'rm alpha && echo mine >alpha' "is a real file, not a link made by hydrate"
conflict foreign "rm alpha && ln -s $T/elsewhere/alpha alpha" \
	"is a link to '$T/elsewhere/alpha' that hydrate did not make"
conflict dangling "rm alpha && ln -s $T/root/missing alpha" \
	"is a dangling link to '$T/root/missing' that hydrate did not make"
conflict moved "rm alpha && ln -s $T/gone/alpha alpha" \
	"is a link to '$T/gone/alpha', which is gone: it looks made by hydrate from a root that moved or was removed ('$T/gone')"
conflict relative "rm alpha && ln -s ../../../root/alpha alpha" \
	"is a link to '../../../root/alpha' that hydrate did not make"
conflict fifo 'rm alpha && mkfifo alpha' "is a real file"

# A target that is a link or a file.
mkdir -p wl/.claude real-skills; ln -s "$T/real-skills" wl/.claude/skills
before=$(fingerprint wl)
spool hydrate --manifest m.json wl >out 2>err
is "$?" 1 "a linked skills directory is refused"
grep -q "skills' is a symbolic link; a skills directory must be a real directory" err; ok $? "and says why"
is "$(fingerprint wl)" "$before" "nothing changed (not even .agents/skills created)"
is "$(ls real-skills | wc -l)" 0 "nothing written through the link"
mkdir -p wf/.agents; echo x >wf/.agents/skills
spool hydrate --manifest m.json wf >out 2>err
is "$?" 1 "a file where a target goes is refused"
grep -q "skills' is not a directory" err; ok $? "and says so"

# An invalid skill in the set is refused with the reason.
mkskill root gamma; printf -- '---\nname: Gamma\ndescription: x\n---\n' >root/gamma/SKILL.md
manifest m2.json '{"roots": ["root"], "global_defaults": ["alpha", "gamma"]}'
mkdir -p wi
spool hydrate --manifest m2.json wi >out 2>err
is "$?" 1 "an invalid skill is refused"
grep -q "conflict: skill 'gamma': $T/root/gamma/SKILL.md:2: name 'Gamma' must be lowercase" err
ok $? "with file, line and reason"
[ ! -e wi/.agents ]; ok $? "and nothing was created"

# --all: one conflicted workspace stops every workspace.
mkdir -p a1 a2/.agents/skills/beta
manifest all.json '{"roots": ["root"], "global_defaults": ["alpha", "beta"], "workspaces": {"a1": null, "a2": null}}'
spool hydrate --all --manifest all.json >out 2>err
is "$?" 1 "--all with one conflict fails"
[ ! -e a1/.agents ]; ok $? "and the clean workspace was not touched either"
spool hydrate --all --json --manifest all.json >out 2>err
is "$(jq -r '[.ok, .conflicts, .workspaces[1].conflicts[0].kind] | @tsv' out)" "false	1	directory" \
	"--json names the conflict kind"

# Unmanaged entries that are not in the set are left alone.
mkdir -p wu/.agents/skills/local-skill; ln -s /usr wu/.agents/skills/mine
spool hydrate -q --manifest m.json wu
ok $? "unmanaged entries outside the set are no conflict"
[ -d wu/.agents/skills/local-skill ] && [ "$(link_of wu/.agents/skills/mine)" = /usr ]
ok $? "and are left alone"

done_testing
