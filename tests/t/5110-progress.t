#!/usr/bin/env bash
# Progress of long passes (reconcile filing new/, archive) goes to stderr
# when it is a terminal, and nowhere when it is not, with --quiet or with
# --json. SPOOL_PROGRESS_DELAY_MS=0 shows it at once (normally after a
# second), so the test needs no large spool.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
core_spool || exit 1
command -v script >/dev/null || { echo "1..0 # SKIP script(1) is missing"; exit 0; }
export SPOOL_PROGRESS_DELAY_MS=0
N=60
drop_many() {
	for i in $(seq 1 $N); do drop "p$1-$i.json" "{\"title\": \"t$i\"}"; done
}
# tty CMD...: run CMD with stdin, stdout and stderr on a pseudo-terminal
tty() { script -qec "$*" /dev/null </dev/null; }

drop_many a
tty spool reconcile >"$T/tty" 2>&1; ok $? "reconcile on a terminal"
grep -q "spool: reconcile: filing new/: 100% ($N/$N), done." "$T/tty"; ok $? "shows the filing's progress, to the end" || sed 's/^/#   /' "$T/tty" | tr '\r' '\n' | tail -3
grep -q "filed $N," "$T/tty"; ok $? "then the summary"

drop_many b
spool reconcile >"$T/out" 2>"$T/err"; ok $? "reconcile, stderr not a terminal"
[ ! -s "$T/err" ]; ok $? "no progress on a pipe"
drop_many c
tty spool reconcile --quiet >"$T/tty" 2>&1; ok $? "--quiet on a terminal"
grep -q "filing new/" "$T/tty"; is "$?" 1 "--quiet: no progress"
drop_many d
tty spool reconcile --json >"$T/tty" 2>&1; ok $? "--json on a terminal"
grep -q "filing new/" "$T/tty"; is "$?" 1 "--json: no progress"
tr -d '\r' <"$T/tty" | jq -e .filed >/dev/null; ok $? "and the output is only the JSON"

# archive
for id in $(spool ls --state ready --json | jq -r '.[].id' | head -20); do
	spool cancel "$id" >/dev/null
done
tty spool archive --older-than 0s >"$T/tty" 2>&1; ok $? "archive on a terminal"
grep -q "spool: archive: writing the archive: 100% (20/20), done." "$T/tty"; ok $? "shows the archive's progress" || tr '\r' '\n' <"$T/tty" | sed 's/^/#   /' | tail -4
grep -q "archived 20" "$T/tty"; ok $? "then the summary" || tr '\r' '\n' <"$T/tty" | tail -2 | sed 's/^/#   /'

# hydrate --all: a workspace at a time
. "$(dirname "$0")/../hydrate-lib.sh"
cd "$T" || exit 1
mkskill roots/a alpha
ws=$(for i in 1 2 3 4 5; do printf '"w%d": null,' "$i"; done)
manifest all.json "{\"roots\": [\"roots/a\"], \"global_defaults\": [\"alpha\"], \"workspaces\": {${ws%,}}}"
mkdir w1 w2 w3 w4 w5
tty spool hydrate --all --manifest all.json >"$T/tty" 2>&1; ok $? "hydrate --all on a terminal"
grep -q "spool: hydrate: linking: 100% (5/5), done." "$T/tty"; ok $? "shows its progress" || tr '\r' '\n' <"$T/tty" | sed 's/^/#   /' | tail -3
tty spool hydrate --all -q --manifest all.json >"$T/tty" 2>&1
grep -q "planning" "$T/tty"; is "$?" 1 "-q: no progress"
done_testing
