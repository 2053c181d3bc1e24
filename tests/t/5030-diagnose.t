#!/usr/bin/env bash
# spool diagnose: the likeliest reason a task is stuck comes first, for
# each way a task gets stuck.
. "$(dirname "$0")/../lib.sh"
new_spool || exit 1
cd "$S" || exit 1
spool agent add dev --capabilities write >/dev/null
spool agent add rev --roles reviewer >/dev/null
first() { spool diagnose "$1" --json | jq -r '.causes[0].code'; }
codes() { spool diagnose "$1" --json | jq -r '.causes[].code' | tr '\n' ' '; }

# blocked by a dependency, then by a failed one
spool add --title base >/dev/null                       # T-0001
spool add --title after --depends-on T-0001 >/dev/null  # T-0002
is "$(first T-0002)" dependencies "blocked: the dependency first"
spool diagnose T-0002 >"$T/d"; ok $? "text output"
grep -q "^1\. waits for 1 of its dependencies: T-0001 (ready)" "$T/d"; ok $? "names the dependency and its state"
grep -q "daemon: not running" "$T/d"; ok $? "says the daemon is not running"
is "$(spool diagnose T-0002 --json | jq -r '.facts.depends_on[0].state')" ready "--json facts: dependency state"
spool claim --agent dev >/dev/null
spool fail T-0001 --agent dev --reason "disk full" >/dev/null
is "$(first T-0002)" dependency-dead "a failed dependency is the cause"
is "$(first T-0001)" failed "failed: the error first"
spool diagnose T-0001 >"$T/d"
grep -q "disk full" "$T/d"; ok $? "quotes the failure"
grep -q "2 of 3 attempts are left: 'spool retry T-0001'" "$T/d"; ok $? "attempts left, and what to run"

# a capability nobody has; an unknown assignee; a busy assignee
spool add --title gpu --requires gpu >/dev/null          # T-0003
is "$(first T-0003)" no-capable-agent "nobody has the capability"
spool diagnose T-0003 | grep -q "requires (gpu)"; ok $? "names the capability"
spool agent add ghost >/dev/null
spool add --title mine --assignee ghost >/dev/null       # T-0004
rm agents/ghost.json                                     # unregistered since
is "$(first T-0004)" assignee-unknown "the assignee is not registered"
spool add --title busy1 --assignee dev >/dev/null        # T-0005
spool add --title busy2 --assignee dev >/dev/null        # T-0006
spool retry T-0001 >/dev/null
mkdir -p claimed/dev && mv ready/T-0005.json claimed/dev/ && spool reconcile >/dev/null
is "$(first T-0006)" assignee-busy "the assignee is busy"
spool diagnose T-0006 | grep -q "busy with 1 tasks"; ok $? "with how many"
case " $(codes T-0006) " in *" daemon "*) ok 0 "no daemon: listed for ready work";; *) ok 1 "no daemon listed";; esac

# the daemon holds its lock: diagnose sees it
flock -o .spool/run/daemon.pid sleep 5 &
fl=$!
sleep 0.2
is "$(spool diagnose T-0006 --json | jq -r .daemon.running)" true "a daemon holding .spool/run/daemon.pid is seen"
case " $(codes T-0006) " in *" daemon "*) ok 1 "daemon cause gone";; *) ok 0 "daemon cause gone";; esac
kill $fl; wait $fl 2>/dev/null
is "$(spool diagnose T-0006 --json | jq -r .daemon.running)" false "and its end too"

# claimed: lease left, then expired
is "$(first T-0005)" working "claimed: being worked on"
spool diagnose T-0005 | grep -q "lease expires in"; ok $? "says when the lease expires"
spool add --title short --lease 1 --assignee dev >/dev/null   # T-0007
mv ready/T-0007.json claimed/dev/ && spool reconcile >/dev/null
sleep 2.1
is "$(first T-0007)" lease-expired "an expired lease comes first"
left=$(spool diagnose T-0007 --json | jq -r .facts.lease_left)
[ "$left" -lt 0 ]; ok $? "lease_left is negative ($left)"

# review without a reviewer other than the author
spool add --title r --requires write >/dev/null   # T-0008
mv ready/T-0008.json claimed/dev/ && mv claimed/dev/T-0008.json review/ && spool reconcile >/dev/null
is "$(first T-0008)" awaiting-review "in review with a reviewer registered"
spool reject T-0008 --agent rev --feedback "cite sources" >/dev/null
mv claimed/dev/T-0008.json review/ && spool reconcile >/dev/null
rm agents/rev.json
is "$(first T-0008)" no-reviewer "no one may review it"
spool diagnose T-0008 | grep -q "last feedback from rev: cite sources"; ok $? "the last feedback"

# finished, archived, unknown
spool cancel T-0004 >/dev/null
is "$(first T-0004)" finished "finished: nothing to do"
spool archive --older-than 0 >/dev/null
is "$(spool diagnose T-0004 --json | jq -r .where)" "cancelled (archived)" "an archived task is found"
fails 1 "unknown task" -- spool diagnose T-0999
done_testing
