#!/bin/bash
# The inotify queue overflows (more than 16,384 events while the daemon is
# stopped): the daemon reconciles the whole tree and misses nothing.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

new_spool
spool agent add bob >/dev/null
make_tasks 3000
spool reconcile >/dev/null; ok $? "3000 tasks recorded"
start_daemon || exit 1
pid=$(daemon_pid)
max=$(cat /proc/sys/fs/inotify/max_queued_events)
echo "# max_queued_events: $max"

kill -STOP "$pid"
# 3000 claims, 1000 submissions, 6 touches of each still claimed:
# 2 events per rename, 1 per touch: 6000 + 2000 + 12000 > 16384.
perl -e 'my ($d)=@ARGV; for my $i (1..3000) { my $id=sprintf("T-%05d",$i);
	rename("$d/ready/$id.json", "$d/claimed/bob/$id.json") or die "$id: $!"; }
	for my $i (1..1000) { my $id=sprintf("T-%05d",$i);
	rename("$d/claimed/bob/$id.json", "$d/review/$id.json") or die; }
	for my $r (1..6) { for my $i (1001..3000) { my $id=sprintf("T-%05d",$i);
	utime(undef, undef, "$d/claimed/bob/$id.json"); } }' "$S"
ok $? "more than $max events while the daemon is stopped"
kill -CONT "$pid"

until_ok 20 log_has "the inotify queue overflowed"; ok $? "the daemon saw the overflow"
until_ok 20 tree_matches; ok $? "and reconciled: the tree matches HEAD"
is "$(git -C "$S" ls-tree --name-only HEAD claimed/bob/ | grep -c json)" 2000 "2000 claims recorded"
is "$(git -C "$S" ls-tree --name-only HEAD review/ | grep -c json)" 1000 "1000 submissions recorded"
git -C "$S" log --format=%B --grep='Spool-Task: T-00002$' | grep -q "Spool-To: review"; ok $? "each one findable by id"
fsck_clean; ok $? "git fsck is clean"

# After the overflow the watches still work.
mv "$S/claimed/bob/T-03000.json" "$S/review/"
until_ok 15 in_head review/T-03000.json; ok $? "events are followed again after the overflow"
stop_daemon
done_testing
