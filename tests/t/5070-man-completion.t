#!/usr/bin/env bash
# The man pages install with make install, render with man without
# warnings and uninstall cleanly; bash completion offers the commands,
# their options and task ids from the state directories.
. "$(dirname "$0")/../lib.sh"
D=$T/inst
make -s -C "$TOP" install DESTDIR="$D" PREFIX=/usr >"$T/make.out" 2>&1; ok $? "make install"
for page in man1/spool.1 man1/spool-launch.1 man5/spool.5 man8/spoold.8; do
	[ -f "$D/usr/share/man/$page" ]; ok $? "installed $page"
	groff -ww -man -z "$D/usr/share/man/$page" 2>"$T/warn"
	is "$(cat "$T/warn")" "" "$page: groff finds nothing to warn about"
done
if command -v man >/dev/null; then
	MANWIDTH=80 man -l "$D/usr/share/man/man1/spool.1" 2>/dev/null >"$T/spool.1.txt"
	grep -q "diagnose ID" "$T/spool.1.txt"; ok $? "man -l renders spool(1)"
	MANPATH=$D/usr/share/man MANWIDTH=80 man 5 spool 2>/dev/null | grep -q "retention.archive_after"
	ok $? "man 5 spool finds the installed page"
	MANPATH=$D/usr/share/man MANWIDTH=80 man 8 spoold 2>/dev/null | grep -q "daemon.pid"
	ok $? "man 8 spoold finds the installed page"
fi
# every command of spool help has an entry in spool(1)
groff -man -Tascii -rLL=200n "$D/usr/share/man/man1/spool.1" 2>/dev/null | col -b >"$T/rendered"
for c in $(spool help | awk '/^  [a-z]/ { print $1 }'); do
	grep -qE "^ {7}$c( |$)" "$T/rendered"; ok $? "spool(1) documents '$c'"
done
[ -f "$D/usr/share/bash-completion/completions/spool" ]; ok $? "completion installed"
[ -e "$D/usr/share/bash-completion/completions/spoold" ]; ok $? "and for spoold"
U=$D/usr/lib/systemd/system/spool-work@.service
[ -f "$U" ]; ok $? "the spool-work@ unit installed"
grep -q '^ExecStart=/usr/bin/spool work --agent %i ' "$U"; ok $? "running the installed spool"
make -s -C "$TOP" uninstall DESTDIR="$D" PREFIX=/usr >/dev/null 2>&1; ok $? "make uninstall"
is "$(find "$D" -type f -o -type l | wc -l)" 0 "nothing left behind"

# completion in a spool
new_spool || exit 1
spool agent add dev >/dev/null
spool add --title a >/dev/null; spool add --title b >/dev/null
spool claim --agent dev >/dev/null
comp() {	# comp WORDS...: what bash would offer for the last word
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _spool; printf "%s\n" "${COMPREPLY[@]}"' \
		_ "$TOP/docs/spool.bash-completion" "$@" | sort | tr '\n' ' '
}
is "$(comp spool dia)" "diagnose " "commands"
is "$(comp spool wait --state d)" "done " "wait --state: states"
is "$(comp spool submit T-)" "T-0001 " "submit: claimed task ids"
is "$(comp spool cancel T-)" "T-0001 T-0002 " "cancel: open task ids"
is "$(comp spool claim --agent "")" "dev " "--agent: registered agents"
is "$(comp spool events --f)" "--follow " "options"
is "$(comp spool work --no)" "--no-wait " "work: its options"
is "$(comp spool work --agent dev -- spoold)" "spoold " "work: after --, a command"
done_testing
