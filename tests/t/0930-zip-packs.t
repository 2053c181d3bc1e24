#!/usr/bin/env bash
# Zip skill packs install under the rules of tar packs: a good one lands
# whole (files, executable bits, an inner link); '..', absolute paths,
# links out, devices, a second skill, too many entries and archive bombs
# are refused with the root left exactly as it was and nothing written
# outside it. The bomb rule holds for tar packs too.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../hydrate-lib.sh"
cd "$T" || exit 1

python3 - "$T" <<'PY'
import io, os, stat, sys, tarfile, zipfile
T = sys.argv[1]
good = b"---\nname: evil\ndescription: d\n---\n"
def z(name, entries, method=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(os.path.join(T, name + ".zip"), "w", method) as zf:
        for e in entries:
            zi = zipfile.ZipInfo(e[0])
            zi.compress_type = method
            kind = e[1]
            if kind == "file":
                zi.external_attr = (stat.S_IFREG | (e[3] if len(e) > 3 else 0o644)) << 16
                zf.writestr(zi, e[2] if len(e) > 2 else good)
            elif kind == "dir":
                zi.external_attr = (stat.S_IFDIR | 0o755) << 16 | 0x10
                zf.writestr(zi, b"")
            elif kind == "sym":
                zi.external_attr = (stat.S_IFLNK | 0o777) << 16
                zf.writestr(zi, e[2])
            elif kind == "chr":
                zi.external_attr = (stat.S_IFCHR | 0o644) << 16
                zf.writestr(zi, b"")
            elif kind == "fifo":
                zi.external_attr = (stat.S_IFIFO | 0o644) << 16
                zf.writestr(zi, b"")
S = [("evil/SKILL.md", "file")]
z("good", [("report-writer/", "dir"),
           ("report-writer/SKILL.md", "file",
            b"---\nname: report-writer\ndescription: Writes reports.\n---\n\n# report-writer\n"),
           ("report-writer/scripts/run.sh", "file", b"#!/bin/sh\necho hi\n", 0o755),
           ("report-writer/notes.txt", "file", b"as is\n" * 1000),
           ("report-writer/run", "sym", b"scripts/run.sh")])
z("stored", [("plain-skill/SKILL.md", "file",
              b"---\nname: plain-skill\ndescription: d\n---\n")], zipfile.ZIP_STORED)
# far more than 100 times its size, but under a MiB: a fixture, not a bomb
z("small-repetitive", [("repetitive/SKILL.md", "file",
                        b"---\nname: repetitive\ndescription: d\n---\n"),
                       ("repetitive/table.csv", "file", b"0,0,0,0\n" * 100000)])
z("absolute", S + [(T + "/pwned", "file", b"x")])
z("dotdot", S + [("evil/../../pwned", "file", b"x")])
z("dotdot-top", S + [("../pwned", "file", b"x")])
z("abs-link", S + [("evil/l", "sym", b"/etc")])
z("escaping-link", S + [("evil/sub/l", "sym", b"../../outside")])
z("link-then-write", S + [("evil/l", "sym", b"."), ("evil/l/../../pwned", "file", b"x")])
z("device", S + [("evil/null", "chr")])
z("fifo", S + [("evil/pipe", "fifo")])
z("two-skills", S + [("other/SKILL.md", "file", b"x")])
z("entries", S + [("evil/f%05d" % i, "file", b"") for i in range(10001)], zipfile.ZIP_STORED)
# 64 MiB of zeros deflate to 64 KiB: a thousand times
z("bomb", S + [("evil/zeros", "file", b"\0" * (64 << 20))])
# the same spread over many entries, each one small
z("bomb-many", S + [("evil/z%03d" % i, "file", b"\0" * (1 << 20)) for i in range(64)])
# tar packs compressed otherwise than gzip install too
for mode, ext in (("w:bz2", "bz2"), ("w:xz", "xz")):
    with tarfile.open(os.path.join(T, "good-%s.tar.%s" % (ext, ext)), mode) as tf:
        data = b"---\nname: packed-%s\ndescription: d\n---\n" % ext.encode()
        ti = tarfile.TarInfo("packed-%s/SKILL.md" % ext); ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
with tarfile.open(os.path.join(T, "bomb.tar.gz"), "w:gz") as tf:
    ti = tarfile.TarInfo("evil/SKILL.md"); ti.size = len(good)
    tf.addfile(ti, io.BytesIO(good))
    ti = tarfile.TarInfo("evil/zeros"); ti.size = 64 << 20
    tf.addfile(ti, io.BytesIO(b"\0" * (64 << 20)))
PY
ok $? "packs made with python's zipfile and tarfile"

mkdir -p root outside
mkskill root kept
echo keep >outside/file
spool skills install good.zip --root root >out 2>err; ok $? "a good zip pack installs"
is "$(cat out)" "installed root/report-writer" "says where"
is "$(cat root/report-writer/scripts/run.sh)" "$(printf '#!/bin/sh\necho hi')" "its files are there"
[ -x root/report-writer/scripts/run.sh ]; ok $? "executable bits kept"
is "$(link_of root/report-writer/run)" "scripts/run.sh" "inner link kept"
is "$(wc -c <root/report-writer/notes.txt)" 6000 "whole"
is "$(ls -a root | grep -c spool-install)" 0 "no temporary directory left"
spool skills install stored.zip --root root >/dev/null; ok $? "a stored (uncompressed) zip installs"
spool skills install good-bz2.tar.bz2 --root root >/dev/null; ok $? "a tar.bz2 installs"
spool skills install good-xz.tar.xz --root root >/dev/null; ok $? "a tar.xz installs"
spool skills install small-repetitive.zip --root root >/dev/null 2>err
ok $? "a small, very repetitive skill is no bomb" || sed 's/^/#   /' err
spool skills validate root/report-writer root/plain-skill >/dev/null; ok $? "and validates"
# zip has no FIFOs: libarchive reads one as a plain file, and so it lands
mkdir -p root2
spool skills install fifo.zip --root root2 >/dev/null; ok $? "a 'FIFO' in a zip installs"
[ -f root2/evil/pipe ] && [ ! -p root2/evil/pipe ]; ok $? "as a plain file, never a FIFO"

before=$(contents "$T/root")
outside_before=$(fingerprint "$T/outside")
hostile() {
	local name=$1 pat=$2
	spool skills install "$name" --root root >out 2>err
	is "$?" 1 "$name: refused"
	grep -q -- "$pat" err; ok $? "$name: says '$pat'" || sed 's/^/#   /' err
	is "$(contents "$T/root")" "$before" "$name: root unchanged"
}
hostile absolute.zip "refusing absolute path"
hostile dotdot.zip "refusing '..' in 'evil/../../pwned'"
hostile dotdot-top.zip "refusing '..' in '../pwned'"
hostile abs-link.zip "refusing link 'evil/l' to '/etc': it leaves the skill"
hostile escaping-link.zip "refusing link 'evil/sub/l' to '../../outside'"
hostile link-then-write.zip "refusing '..'"
hostile device.zip "refusing 'evil/null': a device file"
hostile two-skills.zip "holds more than one skill ('evil' and 'other')"
hostile entries.zip "more than 10000 entries"
hostile bomb.zip "refusing an archive bomb"
hostile bomb-many.zip "refusing an archive bomb"
hostile bomb.tar.gz "refusing an archive bomb"
printf 'PK\003\004 not really' >garbage.zip
hostile garbage.zip "pack 'garbage.zip'"
[ ! -e "$T/pwned" ] && [ ! -e "$T/outside/pwned" ]; ok $? "nothing was written outside the root"
is "$(fingerprint "$T/outside")" "$outside_before" "a directory beside the root is untouched"
done_testing
