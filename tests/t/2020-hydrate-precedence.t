#!/usr/bin/env bash
# Precedence across three roots, skills moving between roots, stale links,
# what skills ls shows, retired roots and the built-in root.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../hydrate-lib.sh"

cd "$T" || exit 1
# high has one; mid has one and two; low has one, two and three.
for r in high mid low; do mkskill "$r" one; done
for r in mid low; do mkskill "$r" two; done
mkskill low three
mkdir -p ws
manifest m.json '{"roots": ["high", "mid", "low"],
  "global_defaults": ["one", "two", "three"], "targets": [".agents/skills"]}'
A=ws/.agents/skills

spool hydrate -q --manifest m.json ws
ok $? "hydrate from three roots"
is "$(link_of $A/one)" "$T/high/one" "one comes from the highest root"
is "$(link_of $A/two)" "$T/mid/two" "two from the middle root"
is "$(link_of $A/three)" "$T/low/three" "three from the lowest root"

spool skills ls --manifest m.json --json >ls.json
ok $? "skills ls --json"
is "$(jq -r '.skills[] | "\(.name) \(.root) \(.shadows | join(","))"' ls.json | tr '\n' ';')" \
	"one $T/high $T/mid/one,$T/low/one;two $T/mid $T/low/two;three $T/low ;" \
	"skills ls: the root each came from and what it shadows"
spool skills ls --manifest m.json >ls.txt
grep -q "shadows $T/mid/one" ls.txt; ok $? "skills ls prints shadows"
is "$(jq -r '.roots | length' ls.json)" 3 "skills ls lists the roots"

# A skill moved to another root re-resolves; the link is replaced in place.
mv high/one high-one.away
spool hydrate --manifest m.json ws >out 2>&1
ok $? "hydrate after one left the highest root"
is "$(link_of $A/one)" "$T/mid/one" "one now comes from the middle root"
grep -q "^relink  $T/$A/one -> $T/mid/one (was $T/high/one)$" out; ok $? "relink printed"
mkskill high three
spool hydrate -q --manifest m.json ws
is "$(link_of $A/three)" "$T/high/three" "a skill added to a higher root takes over"
ls -a $A | grep -q spool-tmp; is "$?" 1 "no temporary names are left behind"

# Stale links: a skill dropped from the set is unlinked, others kept.
manifest m.json '{"roots": ["high", "mid", "low"], "global_defaults": ["one"],
  "targets": [".agents/skills"]}'
spool hydrate --manifest m.json ws >out 2>&1
ok $? "hydrate after dropping two skills"
is "$(ls $A | tr '\n' ' ')" "one " "their links are removed"
grep -c '^unlink' out | grep -qx 2; ok $? "two unlinks printed"

# Links hydrate made into a root that is now gone from the manifest
# belong to it only while that root is listed in retired_roots.
manifest m.json '{"roots": ["high", "low"], "global_defaults": ["one"],
  "targets": [".agents/skills"]}'
spool hydrate --manifest m.json ws >out 2>err
is "$?" 1 "a link into an unlisted root is not hydrate's"
is "$(link_of $A/one)" "$T/mid/one" "and is left alone"
manifest m.json '{"roots": ["high", "low"], "retired_roots": ["mid"],
  "global_defaults": ["one"], "targets": [".agents/skills"]}'
spool hydrate -q --manifest m.json ws
ok $? "with the old root in retired_roots"
is "$(link_of $A/one)" "$T/low/one" "its link is replaced"

# A leftover temporary link from an interrupted run is cleaned up.
ln -s "$T/low/one" "$A/.spool-tmp-999-one"
spool hydrate -q --manifest m.json ws
[ ! -L "$A/.spool-tmp-999-one" ]; ok $? "leftover temporary link removed"

# A missing skill is refused with the roots searched.
manifest m.json '{"roots": ["high", "low"], "global_defaults": ["one", "nine"]}'
before=$(fingerprint ws)
spool hydrate --manifest m.json ws >out 2>err
is "$?" 1 "a skill in no root is refused"
grep -q "skill 'nine' is in no root (searched '$T/high', '$T/low')" err; ok $? "with the roots searched"
is "$(fingerprint ws)" "$before" "and nothing changed"
fails 1 "skills ls fails on it too" -- spool skills ls --manifest m.json

# The built-in root: last in priority; global_defaults defaults to its set.
B=$TOP/skills
manifest b.json '{"builtin": true, "roots": ["high"]}'
spool skills ls --manifest b.json --json >b.json.out
is "$(jq -r '[.skills[].name] | join(" ")' b.json.out)" "spool-planner spool-reviewer spool-runner spool-worker" \
	"without global_defaults the set is the built-in skills"
is "$(jq -r '.roots[-1]' b.json.out)" "$(cd "$B" && pwd -P)" "the built-in root comes last"
mkskill high spool-worker
spool skills ls --manifest b.json --json >b.json.out
is "$(jq -r '.skills[] | select(.name == "spool-worker") | .root' b.json.out)" "$T/high" \
	"a configured root shadows a built-in skill"
SPOOL_SKILLS_DIR=$T/low spool skills ls --manifest b.json --json >b.json.out
is "$(jq -r '[.skills[].name] | join(" ")' b.json.out)" "one three two" "SPOOL_SKILLS_DIR names the built-in root"

done_testing
