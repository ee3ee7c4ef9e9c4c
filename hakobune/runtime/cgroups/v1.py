"""The cgroup v1 manager: one directory per hierarchy (legacy and hybrid hosts).

Owns a container's cgroups where controllers live in v1 hierarchies: one
directory in each (co-mounted controllers such as cpu,cpuacct share one),
including named hierarchies (name=systemd) and, on a hybrid host, the
controller-less cgroup2 hierarchy, which only holds the processes.  Creating
(with cpuset.cpus/mems copied down where empty), moving processes in,
applying resources (v1_resources plans the writes; a hybrid host without a
v1 devices hierarchy gets the cgroup2 device filter), the v1 freezer, and
removal.
"""

import os

from hakobune.errors import InvalidArgument, SystemFailure
from hakobune.runtime.cgroups import fs, stats, v1_resources
from hakobune.runtime.cgroups.base import (FROZEN, THAWED, CgroupManager, install_device_filter, run_plan,
                                           tolerated, wait_for)
from hakobune.runtime.cgroups.devices import requested_rules
from hakobune.runtime.cgroups.layout import UNIFIED

# Where the full list of a container's processes is read, best first.
_PROCS_SOURCES = ("pids", "freezer", "devices", "memory", "cpu", "name=systemd", UNIFIED)


class V1Manager(CgroupManager):
    """The cgroup `path` in every v1 hierarchy of `mounts` ({controller: mount point}).

    `path` is one path for all hierarchies, or {controller: path} when they
    differ (a relative cgroupsPath, resolved against our own cgroups).
    `unified` is the cgroup2 mount point of a hybrid host, whose path is
    path[UNIFIED] (or the common path).
    """

    version = 1

    def __init__(self, mounts: dict[str, str], path: str | dict[str, str], unified: str | None = None, *,
                 rootless: bool = False, removable_parents: int = 0):
        self.mounts = {name: point.rstrip("/") or "/" for name, point in mounts.items()}
        if unified:
            self.mounts[UNIFIED] = unified.rstrip("/") or "/"
        self.cgroup_paths = {name: _path_for(path, name) for name in self.mounts}
        self.rootless = rootless
        self.removable_parents = removable_parents
        self.skipped: set[str] = set()  # hierarchies a rootless container may not use

    @property
    def paths(self) -> dict[str, str]:
        return {name: os.path.join(point, self.cgroup_paths[name].lstrip("/"))
                for name, point in self.mounts.items() if name not in self.skipped}

    def _hierarchy_dirs(self) -> dict[str, list[str]]:
        """{directory: [controllers]}, one entry per hierarchy (co-mounts share)."""
        result: dict[str, list[str]] = {}
        for name, directory in self.paths.items():
            result.setdefault(directory, []).append(name)
        return result

    def create(self) -> None:
        for directory, names in self._hierarchy_dirs().items():
            try:
                fs.make_dirs(directory)
                if "cpuset" in names:
                    self._fill_cpuset(directory)
            except SystemFailure as failure:
                if not tolerated(failure, self.rootless):
                    raise
                self.skipped.update(names)

    def _fill_cpuset(self, directory: str) -> None:
        """Give each level down to `directory` its parent's cpus and mems where empty.

        A v1 cpuset cgroup starts with none, and no process may join it then.
        """
        level = self.mounts["cpuset"]
        inherited = [fs.read(os.path.join(level, name)) for name in ("cpuset.cpus", "cpuset.mems")]
        for part in self.cgroup_paths["cpuset"].strip("/").split("/"):
            level = os.path.join(level, part)
            for index, name in enumerate(("cpuset.cpus", "cpuset.mems")):
                path = os.path.join(level, name)
                own = fs.read(path)
                if own == "":
                    fs.write(path, inherited[index])
                    own = inherited[index]
                inherited[index] = own

    def add(self, pid: int) -> None:
        for directory, names in self._hierarchy_dirs().items():
            try:
                fs.write(os.path.join(directory, "cgroup.procs"), str(pid))
            except SystemFailure as failure:
                if not tolerated(failure, self.rootless):
                    raise
                self.skipped.update(names)

    def apply(self, resources: dict) -> None:
        self._apply(resources, live=False)

    def update(self, resources: dict) -> None:
        self._apply(resources, live=True)

    def _apply(self, resources: dict, live: bool) -> None:
        dirs = self.paths
        run_plan(v1_resources.plan(dirs, resources, live), dirs, self.rootless)
        rules = requested_rules(resources)
        if rules is not None and v1_resources.uses_device_filter(dirs):
            install_device_filter(dirs[UNIFIED], rules, self.rootless)

    def freeze(self, timeout: float = 5.0) -> None:
        state_file = os.path.join(self._freezer_dir("freeze"), "freezer.state")
        fs.write(state_file, "FROZEN")
        # A task that was busy may leave the cgroup FREEZING: ask again.
        if not wait_for(lambda: fs.read(state_file) == "FROZEN", timeout,
                        poke=lambda: fs.write(state_file, "FROZEN")):
            fs.write(state_file, "THAWED")
            raise SystemFailure(f"cgroup: {state_file} did not reach FROZEN within {timeout}s")

    def thaw(self, timeout: float = 5.0) -> None:
        state_file = os.path.join(self._freezer_dir("thaw"), "freezer.state")
        fs.write(state_file, "THAWED")
        if not wait_for(lambda: fs.read(state_file) == "THAWED", timeout):
            raise SystemFailure(f"cgroup: {state_file} did not reach THAWED within {timeout}s")

    def _freezer_dir(self, verb: str) -> str:
        directory = self.paths.get("freezer")
        if directory is None:
            raise SystemFailure(f"cgroup: cannot {verb}: the freezer controller is not available")
        return directory

    def state(self) -> str:
        directory = self.paths.get("freezer")
        if directory is None:
            return THAWED
        text = fs.read_optional(os.path.join(directory, "freezer.state"))
        return FROZEN if text == "FROZEN" else THAWED

    def pids(self) -> list[int]:
        dirs = self.paths
        for name in _PROCS_SOURCES:
            if name in dirs:
                return fs.procs(dirs[name])
        return fs.procs(next(iter(dirs.values()))) if dirs else []

    def stats(self) -> dict:
        return stats.v1_stats(self.paths)

    def destroy(self, timeout: float = 2.0) -> None:
        """Remove every hierarchy's directory; the first failure is raised at the end."""
        failure = None
        for directory in self._all_dirs():
            try:
                fs.remove_tree(directory, timeout)
                fs.prune_empty_parents(directory, self.removable_parents)
            except SystemFailure as error:  # Conflict is one too
                failure = failure or error
        if failure is not None:
            raise failure

    def _all_dirs(self) -> list[str]:
        """Every hierarchy's directory, including ones a rootless create skipped."""
        dirs = {os.path.join(point, self.cgroup_paths[name].lstrip("/")) for name, point in self.mounts.items()}
        return sorted(dirs)

    def mount_sources(self) -> list[tuple[str, str]]:
        """[(name under the container's /sys/fs/cgroup, host directory to bind there)].

        The name is the host's name for the hierarchy (its mount point's last
        component: "memory", "cpu,cpuacct", "systemd", "unified").
        """
        result = []
        for directory, names in self._hierarchy_dirs().items():
            result.append((os.path.basename(self.mounts[names[0]]), directory))
        return result

    def mount_symlinks(self) -> list[tuple[str, str]]:
        """[(controller, hierarchy name)] for co-mounted controllers: ("cpu", "cpu,cpuacct")."""
        links = []
        for name in self.paths:
            hierarchy = os.path.basename(self.mounts[name])
            if name != UNIFIED and not name.startswith("name=") and name != hierarchy:
                links.append((name, hierarchy))
        return links

    def describe(self) -> dict:
        unified = self.mounts.get(UNIFIED)
        mounts = {name: point for name, point in self.mounts.items() if name != UNIFIED}
        return {"version": 1, "mounts": mounts, "path": dict(self.cgroup_paths), "unified": unified,
                "rootless": self.rootless, "removable_parents": self.removable_parents}


def _path_for(path: str | dict[str, str], name: str) -> str:
    if isinstance(path, dict):
        if name not in path:
            raise InvalidArgument(f"cgroup: no path given for the {name} hierarchy")
        path = path[name]
    normalized = "/" + path.strip("/")
    if normalized == "/":
        raise InvalidArgument(f"cgroup: a container cannot use the root of the {name} hierarchy")
    return normalized
