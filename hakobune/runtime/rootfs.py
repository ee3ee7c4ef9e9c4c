"""The container's root filesystem, set up by its init process inside its new
mount namespace: propagation, the config's mounts (targets resolved inside the
rootfs), a minimal /dev, pivot_root, then sysctls, masked and read-only paths.
"""

import os
import stat

from hakobune import _sys as S
from hakobune._files import copy_file_at
from hakobune.errors import InvalidArgument, SystemFailure
from hakobune.runtime.mounts import parse_options, propagation_flags
from hakobune.runtime.paths import make_target, resolve_in_root

DEFAULT_DEVICES = (
    # path, type, major, minor, mode
    ("/dev/null", "c", 1, 3, 0o666),
    ("/dev/zero", "c", 1, 5, 0o666),
    ("/dev/full", "c", 1, 7, 0o666),
    ("/dev/random", "c", 1, 8, 0o666),
    ("/dev/urandom", "c", 1, 9, 0o666),
    ("/dev/tty", "c", 5, 0, 0o666),
)

_DEV_LINKS = (
    ("/proc/self/fd", "/dev/fd"),
    ("/proc/self/fd/0", "/dev/stdin"),
    ("/proc/self/fd/1", "/dev/stdout"),
    ("/proc/self/fd/2", "/dev/stderr"),
)


def prepare(config: dict, rootfs: str, bundle: str, cgroup_dirs: list[tuple[str, str]], in_userns: bool,
            host_mounts: bool = False) -> None:
    """Everything done before pivot_root, in the container's mount namespace.

    With `host_mounts` (no mount namespace in the config: the container
    inherits the runtime's) every mount lands under a private bind mount of
    the rootfs on itself, which `delete` detaches.
    """
    linux = config.get("linux", {})
    if not host_mounts:
        S.mount(None, "/", None, S.MS_REC | S.MS_SLAVE)
    S.mount(rootfs, rootfs, None, S.MS_BIND | S.MS_REC)
    if host_mounts:
        S.mount(None, rootfs, None, S.MS_REC | S.MS_PRIVATE)
    for mount in config.get("mounts", []):
        _mount_one(mount, rootfs, bundle, cgroup_dirs)
    _create_devices(rootfs, linux.get("devices", []), in_userns)
    _create_dev_links(rootfs)
    _create_cwd(rootfs, config.get("process", {}).get("cwd", "/"))


def _create_cwd(rootfs: str, cwd: str) -> None:
    """A missing working directory is created (as runc does), inside the root."""
    if cwd.startswith("/proc/"):
        return
    os.makedirs(resolve_in_root(rootfs, cwd), 0o755, exist_ok=True)


def pivot(rootfs: str, host_mounts: bool = False) -> None:
    """Make rootfs the root with pivot_root(2) and detach the old root."""
    if host_mounts:  # pivot_root in the runtime's mount namespace would move the host's root
        os.chroot(rootfs)
        os.chdir("/")
        return
    old_root = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    new_root = os.open(rootfs, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fchdir(new_root)
        S.pivot_root(".", ".")
        os.fchdir(old_root)
        S.mount(None, ".", None, S.MS_SLAVE | S.MS_REC)
        S.umount(".", S.MNT_DETACH)
        os.chdir("/")
    finally:
        os.close(old_root)
        os.close(new_root)


def detach_host_mounts(config: dict, rootfs: str) -> None:
    """Undo prepare(host_mounts=True): detach the rootfs bind mount and all under it."""
    if any(ns["type"] == "mount" for ns in config.get("linux", {}).get("namespaces", [])):
        return
    try:
        S.umount(rootfs, S.MNT_DETACH)
    except OSError:
        pass  # never mounted: the init failed before prepare()


def finish(config: dict) -> None:
    """What is done after pivot_root: sysctls, masks, read-only paths and root."""
    linux = config.get("linux", {})
    for key, value in linux.get("sysctl", {}).items():
        _write_sysctl(key, value)
    for path in linux.get("readonlyPaths", []):
        _make_readonly(path)
    for path in linux.get("maskedPaths", []):
        _mask(path)
    if config["root"].get("readonly"):
        _remount("/", S.MS_BIND | S.MS_REMOUNT | S.MS_RDONLY | _locked_flags("/"))
    propagation = linux.get("rootfsPropagation")
    if propagation:
        S.mount(None, "/", None, propagation_flags(propagation))


def _mount_one(mount: dict, rootfs: str, bundle: str, cgroup_dirs) -> None:
    kind = mount.get("type", "")
    options = parse_options(mount.get("options", []))
    target = resolve_in_root(rootfs, mount["destination"])
    source = mount.get("source", "")
    try:
        if kind == "cgroup" or kind == "cgroup2":
            _mount_cgroups(target, options, cgroup_dirs)
        elif options.is_bind or kind == "bind":
            _bind(_bind_source(source, bundle), target, options.flags | S.MS_BIND, options.data)
        elif kind == "tmpfs":
            _mount_tmpfs(source, target, options, "tmpcopyup" in mount.get("options", []))
        else:
            make_target(target, as_file=False)
            _mount_filesystem(source, target, kind, options)
        for flags in options.propagation:
            S.mount(None, target, None, flags)
    except OSError as e:
        raise SystemFailure(
            f"mounting {source or kind} on {mount['destination']}: {os.strerror(e.errno or 0)}"
        ) from None


def _bind_source(source: str, bundle: str) -> str:
    if not source:
        raise InvalidArgument("a bind mount needs a source")
    path = source if source.startswith("/") else os.path.join(bundle, source)
    if not os.path.exists(path):
        raise InvalidArgument(f"bind mount source {source} does not exist")
    return path


def _mount_filesystem(source: str, target: str, kind: str, options) -> None:
    flags = options.flags & ~S.MS_BIND
    try:
        S.mount(source or kind, target, kind, flags, options.data or None)
    except OSError as e:
        # sysfs cannot be mounted without a network namespace of our own:
        # show the host's, read-only, as runc does.
        if kind != "sysfs" or e.errno != 1:
            raise
        _bind("/sys", target, S.MS_BIND | S.MS_REC | S.MS_RDONLY | flags, None)


def _mount_tmpfs(source: str, target: str, options, copy_up: bool) -> None:
    """A tmpfs over a directory of the image keeps that directory's mode unless
    mode= says otherwise (as runc does), and with "tmpcopyup" starts with a
    copy of its content.  It is filled writable, then made read-only if asked."""
    existed = os.path.isdir(target)
    make_target(target, as_file=False)
    under = os.open(target, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        mode = os.fstat(under).st_mode & 0o7777
        flags = options.flags & ~(S.MS_BIND | S.MS_RDONLY | S.MS_REMOUNT)
        S.mount(source or "tmpfs", target, "tmpfs", flags, options.data or None)
        if copy_up:
            top = os.open(target, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                _copy_tree(under, top)
            finally:
                os.close(top)
        if existed and not any(o.startswith("mode=") for o in options.data.split(",")):
            os.chmod(target, mode)
    finally:
        os.close(under)
    if options.flags & S.MS_RDONLY:
        S.mount(None, target, None, S.MS_REMOUNT | S.MS_RDONLY | flags, None)


def _copy_tree(source: int, destination: int) -> None:
    """Copy a directory's entries between two directory fds, symlinks as links."""
    with os.scandir(source) as entries:
        listing = [(entry.name, entry.stat(follow_symlinks=False)) for entry in entries]
    for name, info in listing:
        if stat.S_ISDIR(info.st_mode):
            os.mkdir(name, 0o700, dir_fd=destination)
            flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
            inner_source = os.open(name, flags, dir_fd=source)
            inner = os.open(name, flags, dir_fd=destination)
            try:
                _copy_tree(inner_source, inner)
            finally:
                os.close(inner_source)
                os.close(inner)
        elif stat.S_ISLNK(info.st_mode):
            os.symlink(os.readlink(name, dir_fd=source), name, dir_fd=destination)
        elif stat.S_ISREG(info.st_mode):
            copy_file_at(source, destination, name)
        elif stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) or stat.S_ISFIFO(info.st_mode):
            os.mknod(name, info.st_mode, info.st_rdev, dir_fd=destination)
        else:
            continue  # sockets are not copied
        os.chown(name, info.st_uid, info.st_gid, dir_fd=destination, follow_symlinks=False)
        if not stat.S_ISLNK(info.st_mode):
            os.chmod(name, stat.S_IMODE(info.st_mode), dir_fd=destination)
        os.utime(name, ns=(info.st_atime_ns, info.st_mtime_ns), dir_fd=destination, follow_symlinks=False)


def _bind(source: str, target: str, flags: int, data) -> None:
    make_target(target, as_file=not os.path.isdir(source))
    S.mount(source, target, None, S.MS_BIND | (flags & S.MS_REC), None)
    extra = flags & ~(S.MS_BIND | S.MS_REC | S.MS_REMOUNT)
    if extra:
        _remount(target, S.MS_BIND | S.MS_REMOUNT | extra | _locked_flags(target))


def _mount_cgroups(target: str, options, cgroup_dirs) -> None:
    """Show the container's own cgroups at the target, read-only if asked.

    On v1 (and hybrid hosts, whose cgroup2 mount is left out as runc leaves
    it out) each hierarchy is bound under a tmpfs that stays writable, as
    runc does, and a name given as "->hierarchy" becomes a symlink (cpu ->
    cpu,cpuacct); on v2 the container's cgroup2 directory is bound directly.
    """
    make_target(target, as_file=False)
    if len(cgroup_dirs) == 1 and cgroup_dirs[0][0] == "":
        _bind(cgroup_dirs[0][1], target, S.MS_BIND | options.flags, None)
        return
    S.mount("tmpfs", target, "tmpfs", S.MS_NOSUID | S.MS_NODEV | S.MS_NOEXEC, "mode=755")
    for name, host_dir in cgroup_dirs:
        if name == "unified":
            continue
        if host_dir.startswith("->"):
            os.symlink(host_dir[2:], os.path.join(target, name))
            continue
        sub = os.path.join(target, name)
        os.mkdir(sub, 0o755)
        _bind(host_dir, sub, S.MS_BIND | options.flags, None)


def _remount(target: str, flags: int) -> None:
    S.mount(None, target, None, flags, None)


_STATVFS_FLAGS = ((os.ST_NOSUID, S.MS_NOSUID), (os.ST_NODEV, S.MS_NODEV), (os.ST_NOEXEC, S.MS_NOEXEC),
                  (os.ST_RDONLY, S.MS_RDONLY))


def _locked_flags(path: str) -> int:
    """Flags a bind remount must keep (the kernel refuses to drop locked ones)."""
    f = os.statvfs(path).f_flag
    return sum(ms for st, ms in _STATVFS_FLAGS if f & st and ms != S.MS_RDONLY)


def _create_devices(rootfs: str, devices: list[dict], in_userns: bool) -> None:
    wanted = [(path, kind, major, minor, mode, 0, 0) for path, kind, major, minor, mode in DEFAULT_DEVICES]
    for d in devices:
        wanted.append((d["path"], d["type"], d.get("major", 0), d.get("minor", 0),
                       d.get("fileMode", 0o666), d.get("uid", 0), d.get("gid", 0)))
    for path, kind, major, minor, mode, uid, gid in wanted:
        host = resolve_in_root(rootfs, path)
        if in_userns:
            _bind(path, host, S.MS_BIND, None)
            continue
        _mknod(host, kind, major, minor, mode)
        os.chown(host, uid, gid)


def _mknod(host: str, kind: str, major: int, minor: int, mode: int) -> None:
    kinds = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}
    os.makedirs(os.path.dirname(host), 0o755, exist_ok=True)
    if os.path.lexists(host):
        os.unlink(host)
    old = os.umask(0)
    try:
        os.mknod(host, kinds[kind] | (mode & 0o7777), os.makedev(major, minor))
    finally:
        os.umask(old)


def _create_dev_links(rootfs: str) -> None:
    links = list(_DEV_LINKS)
    if os.path.exists("/proc/kcore"):
        links.append(("/proc/kcore", "/dev/core"))
    if os.path.isdir(resolve_in_root(rootfs, "/dev/pts")):
        links.append(("pts/ptmx", "/dev/ptmx"))
    for target, name in links:
        host = resolve_in_root(rootfs, name)
        if name == "/dev/ptmx" and os.path.lexists(host):
            os.unlink(host)
        if not os.path.lexists(host):
            os.symlink(target, host)


def _write_sysctl(key: str, value: str) -> None:
    path = "/proc/sys/" + key.replace(".", "/")
    try:
        with open(path, "w") as f:
            f.write(str(value))
    except OSError as e:
        raise SystemFailure(f"sysctl {key}={value}: {os.strerror(e.errno or 0)}") from None


def _mask(path: str) -> None:
    try:
        if os.path.isdir(path):
            S.mount("tmpfs", path, "tmpfs", S.MS_RDONLY, None)
        elif os.path.lexists(path):
            S.mount("/dev/null", path, None, S.MS_BIND, None)
    except FileNotFoundError:
        pass


def _make_readonly(path: str) -> None:
    if not os.path.lexists(path):
        return
    S.mount(path, path, None, S.MS_BIND | S.MS_REC, None)
    _remount(path, S.MS_BIND | S.MS_REMOUNT | S.MS_RDONLY | S.MS_REC | _locked_flags(path))
