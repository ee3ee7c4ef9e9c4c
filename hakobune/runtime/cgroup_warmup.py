"""Start the wait that the first move of a process into a cgroup pays, and
keep its result until the container's own move.

Moving a process between cgroups (a write to cgroup.procs, as `create`
does with stage one) takes the kernel's global cgroup_threadgroup_rwsem
for writing; unless the cgroups are mounted with `favordynmods`, a writer
that comes when no other wrote for a grace period waits an RCU grace period
(8-20 ms here), and the kernel forgets the wait a grace period after the
last writer.  `begin()` starts a thread of its own that moves this process
into the cgroup it is in already (no change) and keeps doing so every few
milliseconds, so that the container's move, made later by the runtime (in
the monitor's fork or in another process), finds the wait done instead of
starting it.  Measured on this host: the container's first cgroup.procs
write took 8-21 ms with a single early write (forgotten by the time the
runtime moved stage one), under 0.1 ms with the writes kept up.

The writes stop at `end()` (the caller's start returned: the move is done)
or KEEP_WARM_SECONDS after the last `begin()`, whichever comes first; they
cost some 20 us each.  A help, never a need: any failure (no cgroup file,
no permission) is ignored, and the caller never waits for the thread.
`Lifecycle.create` and `start` call `begin`, `start` calls `end`.
"""

import os
import time

KEEP_WARM_SECONDS = 0.25
INTERVAL_SECONDS = 0.003  # well within a grace period (some 10 ms)

_deadline = [0.0]  # monotonic time the writes stop at
_running = []  # the thread is running: a second one would add nothing


def begin() -> None:
    """Make the no-op moves in the background from now until `end()` or
    KEEP_WARM_SECONDS from now."""
    _deadline[0] = time.monotonic() + KEEP_WARM_SECONDS
    if _running:
        return
    import _thread

    _running.append(True)
    try:
        _thread.start_new_thread(_keep_warm, ())
    except RuntimeError:
        _running.clear()


def end() -> None:
    """The container's move is done: stop the writes."""
    _deadline[0] = 0.0


def _keep_warm() -> None:
    try:
        path = _own_procs_file()  # read just before the writes: never a cgroup this process has left
        if path is None:
            return
        while time.monotonic() < _deadline[0]:
            _move_self(path)
            time.sleep(INTERVAL_SECONDS)
    except OSError:
        pass
    finally:
        _running.clear()


def _move_self(path: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, b"0")  # 0: the writer's own process
    finally:
        os.close(fd)


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
