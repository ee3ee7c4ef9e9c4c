"""The cgroup v2 manager: one directory in the unified hierarchy.

Owns a container's cgroup on a pure cgroup2 host: creating it (and enabling
the controllers its parents offer in their cgroup.subtree_control), moving
processes in, applying resources (v2_resources plans the file writes,
devices_bpf installs the device filter), freezing with cgroup.freeze, and
removing it.  The same class works on the controller-less cgroup2 hierarchy
of a hybrid host, where only the device filter and the freezer act.
"""

import os

from hakobune.errors import InvalidArgument, SystemFailure
from hakobune.runtime.cgroups import fs, stats, v2_resources
from hakobune.runtime.cgroups.base import (FROZEN, THAWED, CgroupManager, install_device_filter, run_plan,
                                           tolerated, wait_for)
from hakobune.runtime.cgroups.devices import requested_rules
from hakobune.runtime.cgroups.layout import UNIFIED


class V2Manager(CgroupManager):
    """The cgroup `path` (from the hierarchy's root) of the cgroup2 mount at `mount_point`.

    `removable_parents` is how many ancestors destroy() may remove when they
    are left empty (1 for the default /hakobune/<id>: the shared "hakobune").
    """

    version = 2

    def __init__(self, mount_point: str, path: str, *, rootless: bool = False, removable_parents: int = 0):
        self.mount_point = mount_point.rstrip("/") or "/"
        self.path = "/" + path.strip("/")
        if self.path == "/":
            raise InvalidArgument("a container cannot use the root cgroup")
        self.dir = os.path.join(self.mount_point, self.path.lstrip("/"))
        self.rootless = rootless
        self.removable_parents = removable_parents
        self.usable = True  # False when a rootless container may not have this cgroup

    @property
    def paths(self) -> dict[str, str]:
        return {UNIFIED: self.dir} if self.usable else {}

    def create(self) -> None:
        try:
            self._enable_controllers()
            fs.make_dirs(self.dir)
        except SystemFailure as failure:
            if not tolerated(failure, self.rootless):
                raise
            self.usable = False

    def _enable_controllers(self) -> None:
        """Delegate every offered controller down to the container's parent.

        Best-effort: a parent that holds processes cannot delegate (EBUSY);
        what is missing then shows when apply() finds no file to write.
        """
        directory = self.mount_point
        for part in self.path.strip("/").split("/")[:-1]:
            self._enable_in(directory)
            directory = os.path.join(directory, part)
            fs.make_dirs(directory)
        self._enable_in(directory)

    def _enable_in(self, directory: str) -> None:
        offered = (fs.read_optional(os.path.join(directory, "cgroup.controllers")) or "").split()
        enabled = (fs.read_optional(os.path.join(directory, "cgroup.subtree_control")) or "").split()
        for controller in offered:
            if controller in enabled:
                continue
            try:
                fs.write(os.path.join(directory, "cgroup.subtree_control"), "+" + controller)
            except SystemFailure:
                continue

    def add(self, pid: int) -> None:
        if not self.usable:
            return
        try:
            fs.write(os.path.join(self.dir, "cgroup.procs"), str(pid))
        except SystemFailure as failure:
            if not tolerated(failure, self.rootless):
                raise
            self.usable = False

    def apply(self, resources: dict) -> None:
        self._apply(resources, live=False)

    def update(self, resources: dict) -> None:
        self._apply(resources, live=True)

    def _apply(self, resources: dict, live: bool) -> None:
        writes = v2_resources.plan(self.dir, resources, live)
        rules = requested_rules(resources)
        run_plan(writes, self.paths, self.rootless)
        if rules is not None and self.usable:  # rootless without a cgroup: the host's rules stay
            install_device_filter(self.dir, rules, self.rootless)

    def freeze(self, timeout: float = 5.0) -> None:
        self._require_usable("freeze")
        fs.write(os.path.join(self.dir, "cgroup.freeze"), "1")
        if not wait_for(self._frozen, timeout):
            fs.write(os.path.join(self.dir, "cgroup.freeze"), "0")
            raise SystemFailure(f"cgroup: {self.dir} did not freeze within {timeout}s")

    def thaw(self, timeout: float = 5.0) -> None:
        self._require_usable("thaw")
        fs.write(os.path.join(self.dir, "cgroup.freeze"), "0")
        if not wait_for(lambda: not self._frozen(), timeout):
            raise SystemFailure(f"cgroup: {self.dir} did not thaw within {timeout}s")

    def _frozen(self) -> bool:
        events = fs.read_keyed(os.path.join(self.dir, "cgroup.events"))
        return events.get("frozen") == 1

    def state(self) -> str:
        return FROZEN if self.usable and self._frozen() else THAWED

    def _require_usable(self, verb: str) -> None:
        if not self.usable:
            raise SystemFailure(f"cgroup: cannot {verb}: this rootless container has no cgroup of its own")

    def pids(self) -> list[int]:
        return fs.procs(self.dir) if self.usable else []

    def stats(self) -> dict:
        return stats.v2_stats(self.dir) if self.usable else {}

    def destroy(self, timeout: float = 2.0) -> None:
        fs.remove_tree(self.dir, timeout)
        fs.prune_empty_parents(self.dir, self.removable_parents)

    def mount_sources(self) -> list[tuple[str, str]]:
        """[("", dir)]: the name "" stands for the whole cgroup2 filesystem.

        Mount cgroup2 afresh inside the container's cgroup namespace (it then
        shows `dir` as its root); without a cgroup namespace, bind `dir`.
        """
        return [("", self.dir)] if self.usable else []

    def describe(self) -> dict:
        return {"version": 2, "mount_point": self.mount_point, "path": self.path,
                "rootless": self.rootless, "removable_parents": self.removable_parents}
