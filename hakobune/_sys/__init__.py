"""Thin, typed wrappers over the Linux system calls that Python's os module lacks.

No policy lives here: each function is one system call that raises OSError with
the errno and the object it acted on.  Used by runtime, network and volume.
"""

import ctypes
import os

_libc = ctypes.CDLL(None, use_errno=True)

# x86_64 system call numbers for calls glibc does not wrap.
SYS_PIVOT_ROOT = 155
SYS_OPENAT2 = 437
SYS_PIDFD_OPEN = 434
SYS_BPF = 321

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWTIME = 0x00000080

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_SYNCHRONOUS = 16
MS_REMOUNT = 32
MS_MANDLOCK = 64
MS_DIRSYNC = 128
MS_NOSYMFOLLOW = 256
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_SILENT = 32768
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24
MS_LAZYTIME = 1 << 25

MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4

RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RESOLVE_IN_ROOT = 0x10

_mount = _libc.mount
_mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)
_umount2 = _libc.umount2
_umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long


def _fs(value: str | bytes | None) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    return os.fsencode(value)


def _check(result: int, what: str, path: str | None = None) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}", path)
    return result


def mount(source: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    _check(_mount(_fs(source), _fs(target), _fs(fstype), flags, _fs(data)), f"mount {fstype or 'bind'} {source}", target)


def umount(target: str, flags: int = 0) -> None:
    _check(_umount2(_fs(target), flags), "umount", target)


def pivot_root(new_root: str, put_old: str) -> None:
    _check(_syscall(SYS_PIVOT_ROOT, _fs(new_root), _fs(put_old)), "pivot_root", new_root)


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), f"unshare {flags:#x}")


def setns(fd: int, nstype: int = 0) -> None:
    _check(_libc.setns(fd, nstype), "setns")


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    fn = _libc.prctl
    fn.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)
    return _check(fn(option, arg2, arg3, arg4, arg5), f"prctl {option}")


def setdomainname(name: str) -> None:
    raw = name.encode()
    _check(_libc.setdomainname(raw, len(raw)), "setdomainname")


class _OpenHow(ctypes.Structure):
    _fields_ = (("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64))


def openat2(dirfd: int, path: str, flags: int, resolve: int, mode: int = 0) -> int:
    how = _OpenHow(flags | os.O_CLOEXEC, mode, resolve)
    return _check(
        _syscall(SYS_OPENAT2, ctypes.c_int(dirfd), _fs(path), ctypes.byref(how), ctypes.c_size_t(ctypes.sizeof(how))),
        "openat2",
        path,
    )


def pidfd_open(pid: int) -> int:
    return _check(_syscall(SYS_PIDFD_OPEN, ctypes.c_int(pid), ctypes.c_uint(0)), "pidfd_open", str(pid))


# --- capabilities -----------------------------------------------------------

_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32))


def capset(effective: int, permitted: int, inheritable: int) -> None:
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    for i in range(2):
        shift = 32 * i
        data[i].effective = (effective >> shift) & 0xFFFFFFFF
        data[i].permitted = (permitted >> shift) & 0xFFFFFFFF
        data[i].inheritable = (inheritable >> shift) & 0xFFFFFFFF
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def capget() -> tuple[int, int, int]:
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capget(ctypes.byref(header), data), "capget")
    eff = data[0].effective | (data[1].effective << 32)
    perm = data[0].permitted | (data[1].permitted << 32)
    inh = data[0].inheritable | (data[1].inheritable << 32)
    return eff, perm, inh


def sethostname(name: str) -> None:
    raw = name.encode()
    _check(_libc.sethostname(raw, len(raw)), "sethostname")


SYS_SECCOMP = 317
SECCOMP_SET_MODE_FILTER = 1


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


def seccomp_set_mode_filter(flags: int, program: bytes) -> None:
    """Load a classic-BPF seccomp program (8-byte instructions) into this thread."""
    instructions = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(instructions, ctypes.c_void_p))
    _check(_syscall(SYS_SECCOMP, ctypes.c_uint(SECCOMP_SET_MODE_FILTER), ctypes.c_uint(flags), ctypes.byref(fprog)),
           "seccomp")


# --- posix_spawn with every signal reset ---------------------------------------
# os.posix_spawn cannot name glibc's internal signals (32, 33), which glibc's
# spawn then leaves ignored in the new program; libc's own API takes them.

_POSIX_SPAWN_SETSIGDEF = 0x04
_POSIX_SPAWN_SETSIGMASK = 0x08
_POSIX_SPAWN_SETSID = 0x80
_ALL_SIGNALS_BUT_KILL_AND_STOP = ((1 << 64) - 1) & ~((1 << 8) | (1 << 18))


def _strings(values) -> ctypes.Array:
    array = (ctypes.c_char_p * (len(values) + 1))()
    array[:-1] = [os.fsencode(v) for v in values]
    return array


def spawn(path: str, args: list[str], env: dict, terminal: str | None = None) -> int:
    """posix_spawn `path` in a new session with default signal dispositions
    and an empty mask; with `terminal`, that pty becomes its stdio and its
    controlling terminal.  Returns the pid."""
    attr = ctypes.create_string_buffer(512)
    actions = ctypes.create_string_buffer(512)
    defaults = (ctypes.c_uint64 * 16)(_ALL_SIGNALS_BUT_KILL_AND_STOP)
    empty = (ctypes.c_uint64 * 16)()
    _libc.posix_spawnattr_init(attr)
    _libc.posix_spawn_file_actions_init(actions)
    try:
        _libc.posix_spawnattr_setsigdefault(attr, defaults)
        _libc.posix_spawnattr_setsigmask(attr, empty)
        _libc.posix_spawnattr_setflags(attr, ctypes.c_short(_POSIX_SPAWN_SETSIGDEF | _POSIX_SPAWN_SETSIGMASK
                                                            | _POSIX_SPAWN_SETSID))
        if terminal:
            _libc.posix_spawn_file_actions_addopen(actions, 0, os.fsencode(terminal), os.O_RDWR, 0)
            _libc.posix_spawn_file_actions_adddup2(actions, 0, 1)
            _libc.posix_spawn_file_actions_adddup2(actions, 0, 2)
        pid = ctypes.c_int()
        environment = _strings([f"{k}={v}" for k, v in env.items()])
        error = _libc.posix_spawn(ctypes.byref(pid), os.fsencode(path), actions, attr, _strings(args), environment)
        if error:
            raise OSError(error, f"exec {path}: {os.strerror(error)}", path)
        return pid.value
    finally:
        _libc.posix_spawn_file_actions_destroy(actions)
        _libc.posix_spawnattr_destroy(attr)


def syncfs(fd: int) -> None:
    """Flush every dirty page and inode of the file system holding `fd`: one
    call instead of an fsync per file of an unpacked layer."""
    _check(_libc.syncfs(fd), "syncfs")
