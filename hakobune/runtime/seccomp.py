"""Seccomp for hakobune's runtime: an OCI `linux.seccomp` object, compiled and
loaded with libseccomp (Debian's official `seccomp` bindings), the way runc does.

This module owns the translation from the runtime spec to libseccomp and the
one thing libseccomp cannot do on its own: runc's "-ENOSYS stub".  runc puts a
few BPF instructions in front of libseccomp's program so that a system call
newer than every call the profile names (per architecture) fails with ENOSYS
instead of the default action.  libc then falls back to an older call (as it
does for clone3 or fchmodat2), where an EPERM would have been fatal.

runc's rules kept here, so that a profile means the same under both runtimes:
  - system call names libseccomp does not know on this machine are skipped;
  - a rule whose action is the default action is skipped;
  - a rule with several conditions on the same argument becomes one rule per
    condition (libseccomp would AND them, which can never match for EQ);
  - SCMP_ACT_KILL kills the thread; ERRNO and TRACE default to EPERM;
  - no_new_privs is not set by loading: the caller sets it (or keeps
    CAP_SYS_ADMIN) as process.noNewPrivileges says;
  - the ENOSYS stub counts only the architectures the spec lists, and is left
    out when the default action allows or the default errno is ENOSYS.
SCMP_ACT_NOTIFY (a seccomp agent behind listenerPath) is not supported.
"""

import os
import struct

import seccomp

from hakobune import _sys as S
from hakobune.errors import InvalidArgument, SystemFailure

FIELD = "linux.seccomp"

EPERM = 1
ENOSYS = 38
_MAX_ERRNO = 0xFFFF  # SECCOMP_RET_DATA holds 16 bits
_MAX_U64 = (1 << 64) - 1
_SYSCALL_MAX_ARGS = 6

_ARCHITECTURES = {
    "SCMP_ARCH_X86": seccomp.Arch.X86,
    "SCMP_ARCH_X86_64": seccomp.Arch.X86_64,
    "SCMP_ARCH_X32": seccomp.Arch.X32,
    "SCMP_ARCH_ARM": seccomp.Arch.ARM,
    "SCMP_ARCH_AARCH64": seccomp.Arch.AARCH64,
    "SCMP_ARCH_MIPS": seccomp.Arch.MIPS,
    "SCMP_ARCH_MIPS64": seccomp.Arch.MIPS64,
    "SCMP_ARCH_MIPS64N32": seccomp.Arch.MIPS64N32,
    "SCMP_ARCH_MIPSEL": seccomp.Arch.MIPSEL,
    "SCMP_ARCH_MIPSEL64": seccomp.Arch.MIPSEL64,
    "SCMP_ARCH_MIPSEL64N32": seccomp.Arch.MIPSEL64N32,
    "SCMP_ARCH_PPC": seccomp.Arch.PPC,
    "SCMP_ARCH_PPC64": seccomp.Arch.PPC64,
    "SCMP_ARCH_PPC64LE": seccomp.Arch.PPC64LE,
    "SCMP_ARCH_S390": seccomp.Arch.S390,
    "SCMP_ARCH_S390X": seccomp.Arch.S390X,
    "SCMP_ARCH_PARISC": seccomp.Arch.PARISC,
    "SCMP_ARCH_PARISC64": seccomp.Arch.PARISC64,
    "SCMP_ARCH_RISCV64": seccomp.Arch.RISCV64,
}

_OPERATORS = {
    "SCMP_CMP_NE": seccomp.NE,
    "SCMP_CMP_LT": seccomp.LT,
    "SCMP_CMP_LE": seccomp.LE,
    "SCMP_CMP_EQ": seccomp.EQ,
    "SCMP_CMP_GE": seccomp.GE,
    "SCMP_CMP_GT": seccomp.GT,
    "SCMP_CMP_MASKED_EQ": seccomp.MASKED_EQ,
}

# Actions without a return value.
_PLAIN_ACTIONS = {
    "SCMP_ACT_KILL": seccomp.KILL,
    "SCMP_ACT_KILL_THREAD": seccomp.KILL,
    "SCMP_ACT_KILL_PROCESS": seccomp.KILL_PROCESS,
    "SCMP_ACT_TRAP": seccomp.TRAP,
    "SCMP_ACT_ALLOW": seccomp.ALLOW,
    "SCMP_ACT_LOG": seccomp.LOG,
}
# Actions that carry an errno (errnoRet), EPERM when none is given.
_ERRNO_ACTIONS = {"SCMP_ACT_ERRNO": seccomp.ERRNO, "SCMP_ACT_TRACE": seccomp.TRACE}
# Default actions after which runc adds no ENOSYS stub.
_PERMISSIVE_ACTIONS = ("SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE")

_FLAGS = {
    "SECCOMP_FILTER_FLAG_TSYNC": seccomp.Attr.CTL_TSYNC,
    "SECCOMP_FILTER_FLAG_LOG": seccomp.Attr.CTL_LOG,
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW": seccomp.Attr.CTL_SSB,
}
# seccomp(2) flags, for the attributes above.
_FILTER_FLAG_TSYNC = 1
_FILTER_FLAG_LOG = 2
_FILTER_FLAG_SPEC_ALLOW = 4


class RuncStyleFilter(seccomp.SyscallFilter):
    """A libseccomp filter whose load() puts runc's ENOSYS stub in front.

    `enosys_limits` maps an AUDIT_ARCH value to {"native": n, "x32": n}: the
    highest system call number the profile names in that mode.  Empty means
    no stub, and load() is libseccomp's own.
    """

    enosys_limits: dict[int, dict[str, int]] = {}
    _program: bytes | None = None

    def prepare(self) -> None:
        """Assemble the kernel program now, so that load() needs no import
        and no file: a container's init loads it after pivot_root."""
        stub = _enosys_stub(self.enosys_limits) if self.enosys_limits else b""
        self._program = stub + _exported_program(self)

    def load(self):
        if not self.enosys_limits:
            return super().load()
        program = self._program or _enosys_stub(self.enosys_limits) + _exported_program(self)
        if self.get_attr(seccomp.Attr.CTL_NNP):
            _prctl_no_new_privs()
        _seccomp_set_mode_filter(_kernel_flags(self), program)


def compile_filter(spec: dict) -> RuncStyleFilter:
    """Validate `spec` (an OCI linux.seccomp object) and build its filter.

    Nothing is loaded.  Raises InvalidArgument naming the offending field.
    """
    _require(isinstance(spec, dict), FIELD, "must be an object")
    default_action = _default_action(spec)
    syscall_filter = RuncStyleFilter(default_action)
    syscall_filter.set_attr(seccomp.Attr.CTL_NNP, 0)
    _add_architectures(syscall_filter, spec)
    _set_flags(syscall_filter, spec)
    for index, rule in enumerate(_list(spec, "syscalls", FIELD)):
        _add_rule(syscall_filter, rule, f"{FIELD}.syscalls[{index}]", default_action)
    syscall_filter.enosys_limits = _enosys_limits(spec)
    syscall_filter.prepare()
    return syscall_filter


def kernel_program(syscall_filter: RuncStyleFilter) -> tuple[bytes, int]:
    """The program and seccomp(2) flags that load() would hand the kernel."""
    program = syscall_filter._program or _exported_program(syscall_filter)
    return program, _kernel_flags(syscall_filter)


def load_filter(spec: dict) -> None:
    """Compile `spec` and load it into the calling process (and, with
    SECCOMP_FILTER_FLAG_TSYNC, its threads).  Needs no_new_privs or CAP_SYS_ADMIN."""
    compile_filter(spec).load()


# --- validation and translation ----------------------------------------------


def _require(condition: bool, field: str, problem: str) -> None:
    if not condition:
        raise InvalidArgument(f"{field}: {problem}")


def _list(container: dict, key: str, field: str) -> list:
    value = container.get(key)
    if value is None:
        return []
    _require(isinstance(value, list), f"{field}.{key}", "must be a list")
    return value


def _unsigned(value, field: str, maximum: int) -> int:
    _require(isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= maximum,
             field, f"must be an integer from 0 to {maximum}, not {value!r}")
    return value


def _action(name, errno_ret, field: str, errno_field: str) -> int:
    """The libseccomp action for an OCI action name and its optional errno."""
    if name is None:
        raise InvalidArgument(f"{field}: missing")
    if not isinstance(name, str):
        raise InvalidArgument(f"{field}: unknown action {name!r}")
    if name == "SCMP_ACT_NOTIFY":
        raise InvalidArgument(f"{field}: SCMP_ACT_NOTIFY is not supported (hakobune has no seccomp agent, "
                              "listenerPath, support)")
    if name in _ERRNO_ACTIONS:
        errno = EPERM if errno_ret is None else _unsigned(errno_ret, errno_field, _MAX_ERRNO)
        return _ERRNO_ACTIONS[name](errno)
    if name in _PLAIN_ACTIONS:
        _require(errno_ret is None, errno_field, f"only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not {name}")
        return _PLAIN_ACTIONS[name]
    raise InvalidArgument(f"{field}: unknown action {name!r}")


def _default_action(spec: dict) -> int:
    return _action(spec.get("defaultAction"), spec.get("defaultErrnoRet"),
                   f"{FIELD}.defaultAction", f"{FIELD}.defaultErrnoRet")


def _architectures(spec: dict) -> list[int]:
    arches = []
    for index, name in enumerate(_list(spec, "architectures", FIELD)):
        arch = _ARCHITECTURES.get(name) if isinstance(name, str) else None
        _require(arch is not None, f"{FIELD}.architectures[{index}]", f"unknown architecture {name!r}")
        arches.append(arch)
    return arches


def _add_architectures(syscall_filter, spec: dict) -> None:
    for index, arch in enumerate(_architectures(spec)):
        if syscall_filter.exist_arch(arch):
            continue
        try:
            syscall_filter.add_arch(arch)
        except (RuntimeError, OSError, ValueError) as e:
            name = spec["architectures"][index]
            raise InvalidArgument(f"{FIELD}.architectures[{index}]: libseccomp cannot add {name} "
                                  f"to a filter on this machine ({e})") from None


def _set_flags(syscall_filter, spec: dict) -> None:
    for index, name in enumerate(_list(spec, "flags", FIELD)):
        attr = _FLAGS.get(name) if isinstance(name, str) else None
        _require(attr is not None, f"{FIELD}.flags[{index}]", f"unknown or unsupported flag {name!r}")
        try:
            syscall_filter.set_attr(attr, 1)
        except (RuntimeError, OSError, ValueError) as e:
            raise InvalidArgument(f"{FIELD}.flags[{index}]: {name} is not supported here ({e})") from None


def _condition(arg, field: str) -> "seccomp.Arg":
    _require(isinstance(arg, dict), field, "must be an object")
    index = _unsigned(arg.get("index"), f"{field}.index", _SYSCALL_MAX_ARGS - 1)
    value = _unsigned(arg.get("value"), f"{field}.value", _MAX_U64)
    value_two = _unsigned(arg.get("valueTwo", 0), f"{field}.valueTwo", _MAX_U64)
    op = arg.get("op")
    _require(isinstance(op, str) and op in _OPERATORS, f"{field}.op", f"unknown operator {op!r}")
    return seccomp.Arg(index, _OPERATORS[op], value, value_two)


def _condition_groups(rule: dict, field: str) -> list[list]:
    """The rule's conditions as the list of rules libseccomp gets: all in one,
    or, when an argument is tested more than once, one rule per condition."""
    args = _list(rule, "args", field)
    conditions = [_condition(arg, f"{field}.args[{index}]") for index, arg in enumerate(args)]
    indexes = [arg["index"] for arg in args]
    if len(set(indexes)) < len(indexes):
        return [[condition] for condition in conditions]
    return [conditions]


def _names(rule: dict, field: str) -> list[str]:
    names = rule.get("names")
    _require(isinstance(names, list), f"{field}.names", "must be a list of system call names")
    for index, name in enumerate(names):
        _require(isinstance(name, str) and name != "", f"{field}.names[{index}]", f"not a system call name: {name!r}")
    return names


def _known_to_libseccomp(name: str) -> bool:
    """Whether libseccomp has a number for `name` (a pseudo-number for calls of
    other architectures counts: libseccomp maps those per architecture)."""
    return seccomp.resolve_syscall(seccomp.Arch.NATIVE, name) != -1


def _add_rule(syscall_filter, rule, field: str, default_action: int) -> None:
    _require(isinstance(rule, dict), field, "must be an object")
    names = _names(rule, field)
    action = _action(rule.get("action"), rule.get("errnoRet"), f"{field}.action", f"{field}.errnoRet")
    groups = _condition_groups(rule, field)
    if action == default_action:
        return
    for name in names:
        if not _known_to_libseccomp(name):
            continue
        for conditions in groups:
            try:
                syscall_filter.add_rule(action, name, *conditions)
            except (RuntimeError, OSError, ValueError) as e:
                raise InvalidArgument(f"{field}: libseccomp refused the rule for {name!r}: {e}") from None


# --- runc's ENOSYS stub ------------------------------------------------------

_X32_SYSCALL_BIT = 0x40000000
_AUDIT_ARCH_S390 = seccomp.Arch.S390 & 0xFFFFFFFF
_AUDIT_ARCH_S390X = seccomp.Arch.S390X & 0xFFFFFFFF

_BPF_LD_W_ABS = 0x20
_BPF_JMP_JA = 0x05
_BPF_JMP_JEQ_K = 0x15
_BPF_JMP_JGT_K = 0x25
_BPF_JMP_JSET_K = 0x45
_BPF_RET_K = 0x06
_SECCOMP_RET_ERRNO = 0x00050000
_OFFSET_NR = 0
_OFFSET_ARCH = 4


def _audit_arch(arch: int) -> int:
    """The AUDIT_ARCH value the kernel reports for a libseccomp architecture
    (x32 calls come as x86_64 calls with bit 30 set in the number)."""
    if arch == seccomp.Arch.X32:
        arch = seccomp.Arch.X86_64
    return arch & 0xFFFFFFFF


def _enosys_limits(spec: dict) -> dict[int, dict[str, int]]:
    """Per AUDIT_ARCH and mode, the highest system call number the spec names."""
    if spec.get("defaultErrnoRet") == ENOSYS or spec.get("defaultAction") in _PERMISSIVE_ACTIONS:
        return {}
    names = {name for rule in spec.get("syscalls") or [] for name in rule.get("names", [])}
    limits: dict[int, dict[str, int]] = {}
    for arch in dict.fromkeys(_architectures(spec)):
        highest = max((seccomp.resolve_syscall(arch, name) for name in names), default=-1)
        if highest > 0:
            mode = "x32" if arch == seccomp.Arch.X32 else "native"
            limits.setdefault(_audit_arch(arch), {})[mode] = highest
    return limits


def _enosys_stub(limits: dict[int, dict[str, int]]) -> bytes:
    """BPF that returns ENOSYS for numbers above the limits and otherwise
    falls through to the program that follows it."""
    program: list[tuple] = []  # (code, jump-if-true, jump-if-false, k); jumps are labels or 0
    for section, (audit_arch, modes) in enumerate(limits.items()):
        next_section = f"section{section + 1}"
        program += [(_BPF_LD_W_ABS, 0, 0, _OFFSET_ARCH),
                    (_BPF_JMP_JEQ_K, 0, next_section, audit_arch),
                    (_BPF_LD_W_ABS, 0, 0, _OFFSET_NR)]
        program += _number_checks(audit_arch, modes)
        program.append(next_section)
    program += [(_BPF_JMP_JA, 0, 0, "filter"),
                "enosys", (_BPF_RET_K, 0, 0, _SECCOMP_RET_ERRNO | ENOSYS),
                "filter"]
    return _assemble(program)


def _number_checks(audit_arch: int, modes: dict[str, int]) -> list[tuple]:
    checks = []
    if audit_arch in (_AUDIT_ARCH_S390, _AUDIT_ARCH_S390X):
        # Numbers the kernel does not know reach seccomp as 0, setup(2).
        checks.append((_BPF_JMP_JEQ_K, "enosys", 0, 0))
    native, x32 = modes.get("native"), modes.get("x32")
    if x32 is not None and native is not None:
        checks += [(_BPF_JMP_JSET_K, "x32", 0, _X32_SYSCALL_BIT),
                   (_BPF_JMP_JGT_K, "enosys", "filter", native),
                   "x32",
                   (_BPF_JMP_JGT_K, "enosys", "filter", x32)]
    elif x32 is not None:
        checks += [(_BPF_JMP_JSET_K, 0, "filter", _X32_SYSCALL_BIT),
                   (_BPF_JMP_JGT_K, "enosys", "filter", x32)]
    elif audit_arch == _audit_arch(seccomp.Arch.X86_64):
        checks += [(_BPF_JMP_JSET_K, "filter", 0, _X32_SYSCALL_BIT),
                   (_BPF_JMP_JGT_K, "enosys", "filter", native)]
    else:
        checks.append((_BPF_JMP_JGT_K, "enosys", "filter", native))
    return checks


def _assemble(program: list) -> bytes:
    """Resolve labels (the strings in `program`) into forward jump offsets;
    the k of a JA may be a label, and jt/jf labels must be within 255."""
    labels, instructions = {}, []
    for item in program:
        if isinstance(item, str):
            labels[item] = len(instructions)
        else:
            instructions.append(item)

    def offset(target, position):
        if not isinstance(target, str):
            return target
        distance = labels[target] - position - 1
        assert 0 <= distance <= 255, f"jump to {target} too long"
        return distance

    out = bytearray()
    for position, (code, jt, jf, k) in enumerate(instructions):
        if code == _BPF_JMP_JA:
            k = labels[k] - position - 1
        out += struct.pack("=HBBI", code, offset(jt, position), offset(jf, position), k)
    return bytes(out)


# --- loading -----------------------------------------------------------------


def _exported_program(syscall_filter) -> bytes:
    """libseccomp's BPF for the filter, as the kernel takes it."""
    fd = os.memfd_create("hakobune-seccomp", os.MFD_CLOEXEC)
    with os.fdopen(fd, "w+b", buffering=0) as scratch:
        syscall_filter.export_bpf(scratch)
        os.lseek(fd, 0, os.SEEK_SET)
        return scratch.read()


def _kernel_flags(syscall_filter) -> int:
    flags = 0
    if syscall_filter.get_attr(seccomp.Attr.CTL_TSYNC):
        flags |= _FILTER_FLAG_TSYNC
    if syscall_filter.get_attr(seccomp.Attr.CTL_LOG):
        flags |= _FILTER_FLAG_LOG
    if syscall_filter.get_attr(seccomp.Attr.CTL_SSB):
        flags |= _FILTER_FLAG_SPEC_ALLOW
    return flags


def _prctl_no_new_privs() -> None:
    try:
        S.prctl(S.PR_SET_NO_NEW_PRIVS, 1)
    except OSError as e:
        raise SystemFailure(f"seccomp: prctl(PR_SET_NO_NEW_PRIVS): {os.strerror(e.errno)}") from None


def _seccomp_set_mode_filter(flags: int, program: bytes) -> None:
    """seccomp(SECCOMP_SET_MODE_FILTER, flags, program), the kernel call itself."""
    try:
        S.seccomp_set_mode_filter(flags, program)
    except OSError as e:
        raise SystemFailure(f"seccomp: loading the filter ({len(program) // 8} instructions): {os.strerror(e.errno)}",
                            hint="loading needs no_new_privs or CAP_SYS_ADMIN" if e.errno == 13 else None) from None
