"""Unpacking a layer tarball onto a directory, by the OCI image spec's rules.

`apply_layer` reads the tarball once (gzip, zstd, bzip2, xz or plain, told
apart by magic bytes), unpacks it and returns its diff id: the sha256 of the
uncompressed stream, trailing bytes after the tar's end included.

What it unpacks: regular files, directories, symlinks, hard links (only to an
earlier entry of the same layer), character and block devices and fifos,
with numeric ownership (as root), modes including setuid, setgid and sticky
bits, modification and access times (directories' at the end, after their
content), and extended attributes from pax ``SCHILY.xattr.*`` records.
``trusted.overlay.*`` and ``user.overlay.*`` attributes from the tar are
dropped: overlayfs would obey them.  An entry replaces what is at its path,
except a directory over a directory, which is kept (its metadata updated).

Whiteouts, two ways:
- `for_overlay=True` (a layer's own directory, used as an overlayfs lower
  dir): ``.wh.NAME`` becomes a 0:0 character device NAME, overlayfs's
  whiteout, and ``.wh..wh..opq`` in a directory becomes its
  ``trusted.overlay.opaque=y`` attribute.  A directory that replaces a
  whiteout of the same layer is made opaque, so that it hides the lower
  layers' directory as the whiteout did;
- `for_overlay=False` (layers applied one over another into one tree):
  ``.wh.NAME`` deletes NAME, an opaque marker deletes what the directory held
  before this layer.
Either way a whiteout hides only lower layers' content, never its own
layer's, and other ``.wh..wh.`` names (aufs's metadata, such as the
top-level ``.wh..wh.plnk`` directory) are skipped; hard links into
``.wh..wh.plnk``, which only layers made by Docker's aufs driver (before
2016) have, are not supported.

Security: entry names are made relative to the target ("/etc/x" is "etc/x")
and a name or hard link target that climbs above it with ``..`` is refused.
Directories are resolved inside the target by the kernel (`_inroot`), so
symlinks the layer made (to "/etc", to "../../", in chains) lead at most to
the target's own top; the last component of a path is never followed.
Nothing outside the target can be created, changed or deleted.
"""

import errno
import os
import posixpath
import stat
from dataclasses import dataclass

from hakobune.errors import InvalidArgument, SystemFailure
from hakobune.image._fsutil import write_all
from hakobune.image._inroot import RootDir, lstat_at
from hakobune.image.compression import HashingReader, open_uncompressed
from hakobune.image.tarstream import (BLOCK_DEVICE, CHAR, DIRECTORY, FIFO, FILE, HARDLINK, SYMLINK, TarEntry,
                                      TarReader)

WHITEOUT_PREFIX = b".wh."
WHITEOUT_META_PREFIX = b".wh..wh."
OPAQUE_MARKER = b".wh..wh..opq"
OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque"
_FORBIDDEN_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.")
_IGNORED_XATTR_ERRORS = (errno.ENOTSUP, errno.EPERM)  # as Docker: file systems without xattrs
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_OPEN_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class AppliedLayer:
    diff_id: str       # sha256 of the uncompressed tar
    tar_size: int      # bytes of the uncompressed tar
    size: int          # bytes of regular files' content unpacked
    entries: int
    compression: str   # "", "gzip", "zstd", "bzip2" or "xz"


def apply_layer(stream, target: str, for_overlay: bool = True) -> AppliedLayer:
    """Unpack the layer tarball read from `stream` onto the directory `target`."""
    reader, compression = open_uncompressed(stream)
    hashing = HashingReader(reader)
    tar = TarReader(hashing)
    with RootDir(os.fsencode(target)) as root:
        applier = _Applier(root, for_overlay)
        for entry in tar:
            applier.apply(entry, tar)
        applier.finish()
    hashing.drain()
    return AppliedLayer(hashing.digest, hashing.size, applier.size, tar.entries, compression)


def clean_path(name: bytes) -> bytes:
    """`name` relative to the layer's top, normalised; b"" for the top itself."""
    relative = posixpath.normpath(name.lstrip(b"/")) if name.lstrip(b"/") else b"."
    if relative == b".." or relative.startswith(b"../"):
        raise InvalidArgument(f"layer entry {_show(name)} points outside the layer")
    return b"" if relative == b"." else relative


class _Applier:
    def __init__(self, root: RootDir, for_overlay: bool):
        self.root = root
        self.for_overlay = for_overlay
        self.set_owners = os.geteuid() == 0
        self.umask = _current_umask()
        self.kept: set[bytes] = set()       # paths this layer made, and their directories
        self.whiteouts: set[bytes] = set()  # overlay whiteouts this layer made
        self.directories: list[tuple[bytes, TarEntry]] = []
        self.size = 0

    def apply(self, entry: TarEntry, tar: TarReader) -> None:
        path = clean_path(entry.name)
        if not path:
            return  # the layer's top: its metadata is the store's, as in Docker
        if path.startswith(WHITEOUT_META_PREFIX) and path != OPAQUE_MARKER:
            return  # aufs's metadata directories (.wh..wh.plnk, .wh..wh.orph)
        try:
            if posixpath.basename(path).startswith(WHITEOUT_PREFIX):
                self._whiteout(path)
            else:
                self._create(path, entry, tar)
                self._keep(path)
        except InvalidArgument as e:
            raise InvalidArgument(f"layer entry {_show(path)}: {e}") from None
        except OSError as e:
            raise SystemFailure(f"layer entry {_show(path)}: {e.strerror or e}") from None

    def finish(self) -> None:
        """Directories' times, now that nothing more is created in them."""
        for path, entry in reversed(self.directories):
            try:
                directory_fd, leaf = self.root.parent(path, create=False)
                os.utime(leaf, ns=_times(entry), dir_fd=directory_fd, follow_symlinks=False)
            except (FileNotFoundError, InvalidArgument):
                pass  # removed by a later entry of the layer

    def _keep(self, path: bytes) -> None:
        while path and path not in self.kept:
            self.kept.add(path)
            path = posixpath.dirname(path)

    # --- entries -------------------------------------------------------------------

    def _create(self, path: bytes, entry: TarEntry, tar: TarReader) -> None:
        replaces_whiteout = path in self.whiteouts
        self.whiteouts.discard(path)
        directory_fd, leaf = self.root.parent(path)
        existing = lstat_at(directory_fd, leaf)
        keeps_directory = entry.kind == DIRECTORY and existing is not None and stat.S_ISDIR(existing.st_mode)
        if existing is not None and not keeps_directory:
            self.root.remove(directory_fd, leaf)
            directory_fd, leaf = self.root.parent(path)
        if entry.kind == FILE:
            self._file(directory_fd, leaf, entry, tar)
        elif entry.kind == DIRECTORY:
            self._directory(directory_fd, leaf, entry, new=not keeps_directory, opaque=replaces_whiteout)
            self.directories.append((path, entry))
        elif entry.kind == HARDLINK:
            self._hard_link(directory_fd, leaf, entry)
        else:
            self._special(directory_fd, leaf, entry)

    def _file(self, directory_fd: int, leaf: bytes, entry: TarEntry, tar: TarReader) -> None:
        # Made with its final mode when the umask leaves it whole (the common
        # 0644 and 0755), then checked: an fstat instead of fchown and fchmod,
        # which each change the inode again (a layer has thousands of files).
        direct = entry.mode & ~0o777 == 0 and entry.mode & self.umask == 0
        fd = os.open(leaf, _NEW_FILE, entry.mode if direct else 0o600, dir_fd=directory_fd)
        try:
            tar.copy_data(lambda piece: write_all(fd, piece))
            if not (direct and self._made_as(fd, entry)):
                if self.set_owners:
                    os.fchown(fd, entry.uid, entry.gid)
                os.fchmod(fd, entry.mode)
            _set_xattrs(fd, entry)
            os.utime(fd, ns=_times(entry))
        finally:
            os.close(fd)
        self.size += entry.size

    def _made_as(self, fd: int, entry: TarEntry) -> bool:
        """Whether the new file already has the entry's mode and owner."""
        info = os.fstat(fd)
        if stat.S_IMODE(info.st_mode) != entry.mode:
            return False
        return not self.set_owners or (info.st_uid == entry.uid and info.st_gid == entry.gid)

    def _directory(self, directory_fd: int, leaf: bytes, entry: TarEntry, new: bool, opaque: bool) -> None:
        if new:
            os.mkdir(leaf, 0o700, dir_fd=directory_fd)
        fd = os.open(leaf, _OPEN_DIRECTORY, dir_fd=directory_fd)
        try:
            if self.set_owners:
                os.fchown(fd, entry.uid, entry.gid)
            os.fchmod(fd, entry.mode)
            _set_xattrs(fd, entry)
            if opaque and self.for_overlay:
                os.setxattr(fd, OVERLAY_OPAQUE_XATTR, b"y")
        finally:
            os.close(fd)

    def _hard_link(self, directory_fd: int, leaf: bytes, entry: TarEntry) -> None:
        target = clean_path(entry.linkname)
        if target not in self.kept or target in self.whiteouts:
            raise InvalidArgument(f"hard link to {_show(entry.linkname)}, which is no earlier entry of this layer")
        source_fd, source_leaf = self.root.parent(target, create=False)
        os.link(source_leaf, leaf, src_dir_fd=source_fd, dst_dir_fd=directory_fd, follow_symlinks=False)

    def _special(self, directory_fd: int, leaf: bytes, entry: TarEntry) -> None:
        """Symlinks, devices and fifos: made, then changed by name without following."""
        if entry.kind == SYMLINK:
            os.symlink(entry.linkname, leaf, dir_fd=directory_fd)
        elif entry.kind == FIFO:
            os.mkfifo(leaf, 0o600, dir_fd=directory_fd)
        else:
            kind = stat.S_IFCHR if entry.kind == CHAR else stat.S_IFBLK
            assert entry.kind in (CHAR, BLOCK_DEVICE)
            os.mknod(leaf, kind | 0o600, os.makedev(entry.devmajor, entry.devminor), dir_fd=directory_fd)
        if self.set_owners:
            os.chown(leaf, entry.uid, entry.gid, dir_fd=directory_fd, follow_symlinks=False)
        if entry.kind != SYMLINK:
            os.chmod(leaf, entry.mode, dir_fd=directory_fd, follow_symlinks=False)
        _set_xattrs(b"/proc/self/fd/%d/%s" % (directory_fd, leaf), entry)
        os.utime(leaf, ns=_times(entry), dir_fd=directory_fd, follow_symlinks=False)

    # --- whiteouts -----------------------------------------------------------------

    def _whiteout(self, path: bytes) -> None:
        directory, base = posixpath.split(path)
        if base == OPAQUE_MARKER:
            self._opaque(directory)
            return
        if base.startswith(WHITEOUT_META_PREFIX):
            return
        name = base[len(WHITEOUT_PREFIX):]
        if name in (b"", b".", b"..") or b"/" in name:
            raise InvalidArgument("a whiteout that names no file")
        hidden = posixpath.join(directory, name)
        if hidden in self.kept:
            return  # a whiteout hides lower layers only, not its own layer's files
        if self.for_overlay:
            self._overlay_whiteout(directory, name, hidden)
        else:
            self._delete(directory, name)

    def _overlay_whiteout(self, directory: bytes, name: bytes, hidden: bytes) -> None:
        directory_fd = self.root.directory(directory)
        if lstat_at(directory_fd, name) is not None:
            self.root.remove(directory_fd, name)
            directory_fd = self.root.directory(directory)
        os.mknod(name, stat.S_IFCHR, os.makedev(0, 0), dir_fd=directory_fd)
        self.whiteouts.add(hidden)

    def _opaque(self, directory: bytes) -> None:
        if self.for_overlay:
            os.setxattr(self.root.directory(directory), OVERLAY_OPAQUE_XATTR, b"y")
            self._keep(directory)
            return
        directory_fd = self._existing_directory(directory)
        for name in os.listdir(directory_fd) if directory_fd is not None else []:
            child = os.fsencode(name)
            if posixpath.join(directory, child) not in self.kept:
                self._delete(directory, child)

    def _delete(self, directory: bytes, name: bytes) -> None:
        directory_fd = self._existing_directory(directory)
        if directory_fd is not None:
            self.root.remove(directory_fd, name)

    def _existing_directory(self, directory: bytes) -> int | None:
        try:
            return self.root.directory(directory, create=False)
        except InvalidArgument:
            return None


def _current_umask() -> int:
    """The process's umask, read without changing it (os.umask would, for a
    moment, for every thread); 0o777 (nothing made directly) if unknown."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o777


def _set_xattrs(target, entry: TarEntry) -> None:
    for name, value in entry.xattrs.items():
        if name.startswith(_FORBIDDEN_XATTR_PREFIXES):
            continue
        try:
            if isinstance(target, int):
                os.setxattr(target, name, value)
            else:
                os.setxattr(target, name, value, follow_symlinks=False)
        except OSError as e:
            if e.errno not in _IGNORED_XATTR_ERRORS:
                raise


def _times(entry: TarEntry) -> tuple[int, int]:
    return (entry.atime_ns if entry.atime_ns is not None else entry.mtime_ns), entry.mtime_ns


def _show(name: bytes) -> str:
    return repr(name.decode("utf-8", "backslashreplace"))
