#!/usr/bin/env bash
# The command line: exit codes 0/1/2/3, --json output that parses, help
# for every command, -C DIR, SPOOL_DIR, finding the spool from a
# subdirectory, SPOOL_AGENT.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
core_spool || exit 1
json_doc() {	# stdin is exactly one JSON document
	python3 -c 'import json,sys; json.load(sys.stdin)'
}

# ---- help -------------------------------------------------------------
spool help >"$T/help"; ok $? "spool help"
cmds=$(awk '/^  [a-z]/ { print $1 }' "$T/help")
[ "$(wc -w <<<"$cmds")" -ge 18 ]; ok $? "spool help lists the commands ($(wc -w <<<"$cmds"))"
for c in init agent module add ls show next claim heartbeat release submit fail approve reject retry cancel reconcile; do
	grep -qw "$c" <<<"$cmds"; ok $? "spool help lists $c"
done
for c in $cmds; do
	spool help "$c" >"$T/out" 2>&1; ok $? "spool help $c"
	grep -q "^usage: spool $c" "$T/out"; ok $? "spool help $c shows its usage"
	[ "$c" = help ] && continue
	spool "$c" --help >"$T/out2" 2>&1; ok $? "spool $c --help"
	cmp -s "$T/out" "$T/out2"; ok $? "spool $c --help = spool help $c"
done
fails 2 "spool help of an unknown command" -- spool help frobnicate
grep -qi "not a command" "$T/.err"; ok $? "says it is not a command"

# ---- exit codes ----------------------------------------------------------
fails 0 "0: success" -- spool ls
fails 1 "1: an error (no such task)" -- spool show T-0999
grep -q "^spool: show: no task 'T-0999'" "$T/.err"; ok $? "errors are 'spool: CMD: message'"
fails 2 "2: no command" -- spool
fails 2 "2: unknown command" -- spool frobnicate
fails 2 "2: unknown option" -- spool ls --frobnicate
grep -q "^usage: spool ls" "$T/.err"; ok $? "a usage error shows the usage"
fails 2 "2: missing argument" -- spool show
fails 2 "2: add without a title or file" -- spool add
fails 2 "2: --max-attempts not a number" -- spool add --title x --max-attempts many
fails 3 "3: nothing to claim" -- spool claim --agent dev
fails 3 "3: nothing next" -- spool next --agent dev
fails 1 "1: not a spool" -- spool -C "$T" ls
grep -q "spool" "$T/.err"; ok $? "says it found no spool"

# ---- --json --------------------------------------------------------------
spool module add web --description "the site" >/dev/null
spool add --title one --module web --json >"$T/out"; ok $? "add --json"
json_doc <"$T/out"; ok $? "add --json parses"
is "$(jq -r '.id + " " + .state' "$T/out")" "T-0001 ready" "add --json: id and state"
spool add --title two --priority high >/dev/null
for cmd in "ls" "ls --state ready" "ls --module web" "show T-0001" "agent ls" \
	"module ls" "reconcile" "next --agent dev"; do
	spool $cmd --json >"$T/out" 2>"$T/err"; ok $? "$cmd --json"
	json_doc <"$T/out"; ok $? "$cmd --json: one document"
done
is "$(spool ls --json | jq -r '.[] | "\(.id) \(.state)"' | sort | tr '\n' ,)" "T-0001 ready,T-0002 ready," "ls --json: one object per task with id and state"
is "$(spool agent ls --json | jq -r '.[].name' 2>/dev/null | sort | tr '\n' ,)" "boss,dev,ops,rev," "agent ls --json names the agents"
spool claim --agent dev --json >"$T/out"; ok $? "claim --json"
json_doc <"$T/out"; ok $? "claim --json parses"
is "$(jq -r '"\(.id) \(.state) \(.agent) \(.path)"' "$T/out")" "T-0002 claimed dev $(cd "$S" && pwd -P)/claimed/dev/T-0002.json" "claim --json: id, state, agent, absolute path"
is "$(spool show T-0002 --json | jq -r .state)" claimed "show --json has the state"
is "$(spool ls --state claimed --json | jq -r '.[].agent')" dev "ls --json: the agent of a claimed task"

# ---- where the spool is: -C, SPOOL_DIR, the current directory -------------
spool init "$T/other" >/dev/null
spool -C "$T/other" agent add x >/dev/null
spool -C "$T/other" add --title elsewhere >/dev/null; ok $? "-C DIR acts on DIR"
is "$(spool -C "$T/other" ls --json | jq -r '.[].title')" elsewhere "-C DIR sees DIR's tasks"
is "$(spool ls --json | jq -r '.[].title' | sort | tr '\n' ,)" "one,two," "SPOOL_DIR is untouched by -C elsewhere"
is "$(SPOOL_DIR=$T/other spool ls --json | jq -r '.[].title')" elsewhere "SPOOL_DIR selects the spool"
is "$(cd "$T/other/ready" && env -u SPOOL_DIR spool ls --json | jq -r '.[].title')" elsewhere \
	"without either, the spool holding the current directory"
is "$(cd "$T" && SPOOL_DIR=$S spool -C "$T/other" ls --json | jq -r '.[].title')" elsewhere "-C wins over SPOOL_DIR"

# ---- SPOOL_AGENT -------------------------------------------------------------
export SPOOL_AGENT=ops
is "$(spool claim)" "$(cd "$S" && pwd -P)/claimed/ops/T-0001.json" "claim without --agent takes SPOOL_AGENT"
is "$(author)" ops "the claim commit is authored by SPOOL_AGENT"
spool submit T-0001 >/dev/null; ok $? "submit as SPOOL_AGENT (the claimer)"
is "$(author)" ops "submit authored by SPOOL_AGENT"
fails 1 "SPOOL_AGENT=ops cannot submit dev's task" -- spool submit T-0002
SPOOL_AGENT=rev spool approve T-0001 >/dev/null; ok $? "approve as SPOOL_AGENT=rev"
is "$(author)" rev "approve authored by SPOOL_AGENT"
spool add --title three >/dev/null
is "$(spool claim --agent dev)" "$(cd "$S" && pwd -P)/claimed/dev/T-0003.json" "--agent wins over SPOOL_AGENT"
unset SPOOL_AGENT
fails 2 "claim with neither --agent nor SPOOL_AGENT is a usage error" -- spool claim
fsck_clean; ok $? "git fsck clean"
done_testing
