"""Nothing inside a container reaches the runtime: not its descriptors (the
class of CVE-2024-21626), not its executable, interpreter or package files
through /proc/PID/exe, root, cwd or map_files (the class of CVE-2019-5736)."""

import hashlib
import os
import sys

import pytest

import hakobune

pytestmark = pytest.mark.root

ATTACK = r"""
for link in exe root cwd; do
  readlink /proc/1/$link >/dev/null 2>&1 && echo "read $link"
done
ls /proc/1/map_files/ 2>/dev/null | grep -q . && echo "listed map_files"
ls /proc/1/root/ >/dev/null 2>&1 && echo "entered root"
ls /proc/1/cwd/ >/dev/null 2>&1 && echo "entered cwd"
(exec 3</proc/1/exe) 2>/dev/null && echo "opened exe"
echo pwned 2>/dev/null >> /proc/1/exe && echo "wrote exe"
for f in /proc/1/map_files/*; do echo pwned 2>/dev/null >> "$f" && echo "wrote $f"; done
echo done
"""


def digest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def protected_files() -> list[str]:
    package = os.path.dirname(hakobune.__file__)
    return [os.path.realpath(sys.executable),
            os.path.join(package, "runtime", "init.py"),
            os.path.join(package, "runtime", "process.py")]


def test_container_cannot_reach_the_runtime_through_proc(runtime, make_bundle):
    # Until `start`, the container's PID 1 is the runtime's own Python code
    # waiting on the exec fifo: a process exec'd into the created container
    # attacks it through /proc/1, as the CVE-2019-5736 exploit did.
    bundle = make_bundle(["sleep", "100"]).save()
    before = {path: digest(path) for path in protected_files()}
    runtime("create", "--bundle", bundle.path, "victim")
    init = runtime.state("victim")["pid"]
    with open(f"/proc/{init}/cmdline", "rb") as f:
        assert b"hakobune-runtime" in f.read(), "PID 1 should still be the runtime"
    result = runtime("exec", "victim", "sh", "-c", ATTACK)
    assert result.stdout.split() == ["done"], result.stdout
    assert {path: digest(path) for path in protected_files()} == before


def test_init_and_exec_hold_only_stdio(runtime, make_bundle, tmp_path):
    bundle = make_bundle(["sleep", "100"]).save()
    runtime("create", "--bundle", bundle.path, "fds")
    init = runtime.state("fds")["pid"]
    # before start the init is still the runtime's code: it holds stdio, the
    # exec fifo (a path handle) and nothing else
    held = {fd: os.readlink(f"/proc/{init}/fd/{fd}") for fd in os.listdir(f"/proc/{init}/fd")}
    assert set(held) - {"0", "1", "2"} == {fd for fd, target in held.items() if target.endswith("exec.fifo")}
    runtime("start", "fds")
    assert sorted(os.listdir(f"/proc/{init}/fd")) == ["0", "1", "2"]


def test_a_tracing_exec_is_refused_until_the_program_runs(runtime, make_bundle):
    # With CAP_SYS_PTRACE a process may open even a non-dumpable process's
    # /proc/PID/exe, so it may not meet the runtime's PID 1 at all.
    bundle = make_bundle(["sleep", "100"]).save()
    runtime("create", "--bundle", bundle.path, "traced")
    refused = runtime("exec", "--cap", "CAP_SYS_PTRACE", "traced", "true", check=False)
    assert refused.returncode != 0 and "CAP_SYS_PTRACE" in refused.stderr
    runtime("start", "traced")
    assert runtime("exec", "--cap", "CAP_SYS_PTRACE", "traced", "readlink", "/proc/1/exe").stdout.strip() == "/bin/busybox"


def test_exec_shows_only_the_program_in_the_containers_pid_namespace(runtime, make_bundle):
    # the exec'd program is spawned directly: its parent is outside the
    # namespace (ppid 0) and no runtime process ever shows up in /proc
    bundle = make_bundle(["sleep", "100"]).save()
    runtime("run", "-d", "--bundle", bundle.path, "spawned")
    out = runtime("exec", "spawned", "sh", "-c", "cut -d' ' -f4 /proc/$$/stat; echo $$; echo /proc/[0-9]*").stdout
    parent, me, visible = out.splitlines()
    assert parent == "0"
    assert visible.split() == ["/proc/1", f"/proc/{me}"]
