"""What every cgroup manager offers, and the parts v1 and v2 share.

Owns the CgroupManager interface (the lifecycle the runtime drives), the
execution of planned writes (a plan is a list of (target, file, value,
optional) made by v1_resources / v2_resources before anything is written,
so a bad value fails before the cgroup is half changed), and the rootless
tolerance of permission errors.
"""

import errno
import os
import time

from hakobune.errors import SystemFailure
from hakobune.runtime.cgroups import fs

FROZEN = "frozen"
THAWED = "thawed"
PERMISSION_ERRNOS = (errno.EACCES, errno.EPERM, errno.EROFS)


class CgroupManager:
    """One container's cgroup, in every hierarchy the host has.

    Lifecycle: create() -> add(pid) -> apply(resources) -> ... -> destroy().
    """

    version = 0
    rootless = False

    @property
    def paths(self) -> dict[str, str]:
        """{controller (or "name=x", or "unified" for cgroup2): directory}."""
        raise NotImplementedError

    def create(self) -> None:
        """Make the directories (idempotent) so processes can join."""
        raise NotImplementedError

    def add(self, pid: int) -> None:
        """Move a process (and its future children) into every hierarchy."""
        raise NotImplementedError

    def apply(self, resources: dict) -> None:
        """Set OCI linux.resources; every value is checked before the first write."""
        raise NotImplementedError

    def update(self, resources: dict) -> None:
        """apply() on a running container (honours memory.checkBeforeUpdate)."""
        raise NotImplementedError

    def freeze(self, timeout: float = 5.0) -> None:
        """Stop every process and wait until all are frozen (undone on timeout)."""
        raise NotImplementedError

    def thaw(self, timeout: float = 5.0) -> None:
        raise NotImplementedError

    def state(self) -> str:
        """FROZEN once frozen completely, THAWED otherwise."""
        raise NotImplementedError

    def pids(self) -> list[int]:
        """Every process in the cgroup and its sub-cgroups."""
        raise NotImplementedError

    def stats(self) -> dict:
        """Usage, shaped like the "data" of `runc events --stats` (see stats.py)."""
        raise NotImplementedError

    def destroy(self, timeout: float = 2.0) -> None:
        """Remove the directories; Conflict if processes stay past `timeout`.

        Never kills: the caller kills the container's processes first.
        """
        raise NotImplementedError

    def mount_sources(self) -> list[tuple[str, str]]:
        """What the container's /sys/fs/cgroup shows: [(name, host directory)]."""
        raise NotImplementedError

    def mount_symlinks(self) -> list[tuple[str, str]]:
        """(link name, target name) pairs under the container's /sys/fs/cgroup."""
        return []

    def describe(self) -> dict:
        """A JSON-able description from which load_manager rebuilds this manager."""
        raise NotImplementedError


def run_plan(plan: list[tuple[str, str, str, bool]], dirs: dict[str, str], rootless: bool) -> None:
    """Perform planned writes; `dirs` maps a plan's targets to directories.

    An optional write is skipped when its target or file is absent.
    """
    for target, name, value, optional in plan:
        directory = dirs.get(target)
        if directory is None:
            if optional:
                continue
            raise SystemFailure(f"cgroup: cannot write {value!r} to {name}: the {target} controller "
                                "is not available" + (" to this rootless container" if rootless else ""))
        path = os.path.join(directory, name)
        if optional and not os.path.exists(path):
            continue
        fs.write(path, value)


def install_device_filter(directory: str, rules, rootless: bool) -> None:
    """The cgroup2 device filter; a rootless container without the right keeps none.

    (In a user namespace, device access is bounded by the host's own
    permissions anyway.)
    """
    from hakobune.runtime.cgroups import devices_bpf  # loads ctypes; only when needed

    try:
        devices_bpf.install(directory, rules)
    except SystemFailure as failure:
        if not tolerated(failure, rootless):
            raise


def failed_errno(failure: SystemFailure) -> int | None:
    cause = failure.__cause__
    return cause.errno if isinstance(cause, OSError) else None


def tolerated(failure: SystemFailure, rootless: bool) -> bool:
    """Whether a rootless container may go on without this cgroup."""
    return rootless and failed_errno(failure) in PERMISSION_ERRNOS


def wait_for(condition, timeout: float, poke=None) -> bool:
    """Poll `condition` until true or `timeout`; `poke` is re-run while waiting."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
        if poke is not None:
            poke()
    return True
