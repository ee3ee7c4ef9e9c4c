"""Differential test: hakobune's seccomp loader against runc's, call by call.

The same profile (Docker's default, for two capability sets) is enforced twice
on a small static C probe:
  (a) by runc, running the probe as a container's process;
  (b) by `hakobune.runtime.seccomp.load_filter` in a forked process that then
      execs the probe (seccomp alone, apart from the rest of the runtime).
The probe makes every x86_64, x32 and i386 system call in libseccomp's tables
(by number, a bit past the end too), plus the argument-conditioned ones
(clone flags, personality values, socket families), each in its own child.

Calls get arguments that make the kernel refuse them early (-1 is a bad fd, a
bad pointer, a bad length and a bad flag set at once), or, where that is not
enough, arguments from SAFE_ARGS; calls that fork, sleep or read a frame off the
stack get the probe's special handling (see PROBE_SOURCE).  So a call the
filter lets through does nothing, and what we compare is the filter's verdict:

  - the profile's defaultErrnoRet is swapped for MARKER_ERRNO, an errno the
    kernel never returns, so "denied by the filter" cannot be mistaken for a
    kernel EPERM (both runtimes otherwise treat the profile identically: runc
    adds its ENOSYS stub for any default errno but ENOSYS itself);
  - ENOSYS is compared exactly (the filter's clone3 rule and runc's stub give
    it, and so does the kernel for calls it lacks, the same in both runs);
  - any other result is "the kernel answered": its errno may differ, since the
    container runs with fewer capabilities and other namespaces than (b).

Known runc quirks: none needed (RUNC_QUIRKS is empty).
"""

import json
import os
import shutil
import subprocess
import tempfile
import traceback
from pathlib import Path

import pytest
import seccomp

from hakobune.oci.capabilities import NAMES as ALL_CAPABILITIES
from hakobune.oci.seccomp_default import DEFAULT_CAPABILITIES, default_profile
from hakobune.runtime.seccomp import load_filter

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(shutil.which("runc") is None, reason="runc is not installed"),
    pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed"),
    pytest.mark.skipif(os.uname().machine != "x86_64", reason="the probe is x86_64 code"),
]

MARKER_ERRNO = 2000
ENOSYS = 38
BAD = (1 << 64) - 1          # -1
NO_SUCH_PID = 0x3FFFFFF0     # above PID_MAX_LIMIT: signals go nowhere
X32_SYSCALL_BIT = 0x40000000
SIGCHLD = 17

# Probe flags (see PROBE_SOURCE).
FORKLIKE, BLOCKING, ZEROSTACK = 1, 2, 4
FORKLIKE_CALLS = {"fork", "vfork", "clone", "clone3"}
BLOCKING_CALLS = {"pause", "sigsuspend", "rt_sigsuspend"}
ZEROSTACK_CALLS = {"rt_sigreturn", "sigreturn"}

# Where -1 everywhere is not harmless enough.
SAFE_ARGS = {
    "brk": (0,),                                           # query only
    "kill": (NO_SUCH_PID, 0),
    "tkill": (NO_SUCH_PID, 0),
    "tgkill": (NO_SUCH_PID, NO_SUCH_PID, 0),
    "rt_sigqueueinfo": (NO_SUCH_PID, 0, BAD),
    "rt_tgsigqueueinfo": (NO_SUCH_PID, NO_SUCH_PID, 0, BAD),
    "init_module": (0, 0, 0),                              # zero length: ENOEXEC before any allocation
    "sigsuspend": (0, 0, 0),                               # i386: empty mask, so the timer ends it
}

# (name for labels, libseccomp arch, probe ABI, number bit, numbers swept)
ABIS = (
    ("x86_64", seccomp.Arch.X86_64, 64, 0, [*range(0, 471), 512, 547, 600, 1000, 0x3FFFFFFF]),
    ("x32", seccomp.Arch.X32, 64, X32_SYSCALL_BIT, [*range(0, 560), 1000]),
    ("i386", seccomp.Arch.X86, 32, 0, [*range(0, 471), 1000]),
)

CLONE_FLAG_CASES = (
    SIGCHLD,
    SIGCHLD | 0x00020000,   # CLONE_NEWNS
    SIGCHLD | 0x02000000,   # CLONE_NEWCGROUP
    SIGCHLD | 0x04000000,   # CLONE_NEWUTS
    SIGCHLD | 0x08000000,   # CLONE_NEWIPC
    SIGCHLD | 0x10000000,   # CLONE_NEWUSER
    SIGCHLD | 0x20000000,   # CLONE_NEWPID
    SIGCHLD | 0x40000000,   # CLONE_NEWNET
    SIGCHLD | 0x00000080,   # CLONE_NEWTIME (not in Docker's mask)
    SIGCHLD | 0x00004000 | 0x00000100,  # CLONE_VFORK | CLONE_VM
    SIGCHLD | (1 << 32),    # a bit above the 32 clone(2) reads
)
PERSONALITY_CASES = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF, 0x1234, 0x400008, 0x0400000, 0x100000000)
SOCKET_CASES = ((1, BAD, BAD), (1, 1, 0), (2, BAD, BAD), (16, BAD, BAD), (40, 1, 0), (40, BAD, BAD),
                ((1 << 32) | 40, 1, 0))
# Per ABI: the numbers of clone, personality and socket.
CONDITIONED_NUMBERS = {
    "x86_64": (56, 135, 41),
    "x32": (X32_SYSCALL_BIT | 56, X32_SYSCALL_BIT | 135, X32_SYSCALL_BIT | 41),
    "i386": (120, 136, 359),
}

# label -> reason: verdicts runc gets wrong on purpose or by accident.  Empty.
RUNC_QUIRKS: dict[str, str] = {}

PROBE_SOURCE = r"""
/* Runs each case of a file in its own child; prints "label kind value":
   E errno, R return value, S signal, X exit code, T timeout. */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define FORKLIKE 1   /* a new process gets 0 back: it exits at once, touching no memory */
#define BLOCKING 2   /* may sleep until a signal: arm a short timer */
#define ZEROSTACK 4  /* reads a frame off the stack (sigreturn): give it zeroes */

static char zero_stack[1 << 16] __attribute__((aligned(64)));

static long call64(long nr, const long *a, long flags) {
    register long r10 __asm__("r10") = a[3];
    register long r8 __asm__("r8") = a[4];
    register long r9 __asm__("r9") = a[5];
    register long r13 __asm__("r13") = flags;
    register char *r12 __asm__("r12") = zero_stack + sizeof zero_stack / 2;
    long ret;
    __asm__ volatile(
        "mov %%rsp, %%r15\n\t"
        "test $4, %%r13\n\t"
        "jz 1f\n\t"
        "mov %%r12, %%rsp\n"
        "1:\n\t"
        "syscall\n\t"
        "test $1, %%r13\n\t"
        "jz 2f\n\t"
        "test %%rax, %%rax\n\t"
        "jnz 2f\n\t"
        "mov $60, %%eax\n\t"
        "xor %%edi, %%edi\n\t"
        "syscall\n"
        "2:\n\t"
        "mov %%r15, %%rsp"
        : "=a"(ret)
        : "0"(nr), "D"(a[0]), "S"(a[1]), "d"(a[2]), "r"(r10), "r"(r8), "r"(r9), "r"(r13), "r"(r12)
        : "rcx", "r11", "r15", "memory");
    return ret;
}

static long call32(long nr, const long *a, long flags) {
    register long r12 __asm__("r12") = a[5];
    register long r13 __asm__("r13") = flags;
    register char *r14 __asm__("r14") = zero_stack + sizeof zero_stack / 2;
    int ret;
    __asm__ volatile(
        "mov %%rsp, %%r15\n\t"
        "test $4, %%r13\n\t"
        "jz 1f\n\t"
        "mov %%r14, %%rsp\n"
        "1:\n\t"
        "mov %%rbp, %%r14\n\t"
        "mov %%r12d, %%ebp\n\t"
        "int $0x80\n\t"
        "test $1, %%r13\n\t"
        "jz 2f\n\t"
        "test %%eax, %%eax\n\t"
        "jnz 2f\n\t"
        "mov $1, %%eax\n\t"
        "xor %%ebx, %%ebx\n\t"
        "int $0x80\n"
        "2:\n\t"
        "mov %%r14, %%rbp\n\t"
        "mov %%r15, %%rsp"
        : "=a"(ret), "+r"(r14)
        : "0"(nr), "b"(a[0]), "c"(a[1]), "d"(a[2]), "S"(a[3]), "D"(a[4]), "r"(r12), "r"(r13)
        : "r15", "memory");
    return ret;
}

static void run_case(const char *label, int abi, long flags, long nr, const long *args) {
    int fds[2];
    if (pipe(fds) != 0) { perror("pipe"); exit(2); }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); exit(2); }
    if (pid == 0) {
        close(fds[0]);
        setsid();  /* no controlling terminal: vhangup and tty ioctls stay harmless */
        struct itimerval timer = {{0, 0}, {0, 0}};
        if (flags & BLOCKING) timer.it_value.tv_usec = 100000; else timer.it_value.tv_sec = 5;
        setitimer(ITIMER_REAL, &timer, NULL);
        long ret = abi == 32 ? call32(nr, args, flags) : call64(nr, args, flags);
        if (write(fds[1], &ret, sizeof ret) != sizeof ret) _exit(3);
        _exit(0);
    }
    close(fds[1]);
    struct pollfd ready = {fds[0], POLLIN, 0};
    int timed_out = poll(&ready, 1, 10000) == 0;
    if (timed_out) kill(pid, SIGKILL);
    long ret = 0;
    ssize_t got = timed_out ? 0 : read(fds[0], &ret, sizeof ret);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (got == sizeof ret && ret < 0 && ret >= -4095) printf("%s E %ld\n", label, -ret);
    else if (got == sizeof ret) printf("%s R %ld\n", label, ret);
    else if (timed_out) printf("%s T 0\n", label);
    else if (WIFSIGNALED(status)) printf("%s S %d\n", label, WTERMSIG(status));
    else printf("%s X %d\n", label, WEXITSTATUS(status));
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: probe CASES\n"); return 2; }
    FILE *in = fopen(argv[1], "r");
    if (!in) { perror(argv[1]); return 2; }
    char label[256];
    int abi;
    unsigned long long flags, nr, a[6];
    while (fscanf(in, "%255s %d %llu %llu %llu %llu %llu %llu %llu %llu",
                  label, &abi, &flags, &nr, &a[0], &a[1], &a[2], &a[3], &a[4], &a[5]) == 10) {
        long args[6];
        for (int i = 0; i < 6; i++) args[i] = (long)a[i];
        run_case(label, abi, (long)flags, (long)nr, args);
    }
    fflush(stdout);
    return 0;
}
"""


# --- cases -------------------------------------------------------------------


def case_line(label: str, abi: int, flags: int, nr: int, args=()) -> str:
    padded = [*args, *([BAD] * (6 - len(args)))] if len(args) < 6 else list(args)
    return " ".join(str(value) for value in (label, abi, flags, nr, *padded))


def syscall_name(arch, nr: int) -> str | None:
    try:
        return seccomp.resolve_syscall(arch, nr).decode()
    except ValueError:
        return None


def probe_flags(name: str | None) -> int:
    return ((FORKLIKE if name in FORKLIKE_CALLS else 0)
            | (BLOCKING if name in BLOCKING_CALLS else 0)
            | (ZEROSTACK if name in ZEROSTACK_CALLS else 0))


def sweep_cases(abi_name, arch, abi, bit, numbers) -> list[str]:
    """Every number of the ABI, with -1 (or SAFE_ARGS) arguments."""
    lines = []
    for number in numbers:
        nr = bit | number
        name = syscall_name(arch, nr)
        args = SAFE_ARGS.get(name, ())
        lines.append(case_line(f"{abi_name}:{name or '#%d' % number}", abi, probe_flags(name), nr, args))
    return lines


def conditioned_cases(abi_name, abi) -> list[str]:
    """The calls whose verdict depends on an argument."""
    clone_nr, personality_nr, socket_nr = CONDITIONED_NUMBERS[abi_name]
    lines = [case_line(f"{abi_name}:clone(flags={flags:#x})", abi, FORKLIKE, clone_nr, (flags, 0, 0, 0, 0, 0))
             for flags in CLONE_FLAG_CASES]
    lines += [case_line(f"{abi_name}:personality({persona:#x})", abi, 0, personality_nr, (persona,))
              for persona in PERSONALITY_CASES]
    lines += [case_line(f"{abi_name}:socket({family:#x},{kind:#x})", abi, 0, socket_nr, (family, kind, protocol))
              for family, kind, protocol in SOCKET_CASES]
    return lines


def all_cases(with_i386: bool) -> list[str]:
    lines = []
    for abi_name, arch, abi, bit, numbers in ABIS:
        if abi_name == "i386" and not with_i386:
            continue
        lines += sweep_cases(abi_name, arch, abi, bit, numbers)
        lines += conditioned_cases(abi_name, abi)
    return lines


# --- running the probe --------------------------------------------------------


def parse_results(output: str) -> dict[str, tuple[str, int]]:
    results = {}
    for line in output.splitlines():
        label, kind, value = line.split()
        results[label] = (kind, int(value))
    return results


def verdict(outcome: tuple[str, int]) -> tuple:
    """What the filter decided, as far as it can be told from the outcome."""
    kind, value = outcome
    if kind == "E" and value in (MARKER_ERRNO, ENOSYS):
        return ("errno", value)
    if kind in ("E", "R"):
        return ("kernel answered",)
    if kind == "S":
        return ("signal",)
    return (kind, value)


def marked_profile(capabilities) -> dict:
    profile = default_profile(list(capabilities))
    profile["defaultErrnoRet"] = MARKER_ERRNO
    return profile


def run_unfiltered(probe: Path, cases: Path) -> str:
    done = subprocess.run([str(probe), str(cases)], capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def run_under_our_filter(probe: Path, cases: Path, profile: dict, output: Path) -> str:
    pid = os.fork()
    if pid == 0:
        try:
            fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1)
            load_filter(profile)
            os.execv(probe, [str(probe), str(cases)])
        except BaseException:
            os.write(2, traceback.format_exc().encode())
        finally:
            os._exit(127)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the probe failed under hakobune's filter"
    return output.read_text()


def runc_config(bundle: Path, profile: dict, capabilities) -> dict:
    subprocess.run(["runc", "spec", "--bundle", str(bundle)], check=True, capture_output=True)
    config = json.loads((bundle / "config.json").read_text())
    config["process"]["args"] = ["/probe", "/cases"]
    config["process"]["terminal"] = False
    config["process"]["capabilities"] = {key: list(capabilities) for key in ("bounding", "effective", "permitted")}
    config["linux"]["seccomp"] = profile
    return config


def run_under_runc(probe: Path, cases: Path, profile: dict, capabilities, workdir: Path) -> str:
    bundle, state = workdir / "bundle", workdir / "runc-state"
    rootfs = bundle / "rootfs"
    rootfs.mkdir(parents=True)
    shutil.copy(probe, rootfs / "probe")
    shutil.copy(cases, rootfs / "cases")
    (bundle / "config.json").write_text(json.dumps(runc_config(bundle, profile, capabilities)))
    container_id = f"hakobune-seccomp-diff-{os.getpid()}-{workdir.name}"
    try:
        done = subprocess.run(["runc", "--root", str(state), "run", "--bundle", str(bundle), container_id],
                              capture_output=True, text=True, timeout=300)
    finally:
        subprocess.run(["runc", "--root", str(state), "delete", "--force", container_id], capture_output=True)
    assert done.returncode == 0, f"runc failed ({done.returncode}): {done.stderr}"
    return done.stdout


# --- fixtures -----------------------------------------------------------------


@pytest.fixture(scope="module")
def scratch():
    path = Path(tempfile.mkdtemp(prefix="hakobune-seccomp-diff-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def probe(scratch) -> Path:
    source, binary = scratch / "probe.c", scratch / "probe"
    source.write_text(PROBE_SOURCE)
    built = subprocess.run(["gcc", "-static", "-O2", "-mno-red-zone", "-o", str(binary), str(source)],
                           capture_output=True, text=True)
    if built.returncode != 0:
        pytest.skip(f"cannot build a static probe: {built.stderr.strip()[:300]}")
    return binary


@pytest.fixture(scope="module")
def ia32_works(probe, scratch) -> bool:
    """Whether this kernel runs i386 calls (int $0x80) from a 64-bit process."""
    check = scratch / "ia32-check"
    check.write_text(case_line("i386:getpid", 32, 0, 20) + "\n")
    return parse_results(run_unfiltered(probe, check))["i386:getpid"][0] == "R"


@pytest.fixture(scope="module")
def cases(scratch, ia32_works) -> Path:
    path = scratch / "cases"
    path.write_text("\n".join(all_cases(with_i386=ia32_works)) + "\n")
    return path


@pytest.fixture
def workdir(scratch, request) -> Path:
    path = scratch / request.node.callspec.id
    path.mkdir()
    return path


# --- the test -----------------------------------------------------------------


def host_capabilities() -> tuple[str, ...]:
    """Every capability of this process's bounding set (runc can grant no others)."""
    status = Path("/proc/self/status").read_text()
    mask = int(next(line.split()[1] for line in status.splitlines() if line.startswith("CapBnd:")), 16)
    return tuple(name for number, name in enumerate(ALL_CAPABILITIES) if mask & (1 << number))


@pytest.mark.parametrize("capabilities", [DEFAULT_CAPABILITIES, host_capabilities()],
                         ids=["docker-default-caps", "all-host-caps"])
def test_every_call_gets_runcs_verdict(probe, cases, workdir, capabilities, ia32_works):
    profile = marked_profile(capabilities)
    ours = parse_results(run_under_our_filter(probe, cases, profile, workdir / "ours.out"))
    theirs = parse_results(run_under_runc(probe, cases, profile, capabilities, workdir))

    expected_labels = {line.split()[0] for line in cases.read_text().splitlines()}
    assert set(ours) == expected_labels
    assert set(theirs) == expected_labels
    mismatches = {label: {"hakobune": ours[label], "runc": theirs[label]}
                  for label in sorted(expected_labels)
                  if label not in RUNC_QUIRKS and verdict(ours[label]) != verdict(theirs[label])}
    assert not mismatches, f"{len(mismatches)} verdicts differ: {json.dumps(mismatches, indent=1)[:4000]}"

    # The comparison is not vacuous: the filter was there and did its job.
    denied = ("errno", MARKER_ERRNO)
    assert verdict(ours["x86_64:keyctl"]) == denied
    assert verdict(ours["x86_64:kexec_load"]) == denied
    assert verdict(ours["x86_64:getpid"]) == ("kernel answered",)
    assert verdict(ours["x86_64:#1000"]) == ("errno", ENOSYS)          # runc's ENOSYS stub
    assert verdict(ours["x86_64:personality(0x1234)"]) == denied
    assert verdict(ours["x86_64:socket(0x28,0x1)"]) == denied           # AF_VSOCK
    assert sum(verdict(outcome) == denied for outcome in ours.values()) > 300
    if capabilities is DEFAULT_CAPABILITIES:
        assert verdict(ours["x86_64:clone(flags=0x10000011)"]) == denied  # CLONE_NEWUSER
        assert verdict(ours["x86_64:clone3"]) == ("errno", ENOSYS)
        assert verdict(ours["x86_64:mount"]) == denied
    if ia32_works:
        assert verdict(ours["i386:getpid"]) == ("kernel answered",)
        assert verdict(ours["i386:keyctl"]) == denied
