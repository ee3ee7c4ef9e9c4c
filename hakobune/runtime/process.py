"""The last steps before a container process runs its program: resource
limits, the user and groups, the five capability sets, no_new_privs, seccomp,
the working directory, closing every inherited descriptor, and execve.

Used both by a container's init and by `exec`.
"""

import _signal
import os
import resource

from hakobune import _sys as S
from hakobune.errors import InvalidArgument, SystemFailure
from hakobune.oci.capabilities import NAMES as CAP_NAMES, mask_of

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def environment(process: dict) -> dict:
    env = {}
    for entry in process.get("env", []):
        key, _, value = entry.partition("=")
        env[key] = value
    return env


def find_program(name: str, env: dict) -> str:
    """Look the program up as Go's exec.LookPath does, inside the new root."""
    if "/" in name:
        if not os.path.exists(name):
            raise InvalidArgument(f'exec: "{name}": stat {name}: no such file or directory')
        return name
    for directory in env.get("PATH", DEFAULT_PATH).split(":"):
        candidate = os.path.join(directory or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise InvalidArgument(f'exec: "{name}": executable file not found in $PATH')


def set_oom_score_adj(process: dict) -> None:
    if "oomScoreAdj" in process:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(process["oomScoreAdj"]))


def set_rlimits(process: dict) -> None:
    if not process.get("rlimits"):
        return
    for rlimit in process["rlimits"]:
        number = getattr(resource, rlimit["type"], None)
        if not isinstance(number, int):
            raise InvalidArgument(f"process.rlimits: unknown rlimit type {rlimit['type']!r}")
        try:
            # OCI's unlimited is uint64's maximum; Python's RLIM_INFINITY is -1
            soft, hard = (resource.RLIM_INFINITY if v >= 1 << 63 else v for v in (rlimit["soft"], rlimit["hard"]))
            resource.setrlimit(number, (soft, hard))
        except (ValueError, OSError) as e:
            raise SystemFailure(f"setrlimit {rlimit['type']}: {e}") from None


def drop_bounding_set(capabilities: dict) -> None:
    keep = set(capabilities.get("bounding", []))
    last = _last_capability()
    for number, name in enumerate(CAP_NAMES[: last + 1]):
        if name not in keep:
            S.prctl(S.PR_CAPBSET_DROP, number)


def _last_capability() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:
        return len(CAP_NAMES) - 1


def switch_user(user: dict, in_userns_without_setgroups: bool = False) -> None:
    uid = user.get("uid", 0)
    gid = user.get("gid", 0)
    S.prctl(S.PR_SET_KEEPCAPS, 1)
    if not in_userns_without_setgroups:
        os.setgroups(user.get("additionalGids", []))
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if "umask" in user:
        os.umask(user["umask"])


def set_capabilities(capabilities: dict) -> None:
    last = _last_capability()
    known = {n for n in CAP_NAMES[: last + 1]}

    def mask(kind):
        return mask_of(n for n in capabilities.get(kind, []) if n in known)

    S.capset(mask("effective"), mask("permitted"), mask("inheritable"))
    S.prctl(S.PR_CAP_AMBIENT, S.PR_CAP_AMBIENT_CLEAR_ALL)
    raisable = set(capabilities.get("permitted", [])) & set(capabilities.get("inheritable", []))
    for name in capabilities.get("ambient", []):
        if name not in known:
            continue
        if name not in raisable:
            # the kernel only raises what is permitted and inheritable; the
            # spec says to warn, not fail (runc's own `spec` asks for this)
            os.write(2, f"hakobune-runtime: warning: ambient {name} is not both permitted and inheritable\n".encode())
            continue
        S.prctl(S.PR_CAP_AMBIENT, S.PR_CAP_AMBIENT_RAISE, CAP_NAMES.index(name))
    S.prctl(S.PR_SET_KEEPCAPS, 0)


def compile_seccomp(linux: dict, cache_dir: str):
    """Build the seccomp filter in advance (so errors surface on create)."""
    if not linux.get("seccomp"):
        return None
    from hakobune.runtime.seccomp_cache import prepared_filter

    return prepared_filter(linux["seccomp"], cache_dir)


def become(process: dict, seccomp_filter, userns_no_setgroups: bool = False) -> None:
    """Take on the process's identity and restrictions, in runc's order."""
    capabilities = process.get("capabilities", {})
    no_new_privileges = process.get("noNewPrivileges", False)
    set_rlimits(process)
    set_apparmor_profile(process.get("apparmorProfile"))
    if seccomp_filter is not None and not no_new_privileges:
        seccomp_filter.load()
    drop_bounding_set(capabilities)
    switch_user(process.get("user", {}), userns_no_setgroups)
    set_capabilities(capabilities)
    if no_new_privileges:
        S.prctl(S.PR_SET_NO_NEW_PRIVS, 1)
    if seccomp_filter is not None and no_new_privileges:
        seccomp_filter.load()


def set_apparmor_profile(profile: str | None) -> None:
    """Ask AppArmor to confine the program at exec; where AppArmor is not
    enabled the profile cannot apply, and that is said, not hidden."""
    if not profile:
        return
    try:
        with open("/proc/self/attr/apparmor/exec", "w") as f:
            f.write(f"exec {profile}")
    except FileNotFoundError:
        os.write(2, f"hakobune-runtime: warning: apparmorProfile {profile!r} ignored: AppArmor is not enabled\n".encode())
    except OSError as e:
        raise SystemFailure(f"apparmorProfile {profile!r}: {os.strerror(e.errno or 0)}") from None


def enter_cwd(cwd: str) -> None:
    """chdir to the process's cwd and check it really is inside the root."""
    try:
        os.chdir(cwd)
        actual = os.getcwd()
    except OSError as e:
        raise InvalidArgument(f"process.cwd {cwd}: {os.strerror(e.errno or 0)}") from None
    if not actual.startswith("/"):
        raise InvalidArgument(f"process.cwd {cwd}: resolves outside the container's root")


def close_fds_except(preserve_fds: int, keep: tuple[int, ...] = ()) -> None:
    """Close every descriptor but 0-2, the preserved ones (3..) and `keep`."""
    low = 3 + preserve_fds
    for fd in sorted(k for k in keep if k >= low):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 20)


def signals_to_reset() -> list[int]:
    """Signals whose disposition Python changed (it ignores SIGPIPE and
    SIGXFSZ): a container's program must start with the defaults."""
    return [s for s in _signal.valid_signals()
            if s not in (_signal.SIGKILL, _signal.SIGSTOP) and _signal.getsignal(s) not in (_signal.SIG_DFL, None)]


def reset_signal_dispositions() -> None:
    for number in signals_to_reset():
        _signal.signal(number, _signal.SIG_DFL)


def home_for(uid: int) -> str:
    try:
        with open("/etc/passwd") as f:
            for line in f:
                fields = line.rstrip("\n").split(":")
                if len(fields) > 5 and fields[2] == str(uid):
                    return fields[5] or "/"
    except OSError:
        pass
    return "/"
