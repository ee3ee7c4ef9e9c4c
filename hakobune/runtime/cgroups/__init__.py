"""Control groups for hakobune's OCI runtime: one manager per container.

`open_manager` reads the host's cgroup layout from /proc/self/mountinfo and
returns a V2Manager on a pure cgroup2 host or a V1Manager on a legacy or
hybrid one; both offer the CgroupManager lifecycle (create, add, apply,
update, freeze, thaw, state, pids, stats, destroy, paths, mount_sources).
`load_manager` rebuilds a manager from its `describe()` output, so later
runtime commands act on the very directories `create` used.

Import-light on purpose (it is on the container start path): ctypes and the
eBPF assembler load only when a v2 device filter is installed.
"""

import os

from hakobune.errors import InvalidArgument, SystemFailure
from hakobune.runtime.cgroups.base import FROZEN, THAWED, CgroupManager
from hakobune.runtime.cgroups.layout import (UNIFIED, container_path, detect_layout, parse_proc_cgroup,
                                             path_in_hierarchy)
from hakobune.runtime.cgroups.v1 import V1Manager
from hakobune.runtime.cgroups.v2 import V2Manager

__all__ = ["CgroupManager", "V1Manager", "V2Manager", "FROZEN", "THAWED", "UNIFIED",
           "open_manager", "load_manager", "detect_layout"]


def open_manager(cgroups_path: str | None, container_id: str, mountinfo_root: str = "/",
                 rootless: bool = False) -> CgroupManager:
    """The manager for a container's cgroup, per OCI `linux.cgroupsPath`.

    Absolute paths start at each hierarchy's root; relative ones at our own
    cgroup (/proc/self/cgroup); None means "/hakobune/<container_id>"; the shared
    "/hakobune" parent is removed by destroy() once empty; "slice:prefix:name" is the
    systemd form.  `mountinfo_root` is the directory taken as "/" when
    reading /proc/self/{mountinfo,cgroup} and the mount points they name
    (tests point it at a fake tree).
    """
    layout = detect_layout(_read(mountinfo_root, "proc/self/mountinfo"))
    path = container_path(cgroups_path, container_id)
    own = {} if path.startswith("/") else parse_proc_cgroup(_read(mountinfo_root, "proc/self/cgroup"))
    # the shared "/hakobune" parent (the default, and the engine's choice) goes
    # once its last container's cgroup does; a parent the caller named stays
    removable = 1 if path.startswith("/hakobune/") and path.count("/") == 2 else 0
    if layout["mode"] == "unified":
        in_hierarchy = path_in_hierarchy(path, own.get(UNIFIED, "/"), layout["unified_root"])
        return V2Manager(_under(mountinfo_root, layout["unified"]), in_hierarchy,
                         rootless=rootless, removable_parents=removable)
    if layout["mode"] == "none":
        raise SystemFailure("cgroup: no cgroup filesystem is mounted (see /proc/self/mountinfo)")
    mounts = {name: _under(mountinfo_root, point) for name, point in layout["v1"].items()}
    paths = {name: path_in_hierarchy(path, own.get(name, "/"), layout["v1_roots"][name]) for name in mounts}
    unified = None
    if layout["mode"] == "hybrid":
        unified = _under(mountinfo_root, layout["unified"])
        paths[UNIFIED] = path_in_hierarchy(path, own.get(UNIFIED, "/"), layout["unified_root"])
    return V1Manager(mounts, paths, unified, rootless=rootless, removable_parents=removable)


def load_manager(description: dict) -> CgroupManager:
    """The manager a `describe()` output stands for (e.g. from the state file)."""
    options = {"rootless": bool(description.get("rootless")),
               "removable_parents": int(description.get("removable_parents", 0))}
    if description.get("version") == 2:
        return V2Manager(description["mount_point"], description["path"], **options)
    if description.get("version") == 1:
        return V1Manager(description["mounts"], description["path"], description.get("unified"), **options)
    raise InvalidArgument(f"not a cgroup manager description: {description!r}")


def _read(root: str, relative: str) -> str:
    path = os.path.join(root, relative)
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise SystemFailure(f"cgroup: reading {path}: {os.strerror(e.errno)}") from e


def _under(root: str, path: str) -> str:
    if root in ("", "/"):
        return path
    return os.path.join(root, path.lstrip("/"))
