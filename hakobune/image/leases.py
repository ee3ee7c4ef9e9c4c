"""Leases: what a process is about to make an image of, kept safe from the
garbage collection of layers and blobs that no image uses.

A load or a pull registers layers and stores blobs before the image that
uses them exists; a concurrent `rmi` would see them unused and remove them.
So such a process first holds a lease, a file in ``<root>/image/leases/``
that it keeps flock-ed for its whole life and to which it appends the name
(chain id or blob digest) of everything it is about to use, before it looks
whether that thing exists.  The collector skips every name of a live lease.

Ordering: a name is added under the image store's lock held shared, and the
collector reads the leases and removes under that lock held exclusively, so
a name added after the collector looked is added after the removal, and the
registration that follows creates the layer or blob again.

A lease whose process died is no longer locked: the collector removes it.
"""

import contextlib
import os

from hakobune.image._fsutil import make_dirs, try_lock


class Lease:
    def __init__(self, directory: str, hold_lock):
        """`hold_lock` is a context manager factory: the store's lock, shared."""
        self.directory = directory
        self._hold_lock = hold_lock
        self.path = os.path.join(directory, f"{os.getpid()}-{os.urandom(8).hex()}")
        self.names: set[str] = set()
        with hold_lock():  # created and locked before a collector can look at it
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o600)
            try_lock(self._fd)

    def hold(self, *names: str) -> None:
        """Keep `names` (chain ids, blob digests) from being collected."""
        new = [name for name in names if name not in self.names]
        if not new:
            return
        with self._hold_lock():
            os.write(self._fd, "".join(f"{name}\n" for name in new).encode())
        self.names.update(new)

    def release(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        os.close(self._fd)


def leases_directory(image_directory: str) -> str:
    path = os.path.join(image_directory, "leases")
    make_dirs(path)
    return path


def held_names(directory: str, except_path: str | None = None) -> set[str]:
    """Every name held by a live lease (but the one at `except_path`);
    leases of dead processes are removed on the way.  Call under the store's
    lock held exclusively."""
    held: set[str] = set()
    for entry in os.listdir(directory):
        path = os.path.join(directory, entry)
        if path == except_path:
            continue
        held |= _names_if_live(path)
    return held


def _names_if_live(path: str) -> set[str]:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        return set()
    try:
        if try_lock(fd):  # nobody holds it: its process is gone
            os.unlink(path)
            return set()
        with os.fdopen(os.dup(fd), "r") as f:
            return {line.strip() for line in f if line.strip()}
    finally:
        os.close(fd)
