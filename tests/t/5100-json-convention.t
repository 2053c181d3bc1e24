#!/usr/bin/env bash
# One JSON convention: every command's --json prints exactly one JSON
# document, an object for one thing and an array for a list ([] when
# empty, never null or nothing); events stays JSON lines. The same thing
# has the same field names across commands.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
. "$(dirname "$0")/../hydrate-lib.sh"
new_spool || exit 1

# doc TYPE DESC -- CMD...: CMD's stdout is one JSON document of TYPE
doc() {
	local want=$1 desc=$2 got; shift 3
	"$@" >"$T/out" 2>"$T/err"
	got=$(python3 - "$T/out" <<'PY'
import json, sys
try:
    v = json.load(open(sys.argv[1]))
except Exception as e:
    print("unparsable: %s" % e); sys.exit()
print({dict: "object", list: "array"}.get(type(v), type(v).__name__))
PY
)
	is "$got" "$want" "$desc: one $want"
}

# empty spool: lists are [], one thing that is not there is {}
doc array "ls, empty spool" -- spool ls --json
is "$(cat "$T/out")" "[]" "ls --json on an empty spool prints []"
doc array "ls --state done, none" -- spool ls --state done --json
doc array "ls --agent x --state ready (no such task can exist)" -- spool ls --agent x --state ready --json
doc array "agent ls, none" -- spool agent ls --json
doc array "module ls, none" -- spool module ls --json
doc array "log, empty spool" -- spool log --json
spool agent add dev --capabilities code >/dev/null
spool agent add rev --roles reviewer >/dev/null
doc object "next, nothing to claim" -- spool next --agent dev --json
is "$(cat "$T/out")" "{}" "next --json with nothing: {} (not null)"
doc object "claim, nothing to claim" -- spool claim --agent dev --json

doc object "add" -- spool add --title one --json
spool add --title two --requires code >/dev/null
spool module add web >/dev/null
spool add --title three --module web >/dev/null
doc array "ls" -- spool ls --json
is "$(jq length "$T/out")" 3 "ls: three tasks"
doc array "ls --module web" -- spool ls --module web --json
is "$(jq -r '.[].title' "$T/out")" three "ls --module: the web task"
doc array "agent ls" -- spool agent ls --json
doc array "module ls" -- spool module ls --json
doc object "show" -- spool show T-0001 --json
doc object "next" -- spool next --agent dev --json
doc object "claim" -- spool claim --agent dev --json
claim_path=$(jq -r .path "$T/out")
doc object "heartbeat-free submit" -- spool submit T-0001 --agent dev --json
doc object "reject" -- spool reject T-0001 --agent rev --feedback more --json
doc object "release" -- spool release T-0001 --agent dev --json
spool claim --agent dev >/dev/null
doc object "fail" -- spool fail T-0001 --agent dev --reason x --json
doc object "retry" -- spool retry T-0001 --json
doc object "cancel" -- spool cancel T-0003 --json
doc array "log ID" -- spool log T-0001 --json
doc array "log" -- spool log --json
doc array "log --limit 1" -- spool log --limit 1 --json
is "$(jq length "$T/out")" 1 "log --limit 1: one element"
doc object "status" -- spool status --json
doc object "diagnose" -- spool diagnose T-0001 --json
doc object "reconcile" -- spool reconcile --json
doc object "wait, one id" -- spool wait T-0003 --timeout 5 --json
doc array "wait, several ids" -- spool wait T-0003 T-0003 --timeout 5 --json
doc object "daemon status" -- spool daemon status --json
doc object "archive --dry-run" -- spool archive --older-than 7d --dry-run --json
mkdir -p "$T/x"
doc object "export" -- spool export T-0001 -o "$T/x/t.tar.gz" --json

# events: a stream, one object per line
spool events --limit 3 >"$T/ev"; ok $? "events runs"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/ev"
ok $? "events: every line is one JSON object"
is "$(wc -l <"$T/ev")" 3 "events: three lines for --limit 3"

# the same thing, the same field names
spool claim --agent dev >/dev/null	# T-0001, retried
for c in "ls --state claimed" "show T-0001" "wait T-0001 --state claimed --timeout 5"; do
	spool $c --json | jq -c 'if type == "array" then .[0] else . end | {id, state, agent}' >"$T/f.$RANDOM"
done
is "$(sort -u "$T"/f.* | wc -l)" 1 "ls, show and wait name id, state and agent alike"
is "$(sort -u "$T"/f.*)" '{"id":"T-0001","state":"claimed","agent":"dev"}' "with the same values"
is "$(spool log T-0001 --json | jq -r '.[-1].id')" T-0001 "log: the task is .id as well"

# skills and hydrate
cd "$T" || exit 1
mkskill roots/a alpha
manifest m.json '{"roots": ["roots/a"], "global_defaults": ["alpha"]}'
mkdir ws
doc object "hydrate" -- spool hydrate --manifest m.json ws --json
doc object "skills ls" -- spool skills ls --manifest m.json --json
doc object "skills validate" -- spool skills validate roots/a/alpha --json
done_testing
