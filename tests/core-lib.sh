# Helpers for the core tests (tests/t/0*.t), sourced after lib.sh.
# shellcheck shell=bash

# A spool with a worker, a second worker, a reviewer and an operator.
core_spool() {
	new_spool || return 1
	spool agent add dev --capabilities code,docs >/dev/null &&
	spool agent add ops --capabilities code >/dev/null &&
	spool agent add rev --roles reviewer >/dev/null &&
	spool agent add boss --roles operator >/dev/null
}
head_id() { git -C "$SPOOL_DIR" rev-parse HEAD; }
# trailer FIELD [REV]: the value of Spool-FIELD in one commit's message.
trailer() {
	git -C "$SPOOL_DIR" log -1 --format=%B "${2:-HEAD}" |
		sed -n "s/^Spool-$1: //p" | head -n1
}
author() { git -C "$SPOOL_DIR" log -1 --format=%an "${1:-HEAD}"; }
subject() { git -C "$SPOOL_DIR" log -1 --format=%s "${1:-HEAD}"; }
# The path of ID at HEAD (state directory), from the committed tree.
head_state() {
	git -C "$SPOOL_DIR" ls-tree -r --name-only HEAD |
		sed -n "s#^\(.*\)/$1\.json\$#\1#p"
}
# drop NAME JSON: writes a task into new/ the Maildir way (tmp/, then mv).
drop() {
	mkdir -p "$SPOOL_DIR/tmp" &&
	printf '%s\n' "$2" >"$SPOOL_DIR/tmp/$1" &&
	mv "$SPOOL_DIR/tmp/$1" "$SPOOL_DIR/new/$1"
}
# field ID NAME: a field of the task file, wherever it is (jq expression).
field() {
	local d; d=$(state_of "$1")
	jq -c "$2" "$SPOOL_DIR/$d/$1.json"
}
# A clean tree (tasks on disk as at HEAD) and a clean repository.
tree_matches_head() {
	local disk head
	disk=$(cd "$SPOOL_DIR" && find new blocked ready claimed review done failed cancelled quarantine deliverables agents modules \( -type f -o -type l \) ! -name '.*' | sort)
	head=$(git -C "$SPOOL_DIR" ls-tree -r --name-only HEAD -- new blocked ready claimed review done failed cancelled quarantine deliverables agents modules | grep -v '/\.[^/]*$' | sort)
	[ "$disk" = "$head" ] || { diff <(echo "$head") <(echo "$disk") | head -n 20 | sed 's/^/# /'; return 1; }
}
# recorded DESC ID FROM TO AGENT VERB [ATTEMPT]: HEAD records that move,
# authored by AGENT, with the trailers; and HEAD's tree has ID in TO.
recorded() {
	local want="$5|$2|$3|$4|$5|$6" got
	got="$(author)|$(trailer Task)|$(trailer From)|$(trailer To)|$(trailer Agent)|$(trailer Verb)"
	if [ $# -ge 7 ]; then want="$want|$7"; got="$got|$(trailer Attempt)"; fi
	is "$got" "$want" "$1: commit by $5, trailers $3 -> $4 ($6)"
	is "$(head_state "$2")" "$4" "$1: HEAD's tree has $2 in $4"
}
# in_review N: files N tasks, T-0001 on, claimed and submitted by dev.
in_review() {
	local i
	for i in $(seq 1 "$1"); do
		spool add --title "task $i" >/dev/null
		spool claim --agent dev >/dev/null
		spool submit "$(printf 'T-%04d' "$i")" --agent dev >/dev/null
	done
}
# reject_killed ID: starts rev's reject to ready/ (feedback "redo ID");
# the moment the task lands there, stops the reject with -9. Succeeds
# when the kill came after the move and before the reject exited.
reject_killed() {
	local id=$1 pid rc
	spool reject "$id" --agent rev --to-ready \
		--feedback "redo $id" >/dev/null 2>&1 &
	pid=$!
	until [ -e "$SPOOL_DIR/ready/$id.json" ] || ! kill -0 "$pid" 2>/dev/null; do :; done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	[ "$rc" = 137 ] && [ -e "$SPOOL_DIR/ready/$id.json" ]
}
# reject_then_claim ID: reject_killed, then the task claimed by mv as ops.
# Succeeds when the kill came after the move and ops has the task.
reject_then_claim() {
	reject_killed "$1" &&
		mv "$SPOOL_DIR/ready/$1.json" "$SPOOL_DIR/claimed/ops/" 2>/dev/null
}
# rejected_then_claimed LIST: how many of the tasks listed in the file
# LIST (one ID a line) lack the history add, claim and submit by dev, a
# reject by rev, a claim by ops, or lack the reject's feedback ("redo ID")
# in claimed/ops/; each one is said.
rejected_then_claimed() {
	local id got bad=0 f
	local want="operator add dev claim dev submit rev reject ops claim"
	while read -r id; do
		got=$(git -C "$SPOOL_DIR" log --reverse --format=%B \
			--grep="^Spool-Task: $id\$" |
			sed -n 's/^Spool-\(Verb\|Agent\): //p' | paste -sd' ')
		[ "$got" = "$want" ] || { bad=$((bad + 1)); echo "# $id: $got" >&2; }
		f=$SPOOL_DIR/claimed/ops/$id.json
		[ -e "$f" ] &&
			[ "$(jq -c '[.feedback[]?.text]' "$f")" = "[\"redo $id\"]" ] ||
			{ bad=$((bad + 1)); echo "# $id: feedback $(jq -c .feedback "$f" 2>&1)" >&2; }
	done < <(cat "$1" 2>/dev/null)
	echo "$bad"
}
