"""Packing a layer's directory back into a layer tarball, deterministically.

The directory is in overlayfs's form (what `tarlayer.apply_layer` makes with
``for_overlay=True``, and what a container's upper directory is): a 0:0
character device is a whiteout and becomes an empty ``.wh.NAME`` file, a
directory with ``trusted.overlay.opaque=y`` gets a ``.wh..wh..opq`` entry.

The tar is a function of the directory alone: entries in byte order of
their names, each directory before its content; numeric owners without
names; modification times in whole seconds; no access or change times;
extended attributes sorted (overlayfs's own dropped); a file with several
hard links written once and linked from its later names; whiteout entries
dated 0.  Unpacking the tar and packing the result gives the same bytes
again, so a layer without a stored blob (one a container's changes made)
can always be packed again to the same diff id.  Sockets are left out, as
Docker leaves them.
"""

import hashlib
import io
import os
import stat
import tarfile

from hakobune.image.tarwrite import add_entry

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
_DROPPED_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.")


class _Packer:
    def __init__(self, top: str, archive: tarfile.TarFile, skip=frozenset()):
        self.top = top
        self.archive = archive
        self.skip = skip
        self.first_names: dict[tuple[int, int], str] = {}  # (dev, inode) → first name written

    def pack_directory(self, relative: str) -> None:
        path = os.path.join(self.top, relative)
        for name in sorted(os.listdir(path), key=os.fsencode):
            child = f"{relative}/{name}" if relative else name
            if child in self.skip:
                self.left_out(child)
                continue
            info = os.lstat(os.path.join(self.top, child))
            if stat.S_ISSOCK(info.st_mode):
                self.left_out(child)
                continue
            if is_whiteout(info):
                add_entry(self.archive, _header(_whiteout_name(relative, name), tarfile.REGTYPE, 0o600, info, 0))
                self.whiteout(child)
                continue
            self.pack_entry(child, info)
            if stat.S_ISDIR(info.st_mode):
                self.pack_directory(child)

    def left_out(self, relative: str) -> None:
        """A hook: `relative` is not in the tar (skipped, or a socket)."""

    def whiteout(self, relative: str) -> None:
        """A hook: `relative` is a whiteout, written as ``.wh.NAME``."""

    def pack_entry(self, relative: str, info: os.stat_result) -> None:
        path = os.path.join(self.top, relative)
        xattrs = _xattrs(path)
        mode = stat.S_IMODE(info.st_mode)
        if stat.S_ISREG(info.st_mode):
            self._regular(relative, path, info, xattrs)
        elif stat.S_ISDIR(info.st_mode):
            add_entry(self.archive, _header(relative, tarfile.DIRTYPE, mode, info, info.st_mtime_ns, xattrs))
            if is_opaque(path):
                add_entry(self.archive, _header(f"{relative}/{OPAQUE_MARKER}", tarfile.REGTYPE, 0o600, info, 0))
        elif stat.S_ISLNK(info.st_mode):
            header = _header(relative, tarfile.SYMTYPE, 0o777, info, info.st_mtime_ns, xattrs)
            header.linkname = os.readlink(path)
            add_entry(self.archive, header)
        else:
            kind = {stat.S_IFCHR: tarfile.CHRTYPE, stat.S_IFBLK: tarfile.BLKTYPE,
                    stat.S_IFIFO: tarfile.FIFOTYPE}[stat.S_IFMT(info.st_mode)]
            header = _header(relative, kind, mode, info, info.st_mtime_ns, xattrs)
            if kind != tarfile.FIFOTYPE:
                header.devmajor, header.devminor = os.major(info.st_rdev), os.minor(info.st_rdev)
            add_entry(self.archive, header)

    def _regular(self, relative: str, path: str, info: os.stat_result, xattrs: dict) -> None:
        header = _header(relative, tarfile.REGTYPE, stat.S_IMODE(info.st_mode), info, info.st_mtime_ns, xattrs)
        if info.st_nlink > 1:
            first = self.first_names.setdefault((info.st_dev, info.st_ino), relative)
            if first != relative:
                header.type, header.linkname = tarfile.LNKTYPE, first
                add_entry(self.archive, header)
                return
        header.size = info.st_size
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as content:
            add_entry(self.archive, header, content)


def pack_layer(directory: str, output, skip=frozenset()) -> None:
    """Write the layer tarball of `directory` (a layer's diff directory) to the
    binary file object `output`; `skip`: relative paths ("etc/hosts") left
    out, with all they hold."""
    with tarfile.open(fileobj=output, mode="w|", format=tarfile.PAX_FORMAT, encoding="utf-8",
                      errors="surrogateescape") as archive:
        _Packer(directory, archive, skip).pack_directory("")


def layer_diff_id(directory: str) -> tuple[str, int]:
    """(diff id, size) of the tar `pack_layer` writes for `directory`, without keeping it."""
    sink = _HashingSink()
    pack_layer(directory, sink)
    return "sha256:" + sink.hasher.hexdigest(), sink.size


class _HashingSink(io.RawIOBase):
    """A writable that keeps only the sha256 and the length of what it is given."""

    def __init__(self):
        self.hasher = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.hasher.update(data)
        self.size += len(data)
        return len(data)


def _header(name: str, kind: bytes, mode: int, info: os.stat_result, mtime_ns: int,
            xattrs: dict | None = None) -> tarfile.TarInfo:
    header = tarfile.TarInfo(name)
    header.type = kind
    header.mode = mode
    header.uid, header.gid = info.st_uid, info.st_gid
    header.uname = header.gname = ""
    header.mtime = mtime_ns // 1_000_000_000
    if xattrs:
        header.pax_headers = {f"SCHILY.xattr.{key}": value for key, value in sorted(xattrs.items())}
    return header


def _xattrs(path: str) -> dict:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    values = {}
    for name in names:
        if name.startswith(_DROPPED_XATTR_PREFIXES):
            continue
        value = os.getxattr(path, name, follow_symlinks=False)
        values[name] = value.decode("utf-8", "surrogateescape")
    return values


def is_whiteout(info: os.stat_result) -> bool:
    return stat.S_ISCHR(info.st_mode) and info.st_rdev == 0


def is_opaque(path: str) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def _whiteout_name(directory: str, name: str) -> str:
    leaf = WHITEOUT_PREFIX + name
    return f"{directory}/{leaf}" if directory else leaf
