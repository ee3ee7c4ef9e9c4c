"""Turning an OCI mount's options into mount(2) flags, propagation and data."""

from hakobune import _sys as S

# option -> (flags to set, flags to clear)
FLAG_OPTIONS = {
    "ro": (S.MS_RDONLY, 0), "rw": (0, S.MS_RDONLY),
    "nosuid": (S.MS_NOSUID, 0), "suid": (0, S.MS_NOSUID),
    "nodev": (S.MS_NODEV, 0), "dev": (0, S.MS_NODEV),
    "noexec": (S.MS_NOEXEC, 0), "exec": (0, S.MS_NOEXEC),
    "sync": (S.MS_SYNCHRONOUS, 0), "async": (0, S.MS_SYNCHRONOUS),
    "dirsync": (S.MS_DIRSYNC, 0), "remount": (S.MS_REMOUNT, 0),
    "mand": (S.MS_MANDLOCK, 0), "nomand": (0, S.MS_MANDLOCK),
    "atime": (0, S.MS_NOATIME), "noatime": (S.MS_NOATIME, 0),
    "diratime": (0, S.MS_NODIRATIME), "nodiratime": (S.MS_NODIRATIME, 0),
    "bind": (S.MS_BIND, 0), "rbind": (S.MS_BIND | S.MS_REC, 0),
    "relatime": (S.MS_RELATIME, 0), "norelatime": (0, S.MS_RELATIME),
    "strictatime": (S.MS_STRICTATIME, 0), "nostrictatime": (0, S.MS_STRICTATIME),
    "lazytime": (S.MS_LAZYTIME, 0), "nolazytime": (0, S.MS_LAZYTIME),
    "nosymfollow": (S.MS_NOSYMFOLLOW, 0), "symfollow": (0, S.MS_NOSYMFOLLOW),
    "defaults": (0, 0),
}

PROPAGATION_OPTIONS = {
    "private": S.MS_PRIVATE, "rprivate": S.MS_PRIVATE | S.MS_REC,
    "shared": S.MS_SHARED, "rshared": S.MS_SHARED | S.MS_REC,
    "slave": S.MS_SLAVE, "rslave": S.MS_SLAVE | S.MS_REC,
    "unbindable": S.MS_UNBINDABLE, "runbindable": S.MS_UNBINDABLE | S.MS_REC,
}

# Options that only make sense for the kernel's "recursive" attribute API or
# for id-mapped mounts; accepted and ignored where they change nothing here.
_IGNORED = {"rro", "rrw", "rnosuid", "rsuid", "rnodev", "rdev", "rnoexec", "rexec", "tmpcopyup"}


class MountOptions:
    __slots__ = ("flags", "propagation", "data")

    def __init__(self, flags: int, propagation: list[int], data: str):
        self.flags = flags
        self.propagation = propagation
        self.data = data

    @property
    def is_bind(self) -> bool:
        return bool(self.flags & S.MS_BIND)


def parse_options(options: list[str]) -> MountOptions:
    flags = 0
    propagation = []
    data = []
    for option in options:
        if option in FLAG_OPTIONS:
            set_, clear = FLAG_OPTIONS[option]
            flags = (flags | set_) & ~clear
        elif option in PROPAGATION_OPTIONS:
            propagation.append(PROPAGATION_OPTIONS[option])
        elif option not in _IGNORED:
            data.append(option)
    return MountOptions(flags, propagation, ",".join(data))


def propagation_flags(name: str) -> int:
    return PROPAGATION_OPTIONS[name]
