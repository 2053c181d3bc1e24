# Shared by the daemon tests (tests/t/3*.t), after lib.sh: start and stop
# spoold, and wait with a deadline instead of sleeping.
# shellcheck shell=bash

# until_ok SECONDS CMD...: runs CMD until it succeeds or the time is up.
# TEST_TIME_SCALE multiplies every bound, for slower builds (make
# check-sanitize): a bound is how long a test is willing to wait, never
# how long something takes.
until_ok() {
	local limit=$(( $1 * ${TEST_TIME_SCALE:-1} )) end; shift
	end=$(( $(date +%s%N) / 1000000 + limit * 1000 ))
	while ! "$@" >/dev/null 2>&1; do
		[ $(( $(date +%s%N) / 1000000 )) -ge "$end" ] && return 1
		sleep 0.02
	done
}

# Starts spoold on $SPOOL_DIR; returns once it watches.
start_daemon() {
	spoold -C "$SPOOL_DIR" --detach --log-level debug "$@"
}
stop_daemon() {
	spool daemon stop --timeout $((10 * ${TEST_TIME_SCALE:-1})) >/dev/null
}
daemon_pid() {
	cat "$SPOOL_DIR/.spool/run/daemon.pid" 2>/dev/null
}
# pause_daemon: stops spoold (SIGSTOP) between batches, never holding
# the spool lock. The lock is held here while the signal lands and let
# go only once spoold is stopped and not waiting for it: a waiter the
# signal has not reached yet (a loaded machine) would take the lock on
# its way to stopping, and every command after it would wait for ever.
# kill -CONT "$(daemon_pid)" lets it go on.
pause_daemon() {
	local pid ino lock=$SPOOL_DIR/.spool/run/lock
	pid=$(daemon_pid) && [ -n "$pid" ] || return 1
	ino=$(stat -c %i "$lock") || return 1
	exec 8>>"$lock"
	flock 8
	kill -STOP "$pid"
	until [ "$(cut -d' ' -f3 "/proc/$pid/stat")" = T ] &&
		! grep -q -- "-> FLOCK .* $pid [0-9a-f:]*:$ino " /proc/locks; do
		sleep 0.01
	done
	exec 8>&-
}
daemon_log() {
	cat "$SPOOL_DIR/.spool/run/spoold.log" 2>/dev/null
}
# in_head PATH: the path is in the last commit.
in_head() {
	git -C "$SPOOL_DIR" cat-file -e "HEAD:$1" 2>/dev/null
}
# log_has TEXT: the daemon logged it.
log_has() {
	grep -q -- "$1" "$SPOOL_DIR/.spool/run/spoold.log" 2>/dev/null
}
# tree_matches: every task file on disk is at HEAD, and nothing else is.
tree_matches() {
	local disk head
	disk=$(cd "$SPOOL_DIR" && find blocked ready claimed review done failed cancelled -name '*.json' | sort)
	head=$(git -C "$SPOOL_DIR" ls-tree -r --name-only HEAD blocked ready claimed review done failed cancelled | grep '\.json$' | sort)
	[ "$disk" = "$head" ]
}
# Writes N task files T-00001.. straight into ready/ (then reconcile).
make_tasks() {
	local n=$1
	perl -e 'my ($d,$n)=@ARGV; for my $i (1..$n) { my $id=sprintf("T-%05d",$i);
		open(my $f, ">", "$d/ready/$id.json") or die; print $f "{\"id\": \"$id\", \"title\": \"task $i\", \"attempt\": 1}\n"; close $f; }' \
		"$SPOOL_DIR" "$n"
}
