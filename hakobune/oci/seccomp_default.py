"""Docker's default seccomp profile, as plain OCI data.

This module owns one thing: `default_profile()`, the `linux.seccomp` object
that Docker (moby 20.10 through 28.x; the lists follow 28.x) puts in a
container's config.json when no `--security-opt seccomp=` is given.  The
profile is an allow-list: every system call not named here fails with EPERM.
Some rules depend on the container's bounding capabilities (CAP_SYS_ADMIN
unlocks mount, unshare, setns, clone with namespace flags, ...), some on the
host architecture (arch_prctl on x86_64) and one on the host kernel (ptrace
and process_vm_* from Linux 4.8 on), exactly as Docker resolves them when it
generates a container's config.

Names that the installed libseccomp does not know (say, statmount with
libseccomp 2.5.4) are kept: the runtime skips them, as runc does.

It is on the container start path, so it is data and a few small functions,
with no imports beyond `os`.
"""

import os

# The 14 capabilities Docker grants a container by default, in Docker's order.
DEFAULT_CAPABILITIES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]

EPERM = 1
ENOSYS = 38
AF_VSOCK = 40

# clone(2) flags that create namespaces; without CAP_SYS_ADMIN clone is
# allowed only when none of them is set.
CLONE_NAMESPACE_FLAGS = (
    0x00020000    # CLONE_NEWNS
    | 0x02000000  # CLONE_NEWCGROUP
    | 0x04000000  # CLONE_NEWUTS
    | 0x08000000  # CLONE_NEWIPC
    | 0x10000000  # CLONE_NEWUSER
    | 0x20000000  # CLONE_NEWPID
    | 0x40000000  # CLONE_NEWNET
)

# personality(2) values a container may set: PER_LINUX, PER_LINUX32,
# UNAME26 (alone and with PER_LINUX32), and 0xffffffff, which only queries.
ALLOWED_PERSONALITIES = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)

# Allowed for every container on every architecture.
_ALWAYS_ALLOWED = """
    _llseek _newselect accept accept4 access adjtimex alarm bind brk cachestat
    capget capset chdir chmod chown chown32 clock_adjtime clock_adjtime64
    clock_getres clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep
    clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2
    dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2
    epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit exit_group
    faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir fchmod
    fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr
    flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs
    fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue futex_time64 futex_wait
    futex_waitv futex_wake futimesat get_robust_list get_thread_area getcpu getcwd
    getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups
    getgroups32 getitimer getpeername getpgid getpgrp getpid getppid getpriority
    getrandom getresgid getresgid32 getresuid getresuid32 getrlimit getrusage
    getsid getsockname getsockopt gettid gettimeofday getuid getuid32 getxattr
    getxattrat inotify_add_watch inotify_init inotify_init1 inotify_rm_watch
    io_cancel io_destroy io_getevents io_pgetevents io_pgetevents_time64
    io_setup io_submit ioctl ioprio_get ioprio_set ipc kill landlock_add_rule
    landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr
    link linkat listen listmount listxattr listxattrat llistxattr lremovexattr
    lseek lsetxattr lstat lstat64 madvise map_shadow_stack membarrier memfd_create
    memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2
    mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64
    mq_timedsend mq_timedsend_time64 mq_unlink mremap mseal msgctl msgget msgrcv
    msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat
    open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc
    pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2
    prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev pwritev2
    read readahead readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64
    recvmsg remap_file_pages removexattr removexattrat rename renameat renameat2
    restart_syscall riscv_hwprobe rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask
    rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64
    rt_tgsigqueueinfo sched_get_priority_max sched_get_priority_min sched_getaffinity
    sched_getattr sched_getparam sched_getscheduler sched_rr_get_interval
    sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam
    sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop
    semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto set_robust_list
    set_thread_area set_tid_address setfsgid setfsgid32 setfsuid setfsuid32 setgid
    setgid32 setgroups setgroups32 setitimer setpgid setpriority setregid setregid32
    setresgid setresgid32 setresuid setresuid32 setreuid setreuid32 setrlimit setsid
    setsockopt setuid setuid32 setxattr setxattrat shmat shmctl shmdt shmget shutdown
    sigaltstack signalfd signalfd4 sigprocmask sigreturn socketcall socketpair splice
    stat stat64 statfs statfs64 statmount statx symlink symlinkat sync sync_file_range
    syncfs sysinfo tee tgkill time timer_create timer_delete timer_getoverrun
    timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create
    timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill
    truncate truncate64 ugetrlimit umask uname unlink unlinkat uretprobe utime
    utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev
"""

# Allowed when the host kernel is at least this version (before 4.8 ptrace
# could be used to bypass seccomp, so Docker then required CAP_SYS_PTRACE).
_ALLOWED_FROM_KERNEL = ((4, 8), "process_vm_readv process_vm_writev ptrace")

# (host architectures, names): allowed only on those architectures.  The
# architecture names are Docker's (Go's), see _DOCKER_ARCH.
_ARCH_GROUPS = (
    (("ppc64le",), "sync_file_range2 swapcontext"),
    (("arm", "arm64"), "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls"),
    (("amd64", "x32"), "arch_prctl"),
    (("amd64", "x32", "x86"), "modify_ldt"),
    (("s390", "s390x"), "s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr"),
    (("riscv64",), "riscv_flush_icache"),
)

# (capability, names): allowed only when the capability is in the bounding set.
_CAPABILITY_GROUPS = (
    ("CAP_DAC_READ_SEARCH", "open_by_handle_at"),
    ("CAP_SYS_ADMIN",
     "bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie"
     " lsm_get_self_attr lsm_list_modules lsm_set_self_attr mount mount_setattr"
     " move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname"
     " sethostname setns syslog umount umount2 unshare"),
    ("CAP_SYS_BOOT", "reboot"),
    ("CAP_SYS_CHROOT", "chroot"),
    ("CAP_SYS_MODULE", "delete_module init_module finit_module"),
    ("CAP_SYS_PACCT", "acct"),
    ("CAP_SYS_PTRACE", "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace"),
    ("CAP_SYS_RAWIO", "iopl ioperm"),
    ("CAP_SYS_TIME", "settimeofday stime clock_settime clock_settime64"),
    ("CAP_SYS_TTY_CONFIG", "vhangup"),
    ("CAP_SYS_NICE", "get_mempolicy mbind set_mempolicy set_mempolicy_home_node"),
    ("CAP_SYSLOG", "syslog"),
    ("CAP_BPF", "bpf"),
    ("CAP_PERFMON", "perf_event_open"),
)

# Host architecture (uname -m or Go spelling) -> Docker's name for it.
_DOCKER_ARCH = {
    "x86_64": "amd64", "amd64": "amd64",
    "i386": "x86", "i686": "x86", "x86": "x86", "386": "x86",
    "aarch64": "arm64", "arm64": "arm64",
    "arm": "arm", "armv6l": "arm", "armv7l": "arm",
    "ppc64le": "ppc64le", "ppc64": "ppc64", "ppc": "ppc",
    "s390x": "s390x", "s390": "s390",
    "riscv64": "riscv64",
    "mips64": "mips64", "mips64n32": "mips64n32",
    "mips64el": "mipsel64", "mips64le": "mipsel64", "mipsel64": "mipsel64",
    "mipsel64n32": "mipsel64n32", "mipsel": "mipsel", "mipsle": "mipsel",
}

# Docker's name for the host architecture -> the OCI architectures of the
# filter (the native one first, then the ones it can also run).  A host
# missing here gets no `architectures` key, so the filter is native only.
_FILTER_ARCHITECTURES = {
    "amd64": ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"),
    "arm64": ("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"),
    "mips64": ("SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"),
    "mips64n32": ("SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64"),
    "mipsel64": ("SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"),
    "mipsel64n32": ("SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64"),
    "s390x": ("SCMP_ARCH_S390X", "SCMP_ARCH_S390"),
    "riscv64": ("SCMP_ARCH_RISCV64",),
}


def default_profile(capabilities: list[str] | None = None, arch: str = "x86_64") -> dict:
    """The `linux.seccomp` object Docker generates for a container.

    `capabilities` are the container's bounding capabilities ("CAP_SYS_ADMIN"
    or "SYS_ADMIN"); None means Docker's 14 defaults.  `arch` is the host
    architecture, as `uname -m` or Go spells it.  Returns a new dict each call.
    """
    caps = _normalized_capabilities(DEFAULT_CAPABILITIES if capabilities is None else capabilities)
    docker_arch = _docker_arch(arch)
    syscalls = [_allow(_ALWAYS_ALLOWED)]
    min_kernel, names = _ALLOWED_FROM_KERNEL
    if _kernel_at_least(min_kernel):
        syscalls.append(_allow(names))
    syscalls.append(_allow("socket", [_arg(0, "SCMP_CMP_NE", AF_VSOCK)]))
    syscalls.extend(_allow("personality", [_arg(0, "SCMP_CMP_EQ", value)]) for value in ALLOWED_PERSONALITIES)
    syscalls.extend(_allow(names) for arches, names in _ARCH_GROUPS if docker_arch in arches)
    syscalls.extend(_allow(names) for cap, names in _CAPABILITY_GROUPS if cap in caps)
    if "CAP_SYS_ADMIN" not in caps:
        syscalls.extend(_clone_without_namespaces(docker_arch))
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": EPERM}
    architectures = _FILTER_ARCHITECTURES.get(docker_arch)
    if architectures:
        profile["architectures"] = list(architectures)
    profile["syscalls"] = syscalls
    return profile


def _clone_without_namespaces(docker_arch: str) -> list[dict]:
    """clone allowed without namespace flags; clone3 (whose flags sit in
    memory, out of seccomp's reach) answered ENOSYS so libc falls back to clone."""
    flags_index = 1 if docker_arch in ("s390", "s390x") else 0  # s390 swaps clone's first two arguments
    no_namespaces = _arg(flags_index, "SCMP_CMP_MASKED_EQ", CLONE_NAMESPACE_FLAGS, 0)
    return [
        _allow("clone", [no_namespaces]),
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS},
    ]


def _allow(names: str, args: list[dict] | None = None) -> dict:
    rule = {"names": names.split(), "action": "SCMP_ACT_ALLOW"}
    if args:
        rule["args"] = args
    return rule


def _arg(index: int, op: str, value: int, value_two: int = 0) -> dict:
    return {"index": index, "value": value, "valueTwo": value_two, "op": op}


def _normalized_capabilities(names) -> set[str]:
    normalized = set()
    for name in names:
        name = name.upper()
        normalized.add(name if name.startswith("CAP_") else "CAP_" + name)
    return normalized


def _docker_arch(arch: str) -> str:
    try:
        return _DOCKER_ARCH[arch]
    except KeyError:
        raise ValueError(f"seccomp default profile: unknown architecture {arch!r}") from None


def _kernel_at_least(version: tuple[int, int]) -> bool:
    """Whether the running kernel's major.minor is at least `version`."""
    release = os.uname().release
    parts = []
    for piece in release.split(".")[:2]:
        digits = ""
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        parts.append(int(digits or 0))
    return tuple(parts) >= version
