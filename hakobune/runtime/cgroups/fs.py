"""Reading and writing cgroup interface files, with the engine's error kinds.

Every byte the cgroup managers put into or take out of a cgroup filesystem
goes through `write` and `read` here, so a failure always names the file and
the value, and tests can record the writes by replacing `write`.
"""

import errno
import os
import time

from hakobune.errors import Conflict, SystemFailure


def write(path: str, value: str) -> None:
    """Write `value` to an existing interface file (never creates one)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    except OSError as e:
        raise write_failure(path, value, e) from e
    try:
        os.write(fd, value.encode())
    except OSError as e:
        raise write_failure(path, value, e) from e
    finally:
        os.close(fd)


def write_failure(path: str, value: str, error: OSError, hint: str | None = None) -> SystemFailure:
    if hint is None and error.errno == errno.ENOENT:
        hint = "the controller that owns this file is not available in this cgroup"
    return SystemFailure(f"cgroup: writing {value!r} to {path}: {os.strerror(error.errno)}", hint)


def read(path: str) -> str:
    """The content of an interface file, without the trailing newline."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().rstrip("\n")
    except OSError as e:
        raise SystemFailure(f"cgroup: reading {path}: {os.strerror(e.errno)}") from e


def read_optional(path: str) -> str | None:
    """Like `read`, but None when the file does not exist."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().rstrip("\n")
    except FileNotFoundError:
        return None
    except OSError as e:
        raise SystemFailure(f"cgroup: reading {path}: {os.strerror(e.errno)}") from e


def read_int(path: str, default: int | None = None) -> int | None:
    """A numeric file's value; "max" reads as 2**64-1; absent means `default`."""
    text = read_optional(path)
    if text is None or text == "":
        return default
    text = text.split()[0]
    if text == "max":
        return 2**64 - 1
    return int(text)


def read_keyed(path: str) -> dict[str, int]:
    """A flat keyed file ("key value" per line, e.g. memory.stat) as a dict."""
    text = read_optional(path) or ""
    result = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            result[parts[0]] = int(parts[1])
    return result


def make_dirs(path: str) -> None:
    """mkdir -p, tolerating a concurrent destroy pruning a shared parent."""
    for _ in range(5):
        try:
            os.makedirs(path, exist_ok=True)
            return
        except FileNotFoundError:
            continue
        except OSError as e:
            raise SystemFailure(f"cgroup: creating {path}: {os.strerror(e.errno)}") from e
    raise SystemFailure(f"cgroup: creating {path}: a parent kept disappearing")


def procs(path: str) -> list[int]:
    """The pids listed in cgroup.procs of `path` and of all its descendants."""
    found: list[int] = []
    for directory, _subdirs, _files in os.walk(path):
        text = read_optional(os.path.join(directory, "cgroup.procs")) or ""
        found.extend(int(word) for word in text.split())
    return found


def remove_tree(path: str, timeout: float) -> None:
    """rmdir `path` and its sub-cgroups, deepest first.

    A cgroup whose processes are still exiting answers EBUSY for a moment;
    that is retried until `timeout`.  Nothing is killed: if processes remain,
    Conflict is raised and the cgroup is left in place.
    """
    if not os.path.isdir(path):
        return
    for directory, _subdirs, _files in os.walk(path, topdown=False):
        _rmdir_retrying(directory, timeout)


def _rmdir_retrying(path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as e:
            if e.errno not in (errno.EBUSY, errno.ENOTEMPTY) or time.monotonic() >= deadline:
                raise _rmdir_failure(path, e) from e
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def _rmdir_failure(path: str, error: OSError):
    if error.errno in (errno.EBUSY, errno.ENOTEMPTY):
        remaining = procs(path)
        if remaining:
            return Conflict(f"cgroup: {path} still has processes {remaining}",
                            "kill the container's processes before deleting it")
    return SystemFailure(f"cgroup: removing {path}: {os.strerror(error.errno)}")


def prune_empty_parents(path: str, levels: int) -> None:
    """rmdir up to `levels` ancestors of `path` while they are empty cgroups."""
    for _ in range(levels):
        path = os.path.dirname(path)
        try:
            os.rmdir(path)
        except OSError:
            return
