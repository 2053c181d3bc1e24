#!/bin/sh
# Installs the Debian packages Spool needs to build, test, fuzz and
# benchmark (make fuzz: clang-14 with libFuzzer from libclang-rt-14-dev,
# llvm-14 for symbolized reports).
#   deps.sh check    fail with the apt-get line if a build dependency is missing
#   deps.sh install  install what is missing (as root), or print the line
set -u
PKGS="gcc make pkg-config git jq libgit2-dev libjansson-dev libarchive-dev
libyaml-dev nettle-dev libcmocka-dev zlib1g-dev inotify-tools perl stow hyperfine
man-db groff-base bsdextrautils bash-completion valgrind procps python3
clang-14 libclang-rt-14-dev llvm-14"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "${1:-check}" = install ] && [ "$(id -u)" = 0 ]; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || exit 1
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null || exit 1
	exit 0
fi
# A plain build needs only the libraries; say exactly what to run.
for p in libgit2-dev libjansson-dev libarchive-dev libyaml-dev nettle-dev \
    pkg-config; do
	case "$missing" in *" $p"*)
		echo "deps: missing packages; run as root:" >&2
		echo "  apt-get install$missing" >&2
		exit 1;;
	esac
done
[ "${1:-check}" = install ] && {
	echo "deps: missing packages; run as root:" >&2
	echo "  apt-get install$missing" >&2
	exit 1
}
exit 0
