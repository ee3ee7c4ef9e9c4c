"""Adopting a directory as a layer: an overlay upper directory (a build
step's, a container's) becomes a layer's diff directory by renames instead
of being packed into a tar and unpacked again.

`survey(directory, skip)` packs the directory's layer tar (`difftar`'s
`pack_layer`, the same bytes) into a hash only, for its diff id, and notes
every entry the tar holds.  `make_diff_dir(survey, diff_dir)` then gives
`diff_dir` exactly the tree that unpacking that tar with
`tarlayer.apply_layer(for_overlay=True)` would have made:

- the top is a new directory (as the unpacker makes it); the directory's
  top-level entries are renamed into it (same file system), those the tar
  leaves out (`skip`, sockets) stay behind; deeper ones are deleted;
- whiteouts (0:0 character devices) are made anew, as the unpacker makes
  them (overlayfs may share one inode between all its whiteouts);
- overlayfs's own attributes (``trusted.overlay.*``, ``user.overlay.*``:
  origin, impure, redirect...) are removed, but ``trusted.overlay.opaque=y``,
  which the tar carries as its ``.wh..wh..opq`` marker;
- access and modification times become the tar's: whole seconds, access
  time equal to modification time.

Ownership, modes, other extended attributes, hard links and content are
the files' own, which is what the tar carries.  A directory whose tar would
not unpack to itself (a name starting with ``.wh.``, which the unpacker
reads as a whiteout) is `faithful=False`: the caller packs and unpacks it.

Durability is the caller's (`LayerStore.adopt`): `diff_dir` is in the layer
store's tmp/, synced and renamed as an unpacked layer is.
"""

from __future__ import annotations

import errno
import os
import stat
import tarfile

from hakobune.image.difftar import OPAQUE_XATTR, _HashingSink, _Packer

WHITEOUT_PREFIX = ".wh."
_OVERLAY_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.")


class Survey:
    """What `survey` found: the tar's diff id and size, and its entries."""

    def __init__(self, directory: str):
        self.directory = directory
        self.diff_id = ""
        self.tar_size = 0
        self.size = 0                 # bytes of regular files (hard links once), as the unpacker counts
        self.faithful = True
        self.entries: list[tuple[str, int]] = []  # (relative path, mtime in whole seconds), tar order
        self.whiteouts: list[str] = []
        self.left_out: list[str] = []


class _SurveyingPacker(_Packer):
    def __init__(self, top: str, archive: tarfile.TarFile, skip, found: Survey):
        super().__init__(top, archive, skip)
        self.found = found

    def left_out(self, relative: str) -> None:
        self.found.left_out.append(relative)

    def whiteout(self, relative: str) -> None:
        self._check_name(relative)
        self.found.whiteouts.append(relative)

    def pack_entry(self, relative: str, info: os.stat_result) -> None:
        self._check_name(relative)
        super().pack_entry(relative, info)
        self.found.entries.append((relative, info.st_mtime_ns // 1_000_000_000))
        if stat.S_ISREG(info.st_mode):
            first = self.first_names.get((info.st_dev, info.st_ino), relative)
            if first == relative:
                self.found.size += info.st_size

    def _check_name(self, relative: str) -> None:
        if os.path.basename(relative).startswith(WHITEOUT_PREFIX):
            self.found.faithful = False


def survey(directory: str, skip=frozenset()) -> Survey:
    """The diff id of `directory`'s layer tar (as `difftar.pack_layer` writes
    it, leaving out `skip`) and the entries `make_diff_dir` needs."""
    found = Survey(directory)
    sink = _HashingSink()
    with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT, encoding="utf-8",
                      errors="surrogateescape") as archive:
        _SurveyingPacker(directory, archive, skip, found).pack_directory("")
    found.diff_id = "sha256:" + sink.hasher.hexdigest()
    found.tar_size = sink.size
    return found


def same_file_system(path: str, other: str) -> bool:
    return os.stat(path).st_dev == os.stat(other).st_dev


def make_diff_dir(found: Survey, diff_dir: str) -> None:
    """Move the surveyed directory's entries into the new directory
    `diff_dir` (which must not exist), as unpacking its tar would make it."""
    source = found.directory
    os.mkdir(diff_dir, 0o755)
    left_out = set(found.left_out)
    for name in os.listdir(source):
        if name not in left_out:
            os.rename(os.path.join(source, name), os.path.join(diff_dir, name))
    for relative in found.left_out:
        if "/" in relative:
            _remove(os.path.join(diff_dir, relative))
    for relative in found.whiteouts:
        _make_whiteout(os.path.join(diff_dir, relative))
    for relative, mtime in found.entries:
        path = os.path.join(diff_dir, relative)
        _drop_overlay_xattrs(path)
        seconds_ns = mtime * 1_000_000_000
        os.utime(path, ns=(seconds_ns, seconds_ns), follow_symlinks=False)


def _remove(path: str) -> None:
    import shutil

    try:
        if stat.S_ISDIR(os.lstat(path).st_mode):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass


def _make_whiteout(path: str) -> None:
    """A whiteout of its own, as the unpacker makes it (mknod, mode 0)."""
    os.unlink(path)
    os.mknod(path, stat.S_IFCHR, os.makedev(0, 0))


def _drop_overlay_xattrs(path: str) -> None:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError as e:
        if e.errno in (errno.ENOTSUP, errno.EPERM):
            return
        raise
    for name in names:
        if not name.startswith(_OVERLAY_XATTR_PREFIXES):
            continue
        if name == OPAQUE_XATTR and os.getxattr(path, name, follow_symlinks=False) == b"y":
            continue
        os.removexattr(path, name, follow_symlinks=False)
