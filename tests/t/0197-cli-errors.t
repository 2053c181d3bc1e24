#!/usr/bin/env bash
# Errors in git's manner: "did you mean" for commands and options, the
# "spool: CMD:" prefix on option errors with one line of usage, exit 2
# for every usage error and bad value, ids as T-0042, t-0042 and 42.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
core_spool || exit 1

# ---- unknown commands ---------------------------------------------------
fails 2 "a typo of a command" -- spool sttaus
grep -q "^spool: 'sttaus' is not a command" "$T/.err"; ok $? "says it is not a command"
is "$(sed -n '/most similar command/{n;p}' "$T/.err")" "	status" "did you mean: status"
fails 2 "a dropped letter" -- spool rejct
grep -qx "	reject" "$T/.err"; ok $? "did you mean: reject"
fails 2 "a prefix" -- spool diag
grep -qx "	diagnose" "$T/.err"; ok $? "a prefix suggests the command"
fails 2 "help of a typo" -- spool help sttaus
grep -q "did you mean 'status'" "$T/.err"; ok $? "spool help suggests too"
fails 2 "nothing near" -- spool xyzzy
grep -q "similar" "$T/.err"; is "$?" 1 "nothing near: no suggestion"

# ---- option errors --------------------------------------------------------
fails 2 "unknown option" -- spool ls --jsno
is "$(head -1 "$T/.err")" "spool: ls: unknown option '--jsno'; did you mean '--json'?" \
	"the command's prefix and a did-you-mean"
is "$(wc -l <"$T/.err")" 2 "two lines: the error and one line of usage"
grep -q "^usage: spool ls .*'spool help ls'" "$T/.err"; ok $? "the usage line points to spool help"
fails 2 "add: an unknown option" -- spool add --title x --priorty high
is "$(head -1 "$T/.err")" "spool: add: unknown option '--priorty'; did you mean '--priority'?" \
	"add keeps its prefix"
is "$(wc -l <"$T/.err")" 2 "add: not seven lines of usage, two"
fails 2 "a missing value" -- spool add --title
is "$(head -1 "$T/.err")" "spool: add: option '--title' needs a value" "says the value is missing"
fails 2 "a value for a flag" -- spool ls --json=yes
grep -q "takes no value" "$T/.err"; ok $? "says the flag takes no value"
fails 2 "an unknown short option" -- spool show -Z T-0001
grep -q "^spool: show: bad option '-Z'" "$T/.err"; ok $? "short option: the prefix"
fails 2 "too many arguments" -- spool show T-0001 T-0002
is "$(wc -l <"$T/.err")" 1 "arguments: one line of usage"

# ---- bad values exit 2 everywhere ----------------------------------------
fails 2 "add --priority bogus" -- spool add --title x --priority bogus
grep -q "^spool: add: 'bogus' is not a priority" "$T/.err"; ok $? "and says which values are"
fails 2 "add --mode bogus" -- spool add --title x --mode bogus
fails 2 "add --lease x" -- spool add --title x --lease x
fails 2 "ls --state bogus" -- spool ls --state bogus
fails 2 "ls --agent ../x" -- spool ls --agent ../x
fails 2 "log --limit x" -- spool log --limit x
fails 2 "events --limit x" -- spool events --limit x
fails 2 "wait --timeout x" -- spool wait T-0001 --timeout x
fails 2 "status --soon x" -- spool status --soon x
fails 2 "archive --older-than x" -- spool archive --older-than x
fails 2 "daemon stop --timeout x" -- spool daemon stop --timeout x
for c in show log diagnose wait "export -o $T/x.tgz" approve heartbeat; do
	fails 2 "$c ../x: not an id" -- spool $c ../x
	grep -q "is not a task id" "$T/.err"; ok $? "$c ../x: says it is not a task id"
done
ls "$S"/ready | grep -q . && bad=1 || bad=0; is "$bad" 0 "nothing was added by the refused commands"

# ---- ids as typed ---------------------------------------------------------
spool add --title one >/dev/null && spool add --title two >/dev/null
for form in T-0002 t-0002 2 002 T-2 t-2; do
	is "$(spool show "$form" 2>&1 | head -1 | cut -d' ' -f1)" T-0002 "show $form finds T-0002"
done
is "$(spool log 1 --json | jq -r '.[0].id')" T-0001 "log 1"
is "$(spool diagnose 1 --json | jq -r .id)" T-0001 "diagnose 1"
spool claim --agent dev >/dev/null
spool heartbeat 1 --agent dev; ok $? "heartbeat 1"
is "$(spool submit 1 --agent dev)" "T-0001 submitted: now in review" "submit 1 acts on T-0001"
is "$(spool wait 1 --state review --timeout 5)" "T-0001 review" "wait 1"
fails 1 "show 7: no such task" -- spool show 7
grep -q "'T-0007'" "$T/.err"; ok $? "names the task in the spool's form"
# an id given by hand that is a number stays itself
spool add --title digits --id 42 >/dev/null
is "$(spool show 42 --json | jq -r .id)" 42 "a task named 42 is found as 42"
done_testing
