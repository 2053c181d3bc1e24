#!/bin/bash
# A spool process killed between writing a file in tmp/ and renaming it
# leaves the file named by nobody. A whole reconcile (and spoold's start)
# removes the files whose names say the spool wrote them and whose writer
# is dead, and nothing else: not a running writer's, not an agent's draft.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

new_spool
cd "$S" || exit 1
sh -c 'exit 0' & dead=$!; wait "$dead"
sleep 300 & live=$!
now=$(date +%s)
task='{"id": "T-0001", "title": "half written"}'
for n in 0 1 2; do echo "$task" >"tmp/$now.12345.$dead.$n"; done
echo "$task" >"tmp/$now.5.$live.0"
echo '{"title": "draft"}' >tmp/draft.json
echo x >"tmp/$now.5.$dead"		# one number short
echo x >"tmp/$now.5.$dead.1x"		# not a number
echo x >"tmp/$now.5.0.1"		# no pid
mkdir "tmp/$now.6.$dead.0"		# a directory, not a file
ln -s /etc/passwd "tmp/$now.7.$dead.9"	# a link is a name: removed, not followed

spool reconcile >/dev/null; ok $? "reconcile runs"
is "$(find tmp -maxdepth 1 ! -type d -name "*.$dead.[0-9]" | wc -l)" 0 \
	"a dead writer's files are gone"
[ -e "tmp/$now.5.$live.0" ]; ok $? "a running writer's file is kept"
[ -e tmp/draft.json ]; ok $? "an agent's draft is kept"
is "$(ls tmp | grep -c "^$now\.5\.\(0\|$dead\)")" 3 "names of another shape are kept"
[ -d "tmp/$now.6.$dead.0" ]; ok $? "a directory is kept"
[ -e /etc/passwd ]; ok $? "the link's target is untouched"
is "$(git status --porcelain | wc -l)" 0 "nothing to commit"

# spoold's first look is a whole one.
sh -c 'exit 0' & dead=$!; wait "$dead"
echo "$task" >"tmp/$now.1.$dead.0"
start_daemon || exit 1
until_ok 10 test ! -e "tmp/$now.1.$dead.0"; ok $? "spoold's start clears a dead writer's file"
stop_daemon
kill "$live"; wait "$live" 2>/dev/null
rm -rf tmp/*

# A killed writer for real: reconcile killed -9 while recording submits
# (each one rewrites the task in place through tmp/) until one kill lands
# between a write and its rename.
spool agent add a1 >/dev/null
for i in $(seq 200); do printf '{"title": "t-%d"}\n' "$i" >"tmp/d-$i"; done
mv tmp/d-* new/ && spool reconcile >/dev/null
for f in ready/*.json; do mv "$f" claimed/a1/; done
for f in claimed/a1/*.json; do mv "$f" review/; done
left=0
for ((k = 0; k < 40 && left == 0; k++)); do
	spool reconcile >/dev/null 2>&1 & pid=$!
	sleep "0.0$((RANDOM % 9 + 1))"
	kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
	left=$(ls tmp | grep -c "\.$pid\.[0-9]*$")
done
echo "# $k kills; the last left $left file(s) in tmp/"
spool reconcile >/dev/null; ok $? "reconcile records what the killed ones left"
is "$(ls tmp | grep -c '^[0-9]*\.[0-9]*\.[0-9]*\.[0-9]*$')" 0 "no file of a killed writer is left"
is "$(ls review | wc -l)" 200 "every task is in review/"
tree_matches; ok $? "the tree matches HEAD"
done_testing
