#!/usr/bin/env bash
# Skill packs: pack and install round trip, atomic --force, and hostile
# packs refused with the root left exactly as it was.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../hydrate-lib.sh"

cd "$T" || exit 1
mkskill src report-writer
mkdir -p src/report-writer/scripts
printf '#!/bin/sh\necho hi\n' >src/report-writer/scripts/run.sh
chmod +x src/report-writer/scripts/run.sh
ln -s scripts/run.sh src/report-writer/run
manifest m.json '{"roots": ["src"]}'

spool skills pack --manifest m.json report-writer -o rw.tar.gz >out
ok $? "pack a skill by name"
is "$(cat out)" "rw.tar.gz" "prints the pack"
tar tzf rw.tar.gz | sort >list
is "$(tr '\n' ' ' <list)" "report-writer/ report-writer/SKILL.md report-writer/run report-writer/scripts/ report-writer/scripts/run.sh " \
	"the pack holds NAME/..."
spool skills pack src/report-writer -o rw2.tar.gz >/dev/null
ok $? "pack a skill by path"

mkdir -p dest
spool skills install rw.tar.gz --root dest >out
ok $? "install"
is "$(cat out)" "installed dest/report-writer" "says where"
diff -r src/report-writer dest/report-writer >/dev/null; ok $? "identical to the source"
[ -x dest/report-writer/scripts/run.sh ]; ok $? "executable bits kept"
is "$(link_of dest/report-writer/run)" "scripts/run.sh" "inner link kept"
is "$(ls -a dest | grep -c spool-install)" 0 "no temporary directory left"

before=$(contents dest)
fails 1 "installing over an existing skill is refused" -- spool skills install rw.tar.gz --root dest
grep -q "already in 'dest'; --force replaces it" "$T/.err"; ok $? "and says --force"
is "$(contents dest)" "$before" "and changes nothing"
echo "v2" >>src/report-writer/SKILL.md
spool skills pack --manifest m.json report-writer -o rw.tar.gz >/dev/null
ino=$(stat -c %i dest/report-writer)
spool skills install --force rw.tar.gz --root dest >/dev/null
ok $? "--force replaces it"
tail -1 dest/report-writer/SKILL.md | grep -qx v2; ok $? "with the new version"
[ "$(stat -c %i dest/report-writer)" != "$ino" ]; ok $? "as a new directory renamed into place"
is "$(ls -a dest | tr '\n' ' ')" ". .. report-writer " "and the old one is gone"

# Refuses to pack what would not install.
mkskill src leaky; ln -s /etc/passwd src/leaky/pw
fails 1 "pack refuses a link that leaves the skill" -- spool skills pack src/leaky -o leaky.tar.gz
[ ! -e leaky.tar.gz ]; ok $? "and writes no pack"
printf -- '---\nname: Wrong\ndescription: d\n---\n' >src/leaky/SKILL.md
fails 1 "pack refuses an invalid skill" -- spool skills pack src/leaky -o leaky.tar.gz

# Hostile packs, built with python's tarfile.
python3 - "$T" <<'PY'
import io, os, sys, tarfile
T = sys.argv[1]
good = b"---\nname: evil\ndescription: d\n---\n"
def pack(name, entries):
    with tarfile.open(os.path.join(T, name + ".tar.gz"), "w:gz") as tf:
        for e in entries:
            ti = tarfile.TarInfo(e[0])
            kind = e[1]
            if kind == "file":
                data = e[2] if len(e) > 2 else good
                ti.size = len(data); tf.addfile(ti, io.BytesIO(data))
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE; tf.addfile(ti)
            elif kind == "sym":
                ti.type = tarfile.SYMTYPE; ti.linkname = e[2]; tf.addfile(ti)
            elif kind == "hard":
                ti.type = tarfile.LNKTYPE; ti.linkname = e[2]; tf.addfile(ti)
            elif kind == "chr":
                ti.type = tarfile.CHRTYPE; ti.devmajor = 1; ti.devminor = 3; tf.addfile(ti)
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE; tf.addfile(ti)
S = [("evil/SKILL.md", "file")]
pack("absolute", S + [(T + "/pwned", "file", b"x")])
pack("dotdot", S + [("evil/../../pwned", "file", b"x")])
pack("dotdot-top", S + [("../pwned", "file", b"x")])
pack("abs-link", S + [("evil/l", "sym", "/etc")])
pack("escaping-link", S + [("evil/sub/l", "sym", "../../outside")])
pack("link-then-write", S + [("evil/l", "sym", "."), ("evil/l/../../pwned", "file", b"x")])
pack("hardlink", S + [("evil/h", "hard", "/etc/passwd")])
pack("device", S + [("evil/null", "chr")])
pack("fifo", S + [("evil/pipe", "fifo")])
pack("invalid", [("evil/SKILL.md", "file", b"---\nname: evil\n---\n")])
pack("mismatch", [("evil/SKILL.md", "file", b"---\nname: other\ndescription: d\n---\n")])
pack("no-skill-md", [("evil/README", "file", b"x")])
pack("two-skills", S + [("other/SKILL.md", "file", b"x")])
pack("bad-name", [("Evil/SKILL.md", "file", b"x")])
pack("loose-file", [("SKILL.md", "file", good)])
pack("empty", [])
PY
printf 'not a tar' >garbage.tar.gz

mkdir -p root
mkskill root kept
before=$(contents "$T/root")
hostile() {
	local name=$1 pat=$2
	spool skills install "$name.tar.gz" --root root >out 2>err
	is "$?" 1 "$name: refused"
	grep -q -- "$pat" err; ok $? "$name: says '$pat'" || sed 's/^/#   /' err
	is "$(contents "$T/root")" "$before" "$name: root unchanged"
}
hostile absolute "refusing absolute path"
hostile dotdot "refusing '..' in 'evil/../../pwned'"
hostile dotdot-top "refusing '..'"
hostile abs-link "refusing link 'evil/l' to '/etc': it leaves the skill"
hostile escaping-link "refusing link 'evil/sub/l' to '../../outside'"
hostile link-then-write "refusing '..'"
hostile hardlink "refusing hard link 'evil/h'"
hostile device "refusing 'evil/null': a device file"
hostile fifo "refusing 'evil/pipe': a FIFO"
hostile invalid "invalid skill: evil/SKILL.md:1: front matter has no 'description'"
hostile mismatch "does not match the directory name 'evil'"
hostile no-skill-md "no SKILL.md"
hostile two-skills "holds more than one skill ('evil' and 'other')"
hostile bad-name "is not inside a directory named as a valid skill"
hostile loose-file "is not inside a directory named as a valid skill"
hostile empty "is empty"
hostile garbage "cannot read pack\|pack 'garbage.tar.gz'"
[ ! -e "$T/pwned" ] && [ ! -e "$T/outside" ]; ok $? "nothing was written outside the root"
fails 1 "a missing pack" -- spool skills install nope.tar.gz --root root
fails 1 "a missing root" -- spool skills install rw.tar.gz --root nowhere

# install without --root uses the manifest's first root.
mkdir -p first
manifest m3.json '{"roots": ["first", "src"]}'
spool skills install --manifest m3.json rw.tar.gz >/dev/null
[ -f first/report-writer/SKILL.md ]; ok $? "install defaults to the manifest's first root"

done_testing
