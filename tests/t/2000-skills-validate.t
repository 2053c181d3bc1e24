#!/usr/bin/env bash
# spool skills validate: the Agent Skills rules, with file and line.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../hydrate-lib.sh"

R=$T/root
mkskill "$R" good-skill
spool skills validate "$R/good-skill" >"$T/out" 2>&1
ok $? "a valid skill passes"
grep -q '^1 skill valid$' "$T/out"; ok $? "and says so"

# bad NAME FRONT-MATTER-BODY: a skill dir NAME whose SKILL.md has this
# front matter.
bad() {
	mkdir -p "$R/$1"
	printf -- '---\n%b---\nbody\n' "$2" >"$R/$1/SKILL.md"
}
# expect DIR LINE PATTERN: validate fails and names file:line and the problem.
expect() {
	local dir=$1 where=$2 pat=$3
	spool skills validate "$R/$dir" >"$T/out" 2>"$T/err"
	is "$?" 1 "$dir: refused"
	grep -q -- "^$R/$dir/SKILL.md$where: .*$pat" "$T/err"
	ok $? "$dir: names $where and says '$pat'" || sed 's/^/#   /' "$T/err"
}

bad Upper 'name: Upper\ndescription: d\n'
expect Upper :2 "must be lowercase"
bad lead 'name: -lead\ndescription: d\n'
expect lead :2 "must not start with a hyphen"
bad trail 'name: trail-\ndescription: d\n'
expect trail :2 "must not end with a hyphen"
bad dbl 'name: a--b\ndescription: d\n'
expect dbl :2 "two hyphens in a row"
bad under 'name: a_b\ndescription: d\n'
expect under :2 "only a-z, 0-9 and hyphens"
long=$(printf 'a%.0s' $(seq 65))
bad "$long" "name: $long\ndescription: d\n"
expect "$long" :2 "longer than 64 characters"
bad mismatch 'description: d\nname: other\n'
expect mismatch :3 "does not match the directory name 'mismatch'"
bad noname 'description: d\n'
expect noname :1 "has no 'name'"
bad nodesc 'name: nodesc\n'
expect nodesc :1 "has no 'description'"
bad emptydesc 'name: emptydesc\ndescription: ""\n'
expect emptydesc :3 "'description' is empty"
d1025=$(printf 'd%.0s' $(seq 1025))
bad longdesc "name: longdesc\ndescription: $d1025\n"
expect longdesc :3 "1025 characters; the most is 1024"
bad listname 'name: [a, b]\ndescription: d\n'
expect listname :2 "'name' must be a string"
bad yamlerr 'name: yamlerr\ndescription: "unclosed\n'
expect yamlerr :3 "does not parse"
bad twice 'name: twice\nname: twice\ndescription: d\n'
expect twice :3 "appears twice"
bad notmap '- a\n- b\n'
expect notmap :2 "must be a mapping"

# A description of exactly 1024 characters and one of 64-char name pass.
n64=$(printf 'b%.0s' $(seq 64))
d1024=$(printf 'd%.0s' $(seq 1024))
bad "$n64" "name: $n64\ndescription: $d1024\n"
spool skills validate "$R/$n64" >/dev/null 2>&1
ok $? "64-character name and 1024-character description pass"

mkdir -p "$R/nofm"; printf '# no front matter\n' >"$R/nofm/SKILL.md"
expect nofm :1 "must start with a '---' line"
mkdir -p "$R/unclosed"; printf -- '---\nname: unclosed\n' >"$R/unclosed/SKILL.md"
expect unclosed :1 "not closed by a '---' line"
mkdir -p "$R/nofile"
expect nofile "" "no SKILL.md"
mkdir -p "$R/linked"; ln -s "$R/good-skill/SKILL.md" "$R/linked/SKILL.md"
expect linked "" "symbolic link"

# CRLF line endings and a BOM are accepted.
mkdir -p "$R/crlf"; printf '\xef\xbb\xbf---\r\nname: crlf\r\ndescription: d\r\n---\r\n' >"$R/crlf/SKILL.md"
spool skills validate "$R/crlf" >/dev/null 2>&1
ok $? "CRLF and a byte-order mark are accepted"

# A root: every skill in it; exit 1 and a count when any is invalid.
spool skills validate "$R" >"$T/out" 2>"$T/err"
is "$?" 1 "a root with invalid skills fails"
grep -q "skills: 19 of 22 skills invalid" "$T/err"; ok $? "and counts them"
spool skills validate --json "$R/Upper" "$R/good-skill" >"$T/json"
is "$(jq -r '[.valid, (.skills[0].errors[0].line), .skills[1].valid] | @tsv' "$T/json")" \
	"false	2	true" "--json: valid flags and lines"

# SKILL.md paths and several paths work; a missing path is a problem.
spool skills validate "$R/good-skill/SKILL.md" "$R/crlf" >/dev/null 2>&1
ok $? "SKILL.md paths and several paths"
fails 1 "a missing path is invalid" -- spool skills validate "$T/none"
fails 2 "an unknown subcommand is a usage error" -- spool skills frobnicate
spool skills --help | grep -q "validate"; ok $? "--help describes the subcommands"

done_testing
