"""Loading seccomp filters for real: each test forks a child that loads a
filter with `load_filter`, makes system calls through ctypes, and reports what
came back (a value or an errno) over a pipe; the parent checks the report."""

import ctypes
import json
import os
import signal
import traceback

import pytest

from hakobune.oci.seccomp_default import DEFAULT_CAPABILITIES, default_profile
from hakobune.runtime.seccomp import load_filter

pytestmark = [pytest.mark.root, pytest.mark.skipif(os.geteuid() != 0, reason="needs root")]

if os.uname().machine != "x86_64":
    pytest.skip("system call numbers below are x86_64's", allow_module_level=True)

EPERM, ESRCH, EFAULT, EINVAL, ENOSYS = 1, 3, 14, 22, 38
SIGCHLD = 17
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWUSER = 0x00020000, 0x04000000, 0x10000000
AF_UNIX, AF_VSOCK, SOCK_STREAM = 1, 40, 1
NR = {
    "getpid": 39, "clone": 56, "uname": 63, "getppid": 110, "personality": 135, "mount": 165,
    "umount2": 166, "reboot": 169, "kexec_load": 246, "add_key": 248, "request_key": 249, "keyctl": 250,
    "unshare": 272, "setns": 308, "bpf": 321, "clone3": 435, "socket": 41,
}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def syscall(name_or_number, *args) -> int:
    nr = NR.get(name_or_number, name_or_number)
    result = _libc.syscall(ctypes.c_long(nr), *(ctypes.c_long(arg) for arg in args))
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))
    return result


def reap(pid: int) -> str:
    """After a raw clone: the new process leaves at once, the old one waits."""
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return "forked"


def filtered_child(spec: dict, calls: dict) -> dict:
    """Run `calls` (label -> no-argument callable) in a child under `spec`.
    Returns label -> ["ok", value] or ["errno", n]; or {"signal": n} if the child was killed."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _report_from_child(spec, calls, write_end)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        payload = pipe.read()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return {"signal": os.WTERMSIG(status)}
    report = json.loads(payload)
    assert "error" not in report, report.get("error")
    return report


def _report_from_child(spec, calls, write_end) -> None:
    me = os.getpid()
    try:
        load_filter(spec)
        outcomes = {}
        for label, call in calls.items():
            try:
                outcomes[label] = ["ok", call()]
            except OSError as e:
                outcomes[label] = ["errno", e.errno]
            if os.getpid() != me:  # a clone that should have failed did not
                os._exit(0)
        payload = json.dumps(outcomes)
    except BaseException:
        payload = json.dumps({"error": traceback.format_exc()})
    os.write(write_end, payload.encode())
    os._exit(0)


def denied(errno=EPERM):
    return ["errno", errno]


def proc_status(field: str) -> str:
    with open("/proc/self/status") as status:
        return next(line.split(":", 1)[1].strip() for line in status if line.startswith(field + ":"))


# --- Docker's default profile, default capabilities -----------------------------


def test_privileged_calls_fail_with_eperm():
    report = filtered_child(default_profile(), {
        "keyctl": lambda: syscall("keyctl", 0, 0, 0, 0, 0),
        "add_key": lambda: syscall("add_key", 0, 0, 0, 0, 0),
        "request_key": lambda: syscall("request_key", 0, 0, 0, 0),
        "kexec_load": lambda: syscall("kexec_load", 0, 0, 0, -1),
        "reboot": lambda: syscall("reboot", 0, 0, 0, 0),
        "bpf": lambda: syscall("bpf", -1, 0, 0),
        "mount": lambda: syscall("mount", 0, 0, 0, 0, 0),
        "umount2": lambda: syscall("umount2", 0, 0),
        "unshare(CLONE_NEWNS)": lambda: syscall("unshare", CLONE_NEWNS),
        "setns": lambda: syscall("setns", -1, 0),
    })
    assert report == {label: denied() for label in report}
    assert len(report) == 10


def test_clone_may_not_create_namespaces_but_may_fork():
    report = filtered_child(default_profile(), {
        "clone(CLONE_NEWUSER)": lambda: reap(syscall("clone", CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0)),
        "clone(CLONE_NEWNS)": lambda: reap(syscall("clone", CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0)),
        "clone()": lambda: reap(syscall("clone", SIGCHLD, 0, 0, 0, 0)),
        "clone3": lambda: syscall("clone3", 0, 0),
    })
    assert report == {
        "clone(CLONE_NEWUSER)": denied(),
        "clone(CLONE_NEWNS)": denied(),
        "clone()": ["ok", "forked"],
        "clone3": denied(ENOSYS),  # so that libc falls back to clone
    }


def test_personality_only_for_the_allowed_values():
    report = filtered_child(default_profile(), {
        "0x0": lambda: syscall("personality", 0x0),
        "0x1234": lambda: syscall("personality", 0x1234),
        "0x8": lambda: syscall("personality", 0x8),
        "query": lambda: syscall("personality", 0xFFFFFFFF),
    })
    assert report["0x0"][0] == "ok"
    assert report["0x1234"] == denied()
    assert report["0x8"][0] == "ok"
    assert report["query"] == ["ok", 0x8]


def test_ordinary_calls_work():
    report = filtered_child(default_profile(), {
        "getpid": lambda: syscall("getpid") == os.getpid(),
        "uname": lambda: os.uname().sysname,
        "unix socket": lambda: os.close(syscall("socket", AF_UNIX, SOCK_STREAM, 0)),
        "vsock socket": lambda: syscall("socket", AF_VSOCK, SOCK_STREAM, 0),
        "fork": lambda: reap(os.fork()),
    })
    assert report == {
        "getpid": ["ok", True],
        "uname": ["ok", "Linux"],
        "unix socket": ["ok", None],
        "vsock socket": denied(),
        "fork": ["ok", "forked"],
    }


def test_calls_newer_than_the_profile_get_enosys_like_under_runc():
    report = filtered_child(default_profile(), {
        "1000": lambda: syscall(1000),
        "600": lambda: syscall(600),
        "400 (a hole below the profile's highest call)": lambda: syscall(400),
        "keyctl": lambda: syscall("keyctl", 0),
    })
    assert report == {
        "1000": denied(ENOSYS),
        "600": denied(ENOSYS),
        "400 (a hole below the profile's highest call)": denied(),
        "keyctl": denied(),
    }


def test_the_filter_is_in_place_and_no_new_privs_is_left_alone():
    report = filtered_child(default_profile(), {
        "Seccomp": lambda: proc_status("Seccomp"),
        "NoNewPrivs": lambda: proc_status("NoNewPrivs"),
    })
    assert report == {"Seccomp": ["ok", "2"], "NoNewPrivs": ["ok", "0"]}


# --- capability dependent rules -------------------------------------------------------


def test_cap_sys_admin_unlocks_namespaces_and_mount():
    report = filtered_child(default_profile([*DEFAULT_CAPABILITIES, "CAP_SYS_ADMIN"]), {
        "unshare(CLONE_NEWUTS)": lambda: syscall("unshare", CLONE_NEWUTS),
        "mount": lambda: syscall("mount", 0, 0, 0, 0, 0),
        "clone3": lambda: syscall("clone3", 0, 0),
        "clone(CLONE_NEWUTS)": lambda: reap(syscall("clone", CLONE_NEWUTS | SIGCHLD, 0, 0, 0, 0)),
        "reboot": lambda: syscall("reboot", 0, 0, 0, 0),
    })
    assert report == {
        "unshare(CLONE_NEWUTS)": ["ok", 0],
        "mount": denied(EFAULT),
        "clone3": denied(EINVAL),
        "clone(CLONE_NEWUTS)": ["ok", "forked"],
        "reboot": denied(),
    }


def test_cap_sys_boot_lets_reboot_reach_the_kernel():
    report = filtered_child(default_profile(["CAP_SYS_BOOT"]), {
        "reboot with a bad magic": lambda: syscall("reboot", 0, 0, 0, 0),
    })
    assert report == {"reboot with a bad magic": denied(EINVAL)}


# --- the translation of a spec -------------------------------------------------------


def allow_by_default(*rules, **extra) -> dict:
    return {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": list(rules), **extra}


def test_conditions_on_one_argument_are_alternatives():
    spec = allow_by_default({
        "names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 99,
        "args": [{"index": 0, "value": 0x1234, "op": "SCMP_CMP_EQ"},
                 {"index": 0, "value": 0x5678, "op": "SCMP_CMP_EQ"}],
    })
    report = filtered_child(spec, {
        "0x1234": lambda: syscall("personality", 0x1234),
        "0x5678": lambda: syscall("personality", 0x5678),
        "query": lambda: syscall("personality", 0xFFFFFFFF),
    })
    assert report == {"0x1234": denied(99), "0x5678": denied(99), "query": ["ok", 0]}


def test_conditions_on_different_arguments_must_all_hold():
    spec = allow_by_default({
        "names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 98,
        "args": [{"index": 0, "value": AF_UNIX, "op": "SCMP_CMP_EQ"},
                 {"index": 1, "value": 0xF, "valueTwo": SOCK_STREAM, "op": "SCMP_CMP_MASKED_EQ"}],
    })
    report = filtered_child(spec, {
        "unix stream": lambda: syscall("socket", AF_UNIX, SOCK_STREAM, 0),
        "unix datagram": lambda: os.close(syscall("socket", AF_UNIX, 2, 0)),
    })
    assert report == {"unix stream": denied(98), "unix datagram": ["ok", None]}


@pytest.mark.parametrize("action", ["SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS",
                                    "SCMP_ACT_TRAP"])
def test_killing_actions_end_the_child_with_sigsys(action):
    report = filtered_child(allow_by_default({"names": ["getppid"], "action": action}),
                            {"getppid": lambda: syscall("getppid")})
    assert report == {"signal": signal.SIGSYS}


@pytest.mark.parametrize("action, expected", [
    ("SCMP_ACT_LOG", ["ok", True]),
    ("SCMP_ACT_ALLOW", ["ok", True]),
    ("SCMP_ACT_TRACE", ["errno", ENOSYS]),  # no tracer attached
])
def test_other_actions(action, expected):
    spec = {"defaultAction": "SCMP_ACT_ALLOW" if action != "SCMP_ACT_ALLOW" else "SCMP_ACT_LOG",
            "syscalls": [{"names": ["getppid"], "action": action}]}
    report = filtered_child(spec, {"getppid": lambda: syscall("getppid") == os.getppid()})
    assert report == {"getppid": expected}


def test_errno_actions_default_to_eperm():
    report = filtered_child(allow_by_default({"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}),
                            {"getppid": lambda: syscall("getppid")})
    assert report == {"getppid": denied()}


@pytest.mark.parametrize("flag", ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                  "SECCOMP_FILTER_FLAG_SPEC_ALLOW"])
def test_flags_load_with_and_without_the_enosys_stub(flag):
    stubbed = default_profile()
    stubbed["flags"] = [flag]
    plain = allow_by_default({"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97}, flags=[flag])
    assert filtered_child(stubbed, {"keyctl": lambda: syscall("keyctl", 0)}) == {"keyctl": denied()}
    assert filtered_child(plain, {"getppid": lambda: syscall("getppid")}) == {"getppid": denied(97)}
