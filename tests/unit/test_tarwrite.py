"""`tarwrite.add_entry` writes the very bytes `TarFile.addfile` writes, for
the entries it writes itself and for those it hands to tarfile."""

import io
import tarfile

import pytest

from hakobune.image.tarwrite import add_entry


def _entry(name, kind=tarfile.REGTYPE, **fields):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.uname = info.gname = ""
    for key, value in fields.items():
        setattr(info, key, value)
    return info


ENTRIES = [
    (_entry("etc", tarfile.DIRTYPE, mode=0o755, mtime=1_700_000_000), None),
    (_entry("etc/dir/", tarfile.DIRTYPE, mode=0o1777, uid=1000, gid=1001), None),
    (_entry("empty", size=0, mode=0o644), b""),
    (_entry("one", size=1, mode=0o4755, mtime=5), b"x"),
    (_entry("block-1", size=511), b"a" * 511),
    (_entry("block", size=512), b"b" * 512),
    (_entry("block+1", size=513, uid=8 ** 7 - 1, gid=65534), b"c" * 513),
    (_entry("link", tarfile.SYMTYPE, mode=0o777, linkname="../target/x"), None),
    (_entry("hard", tarfile.LNKTYPE, linkname="one"), None),
    (_entry("dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3), None),
    (_entry("dev/sda", tarfile.BLKTYPE, mode=0o660, devmajor=8, devminor=0), None),
    (_entry("fifo", tarfile.FIFOTYPE, mode=0o600), None),
    (_entry(".wh.gone", mode=0o600, mtime=0), b""),
    (_entry("n" * 100, size=2), b"ok"),
    # tarfile adds a pax record to these: add_entry leaves them to it
    (_entry("n" * 101, size=2), b"ok"),
    (_entry("caf\u00e9", size=3), b"abc"),
    (_entry("surrogate\udcff", size=0), b""),
    (_entry("big-uid", uid=8 ** 7), None),
    (_entry("old", mtime=-1), None),
    (_entry("float", mtime=1.5), None),
    (_entry("named", uname="root"), None),
    (_entry("xattrs", pax_headers={"SCHILY.xattr.user.a": "b"}), None),
    (_entry("link-long", tarfile.SYMTYPE, linkname="t" * 101), None),
]


def _write(adder) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT, encoding="utf-8",
                      errors="surrogateescape") as archive:
        for info, data in ENTRIES:
            adder(archive, info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def test_the_same_bytes_as_tarfile():
    ours = _write(add_entry)
    theirs = _write(lambda archive, info, content: archive.addfile(info, content))
    assert ours == theirs
    with tarfile.open(fileobj=io.BytesIO(ours)) as archive:
        assert [member.name for member in archive][:3] == ["etc", "etc/dir", "empty"]


def test_short_content_is_an_error_as_in_tarfile():
    archive = tarfile.open(fileobj=io.BytesIO(), mode="w|", format=tarfile.PAX_FORMAT)
    with pytest.raises(OSError, match="unexpected end of data"):
        add_entry(archive, _entry("short", size=10), io.BytesIO(b"abc"))
