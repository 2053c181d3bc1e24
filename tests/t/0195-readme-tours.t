#!/usr/bin/env bash
# README.md's two tours run as written, taken from README.md itself, in a
# fresh shell (bash -e: the first failing line fails the tour), so the
# README cannot drift from the program. Only the spool's path is moved
# from /srv/spool and /path/to/spool into the test's directory.
. "$(dirname "$0")/../lib.sh"
README=$TOP/README.md
# block HEADING: the first ```sh block after "## HEADING"
block() {
	awk -v h="## $1" '$0 == h { on = 1; next }
		on && /^```sh$/ { body = 1; next }
		body && /^```$/ { exit }
		body { print }' "$README"
}

# ---- the operator's tour ---------------------------------------------------
block "One minute as an operator" >"$T/op.sh"
[ "$(wc -l <"$T/op.sh")" -ge 10 ]; ok $? "the operator's tour is in README.md ($(wc -l <"$T/op.sh") lines)"
sed -i "s#/srv/spool#$T/srv/spool#g" "$T/op.sh"
mkdir -p "$T/opwd" "$T/srv"	# as /srv is
(cd "$T/opwd" && env -u SPOOL_DIR -u SPOOL_AGENT timeout 60 bash -e "$T/op.sh") >"$T/op.out" 2>"$T/op.err"
ok $? "the operator's tour runs as written" || { tail -5 "$T/op.err" | sed 's/^/#   /'; }
S=$T/srv/spool
[ -f "$S/done/T-0001.json" ]; ok $? "T-0001 ends done, as the tour says"
[ -f "$S/ready/T-0002.json" ]; ok $? "T-0002 was released when T-0001 was done"
[ -f "$S/cancelled/T-0003.json" ]; ok $? "T-0003 cancelled"
[ -s "$T/opwd/t1.tar.gz" ]; ok $? "the export was written"
grep -q "fix.md" "$T/op.out"; ok $? "git log --stat shows the submitted version"
pgrep -f "spoold -C $S" >/dev/null; is "$?" 1 "the daemon is stopped at the end"

# ---- the agent's tour ------------------------------------------------------
block "One minute as an agent with only a shell" >"$T/ag.sh"
[ "$(wc -l <"$T/ag.sh")" -ge 8 ]; ok $? "the agent's tour is in README.md"
A=$T/agent-spool
spool init "$A" >/dev/null && spool -C "$A" agent add devbot >/dev/null &&
	spool -C "$A" add --title "the task" --id T-0042 >/dev/null
ok $? "a spool with agent devbot and task T-0042"
sed -i "s#/path/to/spool#$A#g" "$T/ag.sh"
(cd "$T" && env -u SPOOL_DIR -u SPOOL_AGENT timeout 60 bash -e "$T/ag.sh") >"$T/ag.out" 2>"$T/ag.err" &
tour=$!
# the tour ends asleep in inotifywait until there is work: give it some
for _ in $(seq 1 200); do
	[ -f "$A/review/T-0042.json" ] && break; sleep 0.05
done
[ -f "$A/review/T-0042.json" ]; ok $? "the agent claimed, worked and submitted T-0042"
# new work until it wakes: one task may come before its watch began
for _ in $(seq 1 100); do
	kill -0 "$tour" 2>/dev/null || break
	spool -C "$A" add --title "more work" >/dev/null; sleep 0.1
done
wait "$tour"; ok $? "the agent's tour runs as written, and wakes for new work" ||
	{ tail -5 "$T/ag.err" | sed 's/^/#   /'; }
[ -f "$A/deliverables/T-0042/result.md" ]; ok $? "its deliverable is there"
spool -C "$A" reconcile >/dev/null
git -C "$A" log -1 --format=%s -- deliverables/T-0042 | grep -q "submit T-0042 by devbot"
ok $? "the submission is in git with the deliverable"
done_testing
