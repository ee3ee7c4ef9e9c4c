"""A container's mounts through its life: the calls the engine makes.

    mounts = spec.mounts_of_create(config, host_config, inherited)      # parse (create)
    mounts = prepare_mounts(store, mounts, container_id)                 # create: volumes made
    oci = resolve_mounts(store, mounts, container_id, rootfs)            # start: OCI mount entries
    release_mounts(store, mounts, container_id)                          # stop
    anonymous_volumes(mounts)                                            # rm -v / --rm: to remove
    [mount_point(m) for m in mounts]                                     # inspect's Mounts

`resolve_mounts` creates each mount point inside the rootfs with
`resolve_target` (every component opened with openat2's RESOLVE_IN_ROOT, so
that a symlink in the image cannot lead outside the root), fills an empty
volume with the image's files there (`copy_up`), creates a `-v` bind's missing
source, and mounts a volume's device (local driver options) for its first user.
"""

from __future__ import annotations

import errno
import os
import stat

from hakobune import _sys as S
from hakobune._files import copy_file_at
from hakobune.errors import InvalidArgument, SystemFailure
from hakobune.volume._files import locked

TMPFS_DEFAULTS = ("noexec", "nosuid", "nodev")
_OPPOSITES = {"ro": "rw", "rw": "ro", "suid": "nosuid", "nosuid": "suid", "dev": "nodev", "nodev": "dev",
              "exec": "noexec", "noexec": "exec", "sync": "async", "async": "sync", "atime": "noatime",
              "noatime": "atime", "diratime": "nodiratime", "nodiratime": "diratime",
              "relatime": "norelatime", "norelatime": "relatime", "strictatime": "nostrictatime",
              "nostrictatime": "strictatime"}


# --- create ------------------------------------------------------------------------------

def prepare_mounts(store, mounts: list[dict], container_id: str) -> list[dict]:
    """At create: each volume mount gets its volume (named ones created if
    missing, anonymous ones made now, with their new names in "Source"); the
    mounts to keep in the container's record."""
    prepared = []
    for mount in mounts:
        if mount["Type"] == "volume":
            options = mount.get("VolumeOptions") or {}
            if mount["Source"]:
                volume = store.create(mount["Source"], options.get("Driver"), options.get("Labels"),
                                      options.get("DriverOptions"))
            else:
                volume = store.create(None, options.get("Driver"), options.get("Labels"),
                                      options.get("DriverOptions"), anonymous=True)
            anonymous = not mount["Source"] or mount.get("Anonymous", False)
            mount = {**mount, "Source": volume["Name"], "Anonymous": anonymous}
        prepared.append(mount)
    return prepared


def anonymous_volumes(mounts: list[dict]) -> list[str]:
    """The anonymous volumes a container made (not those it inherited): removed with it by rm -v or --rm."""
    return [m["Source"] for m in mounts
            if m["Type"] == "volume" and m.get("Anonymous") and m.get("Origin") != "volumes-from"]


def volume_names(mounts: list[dict]) -> list[str]:
    """The volumes a container uses (what the engine's VolumeUsers reports)."""
    return [m["Source"] for m in mounts if m["Type"] == "volume" and m["Source"]]


def mount_point(mount: dict, store=None) -> dict:
    """The container's inspect ``Mounts`` entry (Docker's MountPoint)."""
    rw = not mount["ReadOnly"]
    if mount["Type"] == "volume":
        source = store.data_dir(mount["Source"]) if store is not None else mount.get("HostPath", "")
        mode = mount["Mode"] or ("z" if mount.get("Origin") in ("binds", "mounts") else "")
        return {"Type": "volume", "Name": mount["Source"], "Source": source, "Destination": mount["Target"],
                "Driver": (mount.get("VolumeOptions") or {}).get("Driver") or "local", "Mode": mode, "RW": rw,
                "Propagation": ""}
    return {"Type": mount["Type"], "Source": mount["Source"], "Destination": mount["Target"],
            "Mode": mount["Mode"], "RW": rw, "Propagation": mount.get("Propagation", "")}


# --- start and stop -------------------------------------------------------------------------

def resolve_mounts(store, mounts: list[dict], container_id: str, rootfs: str | None = None) -> list[dict]:
    """At start: the OCI mount entries (in order) for prepared mounts.  With
    `rootfs` (the container's mounted root), each target is created inside it
    and empty volumes are filled from it.  Entries come in Docker's order (by
    the depth of their targets).  On failure, volumes mounted here are released."""
    entries: list[dict] = []
    used: list[dict] = []
    try:
        for mount in sorted(mounts, key=lambda m: len(m["Target"].rstrip("/").split("/"))):
            if mount["Type"] == "volume":
                host = store.mount(mount["Source"], container_id)
                used.append(mount)
                if rootfs is not None:
                    destination = _target_in(rootfs, mount["Target"], source=host, as_file=False)
                    if mount.get("CopyData", True):
                        _copy_up_from_root(rootfs, destination, host)
                else:
                    destination = mount["Target"]
                entries.append(bind_entry(host, destination, mount))
            elif mount["Type"] == "bind":
                source = _bind_source(mount)
                destination = mount["Target"]
                if rootfs is not None:
                    destination = _target_in(rootfs, destination, source=source,
                                             as_file=not os.path.isdir(source))
                entries.append(bind_entry(source, destination, mount))
            else:
                destination = mount["Target"]
                if rootfs is not None:
                    destination = _target_in(rootfs, destination, source="tmpfs", as_file=False)
                entries.append(tmpfs_entry(destination, mount))
    except BaseException:
        release_mounts(store, used, container_id)
        raise
    return entries


def _copy_up_from_root(rootfs: str, destination: str, data_dir: str) -> bool:
    """copy_up from `destination` in `rootfs`, opened so that it cannot resolve outside it."""
    root_fd = os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        source = S.openat2(root_fd, destination.lstrip("/") or ".", os.O_RDONLY | os.O_DIRECTORY,
                           S.RESOLVE_IN_ROOT | S.RESOLVE_NO_MAGICLINKS)
    except OSError:
        return False
    finally:
        os.close(root_fd)
    try:
        return _copy_up_from(source, data_dir)
    finally:
        os.close(source)


def release_mounts(store, mounts: list[dict], container_id: str) -> None:
    """At stop: a volume's device is unmounted after its last user."""
    for mount in mounts:
        if mount["Type"] == "volume" and mount["Source"]:
            store.unmount(mount["Source"], container_id)


def _bind_source(mount: dict) -> str:
    source = mount["Source"]
    if os.path.lexists(source):
        return source
    if not mount.get("CreateSource"):
        raise InvalidArgument(f'invalid mount config for type "bind": bind source path does not exist: {source}')
    try:
        os.makedirs(source, 0o755, exist_ok=True)
    except OSError as e:
        raise SystemFailure(f"error while creating mount source path '{source}': mkdir {source}: "
                            f"{os.strerror(e.errno or 0).lower()}") from None
    return source


def bind_entry(source: str, destination: str, mount: dict) -> dict:
    """Docker's OCI entry for a bind or a volume: rbind (bind if non-recursive), ro, propagation."""
    options = ["bind" if mount.get("NonRecursive") else "rbind"]
    if mount["ReadOnly"]:
        options.append("ro")
    options.append(mount.get("Propagation") or "rprivate")
    return {"destination": destination, "type": "bind", "source": source, "options": options}


def tmpfs_entry(destination: str, mount: dict) -> dict:
    """Docker's OCI entry for a tmpfs: noexec,nosuid,nodev,rprivate, then the
    mount's own options, later ones overriding earlier (MergeTmpfsOptions)."""
    words = [*TMPFS_DEFAULTS, "rprivate", *[w for w in (mount.get("Data") or "").split(",") if w]]
    return {"destination": destination, "type": "tmpfs", "source": "tmpfs", "options": merge_tmpfs_options(words)}


def merge_tmpfs_options(words: list[str]) -> list[str]:
    """Keep the last of each flag pair (exec/noexec...) and of each key=value."""
    result: list[str] = []
    for word in words:
        key = word.partition("=")[0]
        opposite = _OPPOSITES.get(word)
        result = [w for w in result if w != word and w != opposite and not ("=" in word and w.partition("=")[0] == key)]
        result.append(word)
    return result


# --- mount targets inside a rootfs -------------------------------------------------------------

MAX_SYMLINKS = 40


def _target_in(rootfs: str, target: str, source: str, as_file: bool) -> str:
    try:
        return resolve_target(rootfs, target, as_file=as_file)
    except NotADirectoryError:
        raise InvalidArgument(
            f'error mounting "{source}" to rootfs at "{target}": not a directory: Are you trying to mount a '
            "directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected "
            "type") from None


def resolve_target(rootfs: str, target: str, as_file: bool = False, create: bool = True) -> str:
    """The path of `target` inside `rootfs` with every symlink resolved as if
    `rootfs` were "/" (so never outside it), its missing components created
    (directories, the last one an empty file if `as_file`).  Returns the
    resolved path in the container ("/srv/data"); NotADirectoryError if the
    kind found does not match `as_file`."""
    root_fd = os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        resolved = _walk(root_fd, target, as_file, create)
        _check_kind(root_fd, resolved, as_file)
        return "/" + "/".join(resolved)
    finally:
        os.close(root_fd)


def _open_in_root(root_fd: int, parts: list[str]) -> int:
    return S.openat2(root_fd, "/".join(parts) or ".", os.O_PATH | os.O_DIRECTORY,
                     S.RESOLVE_IN_ROOT | S.RESOLVE_NO_MAGICLINKS)


def _walk(root_fd: int, target: str, as_file: bool, create: bool) -> list[str]:
    pending = [p for p in target.split("/") if p and p != "."]
    resolved: list[str] = []
    links = 0
    while pending:
        part = pending.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        parent = _open_in_root(root_fd, resolved)
        try:
            try:
                info = os.stat(part, dir_fd=parent, follow_symlinks=False)
            except FileNotFoundError:
                if not create:
                    raise
                _create(parent, part, as_file and not pending)
                resolved.append(part)
                continue
            if stat.S_ISLNK(info.st_mode):
                links += 1
                if links > MAX_SYMLINKS:
                    raise OSError(errno.ELOOP, "too many levels of symbolic links", target)
                link = os.readlink(part, dir_fd=parent)
                if link.startswith("/"):
                    resolved = []
                pending = [p for p in link.split("/") if p and p != "."] + pending
                continue
            if pending and not stat.S_ISDIR(info.st_mode):
                raise NotADirectoryError(errno.ENOTDIR, "not a directory", target)
            resolved.append(part)
        finally:
            os.close(parent)
    return resolved


def _create(parent_fd: int, name: str, as_file: bool) -> None:
    try:
        if as_file:
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644,
                             dir_fd=parent_fd))
        else:
            os.mkdir(name, 0o755, dir_fd=parent_fd)
    except FileExistsError:
        pass  # made meanwhile: the next lookups see it


def _check_kind(root_fd: int, resolved: list[str], as_file: bool) -> None:
    fd = S.openat2(root_fd, "/".join(resolved) or ".", os.O_PATH | os.O_NOFOLLOW,
                   S.RESOLVE_IN_ROOT | S.RESOLVE_NO_MAGICLINKS | S.RESOLVE_NO_SYMLINKS)
    try:
        is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
    finally:
        os.close(fd)
    if is_dir == as_file:
        raise NotADirectoryError(errno.ENOTDIR, "not a directory")


# --- copy-up ------------------------------------------------------------------------------------

def copy_up(image_dir: str, volume_data_dir: str) -> bool:
    """Fill an empty volume with what the image has at its mount point:
    ownership, modes, times, xattrs, symlinks and hard links kept, the
    volume's root taking the image directory's owner and mode.  Nothing
    happens if the volume has anything in it or the image has no directory
    there; concurrent starts copy once (a flock beside the data directory).
    True if it copied."""
    try:
        source = os.open(image_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return _copy_up_from(source, volume_data_dir)
    finally:
        os.close(source)


def _copy_up_from(source: int, volume_data_dir: str) -> bool:
    lock = os.path.join(os.path.dirname(volume_data_dir.rstrip("/")), ".copyup.lock")
    with locked(lock):
        destination = os.open(volume_data_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            if os.listdir(destination):
                return False
            links: dict[tuple[int, int], tuple[int, str]] = {}
            _copy_tree(source, destination, links)
            info = os.fstat(source)
            os.fchown(destination, info.st_uid, info.st_gid)
            os.fchmod(destination, stat.S_IMODE(info.st_mode))
            _copy_xattrs(source, destination)
            return True
        finally:
            os.close(destination)


def _copy_tree(source: int, destination: int, links: dict) -> None:
    with os.scandir(source) as entries:
        listing = [(entry.name, entry.stat(follow_symlinks=False)) for entry in entries]
    directories = []
    for name, info in listing:
        mode = info.st_mode
        if not stat.S_ISDIR(mode) and info.st_nlink > 1:
            first = links.get((info.st_dev, info.st_ino))
            if first is not None:
                os.link(first[1], name, src_dir_fd=first[0], dst_dir_fd=destination, follow_symlinks=False)
                continue
        if stat.S_ISDIR(mode):
            os.mkdir(name, 0o700, dir_fd=destination)
            flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
            inner_source = os.open(name, flags, dir_fd=source)
            inner = os.open(name, flags, dir_fd=destination)
            try:
                _copy_tree(inner_source, inner, links)
                _copy_xattrs(inner_source, inner)
            finally:
                os.close(inner_source)
                os.close(inner)
            directories.append((name, info))
            continue
        if stat.S_ISLNK(mode):
            os.symlink(os.readlink(name, dir_fd=source), name, dir_fd=destination)
        elif stat.S_ISREG(mode):
            copy_file_at(source, destination, name)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
            os.mknod(name, mode, info.st_rdev, dir_fd=destination)
        else:
            continue  # sockets are not copied
        _copy_metadata(source, destination, name, info)
        if info.st_nlink > 1:
            links[(info.st_dev, info.st_ino)] = (destination, name)
    for name, info in directories:  # after their content, so that the times stay
        _copy_metadata(source, destination, name, info)


def _copy_metadata(source: int, destination: int, name: str, info: os.stat_result) -> None:
    os.chown(name, info.st_uid, info.st_gid, dir_fd=destination, follow_symlinks=False)
    if not stat.S_ISLNK(info.st_mode):
        os.chmod(name, stat.S_IMODE(info.st_mode), dir_fd=destination)
        if stat.S_ISREG(info.st_mode):
            _copy_xattrs_by_name(source, destination, name)
    os.utime(name, ns=(info.st_atime_ns, info.st_mtime_ns), dir_fd=destination, follow_symlinks=False)


def _copy_xattrs(source_fd: int, destination_fd: int) -> None:
    try:
        names = os.listxattr(source_fd)
    except OSError:
        return
    for key in names:
        try:
            os.setxattr(destination_fd, key, os.getxattr(source_fd, key))
        except OSError:
            continue  # a namespace the destination refuses (e.g. security.* without privilege)


def _copy_xattrs_by_name(source_dir: int, destination_dir: int, name: str) -> None:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        src = os.open(name, flags, dir_fd=source_dir)
    except OSError:
        return
    try:
        dst = os.open(name, flags, dir_fd=destination_dir)
        try:
            _copy_xattrs(src, dst)
        finally:
            os.close(dst)
    finally:
        os.close(src)
