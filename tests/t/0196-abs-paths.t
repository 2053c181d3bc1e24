#!/usr/bin/env bash
# Paths printed for an agent to use are absolute: an agent with SPOOL_DIR
# set, working in another directory, can mv what next and claim print.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../core-lib.sh"
core_spool || exit 1
mkdir -p "$T/elsewhere" && cd "$T/elsewhere" || exit 1
R=$(cd "$S" && pwd -P)

spool add --title one >/dev/null && spool add --title two >/dev/null
path=$(spool next --agent dev); ok $? "next from another directory"
case $path in /*) ok 0 "next prints an absolute path" ;;
	*) ok 1 "next prints an absolute path (got '$path')" ;; esac
is "$path" "$R/ready/T-0001.json" "next: the task's file in the spool"
mkdir -p "$S/claimed/dev"
mv "$path" "$S/claimed/dev/"; ok $? "the README's mv \"\$path\" works from elsewhere"
spool reconcile >/dev/null
is "$(state_of T-0001)" claimed/dev "the raw claim stands"

path=$(spool claim --agent dev); ok $? "claim from another directory"
is "$path" "$R/claimed/dev/T-0002.json" "claim prints the absolute new path"
[ -f "$path" ]; ok $? "and the file is there"
spool add --title three >/dev/null
is "$(spool next --agent ops --json | jq -r .path)" "$R/ready/T-0003.json" "next --json: absolute path"
is "$(spool show T-0003 --json | jq -r .path)" "$R/ready/T-0003.json" "show --json: absolute path"
spool show T-0003 | head -1 | grep -qF "($R/ready/T-0003.json)"; ok $? "show: absolute path"
# from a subdirectory of the spool, without SPOOL_DIR
is "$(cd "$S/ready" && env -u SPOOL_DIR spool next --agent ops)" "$R/ready/T-0003.json" \
	"from inside the spool too"
done_testing
