"""File system operations that cannot leave a directory tree.

A layer's tar names paths that may lead through symlinks the same layer
created.  `RootDir` resolves every directory with openat2(RESOLVE_IN_ROOT):
the kernel treats the tree's top as "/", so an absolute symlink, a ``..`` or
a chain of symlinks stays inside it, exactly as if the tar were unpacked by a
process chrooted there (which is what Docker does).  The last component of a
path is never followed: callers create, remove and change it through the
*at() calls relative to its directory's descriptor, without following
symlinks.
"""

import errno
import os
import posixpath
import shutil
import stat
from collections import OrderedDict

from hakobune import _sys
from hakobune.errors import InvalidArgument

_RESOLVE = _sys.RESOLVE_IN_ROOT | _sys.RESOLVE_NO_MAGICLINKS | _sys.RESOLVE_NO_XDEV
_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY
_CACHED_DIRECTORIES = 64


class RootDir:
    """An open directory tree; relative paths given to it use '/' and no '..'.

    Directory descriptors are cached (least recently used out): one returned
    stays valid for the next `_CACHED_DIRECTORIES - 1` lookups, or until
    `forget_directories` (call it whenever a directory is removed)."""

    def __init__(self, path: str):
        self.path = path
        self.fd = os.open(path, _DIRECTORY_FLAGS | os.O_CLOEXEC)
        self._directories: OrderedDict[str, int] = OrderedDict()

    def close(self) -> None:
        self.forget_directories()
        os.close(self.fd)

    def __enter__(self) -> "RootDir":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def parent(self, relative: str, create: bool = True) -> tuple[int, str]:
        """(descriptor of the directory holding `relative`, its last component)."""
        directory, leaf = posixpath.split(relative)
        return self.directory(directory, create), leaf

    def directory(self, relative: str, create: bool = True) -> int:
        """A descriptor of the directory `relative` ("" is the top), resolved inside
        the tree; missing directories are made (0755) when `create`."""
        if not relative:
            return self.fd
        fd = self._directories.get(relative)
        if fd is not None:
            self._directories.move_to_end(relative)
            return fd
        fd = self._open_directory(relative, create)
        self._directories[relative] = fd
        if len(self._directories) > _CACHED_DIRECTORIES:
            os.close(self._directories.popitem(last=False)[1])
        return fd

    def _open_directory(self, relative: str, create: bool) -> int:
        try:
            return _sys.openat2(self.fd, relative, _DIRECTORY_FLAGS, _RESOLVE)
        except OSError as e:
            if e.errno != errno.ENOENT or not create:
                raise _unusable(relative, e)
        parent, leaf = self.parent(relative, create)
        try:
            os.mkdir(leaf, 0o755, dir_fd=parent)
        except FileExistsError:
            pass  # a dangling symlink: the retry below says so
        try:
            return _sys.openat2(self.fd, relative, _DIRECTORY_FLAGS, _RESOLVE)
        except OSError as e:
            raise _unusable(relative, e)

    def forget_directories(self) -> None:
        while self._directories:
            os.close(self._directories.popitem()[1])

    def remove(self, directory_fd: int, name: str) -> None:
        """Remove `name` (a whole tree if it is a directory) without following symlinks."""
        info = lstat_at(directory_fd, name)
        if info is None:
            return
        if stat.S_ISDIR(info.st_mode):
            shutil.rmtree(name, dir_fd=directory_fd)
            self.forget_directories()
        else:
            os.unlink(name, dir_fd=directory_fd)


def lstat_at(directory_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=directory_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


_REASONS = {errno.ENOTDIR: "is not a directory", errno.ENOENT: "does not exist or is a dangling symlink",
            errno.ELOOP: "leads through too many symlinks", errno.EXDEV: "crosses a mount point"}


def _unusable(relative: str, error: OSError) -> Exception:
    """What the layer is to blame for is InvalidArgument; the rest stays an OSError."""
    if error.errno not in _REASONS:
        return error
    return InvalidArgument(f"the directory {relative!r} {_REASONS[error.errno]}")
