"""Scratch directories under ``<root>/image/tmp`` for work that must not be
seen half done (an archive being loaded, a layer being packed).

Each is flock-ed by its process for its whole life, so `remove_abandoned`
removes only those whose process died (a kill -9 in the middle of a load),
never one in use.  The directory is on the same file system as the stores.
"""

import contextlib
import os
import shutil
import tempfile

from hakobune.errors import SystemFailure
from hakobune.image._fsutil import try_lock


@contextlib.contextmanager
def staging_directory(parent: str, prefix: str, guard=contextlib.nullcontext):
    """A new locked directory in `parent`, removed with its content on exit.
    `guard()` is held while it is made and locked: the lock under which
    `remove_abandoned` runs (held shared here, exclusively there)."""
    try:
        with guard():
            path = tempfile.mkdtemp(prefix=prefix, dir=parent)
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try_lock(fd)
    except OSError as e:
        raise SystemFailure(f"cannot create a scratch directory in {parent}: {e.strerror}") from None
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.close(fd)


def remove_abandoned(parent: str) -> int:
    """Remove the scratch directories of processes that died; returns how many."""
    removed = 0
    for name in os.listdir(parent):
        path = os.path.join(parent, name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(path)
            continue
        try:
            if try_lock(fd):
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
        finally:
            os.close(fd)
    return removed
