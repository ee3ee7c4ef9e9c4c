"""The local driver's options and the mounts they ask for.

``volume create -o type=tmpfs -o device=tmpfs -o o=size=100m`` (or
``type=none,device=/path,o=bind``) records the options; the device is mounted
on the volume's ``_data`` when the first container using it starts and
unmounted after the last one stops (Docker's active count).  The count is a
set of user ids (container ids) under the runroot, so that it survives the
CLI process but not a reboot, which unmounts everything anyway, and so that
mounting or unmounting twice for the same container changes nothing.
"""

import errno
import json
import os

from hakobune import _sys as S
from hakobune.errors import InvalidArgument, SystemFailure
from hakobune.volume._files import is_mount_point, locked, write_volatile

VALID_OPTIONS = ("type", "o", "device", "size")
# option -> the options it needs (moby's mandatoryOpts)
REQUIRED_WITH = {"device": ("type",), "type": ("device",), "o": ("device", "type")}

# mount(8) option words -> (flags to set, flags to clear)
_FLAG_WORDS = {
    "defaults": (0, 0), "ro": (S.MS_RDONLY, 0), "rw": (0, S.MS_RDONLY),
    "suid": (0, S.MS_NOSUID), "nosuid": (S.MS_NOSUID, 0), "dev": (0, S.MS_NODEV), "nodev": (S.MS_NODEV, 0),
    "exec": (0, S.MS_NOEXEC), "noexec": (S.MS_NOEXEC, 0), "sync": (S.MS_SYNCHRONOUS, 0),
    "async": (0, S.MS_SYNCHRONOUS), "dirsync": (S.MS_DIRSYNC, 0), "mand": (S.MS_MANDLOCK, 0),
    "nomand": (0, S.MS_MANDLOCK), "atime": (0, S.MS_NOATIME), "noatime": (S.MS_NOATIME, 0),
    "diratime": (0, S.MS_NODIRATIME), "nodiratime": (S.MS_NODIRATIME, 0), "bind": (S.MS_BIND, 0),
    "rbind": (S.MS_BIND | S.MS_REC, 0), "relatime": (S.MS_RELATIME, 0), "norelatime": (0, S.MS_RELATIME),
    "strictatime": (S.MS_STRICTATIME, 0), "nostrictatime": (0, S.MS_STRICTATIME),
}


def validate_options(options: dict | None) -> None:
    """moby's local driver validateOpts: only type, o, device, size; each with what it needs."""
    if not options:
        return
    for name in sorted(options):
        if name not in VALID_OPTIONS:
            raise InvalidArgument(f'invalid option: "{name}"')
    if "size" in options:
        raise InvalidArgument("quota size requested but no quota support")
    for name, required in REQUIRED_WITH.items():
        if name in options:
            for other in required:
                if other not in options:
                    raise InvalidArgument(f'missing required option: "{other}"')


def mounts_device(options: dict | None) -> bool:
    """Whether a volume with these options is a device mounted at first use."""
    return bool(options) and "device" in options and "type" in options


def mount_arguments(options: dict) -> tuple[str, str | None, int, str | None]:
    """(source, fstype, flags, data) for mount(2) from the recorded options."""
    flags = 0
    data = []
    for word in (options.get("o") or "").split(","):
        if not word:
            continue
        if word in _FLAG_WORDS:
            set_, clear = _FLAG_WORDS[word]
            flags = (flags | set_) & ~clear
        else:
            data.append(word)
    fstype = options.get("type")
    if flags & S.MS_BIND or fstype in ("none", ""):
        fstype = None
    return options["device"], fstype, flags, ",".join(data) or None


class ActiveMounts:
    """Who has a device-backed volume mounted: ``<runroot>/volumes/<name>.users``."""

    def __init__(self, runroot: str):
        self.directory = os.path.join(runroot, "volumes")

    def _paths(self, name: str) -> tuple[str, str]:
        base = os.path.join(self.directory, name)
        return base + ".users", base + ".lock"

    def users(self, name: str) -> list[str]:
        try:
            with open(self._paths(name)[0]) as f:
                return json.load(f)
        except (OSError, ValueError):
            return []

    def acquire(self, name: str, data_dir: str, options: dict, user: str) -> None:
        """Add `user`; mount the device on `data_dir` if it is not mounted yet."""
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        users_path, lock_path = self._paths(name)
        with locked(lock_path):
            users = self.users(name)
            if not is_mount_point(data_dir):
                _mount_device(data_dir, options)
            if user not in users:
                users.append(user)
                write_volatile(users_path, json.dumps(users).encode())

    def release(self, name: str, data_dir: str, user: str) -> None:
        """Remove `user`; unmount the device when nobody is left."""
        users_path, lock_path = self._paths(name)
        if not os.path.isdir(self.directory):
            return
        with locked(lock_path):
            users = [u for u in self.users(name) if u != user]
            if users:
                write_volatile(users_path, json.dumps(users).encode())
                return
            unmount_data(data_dir)
            for path in (users_path, lock_path):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass

    def forget(self, name: str) -> None:
        """Drop the state of a removed volume."""
        for path in self._paths(name):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


def _mount_device(data_dir: str, options: dict) -> None:
    source, fstype, flags, data = mount_arguments(options)
    try:
        S.mount(source, data_dir, fstype, flags & ~S.MS_RDONLY if flags & S.MS_BIND else flags, data)
        if flags & S.MS_BIND and flags & ~(S.MS_BIND | S.MS_REC):
            S.mount(None, data_dir, None, S.MS_BIND | S.MS_REMOUNT | (flags & ~S.MS_REC), None)
    except OSError as e:
        if is_mount_point(data_dir):
            S.umount(data_dir, S.MNT_DETACH)
        raise SystemFailure(
            f"error while mounting volume '{data_dir}': failed to mount local volume: "
            f"mount {source}:{data_dir}, flags: {flags:#x}"
            + (f", data: {data}" if data else "") + f": {os.strerror(e.errno or 0).lower()}"
        ) from None


def unmount_data(data_dir: str) -> None:
    """Unmount whatever is mounted on `data_dir` (lazily if busy)."""
    while is_mount_point(data_dir):
        try:
            S.umount(data_dir, 0)
        except OSError as e:
            if e.errno == errno.EBUSY:
                S.umount(data_dir, S.MNT_DETACH)
            elif e.errno in (errno.EINVAL, errno.ENOENT):
                return
            else:
                raise SystemFailure(f"unmounting volume {data_dir}: {os.strerror(e.errno or 0)}") from None
