#!/usr/bin/env bash
# Hydrate benchmark: 40 skills from 3 roots into 100 workspaces (4,000
# links), fresh, no-op re-run and removal of 10 skills, for
# 'spool hydrate --all' and for GNU Stow doing the same work (one stow
# package per skill), on the same filesystem in the same run.
#
#   bench/hydrate.sh [RUNS [STOW_RUNS]]
#
# Each phase runs RUNS times for hydrate (default 5) and STOW_RUNS times
# for stow (default 1: about 30 s), and the median is kept.
#
# Prints a Markdown table; exits 1 if a target is missed (fresh at least
# 20x faster than stow; no-op re-run under 50 ms).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
SPOOL=${SPOOL:-$here/../bin/spool}
RUNS=${1:-5}
STOW_RUNS=${2:-1}
SKILLS=40 WORKSPACES=100 DROP=10
command -v stow >/dev/null || { echo "hydrate bench: stow is not installed" >&2; exit 1; }
[ -x "$SPOOL" ] || { echo "hydrate bench: no $SPOOL; run make" >&2; exit 1; }

B=$(mktemp -d "${TMPDIR:-/tmp}/spool-bench-hydrate.XXXXXX")
trap 'rm -rf "$B"' EXIT

now() { date +%s%N; }
ms() { awk -v ns="$1" 'BEGIN { printf "%.1f", ns / 1e6 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Skills s01..s40 spread over three roots; the same layout as stow
# packages: stowK/sNN/sNN/SKILL.md (package sNN holds the directory sNN).
names=()
for i in $(seq -w 1 $SKILLS); do
	n=s$i; names+=("$n")
	k=$(( (10#$i - 1) % 3 + 1 ))
	for d in "$B/root$k/$n" "$B/stow$k/$n/$n"; do
		mkdir -p "$d"
		printf -- '---\nname: %s\ndescription: Benchmark skill %s.\n---\n' "$n" "$n" >"$d/SKILL.md"
	done
done
keep=("${names[@]:0:$((SKILLS - DROP))}")
dropped=("${names[@]:$((SKILLS - DROP))}")

ws_json() {
	local sep= i
	for i in $(seq -w 1 $WORKSPACES); do
		printf '%s"ws/w%s": "bench"' "$sep" "$i"; sep=,
	done
}
write_manifest() {	# write_manifest SKILL...
	local list; list=$(printf '"%s",' "$@"); list=${list%,}
	printf '{"builtin": false, "roots": ["root1", "root2", "root3"],
 "global_defaults": [], "project_defaults": {"bench": [%s]},
 "targets": [".agents/skills"], "workspaces": {%s}}\n' "$list" "$(ws_json)" >"$B/m.json"
}

hydrate() { "$SPOOL" hydrate -q --all --manifest "$B/m.json"; }

# pkgs_of K SKILL...: the skills of stow dir K among the given ones.
pkgs_of() {
	local k=$1 n; shift
	for n in "$@"; do [ -d "$B/stow$k/$n" ] && printf '%s ' "$n"; done
}
stow_all() {	# stow_all FLAG SKILL...: one stow call per workspace and root
	local flag=$1 w k; shift
	local -a p1 p2 p3
	read -ra p1 <<<"$(pkgs_of 1 "$@")"
	read -ra p2 <<<"$(pkgs_of 2 "$@")"
	read -ra p3 <<<"$(pkgs_of 3 "$@")"
	for w in "$B"/sw/w*; do
		stow $flag -d "$B/stow1" -t "$w/.agents/skills" "${p1[@]}"
		stow $flag -d "$B/stow2" -t "$w/.agents/skills" "${p2[@]}"
		stow $flag -d "$B/stow3" -t "$w/.agents/skills" "${p3[@]}"
	done
}
fresh_dirs() {	# empty workspaces; stow needs its target directories made
	rm -rf "$B/ws" "$B/sw"
	for i in $(seq -w 1 $WORKSPACES); do
		mkdir -p "$B/ws/w$i" "$B/sw/w$i/.agents/skills"
	done
}
count_links() { find "$B/$1" -type l | wc -l; }
check() {	# check N PHASE STOWED: both sides hold exactly N links
	[ "$(count_links ws)" -eq "$1" ] &&
		{ [ "$3" = 0 ] || [ "$(count_links sw)" -eq "$1" ]; } ||
		{ echo "hydrate bench: wrong link count after $2" >&2; exit 1; }
}
timed() { local t0; t0=$(now); "$@" >/dev/null; echo $(( $(now) - t0 )); }

# Run every phase RUNS times from the same starting state.
declare -A H S
[ "$STOW_RUNS" -le "$RUNS" ] || RUNS=$STOW_RUNS
for r in $(seq "$RUNS"); do
	fresh_dirs
	write_manifest "${names[@]}"
	st=$([ "$r" -le "$STOW_RUNS" ] && echo 1 || echo 0)
	H[fresh]+="$(timed hydrate) "
	[ "$st" = 1 ] && S[fresh]+="$(timed stow_all -S "${names[@]}") "
	check $((SKILLS * WORKSPACES)) fresh "$st"
	H[noop]+="$(timed hydrate) "
	[ "$st" = 1 ] && S[noop]+="$(timed stow_all -S "${names[@]}") "
	check $((SKILLS * WORKSPACES)) no-op "$st"
	write_manifest "${keep[@]}"
	H[removal]+="$(timed hydrate) "
	[ "$st" = 1 ] && S[removal]+="$(timed stow_all -D "${dropped[@]}") "
	check $(((SKILLS - DROP) * WORKSPACES)) removal "$st"
done

[ -z "${BENCH_DEBUG:-}" ] || declare -p H S >&2
echo "## Hydrate"
echo
echo "\`bench/hydrate.sh $RUNS $STOW_RUNS\`: $SKILLS skills from 3 roots into" \
	"$WORKSPACES workspaces, one target each ($((SKILLS * WORKSPACES)) links);" \
	"removal drops $DROP skills from the set. \`spool hydrate --all\` (one" \
	"process, median of $RUNS) against $(stow --version | sed 's/^stow (GNU Stow) version/GNU Stow/')" \
	"with one package per skill, one call per workspace and root" \
	"($((WORKSPACES * 3)) calls a phase; median of $STOW_RUNS), on the same filesystem."
echo
printf '| %-14s | %14s | %14s | %8s |\n' phase "spool hydrate" "GNU Stow" ratio
printf '|%s|%s|%s|%s|\n' "----------------" "---------------:" "---------------:" "---------:"
fail=0
for phase in fresh noop removal; do
	h=$(echo ${H[$phase]} | tr ' ' '\n' | median)
	s=$(echo ${S[$phase]} | tr ' ' '\n' | median)
	ratio=$(awk -v h="$h" -v s="$s" 'BEGIN { printf "%.0fx", s / h }')
	label=$phase; [ "$phase" = noop ] && label="no-op re-run"
	printf '| %-14s | %11s ms | %11s ms | %8s |\n' "$label" "$(ms "$h")" "$(ms "$s")" "$ratio"
	case $phase in
	fresh) awk -v h="$h" -v s="$s" 'BEGIN { exit !(s / h >= 20) }' || fail=1 ;;
	noop) [ "$h" -lt 50000000 ] || fail=1 ;;
	esac
done
echo

# The skills CLI (npm 'skills', 1.4.x, Node 18+), the way most people
# install Agent Skills today: one 'skills add ROOT' per root and
# workspace, for two runtimes (claude-code, codex), against one
# 'spool hydrate' of the same workspaces with the same two targets. It
# takes seconds a call, so it gets SKILLS_CLI_WORKSPACES workspaces (10).
# SKILLS_CLI names it; else the one make bench installs into build/npm,
# else 'skills' on PATH, else what npx has cached.
LOCAL_CLI=$here/../build/npm/node_modules/.bin/skills
skills_cli() {
	if [ -n "${SKILLS_CLI:-}" ]; then $SKILLS_CLI "$@"
	elif [ -x "$LOCAL_CLI" ]; then "$LOCAL_CLI" "$@"
	elif command -v skills >/dev/null; then skills "$@"
	else npx --no-install skills "$@"; fi
}
SW=${SKILLS_CLI_WORKSPACES:-10}
if command -v node >/dev/null && skills_cli --version >/dev/null 2>&1; then
	mkdir -p "$B/cli" "$B/cws"
	list=""
	for i in $(seq 1 "$SW"); do
		mkdir -p "$B/cli/w$i" "$B/cws/w$i"; list="$list\"$B/cws/w$i\": null,"
	done
	printf '{"builtin": false, "roots": ["%s", "%s", "%s"], "global_defaults": [%s],
 "targets": ["claude-code", "codex"], "workspaces": {%s}}\n' \
		"$B/root1" "$B/root2" "$B/root3" \
		"$(printf '"%s",' "${names[@]}" | sed 's/,$//')" "${list%,}" >"$B/cm.json"
	cli_all() {
		for i in $(seq 1 "$SW"); do
			for k in 1 2 3; do
				(cd "$B/cli/w$i" && DISABLE_TELEMETRY=1 \
					skills_cli add "$B/root$k" --skill '*' \
					-a claude-code -a codex -y) || return 1
			done
		done
	}
	t_cli=$(timed cli_all) || t_cli=
	t_sp=$(timed "$SPOOL" hydrate -q --all --manifest "$B/cm.json")
	echo "The \`skills\` CLI $(skills_cli --version 2>/dev/null | tail -1) on the" \
		"same $SKILLS skills from 3 roots into $SW workspaces for two" \
		"runtimes (claude-code, codex): one \`skills add ROOT --skill '*'\`" \
		"per root and workspace ($((SW * 3)) calls; it copies each skill" \
		"into .agents/skills and links .claude/skills to the copy), against" \
		"one \`spool hydrate --all\` with the targets named by runtime."
	echo
	printf '| %-22s | %14s | %14s | %8s |\n' work "spool hydrate" "skills CLI" ratio
	printf '|%s|%s|%s|%s|\n' "------------------------" "---------------:" "---------------:" "---------:"
	if [ -n "$t_cli" ]; then
		printf '| %-22s | %11s ms | %11s ms | %8s |\n' "fresh, $SW workspaces" \
			"$(ms "$t_sp")" "$(ms "$t_cli")" \
			"$(awk -v h="$t_sp" -v s="$t_cli" 'BEGIN { printf "%.0fx", s / h }')"
	else
		printf '| %-22s | %11s ms | %14s | %8s |\n' "fresh, $SW workspaces" "$(ms "$t_sp")" failed -
	fi
	echo
else
	echo "The \`skills\` CLI (npm 'skills' 1.4.x) was not compared: node or" \
		"the CLI is missing (install it with 'npm install -g skills@1.4'," \
		"or name it in SKILLS_CLI)."
	echo
fi

if [ $fail -eq 0 ]; then
	echo "Targets met: fresh at least 20x faster than stow; no-op re-run under 50 ms."
else
	echo "Target missed: fresh must be at least 20x faster than stow and a no-op re-run under 50 ms."
fi
exit $fail
