"""The few bpf(2) commands the device cgroup needs, over ctypes.

Owns the layout of `union bpf_attr` for: loading a program, attaching it to
and detaching it from a cgroup, listing the programs attached to a cgroup,
and reading a program's name.  Each function is one system call and raises
OSError carrying the errno, like hakobune._sys.
"""

import ctypes
import os
import struct

from hakobune import _sys

BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_DETACH = 9
BPF_PROG_GET_FD_BY_ID = 13
BPF_OBJ_GET_INFO_BY_FD = 15
BPF_PROG_QUERY = 16

BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6
BPF_F_ALLOW_MULTI = 1 << 1
BPF_F_REPLACE = 1 << 2

OBJ_NAME_LEN = 16
_ATTR_SIZE = 128  # larger than every layout used here; the tail stays zero
_PROG_INFO_SIZE = 256
_PROG_INFO_NAME_OFFSET = 64
_LOG_SIZE = 1 << 16

_syscall = ctypes.CDLL(None, use_errno=True).syscall
_syscall.restype = ctypes.c_long


def _bpf(command: int, attr: ctypes.Array, what: str) -> int:
    result = _syscall(ctypes.c_long(_sys.SYS_BPF), ctypes.c_long(command), attr, ctypes.c_uint(_ATTR_SIZE))
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"bpf {what}: {os.strerror(err)}")
    return result


def _attr(fmt: str, *values) -> ctypes.Array:
    attr = ctypes.create_string_buffer(_ATTR_SIZE)
    struct.pack_into(fmt, attr, 0, *values)
    return attr


def prog_load(prog_type: int, instructions: bytes, license: str, name: str,
              expected_attach_type: int = 0) -> int:
    """Load a program and return its fd; the verifier's log is in the error."""
    try:
        return _prog_load(prog_type, instructions, license, name, expected_attach_type, with_log=False)
    except OSError as first:
        try:
            return _prog_load(prog_type, instructions, license, name, expected_attach_type, with_log=True)
        except OSError as second:
            raise second from first


def _prog_load(prog_type, instructions, license, name, expected_attach_type, with_log) -> int:
    code = ctypes.create_string_buffer(instructions, len(instructions))
    lic = ctypes.create_string_buffer(license.encode())
    log = ctypes.create_string_buffer(_LOG_SIZE if with_log else 1)
    raw_name = name.encode()[:OBJ_NAME_LEN - 1]
    # prog_type, insn_cnt, insns, license, log_level, log_size, log_buf,
    # kern_version, prog_flags, prog_name[16], prog_ifindex, expected_attach_type
    attr = _attr("=IIQQIIQII16sII", prog_type, len(instructions) // 8, ctypes.addressof(code),
                 ctypes.addressof(lic), 1 if with_log else 0, _LOG_SIZE if with_log else 0,
                 ctypes.addressof(log) if with_log else 0, 0, 0, raw_name, 0, expected_attach_type)
    try:
        return _bpf(BPF_PROG_LOAD, attr, "prog load")
    except OSError as e:
        verifier_log = log.value.decode(errors="replace").strip()
        if verifier_log:
            raise OSError(e.errno, f"{e.strerror}; verifier: {verifier_log}") from None
        raise


def prog_attach(target_fd: int, prog_fd: int, attach_type: int, flags: int, replace_fd: int = 0) -> None:
    # target_fd, attach_bpf_fd, attach_type, attach_flags, replace_bpf_fd
    _bpf(BPF_PROG_ATTACH, _attr("=IIIII", target_fd, prog_fd, attach_type, flags, replace_fd), "prog attach")


def prog_detach(target_fd: int, prog_fd: int, attach_type: int) -> None:
    _bpf(BPF_PROG_DETACH, _attr("=III", target_fd, prog_fd, attach_type), "prog detach")


def prog_query(target_fd: int, attach_type: int) -> list[int]:
    """Ids of the programs attached directly to the target (not inherited)."""
    capacity = 64  # the kernel's limit of programs per cgroup and attach type
    ids = (ctypes.c_uint32 * capacity)()
    # target_fd, attach_type, query_flags, attach_flags, prog_ids, prog_cnt
    attr = _attr("=IIIIQI", target_fd, attach_type, 0, 0, ctypes.addressof(ids), capacity)
    _bpf(BPF_PROG_QUERY, attr, "prog query")
    count = struct.unpack_from("=I", attr, 24)[0]
    return list(ids[:min(count, capacity)])


def prog_fd_by_id(prog_id: int) -> int:
    return _bpf(BPF_PROG_GET_FD_BY_ID, _attr("=III", prog_id, 0, 0), "prog get fd by id")


def prog_name(prog_fd: int) -> str:
    info = ctypes.create_string_buffer(_PROG_INFO_SIZE)
    # bpf_fd, info_len, info
    _bpf(BPF_OBJ_GET_INFO_BY_FD, _attr("=IIQ", prog_fd, _PROG_INFO_SIZE, ctypes.addressof(info)), "get info")
    raw = info.raw[_PROG_INFO_NAME_OFFSET:_PROG_INFO_NAME_OFFSET + OBJ_NAME_LEN]
    return raw.split(b"\0", 1)[0].decode(errors="replace")
