"""Where the host's cgroup hierarchies are, and where a container's cgroup goes.

Owns reading /proc/self/mountinfo into a layout (pure unified, hybrid or
legacy), reading /proc/self/cgroup, and turning OCI `linux.cgroupsPath`
(absolute, relative or the systemd "slice:prefix:name" form) into a path
inside each hierarchy.  Pure functions of text, so all of it is unit-tested
on samples.
"""

import posixpath

from hakobune.errors import InvalidArgument

# The v1 controllers the kernel knows; anything else in a cgroup mount's
# super options (rw, relatime, nsdelegate, ...) is a mount option.
V1_CONTROLLERS = frozenset((
    "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
    "net_cls", "net_prio", "hugetlb", "perf_event", "rdma", "misc",
))

UNIFIED = "unified"  # the key under which a cgroup2 directory appears in `paths`


def detect_layout(mountinfo_text: str) -> dict:
    """The cgroup layout described by a mountinfo text.

    Returns {"mode": "unified" | "hybrid" | "legacy" | "none",
             "unified": cgroup2 mount point or None,
             "unified_root": root of that mount inside its hierarchy or None,
             "v1": {controller: mount point}, (named hierarchies as "name=x")
             "v1_roots": {controller: root of that mount inside its hierarchy}}.
    The first mount of a hierarchy wins, as later ones are usually bind mounts.
    """
    unified = unified_root = None
    v1: dict[str, str] = {}
    v1_roots: dict[str, str] = {}
    for line in mountinfo_text.splitlines():
        fields = _mount_fields(line)
        if fields is None:
            continue
        root, mount_point, fstype, super_options = fields
        if fstype == "cgroup2" and unified is None:
            unified, unified_root = mount_point, root
        elif fstype == "cgroup":
            for controller in _v1_controllers(super_options):
                v1.setdefault(controller, mount_point)
                v1_roots.setdefault(controller, root)
    return {"mode": _mode(unified, v1), "unified": unified, "unified_root": unified_root,
            "v1": v1, "v1_roots": v1_roots}


def _mount_fields(line: str) -> tuple[str, str, str, str] | None:
    """(root, mount point, fstype, super options) of one mountinfo line."""
    before, sep, after = line.partition(" - ")
    if not sep:
        return None
    left, right = before.split(), after.split()
    if len(left) < 5 or len(right) < 3:
        return None
    return _unescape(left[3]), _unescape(left[4]), right[0], right[2]


def _unescape(field: str) -> str:
    """Undo mountinfo's octal escapes (\\040 for a space, ...)."""
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def _v1_controllers(super_options: str) -> list[str]:
    return [opt for opt in super_options.split(",") if opt in V1_CONTROLLERS or opt.startswith("name=")]


def _mode(unified: str | None, v1: dict[str, str]) -> str:
    has_v1_controllers = any(not name.startswith("name=") for name in v1)
    if unified and not has_v1_controllers:
        return "unified"
    if unified:
        return "hybrid"
    return "legacy" if v1 else "none"


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """/proc/<pid>/cgroup as {controller: path}; the cgroup2 line is UNIFIED."""
    result: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _hierarchy_id, controllers, path = parts
        if controllers == "":
            result[UNIFIED] = path
            continue
        for controller in controllers.split(","):
            result[controller] = path
    return result


def container_path(cgroups_path: str | None, container_id: str) -> str:
    """The OCI cgroupsPath as a path: absolute, or relative (no leading "/").

    None gives the default "/hakobune/<id>"; the systemd form
    "slice:prefix:name" becomes an absolute cgroupfs path the way systemd
    would lay the unit out.
    """
    if not cgroups_path:
        return "/hakobune/" + _checked_name(container_id, "container id")
    if not cgroups_path.startswith("/") and cgroups_path.count(":") == 2:
        return systemd_path(cgroups_path)
    if cgroups_path.startswith("/"):
        return _normalized(cgroups_path)
    return cgroups_path


def systemd_path(spec: str) -> str:
    """ "system.slice:docker:abc" -> "/system.slice/docker-abc.scope"."""
    slice_name, prefix, name = spec.split(":")
    if not name:
        raise InvalidArgument(f"cgroupsPath {spec!r}: the unit name is empty")
    parent = expand_slice(slice_name or "system.slice")
    for part, what in ((prefix, "prefix"), (name, "name")):
        if "/" in part:
            raise InvalidArgument(f"cgroupsPath {spec!r}: the {what} contains '/'")
    if name.endswith(".slice"):
        return posixpath.join(parent, name)
    unit = f"{prefix}-{name}.scope" if prefix else f"{name}.scope"
    return posixpath.join(parent, unit)


def expand_slice(slice_name: str) -> str:
    """systemd's slice nesting: "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice"."""
    if not slice_name.endswith(".slice") or "/" in slice_name:
        raise InvalidArgument(f"cgroupsPath: {slice_name!r} is not a systemd slice name")
    if slice_name == "-.slice":
        return "/"
    stem = slice_name[:-len(".slice")]
    if not stem or stem.startswith("-") or stem.endswith("-") or "--" in stem:
        raise InvalidArgument(f"cgroupsPath: {slice_name!r} is not a valid slice name")
    parts = stem.split("-")
    levels = ["-".join(parts[:i + 1]) + ".slice" for i in range(len(parts))]
    return "/" + "/".join(levels)


def path_in_hierarchy(path: str, own_cgroup: str, mount_root: str) -> str:
    """Where `path` (absolute or relative) lies below a hierarchy's mount point.

    An absolute path is taken from the mount's root.  A relative one is
    appended to our own cgroup (`own_cgroup`, from /proc/self/cgroup), seen
    from the mount's root when that mount shows only part of the hierarchy.
    The result is always absolute and never climbs above the mount.
    """
    if path.startswith("/"):
        return _normalized(path)
    base = own_cgroup or "/"
    if mount_root not in ("", "/") and (base == mount_root or base.startswith(mount_root + "/")):
        base = base[len(mount_root):] or "/"
    return _normalized(base + "/" + path)


def _normalized(path: str) -> str:
    """An absolute path without "..", "." or doubled slashes, never above "/"."""
    return posixpath.normpath("/" + path.lstrip("/"))


def _checked_name(value: str, what: str) -> str:
    if not value or "/" in value or value in (".", ".."):
        raise InvalidArgument(f"{what} {value!r} cannot name a cgroup")
    return value
