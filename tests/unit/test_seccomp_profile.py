"""Docker's default seccomp profile as data, and compile_filter's validation."""

import os

import pytest
import seccomp

from hakobune.errors import InvalidArgument
from hakobune.oci import seccomp_default
from hakobune.oci.seccomp_default import DEFAULT_CAPABILITIES, default_profile
from hakobune.runtime.seccomp import RuncStyleFilter, compile_filter

ALLOW = "SCMP_ACT_ALLOW"

# Calls a default container must not make (Docker's profile leaves them out).
NEVER_ALLOWED_BY_DEFAULT = (
    "keyctl", "add_key", "request_key", "kexec_load", "kexec_file_load", "reboot", "bpf",
    "mount", "umount", "umount2", "unshare", "setns", "pivot_root", "swapon", "swapoff",
    "init_module", "finit_module", "delete_module", "acct", "settimeofday", "clock_settime",
    "stime", "iopl", "ioperm", "vhangup", "syslog", "perf_event_open", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "open_by_handle_at", "kcmp",
    "pidfd_getfd", "process_madvise", "get_mempolicy", "set_mempolicy", "mbind", "quotactl",
    "sethostname", "setdomainname", "fsopen", "fsmount", "move_mount", "open_tree",
    "lookup_dcookie", "fanotify_init", "nfsservctl", "uselib", "ustat", "sysfs", "_sysctl",
    "personality", "socket", "clone", "clone3", "create_module", "get_kernel_syms",
    "query_module", "vm86", "vm86old",
)

# (capability, calls it unlocks), as in Docker's profile.
CAPABILITY_GROUPS = (
    ("CAP_DAC_READ_SEARCH", ("open_by_handle_at",)),
    ("CAP_SYS_ADMIN", ("bpf", "clone", "clone3", "mount", "umount2", "unshare", "setns", "sethostname",
                       "setdomainname", "syslog", "quotactl", "perf_event_open", "fsopen", "fsmount",
                       "fsconfig", "fspick", "move_mount", "open_tree", "mount_setattr", "fanotify_init",
                       "lookup_dcookie", "umount", "quotactl_fd", "lsm_get_self_attr")),
    ("CAP_SYS_BOOT", ("reboot",)),
    ("CAP_SYS_CHROOT", ("chroot",)),
    ("CAP_SYS_MODULE", ("init_module", "finit_module", "delete_module")),
    ("CAP_SYS_PACCT", ("acct",)),
    ("CAP_SYS_PTRACE", ("kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev",
                        "ptrace")),
    ("CAP_SYS_RAWIO", ("iopl", "ioperm")),
    ("CAP_SYS_TIME", ("settimeofday", "stime", "clock_settime", "clock_settime64")),
    ("CAP_SYS_TTY_CONFIG", ("vhangup",)),
    ("CAP_SYS_NICE", ("get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node")),
    ("CAP_SYSLOG", ("syslog",)),
    ("CAP_BPF", ("bpf",)),
    ("CAP_PERFMON", ("perf_event_open",)),
)


def unconditionally_allowed(profile: dict) -> set[str]:
    return {name for rule in profile["syscalls"] if rule["action"] == ALLOW and not rule.get("args")
            for name in rule["names"]}


def rules_for(profile: dict, name: str) -> list[dict]:
    return [rule for rule in profile["syscalls"] if name in rule["names"]]


def minimal_spec(**rule) -> dict:
    return {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": ALLOW, **rule}]}


# --- the profile's shape ----------------------------------------------------------


def test_default_capabilities_are_dockers_fourteen_in_order():
    assert DEFAULT_CAPABILITIES == [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ]


def test_profile_denies_with_eperm_on_the_three_x86_abis():
    profile = default_profile()
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
    assert profile["defaultErrnoRet"] == 1
    assert profile["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    for rule in profile["syscalls"]:
        assert set(rule) <= {"names", "action", "args", "errnoRet"}
        assert rule["names"] and all(isinstance(name, str) for name in rule["names"])


def test_common_calls_are_allowed():
    allowed = unconditionally_allowed(default_profile())
    for name in ("read", "write", "openat", "execve", "getpid", "uname", "futex", "mmap", "clock_gettime",
                 "adjtimex", "clock_adjtime", "statx", "faccessat2", "close_range", "pidfd_open",
                 "landlock_create_ruleset", "rseq", "chroot", "arch_prctl", "modify_ldt"):
        assert name in allowed, name
    assert len(allowed) > 350


@pytest.mark.parametrize("name", NEVER_ALLOWED_BY_DEFAULT)
def test_dangerous_calls_are_not_unconditionally_allowed(name):
    assert name not in unconditionally_allowed(default_profile())


def test_ptrace_is_allowed_from_kernel_4_8(monkeypatch):
    assert "ptrace" in unconditionally_allowed(default_profile())
    old_kernel = os.uname_result(("Linux", "host", "4.4.0-210-generic", "#1", "x86_64"))
    monkeypatch.setattr(seccomp_default.os, "uname", lambda: old_kernel)
    allowed = unconditionally_allowed(default_profile())
    assert not {"ptrace", "process_vm_readv", "process_vm_writev"} & allowed
    assert "ptrace" in unconditionally_allowed(default_profile(["CAP_SYS_PTRACE"]))


@pytest.mark.parametrize("capability, names", CAPABILITY_GROUPS, ids=[cap for cap, _ in CAPABILITY_GROUPS])
def test_capability_groups_appear_only_with_their_capability(capability, names):
    without = unconditionally_allowed(default_profile([]))
    with_cap = unconditionally_allowed(default_profile([capability]))
    for name in names:
        assert name in with_cap, name
        if name not in ("process_vm_readv", "process_vm_writev", "ptrace"):  # kernel >= 4.8 allows these anyway
            assert name not in without, name


def test_capability_names_may_omit_the_prefix():
    assert default_profile(["sys_admin"]) == default_profile(["CAP_SYS_ADMIN"])


def test_default_capabilities_are_used_when_none_are_given():
    assert default_profile() == default_profile(DEFAULT_CAPABILITIES)
    assert "chroot" in unconditionally_allowed(default_profile())
    assert "chroot" not in unconditionally_allowed(default_profile([]))


def test_personality_is_allowed_for_five_values_only():
    rules = rules_for(default_profile(), "personality")
    assert all(rule["action"] == ALLOW and len(rule["args"]) == 1 for rule in rules)
    conditions = [rule["args"][0] for rule in rules]
    assert all(arg["index"] == 0 and arg["op"] == "SCMP_CMP_EQ" for arg in conditions)
    assert sorted(arg["value"] for arg in conditions) == [0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF]


def test_socket_is_allowed_except_for_af_vsock():
    [rule] = rules_for(default_profile(), "socket")
    assert rule["args"] == [{"index": 0, "value": 40, "valueTwo": 0, "op": "SCMP_CMP_NE"}]


def test_without_cap_sys_admin_clone_may_not_create_namespaces_and_clone3_is_enosys():
    profile = default_profile()
    [clone] = rules_for(profile, "clone")
    assert clone["action"] == ALLOW
    assert clone["args"] == [{"index": 0, "value": 0x7E020000, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]
    [clone3] = rules_for(profile, "clone3")
    assert clone3 == {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}


def test_with_cap_sys_admin_clone_and_clone3_are_unrestricted():
    profile = default_profile([*DEFAULT_CAPABILITIES, "CAP_SYS_ADMIN"])
    for name in ("clone", "clone3"):
        [rule] = rules_for(profile, name)
        assert rule["action"] == ALLOW and "args" not in rule


def test_s390_tests_clones_flags_in_its_second_argument():
    [clone] = rules_for(default_profile(arch="s390x"), "clone")
    assert clone["args"][0]["index"] == 1


@pytest.mark.parametrize("arch, present, absent, architectures", [
    ("x86_64", {"arch_prctl", "modify_ldt"}, {"set_tls", "riscv_flush_icache"},
     ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
    ("amd64", {"arch_prctl", "modify_ldt"}, set(), ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
    ("i686", {"modify_ldt"}, {"arch_prctl"}, None),
    ("aarch64", {"set_tls", "cacheflush", "arm_fadvise64_64"}, {"arch_prctl", "modify_ldt"},
     ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]),
    ("ppc64le", {"swapcontext", "sync_file_range2"}, {"arch_prctl"}, None),
    ("s390x", {"s390_runtime_instr"}, {"arch_prctl"}, ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"]),
    ("riscv64", {"riscv_flush_icache"}, {"modify_ldt"}, ["SCMP_ARCH_RISCV64"]),
])
def test_architecture_groups(arch, present, absent, architectures):
    profile = default_profile(arch=arch)
    allowed = unconditionally_allowed(profile)
    assert present <= allowed
    assert not absent & allowed
    assert profile.get("architectures") == architectures


def test_unknown_architecture_is_refused():
    with pytest.raises(ValueError, match="sparc"):
        default_profile(arch="sparc")


def test_each_call_returns_a_fresh_profile():
    first = default_profile()
    first["syscalls"][0]["names"].append("kexec_load")
    first["architectures"].clear()
    assert "kexec_load" not in unconditionally_allowed(default_profile())
    assert default_profile()["architectures"]


# --- compile_filter accepts the profile ------------------------------------------


@pytest.mark.parametrize("capabilities", [
    None, [], DEFAULT_CAPABILITIES, [*DEFAULT_CAPABILITIES, "CAP_SYS_ADMIN"],
    [cap for cap, _ in CAPABILITY_GROUPS],
    *[[*DEFAULT_CAPABILITIES, cap] for cap, _ in CAPABILITY_GROUPS],
])
def test_compile_filter_accepts_the_profile(capabilities):
    compiled = compile_filter(default_profile(capabilities))
    assert isinstance(compiled, seccomp.SyscallFilter)
    assert compiled.exist_arch(seccomp.Arch.X86) and compiled.exist_arch(seccomp.Arch.X32)


@pytest.mark.parametrize("arch", ["aarch64", "riscv64", "ppc64le", "i686"])
def test_compile_filter_accepts_the_profile_of_other_architectures(arch):
    assert isinstance(compile_filter(default_profile(arch=arch)), RuncStyleFilter)


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="endianness of the host")
def test_an_architecture_libseccomp_cannot_mix_in_is_refused_naming_the_field():
    with pytest.raises(InvalidArgument, match=r"^linux.seccomp.architectures\[0\]: libseccomp cannot add SCMP_ARCH_S390X"):
        compile_filter(default_profile(arch="s390x"))


def test_compiled_filter_leaves_no_new_privs_to_the_caller():
    assert compile_filter(default_profile()).get_attr(seccomp.Attr.CTL_NNP) == 0


def test_enosys_limits_cover_the_listed_architectures():
    limits = compile_filter(default_profile()).enosys_limits
    x86_64 = seccomp.Arch.X86_64 & 0xFFFFFFFF
    i386 = seccomp.Arch.X86 & 0xFFFFFFFF
    assert set(limits) == {x86_64, i386}
    assert set(limits[x86_64]) == {"native", "x32"}
    assert limits[x86_64]["native"] >= seccomp.resolve_syscall(seccomp.Arch.X86_64, "futex_waitv")
    assert limits[x86_64]["x32"] & 0x40000000


@pytest.mark.parametrize("change", [
    {"defaultErrnoRet": 38},
    {"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": None},
    {"defaultAction": "SCMP_ACT_LOG", "defaultErrnoRet": None},
    {"architectures": None},
])
def test_no_enosys_stub_where_runc_adds_none(change):
    profile = default_profile()
    for key, value in change.items():
        if value is None:
            profile.pop(key, None)
        else:
            profile[key] = value
    assert compile_filter(profile).enosys_limits == {}


def test_unknown_syscall_names_are_skipped():
    spec = {"defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["no_such_call_anywhere", "read"], "action": ALLOW}]}
    assert isinstance(compile_filter(spec), RuncStyleFilter)


def test_rule_with_the_default_action_is_skipped():
    spec = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
    compile_filter(spec)


@pytest.mark.parametrize("action", ["SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
                                    "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW",
                                    "SCMP_ACT_LOG"])
def test_every_supported_action_compiles(action):
    spec = {"defaultAction": "SCMP_ACT_ALLOW" if action != "SCMP_ACT_ALLOW" else "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["getppid"], "action": action}]}
    compile_filter(spec)
    compile_filter({"defaultAction": action})


@pytest.mark.parametrize("op", ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE",
                                "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"])
def test_every_operator_compiles(op):
    compile_filter(minimal_spec(args=[{"index": 2, "value": 0xFF, "valueTwo": 3, "op": op}]))


def test_conditions_on_the_same_argument_compile_as_separate_rules():
    spec = minimal_spec(args=[{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                              {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}])
    compile_filter(spec)


@pytest.mark.parametrize("flag", ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                  "SECCOMP_FILTER_FLAG_SPEC_ALLOW"])
def test_flags_compile(flag):
    profile = default_profile()
    profile["flags"] = [flag]
    compile_filter(profile)


# --- bad input names the field ------------------------------------------------------


def broken(change) -> dict:
    """Docker's profile with one change; the indexes used below assume a kernel
    of 4.8 or later (syscalls[1] is ptrace's group, [2] socket, [3]-[7] personality)."""
    profile = default_profile()
    change(profile)
    return profile


@pytest.mark.parametrize("change, message", [
    (lambda p: p["syscalls"][3].update(action="SCMP_ACT_FOO"),
     "linux.seccomp.syscalls[3].action: unknown action 'SCMP_ACT_FOO'"),
    (lambda p: p["syscalls"][2]["args"][0].update(op="SCMP_CMP_FOO"),
     "linux.seccomp.syscalls[2].args[0].op: unknown operator 'SCMP_CMP_FOO'"),
    (lambda p: p["syscalls"][3].update(action=["SCMP_ACT_ALLOW"]), "linux.seccomp.syscalls[3].action: unknown action"),
    (lambda p: p["syscalls"][2]["args"][0].update(op=["SCMP_CMP_EQ"]), "linux.seccomp.syscalls[2].args[0].op: unknown"),
    (lambda p: p["syscalls"][2]["args"][0].update(index=6), "linux.seccomp.syscalls[2].args[0].index"),
    (lambda p: p["syscalls"][2]["args"][0].update(value=-1), "linux.seccomp.syscalls[2].args[0].value"),
    (lambda p: p["syscalls"][2]["args"][0].update(valueTwo=1 << 64), "linux.seccomp.syscalls[2].args[0].valueTwo"),
    (lambda p: p["syscalls"][2].update(args={"index": 0}), "linux.seccomp.syscalls[2].args: must be a list"),
    (lambda p: p["architectures"].append("SCMP_ARCH_Z80"),
     "linux.seccomp.architectures[3]: unknown architecture 'SCMP_ARCH_Z80'"),
    (lambda p: p.update(flags=["SECCOMP_FILTER_FLAG_FOO"]), "linux.seccomp.flags[0]: unknown"),
    (lambda p: p.pop("defaultAction"), "linux.seccomp.defaultAction: missing"),
    (lambda p: p.update(defaultAction="SCMP_ACT_BAR"), "linux.seccomp.defaultAction: unknown action 'SCMP_ACT_BAR'"),
    (lambda p: p.update(defaultErrnoRet=-5), "linux.seccomp.defaultErrnoRet"),
    (lambda p: p.update(defaultErrnoRet=1 << 16), "linux.seccomp.defaultErrnoRet"),
    (lambda p: p["syscalls"][0].update(errnoRet=1), "linux.seccomp.syscalls[0].errnoRet: only SCMP_ACT_ERRNO"),
    (lambda p: p["syscalls"][1].update(names="ptrace"), "linux.seccomp.syscalls[1].names: must be a list"),
    (lambda p: p["syscalls"][1].pop("names"), "linux.seccomp.syscalls[1].names"),
    (lambda p: p["syscalls"][1]["names"].append(""), "linux.seccomp.syscalls[1].names[3]"),
    (lambda p: p["syscalls"].append("read"), "linux.seccomp.syscalls[%d]: must be an object"),
    (lambda p: p["syscalls"][4].update(action="SCMP_ACT_NOTIFY"), "linux.seccomp.syscalls[4].action: SCMP_ACT_NOTIFY is not supported"),
    (lambda p: p.update(syscalls={"names": ["read"]}), "linux.seccomp.syscalls: must be a list"),
])
def test_bad_input_is_refused_naming_the_field(change, message):
    profile = broken(change)
    if "%d" in message:
        message = message % (len(profile["syscalls"]) - 1)
    with pytest.raises(InvalidArgument) as raised:
        compile_filter(profile)
    assert str(raised.value).startswith(message)


def test_spec_must_be_an_object():
    with pytest.raises(InvalidArgument, match="^linux.seccomp: must be an object"):
        compile_filter(["SCMP_ACT_ERRNO"])
