"""Unpacking layer tarballs: what lands on disk, whiteouts, diff ids, corrupt input."""

import bz2
import hashlib
import io
import lzma
import os
import random
import stat
import tarfile

import pytest
import zstandard

from hakobune.errors import InvalidArgument
from hakobune.image.tarlayer import apply_layer
from layer_tars import (MTIME, device, directory, fifo, file, gz, hardlink, opaque, symlink, tar,
                        whiteout)


def apply(data: bytes, target, for_overlay=False):
    return apply_layer(io.BytesIO(data), str(target), for_overlay=for_overlay)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def target(tmp_path):
    path = tmp_path / "target"
    path.mkdir()
    return path


# --- content and metadata ------------------------------------------------------------

def test_files_directories_and_links(target):
    layer = tar(directory("etc"), file("etc/hostname", b"box\n"), directory("bin"),
                file("bin/tool", b"#!/bin/sh\n", mode=0o755), symlink("bin/alias", "tool"),
                hardlink("bin/same", "bin/tool"), file("deep/implicit/parents", b"x"))
    applied = apply(layer, target)
    assert (target / "etc/hostname").read_bytes() == b"box\n"
    assert os.readlink(target / "bin/alias") == "tool"
    assert os.stat(target / "bin/same").st_ino == os.stat(target / "bin/tool").st_ino
    assert (target / "deep/implicit/parents").read_bytes() == b"x"
    assert stat.S_IMODE(os.stat(target / "deep/implicit").st_mode) == 0o755
    assert applied.diff_id == sha256(layer) and applied.tar_size == len(layer)
    assert applied.size == len(b"box\n") + len(b"#!/bin/sh\n") + 1
    assert applied.entries == 7 and applied.compression == ""


@pytest.mark.root
def test_modes_owners_and_times(target):
    apply(tar(directory("d", mode=0o1777, uid=5, gid=6, mtime=MTIME + 5),
              file("d/suid", b"x", mode=0o4755, uid=1000, gid=1001, mtime=MTIME + 7),
              file("d/sgid", b"x", mode=0o2711), file("d/none", b"", mode=0o000),
              symlink("d/link", "suid", uid=7, gid=8, mtime=MTIME + 9)), target)
    suid = os.stat(target / "d/suid")
    assert stat.S_IMODE(suid.st_mode) == 0o4755 and (suid.st_uid, suid.st_gid) == (1000, 1001)
    assert suid.st_mtime_ns == (MTIME + 7) * 10**9
    assert stat.S_IMODE(os.stat(target / "d/sgid").st_mode) == 0o2711
    assert stat.S_IMODE(os.stat(target / "d/none").st_mode) == 0
    d = os.stat(target / "d")
    assert stat.S_IMODE(d.st_mode) == 0o1777 and (d.st_uid, d.st_gid) == (5, 6)
    assert d.st_mtime_ns == (MTIME + 5) * 10**9, "a directory's time is set after its content"
    link = os.lstat(target / "d/link")
    assert (link.st_uid, link.st_gid, link.st_mtime_ns) == (7, 8, (MTIME + 9) * 10**9)


def test_pax_times_keep_nanoseconds(target):
    info, data = file("f", b"x")
    info.pax_headers = {"mtime": "1600000000.123456789", "atime": "1600000001.5"}
    apply(tar((info, data)), target)
    st = os.stat(target / "f")
    assert st.st_mtime_ns == 1600000000_123456789 and st.st_atime_ns == 1600000001_500000000


@pytest.mark.root
def test_devices_and_fifos(target):
    apply(tar(device("dev/null", "char", 1, 3, mode=0o666), device("dev/loop9", "block", 7, 9, mode=0o660),
              fifo("run/pipe", mode=0o620)), target)
    null = os.lstat(target / "dev/null")
    assert stat.S_ISCHR(null.st_mode) and os.major(null.st_rdev) == 1 and os.minor(null.st_rdev) == 3
    assert stat.S_IMODE(null.st_mode) == 0o666
    loop = os.lstat(target / "dev/loop9")
    assert stat.S_ISBLK(loop.st_mode) and (os.major(loop.st_rdev), os.minor(loop.st_rdev)) == (7, 9)
    pipe = os.lstat(target / "run/pipe")
    assert stat.S_ISFIFO(pipe.st_mode) and stat.S_IMODE(pipe.st_mode) == 0o620


@pytest.mark.root
def test_xattrs_but_never_overlay_ones(target):
    apply(tar(file("f", b"x", xattrs={"user.comment": "hello", "trusted.note": "t",
                                      "trusted.overlay.redirect": "/etc", "trusted.overlay.opaque": "y"}),
              directory("d", xattrs={"user.dir": "yes", "user.overlay.opaque": "y"})), target)
    assert os.getxattr(target / "f", "user.comment") == b"hello"
    assert os.getxattr(target / "f", "trusted.note") == b"t"
    assert not [name for name in os.listxattr(target / "f") if "overlay" in name]
    assert os.getxattr(target / "d", "user.dir") == b"yes"
    assert "user.overlay.opaque" not in os.listxattr(target / "d")


def test_long_and_odd_names(target):
    long_name = "a" * 120 + "/" + "b" * 150
    for format in (tarfile.PAX_FORMAT, tarfile.GNU_FORMAT):
        apply(tar(file(long_name, b"long"), file("caf\u00e9 \u65e5\u672c/x y", b"u"),
                  symlink("L" * 200, "t" * 150), format=format), target)
        assert (target / long_name).read_bytes() == b"long"
        assert (target / "caf\u00e9 \u65e5\u672c/x y").read_bytes() == b"u"
        assert os.readlink(target / ("L" * 200)) == "t" * 150


def test_names_that_are_not_utf8_are_kept_as_bytes(target):
    info = tarfile.TarInfo("x")
    info.size = 1
    raw = bytearray(tar((info, b"z"), format=tarfile.USTAR_FORMAT))
    raw[0:1] = b"\xff"
    raw[148:156] = b"%06o\0 " % (sum(raw[:148]) + 256 + sum(raw[156:512]))
    apply(bytes(raw), target)
    assert os.listdir(os.fsencode(target)) == [b"\xff"]


def test_replacing_what_is_there(target):
    apply(tar(directory("was_dir"), file("was_dir/old", b"o"), file("was_file", b"f"), directory("stays"),
              file("stays/old", b"o")), target)
    apply(tar(file("was_dir", b"now a file"), directory("was_file", mode=0o700), directory("stays", mode=0o711),
              file("stays/new", b"n")), target)
    assert (target / "was_dir").read_bytes() == b"now a file"
    assert (target / "was_file").is_dir()
    assert sorted(os.listdir(target / "stays")) == ["new", "old"]
    assert stat.S_IMODE(os.stat(target / "stays").st_mode) == 0o711


def test_the_root_entry_is_skipped(target):
    os.chmod(target, 0o700)
    apply(tar(directory(".", mode=0o777), directory("./", mode=0o777), file("./a", b"a")), target)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o700
    assert (target / "a").read_bytes() == b"a"


# --- compression and diff ids ----------------------------------------------------------

@pytest.mark.parametrize("compress, name", [
    (lambda d: d, ""), (gz, "gzip"), (lambda d: zstandard.ZstdCompressor().compress(d), "zstd"),
    (bz2.compress, "bzip2"), (lzma.compress, "xz"),
])
def test_compressions_and_diff_id(target, compress, name):
    layer = tar(file("f", os.urandom(100_000)), file("g", b"g"))
    applied = apply(compress(layer), target)
    assert applied.compression == name
    assert applied.diff_id == sha256(layer)
    assert (target / "g").read_bytes() == b"g"


def test_multi_frame_zstd_and_multi_member_gzip(target):
    layer = tar(file("f", os.urandom(50_000)))
    half = len(layer) // 2
    frames = zstandard.ZstdCompressor().compress(layer[:half]) + zstandard.ZstdCompressor().compress(layer[half:])
    assert apply(frames, target).diff_id == sha256(layer)
    assert apply(gz(layer[:half]) + gz(layer[half:]), target).diff_id == sha256(layer)


def test_the_diff_id_covers_bytes_after_the_end_marker(target):
    layer = tar(file("f", b"x")) + bytes(10240)
    assert apply(layer, target).diff_id == sha256(layer)


def test_empty_layers(target):
    assert apply(bytes(1024), target).diff_id == sha256(bytes(1024))
    assert apply(b"", target).diff_id == sha256(b"")
    assert os.listdir(target) == []


# --- corrupt input ---------------------------------------------------------------

def test_truncated_archive(target):
    layer = tar(file("big", os.urandom(100_000)))
    with pytest.raises(InvalidArgument, match="truncated"):
        apply(layer[:50_000], target)


def test_corrupt_header_in_the_middle(target):
    layer = bytearray(tar(file("a", b"a"), file("b", b"b")))
    assert layer[1024:1025] == b"b"  # the second file's header: after a's header and data block
    layer[1024 + 10] ^= 0xFF
    with pytest.raises(InvalidArgument, match="checksum"):
        apply(bytes(layer), target)


def test_not_a_tar(target):
    with pytest.raises(InvalidArgument, match="checksum"):
        apply(random.Random(7).randbytes(2048), target)


def test_corrupt_gzip(target):
    compressed = bytearray(gz(tar(file("f", os.urandom(10_000)))))
    compressed[len(compressed) // 2] ^= 0xFF
    with pytest.raises(InvalidArgument, match="gzip"):
        apply(bytes(compressed), target)


def test_truncated_gzip(target):
    compressed = gz(tar(file("f", os.urandom(10_000))))
    with pytest.raises(InvalidArgument):
        apply(compressed[:-100], target)


@pytest.mark.parametrize("keep", [0.5, 0.99])
def test_truncated_zstd(target, keep):
    compressed = zstandard.ZstdCompressor(write_checksum=True).compress(tar(file("f", os.urandom(300_000))))
    with pytest.raises(InvalidArgument, match="zstd"):
        apply(compressed[:int(len(compressed) * keep)], target)


def test_zstd_frames_of_every_kind(target):
    layer = tar(file("f", os.urandom(200_000)), file("zeros", bytes(500_000)))
    skippable = b"\x50\x2a\x4d\x18" + (5).to_bytes(4, "little") + b"skip!"
    streamed = io.BytesIO()
    with zstandard.ZstdCompressor(write_content_size=False).stream_writer(streamed, closefd=False) as writer:
        writer.write(layer[300_000:])
    frames = (zstandard.ZstdCompressor(write_checksum=True, level=19).compress(layer[:100_000]) + skippable
              + zstandard.ZstdCompressor(write_content_size=False).compress(layer[100_000:300_000])
              + streamed.getvalue())
    assert apply(frames, target).diff_id == sha256(layer)


def test_sparse_files_are_refused(target):
    info, data = file("sparse", b"x")
    info.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0"}
    with pytest.raises(InvalidArgument, match="sparse"):
        apply(tar((info, data)), target)


def test_huge_pax_headers_are_refused(target):
    info, data = file("f", b"x")
    info.pax_headers = {"comment": "c" * (2 << 20)}
    with pytest.raises(InvalidArgument, match="pax or long-name header"):
        apply(tar((info, data)), target)


def test_hard_link_to_a_later_or_missing_entry(target):
    with pytest.raises(InvalidArgument, match="no earlier entry"):
        apply(tar(hardlink("h", "missing")), target)


# --- whiteouts -------------------------------------------------------------------

def lower_and_upper():
    lower = tar(file("gone", b"g"), directory("opq"), file("opq/old", b"o"), directory("opq/olddir"),
                file("opq/olddir/x", b"x"), directory("keep"), file("keep/a", b"a"), file("keep/b", b"b"))
    upper = tar(whiteout("gone"), file("opq/new", b"n"), opaque("opq"), whiteout("keep/b"), file("keep/c", b"c"))
    return lower, upper


def test_whiteouts_applied_onto_one_tree(target):
    lower, upper = lower_and_upper()
    apply(lower, target)
    apply(upper, target)
    assert sorted(os.listdir(target)) == ["keep", "opq"]
    assert os.listdir(target / "opq") == ["new"], "opaque keeps this layer's entries, even earlier ones"
    assert sorted(os.listdir(target / "keep")) == ["a", "c"]


def test_a_whiteout_never_hides_its_own_layer(target):
    apply(tar(file("f", b"mine"), whiteout("f"), directory("d"), file("d/x", b"x"), opaque("d")), target)
    assert (target / "f").read_bytes() == b"mine"
    assert os.listdir(target / "d") == ["x"]


@pytest.mark.root
def test_overlay_whiteouts(target):
    apply(tar(whiteout("gone"), whiteout("dir/gone2"), opaque("opq"), file("opq/new", b"n"),
              file(".wh..wh.plnk/123", b"aufs"), whiteout("redone"), directory("redone")), target, for_overlay=True)
    for name in ("gone", "dir/gone2"):
        info = os.lstat(target / name)
        assert stat.S_ISCHR(info.st_mode) and info.st_rdev == os.makedev(0, 0)
    assert os.getxattr(target / "opq", "trusted.overlay.opaque") == b"y"
    assert not os.path.lexists(target / ".wh..wh.plnk")
    assert os.path.isdir(target / "redone")
    assert os.getxattr(target / "redone", "trusted.overlay.opaque") == b"y", \
        "a directory replacing this layer's whiteout must still hide the lower one"
    assert not any(name.startswith(".wh.") for _, dirs, files in os.walk(target) for name in dirs + files)


@pytest.mark.parametrize("name", [".wh.", "d/.wh..", "d/.wh.."])
def test_whiteouts_that_name_nothing(target, name):
    with pytest.raises(InvalidArgument):
        apply(tar(file(name)), target)
