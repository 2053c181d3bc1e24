# Shared by the hydrate and skills tests (tests/t/2*.t): skills, roots,
# manifests and a fingerprint of a tree to prove that nothing changed.
# shellcheck shell=bash

# mkskill ROOT NAME [DESCRIPTION]: a valid skill directory.
mkskill() {
	mkdir -p "$1/$2" &&
	printf -- '---\nname: %s\ndescription: %s\n---\n\n# %s\n' \
		"$2" "${3:-The $2 skill from $1.}" "$2" >"$1/$2/SKILL.md"
}

# manifest FILE JSON: writes a manifest (the built-in root off unless the
# JSON says otherwise).
manifest() {
	local f=$1; shift
	printf '%s\n' "$*" | jq 'if has("builtin") then . else . + {builtin: false} end' >"$f"
}

# fingerprint DIR: every path below DIR with its type, link target and
# modification time, sorted; equal fingerprints mean nothing changed.
fingerprint() {
	find "$1" -printf '%p %y %l %T@ %m\n' 2>/dev/null | sort
}
# contents DIR: the same for what is inside DIR (not DIR's own mtime).
contents() {
	find "$1" -mindepth 1 -printf '%p %y %l %T@ %m\n' 2>/dev/null | sort
}

# link_of PATH: the target of a link, or "none".
link_of() {
	readlink "$1" 2>/dev/null || echo none
}
