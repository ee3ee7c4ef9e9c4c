"""Durable file system steps and file locks shared by the image stores.

Durability (docs/ARCHITECTURE.md, "State"): everything under --root must
survive a kill -9 or a power cut in a state that is either the old one or the
new one.  The pattern is always: write under a temporary name in the same
directory tree (same file system), fsync the data, rename onto the final name
(atomic), then fsync the directory that holds the name, so that the rename
itself is on disk before the caller reports success.  A directory created
here is fsynced into its parent for the same reason.

Locks are flock(2) locks on files: they belong to an open file description,
so they are released by the kernel when the process dies, however it dies,
and they work between the processes of several hakobune commands sharing
one --root.  A lock file that may be removed (one per object) is re-checked
after locking, so that a lock taken on a file that was unlinked meanwhile is
never mistaken for the lock on the new file of that name.
"""

import contextlib
import errno
import fcntl
import os

from hakobune._sys import syncfs  # noqa: F401 - re-exported for the stores


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(path: str, mode: int = 0o700) -> None:
    """mkdir -p whose every new directory is on disk when it returns."""
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path.rstrip("/"))
    make_dirs(parent, mode)
    try:
        os.mkdir(path, mode)
    except FileExistsError:
        return
    fsync_dir(parent)


def write_atomic(path: str, data: bytes, mode: int = 0o644) -> None:
    """Replace the file `path` with `data`: temp name, fsync, rename, fsync dir."""
    directory, name = os.path.split(path)
    temp = os.path.join(directory, f".{name}.tmp-{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(temp, path)
    fsync_dir(directory)


def write_all(fd: int, data) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


@contextlib.contextmanager
def locked(path: str, shared: bool = False, remove_after: bool = False):
    """Hold a flock on the file `path` (created if missing); with `remove_after`
    (exclusive only) the lock file is unlinked before the lock is released."""
    fd = acquire(path, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
    try:
        yield fd
    finally:
        if remove_after and not shared:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        os.close(fd)


def acquire(path: str, operation: int) -> int:
    """An open descriptor of `path` holding the flock `operation`."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, operation)
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except FileNotFoundError:
            pass  # unlinked by its last holder: lock the new file instead
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def try_lock(fd: int) -> bool:
    """Take an exclusive flock on `fd` if nobody holds one."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as e:
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return False
        raise
