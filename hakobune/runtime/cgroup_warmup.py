"""Start the wait that the first move of a process into a cgroup pays.

Moving a process between cgroups (a write to cgroup.procs, as `create`
does with stage one) takes the kernel's global cgroup_threadgroup_rwsem
for writing; unless the cgroups are mounted with `favordynmods`, the first
writer waits an RCU grace period (some 10 ms here) and writers within a
grace period of one another share that wait.  `begin()` makes such a write
early, from a thread of its own that moves this process into the cgroup it
is in already (no change), so that the container's start, a few
milliseconds later, finds the wait done or under way instead of starting it.

A help, never a need: any failure (no cgroup file, no permission) is
ignored, and the caller does not wait for the thread.  `Lifecycle.create`
and `start` call it; a `run` makes two such writes, some 10 ms apart.
"""

import os

_in_flight = []  # a write under way: another would add nothing


def begin() -> None:
    """Make the no-op move in the background (unless one is under way).
    Called again a little later, it keeps the wait's result fresh: the
    kernel forgets it a grace period or so after the last move."""
    if _in_flight:
        return
    import _thread

    _in_flight.append(True)
    try:
        _thread.start_new_thread(_move_self, ())
    except RuntimeError:
        _in_flight.clear()


def _move_self() -> None:
    try:
        path = _own_procs_file()  # read just before the write: never a cgroup this process has left
        if path is None:
            return
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, b"0")  # 0: the writer's own process
        finally:
            os.close(fd)
    except OSError:
        pass
    finally:
        _in_flight.clear()


def _own_procs_file() -> str | None:
    """cgroup.procs of this process's cgroup in one mounted hierarchy."""
    try:
        with open("/proc/self/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    candidates = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            candidates += [f"/sys/fs/cgroup/unified{path}", f"/sys/fs/cgroup{path}"]
        elif not controllers.startswith("name="):
            candidates.insert(0, f"/sys/fs/cgroup/{controllers}{path}")
    for directory in candidates:
        procs = os.path.join(directory, "cgroup.procs")
        if os.access(procs, os.W_OK):
            return procs
    return None
