"""Compiled seccomp programs, cached by the profile's digest.

Compiling Docker's default profile with libseccomp takes longer than all the
rest of a container's start, and every container loads the same few
profiles.  So the kernel program libseccomp produces (with runc's ENOSYS
stub) is kept under the runtime's state root, named by the SHA-256 of the
profile, hakobune's version and the kernel release; a hit loads it with one
seccomp(2) call and never imports libseccomp.  The root is root-only and
volatile (/run): a reboot, and so a kernel or library upgrade, empties it.
"""

import os
import struct

from hakobune import __version__, _fastjson, _sys as S

try:  # CPython 3.11's builtin; hashlib would pull in OpenSSL at start-up
    from _sha256 import sha256
except ImportError:  # pragma: no cover - other versions
    from hashlib import sha256

_HEADER = struct.Struct("=I")


class KernelFilter:
    """A seccomp program ready for the kernel: load() is one system call."""

    __slots__ = ("program", "flags")

    def __init__(self, program: bytes, flags: int):
        self.program = program
        self.flags = flags

    def load(self) -> None:
        S.seccomp_set_mode_filter(self.flags, self.program)


def prepared_filter(spec: dict, cache_dir: str) -> KernelFilter:
    path = os.path.join(cache_dir, _key(spec))
    try:
        with open(path, "rb") as f:
            data = f.read()
        (flags,) = _HEADER.unpack_from(data)
        program = data[_HEADER.size:]
        if program and len(program) % 8 == 0:
            return KernelFilter(program, flags)
    except (FileNotFoundError, struct.error):
        pass
    from hakobune.runtime.seccomp import compile_filter, kernel_program

    program, flags = kernel_program(compile_filter(spec))
    _store(cache_dir, path, _HEADER.pack(flags) + program)
    return KernelFilter(program, flags)


def _key(spec: dict) -> str:
    text = _fastjson.dumps(spec, sort_keys=True)
    salt = f"{__version__}\0{os.uname().release}\0"
    return sha256((salt + text).encode()).hexdigest()


def _store(cache_dir: str, path: str, data: bytes) -> None:
    os.makedirs(cache_dir, 0o700, exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "wb") as f:
        f.write(data)
    os.rename(temporary, path)
