#!/usr/bin/env bash
# spool hydrate: real target directories, one absolute directory link per
# skill, idempotence, --check, --dry-run, --json, the launcher.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../hydrate-lib.sh"

cd "$T" || exit 1
mkskill roots/a alpha; mkskill roots/a beta; mkskill roots/a gamma
mkdir -p ws
manifest m.json '{"roots": ["roots/a"], "global_defaults": ["alpha"],
  "shared_integrations": ["beta"], "project_defaults": {"web": ["gamma"]}}'

spool hydrate --manifest m.json --project web ws >out 2>err
ok $? "hydrate a fresh workspace"
for t in .agents/skills .claude/skills; do
	[ -d "ws/$t" ] && [ ! -L "ws/$t" ]; ok $? "$t is a real directory"
	for s in alpha beta gamma; do
		is "$(link_of "ws/$t/$s")" "$T/roots/a/$s" "$t/$s links to the skill (absolute)"
	done
	is "$(ls "ws/$t" | wc -l)" 3 "$t holds only the set"
done
[ -f ws/.claude/skills/alpha/SKILL.md ]; ok $? "runtimes see SKILL.md through the link"
grep -q "^link    $T/ws/.agents/skills/alpha -> $T/roots/a/alpha$" out
ok $? "each new link is printed"

# Idempotence: a second run changes nothing, not even mtimes, and says so.
before=$(fingerprint ws)
spool hydrate --manifest m.json --project web ws >out 2>&1
ok $? "second run succeeds"
is "$(fingerprint ws)" "$before" "second run changes nothing"
grep -q "up to date (6 links); nothing changed" out; ok $? "and says so"

# --check: 0 when in sync, 1 and the drift when not.
fails 0 "--check in sync" -- spool hydrate --check --manifest m.json --project web ws
manifest m.json '{"roots": ["roots/a"], "global_defaults": ["alpha"],
  "shared_integrations": ["beta"], "project_defaults": {"web": []}}'
before=$(fingerprint ws)
spool hydrate --check --manifest m.json --project web ws >out 2>err
is "$?" 1 "--check with drift exits 1"
grep -q "^unlink  $T/ws/.claude/skills/gamma (was $T/roots/a/gamma)$" out
ok $? "--check prints the drift"
grep -q "1 of 1 workspace out of date (2 changes)" err; ok $? "--check summarises"
is "$(fingerprint ws)" "$before" "--check changes nothing"

# --dry-run: prints, changes nothing, exits 0.
spool hydrate --dry-run --manifest m.json --project web ws >out 2>&1
ok $? "--dry-run exits 0"
grep -q "^unlink  $T/ws/.agents/skills/gamma" out; ok $? "--dry-run prints the plan"
is "$(fingerprint ws)" "$before" "--dry-run changes nothing"

# --json.
spool hydrate --json --manifest m.json --project web ws >out
ok $? "--json apply"
is "$(jq -r '[.mode, .ok, .changes, .conflicts, .workspaces[0].changes[0].action, .workspaces[0].changes[0].done] | @tsv' out)" \
	"apply	true	2	0	unlink	true" "--json reports what was done"
is "$(link_of ws/.agents/skills/gamma)" none "stale link removed"
spool hydrate --check --json --manifest m.json --project web ws >out
ok $? "--check --json in sync exits 0"
is "$(jq -r '.workspaces[0].up_to_date' out)" true "--json: up_to_date"

# Links to the same skill made in one run share one symlink inode (hard
# links of the symlink); each name is still a symlink to the skill.
mkdir -p h1 h2
spool hydrate -q --manifest m.json --project web h1 h2
is "$(stat -c '%h %F' h2/.claude/skills/alpha)" "4 symbolic link" "one run's links to a skill share an inode"
is "$(link_of h2/.claude/skills/alpha)" "$T/roots/a/alpha" "and each is a link to the skill"
mkskill roots/b alpha
manifest mb.json '{"roots": ["roots/b", "roots/a"], "global_defaults": ["alpha"],
  "shared_integrations": ["beta"], "project_defaults": {"web": ["gamma"]}}'
spool hydrate -q --manifest mb.json --project web h1
is "$(link_of h1/.agents/skills/alpha) $(link_of h2/.agents/skills/alpha)" \
	"$T/roots/b/alpha $T/roots/a/alpha" "replacing one name leaves the others"
if [ -d /dev/shm ] && [ "$(stat -c %d /dev/shm)" != "$(stat -c %d "$T")" ]; then
	X=$(mktemp -d /dev/shm/spool-test.XXXXXX)
	spool hydrate -q --manifest m.json --project web h2 "$X" 2>err
	ok $? "workspaces on two filesystems"
	is "$(link_of "$X/.agents/skills/beta")" "$T/roots/a/beta" "get links on each"
	rm -rf "$X"
else
	ok 0 "# SKIP no second filesystem"; ok 0 "# SKIP no second filesystem"
fi

# Usage errors.
fails 2 "no workspace is a usage error" -- spool hydrate --manifest m.json
fails 2 "--check with --dry-run is a usage error" -- spool hydrate --check --dry-run --manifest m.json ws
fails 2 "--all with a workspace is a usage error" -- spool hydrate --all --manifest m.json ws
fails 1 "an unknown project is an error" -- spool hydrate --manifest m.json --project nope ws
grep -q "project 'nope' is not in the project_defaults" "$T/.err"; ok $? "and says which"
fails 1 "a missing workspace is an error" -- spool hydrate --manifest m.json nowhere
spool hydrate --help | grep -q -- "--check"; ok $? "--help documents --check"

# Manifest errors point at the problem.
echo '{"roots": ["roots/a"],}' >bad.json
fails 1 "a manifest that does not parse" -- spool hydrate --manifest bad.json ws
grep -q "bad.json:1: " "$T/.err"; ok $? "names the file and line"
echo '{"root": ["roots/a"]}' >bad.json
fails 1 "a misspelt key" -- spool hydrate --manifest bad.json ws
grep -q "unknown key 'root'" "$T/.err"; ok $? "is named"
echo '{"roots": ["nope"]}' >bad.json
fails 1 "a missing root" -- spool hydrate --manifest bad.json ws
echo '{"roots": ["roots/a"], "global_defaults": ["Bad"]}' >bad.json
fails 1 "an invalid skill name in a list" -- spool hydrate --manifest bad.json ws
echo '{"roots": ["roots/a"], "targets": ["../out"]}' >bad.json
fails 1 "a target outside the workspace" -- spool hydrate --manifest bad.json ws

# --all over the manifest's workspaces, each with its project; custom targets.
mkdir -p w1 w2
manifest all.json '{"roots": ["roots/a"], "global_defaults": ["alpha"],
  "project_defaults": {"web": ["gamma"], "api": ["beta"]},
  "targets": [".agents/skills"], "workspaces": {"w1": "web", "w2": "api"}}'
spool hydrate --all --manifest all.json >out 2>&1
ok $? "--all"
is "$(ls w1/.agents/skills | tr '\n' ' ')" "alpha gamma " "w1 has its project's set"
is "$(ls w2/.agents/skills | tr '\n' ' ')" "alpha beta " "w2 has its project's set"
[ ! -e w1/.claude ]; ok $? "only the configured targets"
spool hydrate --manifest all.json w1 >/dev/null 2>&1
is "$(ls w1/.agents/skills | tr '\n' ' ')" "alpha gamma " "a listed workspace gets its project without --project"
fails 0 "--all --check in sync" -- spool hydrate --all --check --manifest all.json
rm w2/.agents/skills/beta
fails 1 "--all --check sees one drifted workspace" -- spool hydrate --all --check --manifest all.json

# The manifest found through the spool's config, then the default paths.
mkdir -p sp/.spool cfg/spool
manifest sp/skills.json '{"roots": ["../roots/a"], "global_defaults": ["beta"]}'
echo '{"skills_manifest": "skills.json"}' >sp/.spool/config.json
mkdir -p w3
spool -C sp hydrate w3 >/dev/null 2>&1
is "$(ls w3/.agents/skills)" beta "skills_manifest in the spool's config is used"
rm sp/.spool/config.json; echo '{}' >sp/.spool/config.json
manifest sp/.spool/skills.json '{"roots": ["../../roots/a"], "global_defaults": ["gamma"]}'
mkdir -p w4
spool -C sp hydrate w4 >/dev/null 2>&1
is "$(ls w4/.agents/skills)" gamma ".spool/skills.json is the spool's default"
manifest cfg/spool/skills.json '{"roots": ["'"$T"'/roots/a"], "global_defaults": ["alpha"]}'
mkdir -p w5
(cd w5 && XDG_CONFIG_HOME=$T/cfg spool hydrate .) >/dev/null 2>&1
is "$(ls w5/.agents/skills)" alpha "\$XDG_CONFIG_HOME/spool/skills.json without a spool"
(cd w5 && XDG_CONFIG_HOME=$T/none spool hydrate .) >/dev/null 2>err
is "$?" 1 "no manifest anywhere is an error"
grep -q "no manifest: give --manifest FILE" err; ok $? "that says where to put one"

# The launcher: hydrate, check, then exec the runtime in the workspace.
mkdir -p lw
spool-launch --manifest m.json --project web lw -- sh -c 'pwd; ls .claude/skills' >out 2>err
ok $? "spool-launch runs the runtime"
is "$(head -1 out)" "$T/lw" "in the workspace"
is "$(tail -n +2 out | tr '\n' ' ')" "alpha beta " "after hydrating it"
mkdir -p lw2/.claude/skills/alpha
spool-launch --manifest m.json lw2 -- touch started >out 2>err
is "$?" 1 "spool-launch refuses to start on a conflict"
[ ! -e lw2/started ] && [ ! -e started ]; ok $? "and the runtime did not run"
fails 2 "spool-launch without a command" -- spool-launch --manifest m.json lw

done_testing
