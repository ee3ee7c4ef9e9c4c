"""cgroup v2 device control: OCI device rules compiled to an eBPF program.

Owns the program (hand-assembled BPF_PROG_TYPE_CGROUP_DEVICE instructions)
and its installation on a cgroup directory, replacing the program hakobune
attached before, which is recognised by its name.

The program sees one device access at a time (type, major, minor and the
requested access bits) and returns 1 to allow or 0 to deny.  It walks the
rules from last to first; R3 holds the requested access bits not decided
yet.  A matching allow rule decides (clears) the bits it grants and allows
once none is left; a matching deny rule denies if it covers any bit still
undecided.  Bits no rule decides are denied.  So for each kind of access the
last matching rule wins, and the default is deny.
"""

import errno
import os
import struct

from hakobune.errors import SystemFailure
from hakobune.runtime.cgroups import bpf
from hakobune.runtime.cgroups.devices import DeviceRule

PROGRAM_NAME = "hakobune_dev"
LICENSE = "Apache-2.0"

# struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
# access_type = (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*
_DEV_TYPE = {"b": 1, "c": 2}
_ACCESS_BIT = {"m": 1, "r": 2, "w": 4}
_ALL_BITS = 7

# Opcodes (class | op | source) and the registers used.
_LDX_MEM_W = 0x61
_ALU64_AND_K = 0x57
_ALU64_RSH_K = 0x77
_ALU64_MOV_K = 0xB7
_ALU64_MOV_X = 0xBF
_JMP_JEQ_K = 0x15
_JMP_JNE_K = 0x55
_JMP_EXIT = 0x95
R0, R1, R2, R3, R4, R5 = range(6)
_TYPE, _ACCESS, _MAJOR, _MINOR = R2, R3, R4, R5

_NEXT = object()  # jump target placeholder: the start of the next rule's block


def _insn(opcode: int, dst: int = 0, src: int = 0, off=0, imm: int = 0) -> tuple:
    return (opcode, dst, src, off, imm)


def _encode(insn: tuple, offset: int) -> bytes:
    opcode, dst, src, off, imm = insn
    return struct.pack("<BBhi", opcode, (src << 4) | dst, offset, imm)


def _prologue() -> list[tuple]:
    return [
        _insn(_LDX_MEM_W, _TYPE, R1, 0),
        _insn(_ALU64_MOV_X, _ACCESS, _TYPE),
        _insn(_ALU64_AND_K, _TYPE, imm=0xFFFF),
        _insn(_ALU64_RSH_K, _ACCESS, imm=16),
        _insn(_LDX_MEM_W, _MAJOR, R1, 4),
        _insn(_LDX_MEM_W, _MINOR, R1, 8),
    ]


def _verdict(allow: bool) -> list[tuple]:
    return [_insn(_ALU64_MOV_K, R0, imm=1 if allow else 0), _insn(_JMP_EXIT)]


def _rule_block(rule: DeviceRule) -> list[tuple]:
    """Instructions for one rule; jumps to _NEXT when it does not decide."""
    block = []
    if rule.type != "a":
        block.append(_insn(_JMP_JNE_K, _TYPE, off=_NEXT, imm=_DEV_TYPE[rule.type]))
    if rule.major is not None:
        block.append(_insn(_JMP_JNE_K, _MAJOR, off=_NEXT, imm=rule.major))
    if rule.minor is not None:
        block.append(_insn(_JMP_JNE_K, _MINOR, off=_NEXT, imm=rule.minor))
    bits = sum(_ACCESS_BIT[letter] for letter in rule.access)
    if bits != _ALL_BITS and rule.allow:
        block.append(_insn(_ALU64_AND_K, _ACCESS, imm=_ALL_BITS & ~bits))
        block.append(_insn(_JMP_JNE_K, _ACCESS, off=_NEXT, imm=0))
    elif bits != _ALL_BITS:
        block.append(_insn(_ALU64_MOV_X, R1, _ACCESS))
        block.append(_insn(_ALU64_AND_K, R1, imm=bits))
        block.append(_insn(_JMP_JEQ_K, R1, off=_NEXT, imm=0))
    return block + _verdict(rule.allow)


def _resolve(block: list[tuple]) -> bytes:
    size = len(block)
    return b"".join(_encode(insn, size - index - 1 if insn[3] is _NEXT else insn[3])
                    for index, insn in enumerate(block))


def assemble(rules: list[DeviceRule]) -> bytes:
    """The program for `rules` as raw instructions (8 bytes each)."""
    code = [_encode(insn, insn[3]) for insn in _prologue()]
    for rule in reversed(rules):
        code.append(_resolve(_rule_block(rule)))
        if rule.matches_everything:
            return b"".join(code)  # anything after would be unreachable
    code.extend(_encode(insn, 0) for insn in _verdict(False))
    return b"".join(code)


def install(cgroup_dir: str, rules: list[DeviceRule]) -> None:
    """Load the program for `rules` and make it the one of ours on the cgroup."""
    prog_fd = _load(assemble(rules), cgroup_dir)
    try:
        dir_fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        os.close(prog_fd)
        raise SystemFailure(f"cgroup: opening {cgroup_dir}: {os.strerror(e.errno)}") from e
    try:
        old_fds = _our_programs(dir_fd, cgroup_dir)
        try:
            _attach_replacing(dir_fd, prog_fd, old_fds, cgroup_dir)
        finally:
            for fd in old_fds:
                os.close(fd)
    finally:
        os.close(dir_fd)
        os.close(prog_fd)


def attached_program_ids(cgroup_dir: str) -> list[int]:
    """Ids of the device programs attached directly to the cgroup (any owner)."""
    dir_fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return bpf.prog_query(dir_fd, bpf.BPF_CGROUP_DEVICE)
    finally:
        os.close(dir_fd)


def _load(code: bytes, cgroup_dir: str) -> int:
    try:
        return bpf.prog_load(bpf.BPF_PROG_TYPE_CGROUP_DEVICE, code, LICENSE, PROGRAM_NAME,
                             bpf.BPF_CGROUP_DEVICE)
    except OSError as e:
        raise SystemFailure(f"cgroup: loading the device filter for {cgroup_dir}: {e.strerror}") from e


def _our_programs(dir_fd: int, cgroup_dir: str) -> list[int]:
    """fds of the programs named PROGRAM_NAME attached to the cgroup."""
    try:
        ids = bpf.prog_query(dir_fd, bpf.BPF_CGROUP_DEVICE)
    except OSError as e:
        raise SystemFailure(f"cgroup: listing the device programs of {cgroup_dir}: {e.strerror}") from e
    fds = []
    for prog_id in ids:
        try:
            fd = bpf.prog_fd_by_id(prog_id)
        except OSError as e:
            if e.errno == errno.ENOENT:  # detached meanwhile
                continue
            raise SystemFailure(f"cgroup: opening device program {prog_id}: {e.strerror}") from e
        if bpf.prog_name(fd) == PROGRAM_NAME:
            fds.append(fd)
        else:
            os.close(fd)
    return fds


def _attach_replacing(dir_fd: int, prog_fd: int, old_fds: list[int], cgroup_dir: str) -> None:
    """Attach the new program, then take ours off, atomically when just one."""
    flags = bpf.BPF_F_ALLOW_MULTI
    if len(old_fds) == 1:
        try:
            bpf.prog_attach(dir_fd, prog_fd, bpf.BPF_CGROUP_DEVICE, flags | bpf.BPF_F_REPLACE, old_fds[0])
            return
        except OSError as e:
            if e.errno not in (errno.EINVAL, errno.ENOENT):
                raise _attach_failure(cgroup_dir, e) from e
    try:
        bpf.prog_attach(dir_fd, prog_fd, bpf.BPF_CGROUP_DEVICE, flags)
    except OSError as e:
        raise _attach_failure(cgroup_dir, e) from e
    for fd in old_fds:
        try:
            bpf.prog_detach(dir_fd, fd, bpf.BPF_CGROUP_DEVICE)
        except OSError as e:
            if e.errno != errno.ENOENT:
                raise SystemFailure(f"cgroup: detaching the old device filter of {cgroup_dir}: "
                                    f"{e.strerror}") from e


def _attach_failure(cgroup_dir: str, error: OSError) -> SystemFailure:
    hint = None
    if error.errno == errno.EPERM:
        hint = "another program is attached to this cgroup without BPF_F_ALLOW_MULTI"
    return SystemFailure(f"cgroup: attaching the device filter to {cgroup_dir}: "
                         f"{os.strerror(error.errno)}", hint)
