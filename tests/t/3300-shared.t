#!/bin/bash
# A spool shared by several Unix users: the layout init --shared makes,
# agents bound to accounts, and each attack of one agent on another
# tried for real, as those users: refused by the kernel, refused by
# spoold, or undone, with the real actor in the history.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root to create Unix users and groups"
	exit 0
fi

# Unique names, removed at the end whatever happens.
G=spg$$ O=spo$$ A=spa$$ B=spb$$ C=spc$$
users_cleanup() {
	[ -f "$SPOOL_DIR/.spool/run/daemon.pid" ] && stop_daemon
	for u in $A $B $C; do userdel "$u" 2>/dev/null; done
	for g in $G $O; do groupdel "$g" 2>/dev/null; done
	cleanup
}
trap users_cleanup EXIT
groupadd "$G" && groupadd "$O" &&
	useradd -M -U -G "$G" "$A" && useradd -M -U -G "$G" "$B" &&
	useradd -M -U -G "$G,$O" "$C" || { echo "1..0 # SKIP cannot add users"; exit 0; }
chmod 755 "$T"
as() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --init-groups "$@"; }
mode() { stat -c '%a %U %G' "$S/$1"; }

# ---- init --shared --------------------------------------------------------

S=$T/spool
export SPOOL_DIR=$S
spool init --shared "$G" --operators "$O" "$S" >"$T/init" 2>&1
ok $? "spool init --shared makes a shared spool"
grep -q "laid out" "$T/init"; ok $? "and says what it laid out"
is "$(mode ready)" "2770 root $G" "ready/ is the group's to write, setgid"
is "$(mode review)" "2770 root $G" "review/ too"
is "$(mode tmp)" "3770 root $G" "tmp/ too, sticky: each removes only its own"
is "$(mode done)" "2750 root $G" "done/ is the owner's alone"
is "$(mode .git)" "2750 root $G" ".git is the owner's alone"
is "$(mode .spool/hooks)" "2750 root $G" ".spool/hooks is the owner's alone"
find "$S/.git" -perm /022 | grep -q . ; ok $((!$?)) "nothing in .git is writable by group or others"

# Converting a single-user spool says what it changed; again, nothing.
S2=$T/spool2
spool init "$S2" >/dev/null
spool -C "$S2" add --title x >/dev/null && chmod 666 "$S2/ready/T-0001.json"
spool init --shared "$G" "$S2" >"$T/conv" 2>&1; ok $? "init --shared converts an existing spool"
is "$(stat -c '%a %G' "$S2/ready/T-0001.json")" "644 $G" "a task file is the group's to read, nobody's to write"
grep -q "^ready: owner 0:0 -> 0:[0-9]*, mode 0755 -> 2770" "$T/conv"; ok $? "and lists what it changed"
grep -q '"group"' "$S2/.spool/config.json"; ok $? "the config says it is shared"
is "$(git -C "$S2" log -1 --format=%s)" "share the spool with group $G" "the change is committed"
spool init --shared "$G" "$S2" >"$T/conv2" 2>&1
grep -q "nothing changed" "$T/conv2"; ok $? "converting again changes nothing"

# ---- agents bound to users --------------------------------------------------

spool agent add alice --user "$A" >/dev/null &&
	spool agent add alice2 --user "$A" >/dev/null &&
	spool agent add bob --user "$B" >/dev/null &&
	spool agent add rev --user "$C" --roles reviewer >/dev/null
ok $? "root binds agents to users, one user holding two names"
is "$(mode claimed/alice)" "2775 $A root" "claimed/alice is alice's user's (and spoold's) alone to write"
is "$(mode claimed/alice2)" "2775 $A root" "so is claimed/alice2"
spool init "$T/single" >/dev/null
fails 1 "binding an agent in a single-user spool is refused" -- spool -C "$T/single" agent add x --user "$A"

spool add --title one >/dev/null && spool add --title two >/dev/null &&
	spool add --title three >/dev/null && spool add --title four >/dev/null
start_daemon || exit 1
until_ok 15 test -S "$S/.spool/run/spoold.sock"; ok $? "spoold serves a socket in a shared spool"

# Registering is for operators, through spoold or not.
fails 1 "bob cannot register himself a reviewer" -- as "$B" spool agent add me --roles reviewer
grep -q "not an operator" "$T/.err"; ok $? "spoold says he is no operator"
test ! -e "$S/agents/me.json"; ok $? "and nothing was registered"
fails 1 "bob cannot rebind alice to himself" -- as "$B" spool agent add alice --user "$B"
grep -q "\"user\": \"$A\"" "$S/agents/alice.json"; ok $? "alice stays bound to her user"
fails 0 "an operator from the group registers an agent" -- as "$C" spool agent add carolbot --user "$C"
is "$(git -C "$S" log -1 --format=%an)" "$C" "recorded with the operator's name, from the kernel"

# ---- attacks on another agent's work --------------------------------------

as "$A" mv "$S/ready/T-0001.json" "$S/claimed/alice/"; ok $? "alice claims by mv"
until_ok 15 in_head claimed/alice/T-0001.json; ok $? "spoold records it"
is "$(git -C "$S" log -1 --format=%an)" "alice" "as alice's claim"
as "$B" spool ls >"$T/ls" 2>&1; ok $? "bob lists the spool, others' claimed/ too"
grep -q "^T-0001 *claimed/alice" "$T/ls"; ok $? "he sees alice's claim"
before=$(stat -c %y "$S/claimed/alice/T-0001.json")
fails 0 "alice renews her lease on a file spoold wrote, through spoold" -- as "$A" spool heartbeat T-0001 --agent alice
[ "$(stat -c %y "$S/claimed/alice/T-0001.json")" != "$before" ]; ok $? "the file is touched"
fails 1 "bob cannot renew alice's lease" -- as "$B" spool heartbeat T-0001
id=$(as "$B" spool add --title "from bob" 2>"$T/err"); ok $? "bob adds a task, through spoold"
is "$(git -C "$S" log -1 --format=%an)" "bob" "recorded as bob's"
as "$B" spool cancel "$id" >/dev/null 2>&1; ok $((!$?)) "which he cannot cancel himself"
spool cancel "$id" >/dev/null

as "$B" mv "$S/claimed/alice/T-0001.json" "$S/review/" 2>/dev/null
ok $((!$?)) "bob cannot submit alice's task by mv: the kernel refuses"
test -f "$S/claimed/alice/T-0001.json"; ok $? "it stays with alice"
as "$B" mv "$S/ready/T-0002.json" "$S/claimed/alice/" 2>/dev/null
ok $((!$?)) "bob cannot push work into alice's claimed/ either"
as "$B" sh -c "echo '{}' >'$S/claimed/alice/T-0001.json'" 2>/dev/null
ok $((!$?)) "nor write her task file"

fails 1 "bob cannot submit it as alice with --agent" -- as "$B" spool submit T-0001 --agent alice
grep -q "may not act as 'alice'" "$T/.err"; ok $? "refused for who he is"
fails 1 "nor with SPOOL_AGENT" -- as "$B" env SPOOL_AGENT=alice spool submit T-0001
fails 1 "nor through spoold's socket under his own name" -- as "$B" spool submit T-0001
test -f "$S/claimed/alice/T-0001.json"; ok $? "the task is still alice's"

fails 1 "alice, holding two names, must say which" -- as "$A" spool submit T-0001
fails 0 "alice submits as one of her names" -- as "$A" spool submit T-0001 --agent alice
is "$(state_of T-0001)" "review" "through spoold"
is "$(git -C "$S" log -1 --format='%an %s')" "alice submit T-0001 by alice (claimed/alice -> review)" \
	"recorded as alice's submit"

fails 1 "bob, a worker, cannot approve it" -- as "$B" spool approve T-0001
fails 1 "nor claim to be an operator by a made-up name" -- as "$B" spool approve T-0001 --agent boss
is "$(state_of T-0001)" "review" "it waits for review"

# review/ and ready/ are the group's: a move between them nobody can be
# told from, and that no agent may make by mv, is undone.
as "$B" mv "$S/review/T-0001.json" "$S/ready/"; ok $? "bob rejects by mv between group directories"
until_ok 15 eval "test -f '$S/review/T-0001.json' && test ! -e '$S/ready/T-0001.json'"
ok $? "spoold undoes it"
is "$(git -C "$S" log -1 --format='%an %s')" "unknown revert T-0001 by unknown (ready -> review)" \
	"recorded as a move by someone unknown, not by an operator"

fails 0 "a reviewer bound to its user approves" -- as "$C" spool approve T-0001 --agent rev
is "$(state_of T-0001)" "done" "the task is done"
is "$(git -C "$S" log -1 --format=%an)" "rev" "by the reviewer"

fails 0 "bob claims with spool claim, through spoold" -- as "$B" spool claim
is "$(state_of T-0002)" "claimed/bob" "into his own claimed/"
fails 1 "bob cannot cancel alice's work" -- as "$B" spool cancel T-0003
fails 1 "an operator acting as alice has alice's roles: no cancel" -- as "$C" spool cancel T-0003 --agent alice
grep -q "not an operator" "$T/.err"; ok $? "the table says why"
fails 0 "an operator from the group cancels as itself" -- as "$C" spool cancel T-0003
is "$(state_of T-0003)" "cancelled" "cancelled"
is "$(git -C "$S" log -1 --format=%an)" "$C" "in the operator's name"
fails 0 "root cancels directly" -- spool cancel T-0004
is "$(git -C "$S" log -1 --format=%an)" "root" "as root"

# Connections that send nothing hold nobody up. (The system's python:
# one under root's home is not bob's to run.)
PY=/usr/bin/python3
as "$B" $PY -c '
import socket, sys, time
ss = []
for i in range(20):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); ss.append(s)
print("held", flush=True)
time.sleep(60)
' "$S/.spool/run/spoold.sock" >"$T/held" 2>&1 &
held=$!
until_ok 15 grep -q held "$T/held"; ok $? "bob holds 20 silent connections to spoold"
id=$(spool add --title six)
as "$A" mv "$S/ready/$id.json" "$S/claimed/alice/"
until_ok 10 in_head "claimed/alice/$id.json"; ok $? "spoold records meanwhile"
timeout 10 setpriv --reuid="$A" --regid="$A" --init-groups spool release "$id" --agent alice >/dev/null
ok $? "and answers alice at once"
kill "$held" 2>/dev/null; wait "$held" 2>/dev/null

# Rewriting the history is the owner's alone.
as "$B" git -c safe.directory='*' -C "$S" -c user.name=bob -c user.email=b@x \
	commit -q --amend --allow-empty -m forged 2>/dev/null
ok $((!$?)) "bob cannot amend the history: .git is not his to write"

# ---- hooks no agent could have written -------------------------------------

as "$B" sh -c "printf '#!/bin/sh\ntouch $T/pwned\n' >'$S/.spool/hooks/on-submit'" 2>/dev/null
ok $((!$?)) "bob cannot plant a hook: .spool/hooks is not his to write"
# One that got there anyway (a group-writable file) is not run.
printf '#!/bin/sh\ntouch %s/ran-claim\n' "$T" >"$S/.spool/hooks/on-claim"
chmod 775 "$S/.spool/hooks/on-claim"
printf '#!/bin/sh\ntouch %s/ran-release\n' "$T" >"$S/.spool/hooks/on-ready"
chmod 755 "$S/.spool/hooks/on-ready"
as "$B" mv "$S/claimed/bob/T-0002.json" "$S/ready/"; ok $? "bob releases by mv"
until_ok 15 test -e "$T/ran-release"; ok $? "a hook only the owner could write runs"
as "$A" mv "$S/ready/T-0002.json" "$S/claimed/alice2/"; ok $? "alice claims as alice2"
until_ok 15 log_has "hook on-claim T-0002: not run: '.spool/hooks/on-claim' is writable by its group"
ok $? "a group-writable hook is not run, and the log says why"
test ! -e "$T/ran-claim"; ok $? "it did not run"
chown "$B" "$S/.spool/hooks/on-claim"; chmod 755 "$S/.spool/hooks/on-claim"
as "$A" mv "$S/claimed/alice2/T-0002.json" "$S/ready/" && as "$A" mv "$S/ready/T-0002.json" "$S/claimed/alice/"
until_ok 15 log_has "'.spool/hooks/on-claim' belongs to uid $(id -u "$B")"
ok $? "nor is one that belongs to an agent's user"
test ! -e "$T/ran-claim"; ok $? "it did not run either"
# A link the owner made, to a script an agent can write, is not run.
mkdir -p "$T/drop" && chown "$B" "$T/drop"
printf '#!/bin/sh\ntouch %s/ran-link\n' "$T" >"$T/drop/hook" && chown "$B" "$T/drop/hook" && chmod 755 "$T/drop/hook"
rm -f "$S/.spool/hooks/on-claim" && ln -s "$T/drop/hook" "$S/.spool/hooks/on-claim"
id=$(spool add --title five)
as "$A" mv "$S/ready/$id.json" "$S/claimed/alice/"
until_ok 15 log_has "'$T/drop/hook' belongs to uid $(id -u "$B")"
ok $? "nor one linked to a file an agent's user owns"
test ! -e "$T/ran-link"; ok $? "which did not run"
spool status >"$T/status"
grep -q "^violations: 3 hooks or checks not run" "$T/status"; ok $? "spool status shows the violations"
is "$(spool status --json | jq -r .violations.count)" "3" "and so does its JSON"

stop_daemon
spool verify >/dev/null; ok $? "spool verify accepts the whole history"
fsck_clean; ok $? "git fsck is clean"
done_testing
