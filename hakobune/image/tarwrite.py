"""Adding entries to a tarfile archive opened for writing in PAX format, with
the same bytes as `TarFile.addfile` and a fraction of its work.

Layer tars have thousands of small entries (a COPY of a source tree, a
package install's files), and `addfile` spends some 80 µs of Python on each
header (a copy of the TarInfo, the pax checks, field by field formatting).
`add_entry` writes the header itself when the entry needs no pax record (an
ASCII name and link target of at most 100 bytes, no user or group name, no
extended attributes, numbers that fit their fields: what tarfile then writes
is a plain ustar header) and hands any other entry to `addfile`.  The bytes
are tarfile's, field for field (tests/unit/test_tarwrite.py compares them),
so that a layer packed by either gives the same diff id.
"""

import tarfile

_BLOCK = tarfile.BLOCKSIZE
_NO_DEVICE = b"\0" * 16
_OWNER_NAMES = b"\0" * 64
_PREFIX_AND_PAD = b"\0" * (155 + 12)
_MAGIC = tarfile.POSIX_MAGIC
_SMALL = 8 ** 7    # the largest 7-digit octal number plus one (mode, uid, gid, devices)
_LARGE = 8 ** 11   # the same for 11 digits (size, mtime)


def add_entry(archive: tarfile.TarFile, info: tarfile.TarInfo, content=None) -> None:
    """`archive.addfile(info, content)`, in fewer steps when it can."""
    header = _plain_header(info)
    if header is None:
        archive.addfile(info, content)
        return
    archive.fileobj.write(header)
    archive.offset += _BLOCK
    if content is not None and info.size:
        _copy_data(content, archive.fileobj, info.size)
        blocks, remainder = divmod(info.size, _BLOCK)
        if remainder:
            archive.fileobj.write(b"\0" * (_BLOCK - remainder))
            blocks += 1
        archive.offset += blocks * _BLOCK


def _plain_header(info: tarfile.TarInfo) -> bytes | None:
    """The ustar header tarfile writes for `info` in PAX format, or None when
    tarfile would add a pax record (or anything else this does not do)."""
    if info.pax_headers or info.uname or info.gname:
        return None
    name = info.name
    kind = info.type
    if kind == tarfile.DIRTYPE and not name.endswith("/"):
        name += "/"
    if not (name.isascii() and info.linkname.isascii() and len(name) <= 100 and len(info.linkname) <= 100):
        return None
    uid, gid, size, mtime = info.uid, info.gid, info.size, info.mtime
    if not (type(uid) is int and type(gid) is int and type(size) is int and type(mtime) is int):
        return None
    if not (0 <= uid < _SMALL and 0 <= gid < _SMALL and 0 <= size < _LARGE and 0 <= mtime < _LARGE):
        return None
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        if not (0 <= info.devmajor < _SMALL and 0 <= info.devminor < _SMALL):
            return None
        devices = b"%07o\0%07o\0" % (info.devmajor, info.devminor)
    else:
        devices = _NO_DEVICE
    head = (name.encode("ascii").ljust(100, b"\0") + b"%07o\0%07o\0%07o\0%011o\0%011o\0" %
            (info.mode & 0o7777, uid, gid, size, mtime))
    tail = (kind + info.linkname.encode("ascii").ljust(100, b"\0") + _MAGIC + _OWNER_NAMES + devices +
            _PREFIX_AND_PAD)
    checksum = 256 + sum(head) + sum(tail)  # the checksum field counted as eight spaces
    return head + b"%06o\0 " % checksum + tail


def _copy_data(source, target, size: int) -> None:
    """`size` bytes from `source` to `target`, as tarfile.copyfileobj (its error too)."""
    remaining = size
    while remaining:
        piece = source.read(min(remaining, 1 << 20))
        if not piece:
            raise OSError("unexpected end of data")
        target.write(piece)
        remaining -= len(piece)
