"""Debian's podman (4.3, through conmon) driving hakobune-runtime.

Everything podman keeps lives under one private temporary directory: its own
containers.conf (CONTAINERS_CONF), --root/--runroot/--tmpdir, a vfs store, and
a cgroup parent of its own; containers run with --network=none, so no network
backend is ever set up.  The busybox rootfs is imported as the image; nothing
is pulled.  The runtime keeps its state in its default root, because podman's
`container cleanup` (which deletes a `run --rm` container) drops
--runtime-flag.  Teardown removes everything, also after a failure, and then
checks that no mount, cgroup or process of the test is left.
"""

import os
import resource
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time

import pytest

from conftest import run_to_files
from hakobune import _sys as S
from hakobune.runtime.container import DEFAULT_ROOT

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(not shutil.which("podman"), reason="podman is not installed"),
]

IMAGE = "localhost/hakobune-busybox:test"
RUNTIME = os.path.join(os.path.dirname(sys.executable), "hakobune-runtime")
RUNTIME_ROOT = DEFAULT_ROOT  # podman's cleanup of a `run --rm` container drops --runtime-flag root=...

CONTAINERS_CONF = """\
[containers]
# within root's hard limits (podman's defaults are above them where
# CAP_SYS_RESOURCE is not in the bounding set)
default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{base}/events.log"
image_copy_tmp_dir = "{base}/tmp"
tmp_dir = "{base}/libpod"
volume_path = "{base}/volumes"

[network]
network_backend = "netavark"
network_config_dir = "{base}/networks"
"""

# What podman creates outside its --root whatever it is told; the teardown
# removes each one that did not exist before the test (deepest first).
OUTSIDE = (
    "/var/lib/containers/cache/blob-info-cache-v1.boltdb",  # written by `import`
    "/var/lib/containers/cache",
    "/var/lib/containers",
    "/run/containers/networks",  # netavark's run directory, empty with --network=none
    "/run/containers",
)


class Podman:
    def __init__(self, base: str):
        self.base = base
        self.cgroup_parent = "/" + os.path.basename(base)
        self.env = dict(os.environ, CONTAINERS_CONF=os.path.join(base, "containers.conf"),
                        TMPDIR=os.path.join(base, "tmp"))

    def command(self, *args) -> list[str]:
        return ["podman", "--root", f"{self.base}/root", "--runroot", f"{self.base}/runroot",
                "--tmpdir", f"{self.base}/libpod", "--storage-driver", "vfs", "--runtime", RUNTIME, *args]

    def __call__(self, *args, check=True, timeout=60, stdin_data: bytes | None = None) -> subprocess.CompletedProcess:
        # conmon may outlive podman and keep its output open: files, not pipes
        result = run_to_files(self.command(*args), timeout, env=self.env, input=stdin_data,
                              stdin=None if stdin_data is not None else subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    def run(self, *args, **kwargs) -> subprocess.CompletedProcess:
        """`podman run` with no network, no pull, in the test's cgroup parent."""
        return self("run", "--network=none", "--pull=never", f"--cgroup-parent={self.cgroup_parent}", *args,
                    **kwargs)

    def quietly(self, *args, timeout=60) -> str:
        """For the teardown: podman's output, or nothing if it failed or hung."""
        try:
            return self(*args, check=False, timeout=timeout).stdout
        except subprocess.TimeoutExpired:
            return ""

    def container_ids(self) -> list[str]:
        ids = set(self.quietly("ps", "-aq", "--no-trunc", timeout=30).split())
        store = os.path.join(self.base, "root", "vfs-containers")
        if os.path.isdir(store):
            ids.update(name for name in os.listdir(store) if len(name) == 64)
        return sorted(ids)


def _cgroup_dirs(cgroup_parent: str) -> list[str]:
    """The test's cgroup directories in every hierarchy, deepest first."""
    found = []
    for hierarchy in os.listdir("/sys/fs/cgroup"):
        top = os.path.join("/sys/fs/cgroup", hierarchy) + cgroup_parent
        if os.path.isdir(top) and not os.path.islink(os.path.join("/sys/fs/cgroup", hierarchy)):
            for path, _dirs, _files in os.walk(top, topdown=False):
                found.append(path)
    return found


def _our_processes(podman: Podman) -> set[int]:
    """conmon, `podman container cleanup` and container processes of this test only."""
    pids = set()
    for path in _cgroup_dirs(podman.cgroup_parent):
        try:
            with open(os.path.join(path, "cgroup.procs")) as f:
                pids.update(int(p) for p in f.read().split())
        except OSError:
            pass
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if podman.base.encode() in f.read():
                        pids.add(int(entry))
            except OSError:
                pass
    pids.discard(os.getpid())
    return pids


def _our_mounts(base: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    return [p for p in points if p == base or p.startswith(base + "/")]


def _teardown(podman: Podman, outside_before: set[str]) -> list[str]:
    """Remove everything the test made; return what could not be removed."""
    ids = podman.container_ids()
    podman.quietly("rm", "--all", "--force", "--time", "0", timeout=120)
    podman.quietly("rmi", "--all", "--force")
    for pid in _our_processes(podman):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for container_id in ids:  # whatever podman could not delete through the runtime
        subprocess.run([RUNTIME, "delete", "--force", container_id], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60, check=False)
    for point in reversed(_our_mounts(podman.base)):
        try:
            S.umount(point, S.MNT_DETACH)
        except OSError:
            pass
    deadline = time.monotonic() + 10
    while _cgroup_dirs(podman.cgroup_parent) and time.monotonic() < deadline:
        for path in _cgroup_dirs(podman.cgroup_parent):
            try:
                os.rmdir(path)
            except OSError:
                pass
        time.sleep(0.05)
    shutil.rmtree(podman.base, ignore_errors=True)
    for path in OUTSIDE:
        if path in outside_before or not os.path.lexists(path):
            continue
        try:
            os.rmdir(path) if os.path.isdir(path) and not os.path.islink(path) else os.unlink(path)
        except OSError:
            pass
    left = [f"mount {p}" for p in _our_mounts(podman.base)]
    left += [f"cgroup {p}" for p in _cgroup_dirs(podman.cgroup_parent)]
    left += [f"process {p}" for p in _our_processes(podman)]
    left += [f"runtime state {c}" for c in ids if os.path.exists(os.path.join(RUNTIME_ROOT, c))]
    left += [f"path {p}" for p in (podman.base,) if os.path.exists(p)]
    return left


def _within_hard_limit(kind: int, wanted: int) -> int:
    hard = resource.getrlimit(kind)[1]
    return wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)


@pytest.fixture(scope="module")
def podman(busybox_rootfs):
    base = tempfile.mkdtemp(prefix="hakobune-podman-", dir="/tmp")  # short: conmon's socket paths
    outside_before = {p for p in OUTSIDE if os.path.lexists(p)}
    driver = Podman(base)
    try:
        for name in ("tmp", "libpod", "networks"):
            os.mkdir(os.path.join(base, name))
        with open(os.path.join(base, "containers.conf"), "w") as f:
            f.write(CONTAINERS_CONF.format(base=base, nofile=_within_hard_limit(resource.RLIMIT_NOFILE, 20000),
                                           nproc=_within_hard_limit(resource.RLIMIT_NPROC, 32768)))
        image_tar = os.path.join(base, "busybox.tar")
        with tarfile.open(image_tar, "w") as tar:
            tar.add(busybox_rootfs, arcname=".")
        driver("import", "--quiet", image_tar, IMAGE, timeout=120)
        yield driver
    finally:
        left = _teardown(driver, outside_before)
    assert not left, f"podman test left behind: {left}"


def test_run_rm_true(podman):
    result = podman.run("--rm", IMAGE, "true")
    assert result.returncode == 0, result.stderr
    assert podman("ps", "-aq").stdout.split() == []


def test_run_output_pid_one_and_hostname(podman):
    lines = podman.run("--rm", IMAGE, "sh", "-c", "echo $$; hostname").stdout.splitlines()
    assert lines[0] == "1"
    assert len(lines[1]) == 12 and all(c in "0123456789abcdef" for c in lines[1])  # podman's short id


def test_exit_status_and_missing_program(podman):
    assert podman.run("--rm", IMAGE, "sh", "-c", "exit 3", check=False).returncode == 3
    missing = podman.run("--rm", IMAGE, "no-such-program", check=False)
    assert missing.returncode == 127
    assert "no-such-program" in missing.stderr


def test_stdin_is_attached(podman):
    assert podman.run("--rm", "-i", IMAGE, "cat", stdin_data=b"through conmon\n").stdout == "through conmon\n"


def test_podman_config_reaches_the_container(podman):
    """Limits, rlimits, identity and the mounts podman adds (hosts, hostname, shm, .containerenv)."""
    script = ("ulimit -n; ulimit -u; cat /sys/fs/cgroup/pids/pids.max; id -u; grep -c hk-host /etc/hosts; "
              "echo $(cat /etc/hostname); test -f /run/.containerenv && echo containerenv; "
              "grep -c ' /dev/shm ' /proc/self/mountinfo")
    lines = podman.run("--rm", "--hostname", "hk-host", "--pids-limit", "77", "--ulimit", "nofile=512:1024",
                       # with any --ulimit podman asks for nproc=1048576 unless told: above the hard limit here
                       "--ulimit", "nproc=1000:1000", "--user", "65534", IMAGE, "sh", "-c", script).stdout.splitlines()
    assert lines == ["512", "1000", "77", "65534", "1", "hk-host", "containerenv", "1"]


def test_tmpfs_copies_up_the_image_directory(podman):
    """podman's --tmpfs mounts carry "tmpcopyup": the image's files show through, with the directory's mode."""
    script = "head -1 /etc/passwd; stat -c %a /etc; touch /etc/new && echo writable; grep -c ' /etc ' /proc/mounts"
    lines = podman.run("--rm", "--tmpfs", "/etc", IMAGE, "sh", "-c", script).stdout.splitlines()
    assert lines == ["root:x:0:0:root:/root:/bin/sh", "755", "writable", "1"]
    read_only = podman.run("--rm", "--read-only", IMAGE, "sh", "-c",
                           "touch /tmp/x && stat -c %a /tmp; touch /x 2>/dev/null || echo ro").stdout.splitlines()
    assert read_only == ["1777", "ro"]


def test_detached_container_exec_inspect_and_remove(podman):
    container_id = podman.run("-d", IMAGE, "sleep", "600").stdout.strip()
    cgroup = f"/sys/fs/cgroup/pids{podman.cgroup_parent}/libpod-{container_id}"
    try:
        assert podman("inspect", "--format", "{{.OCIRuntime}} {{.State.Status}}", container_id).stdout.split() == \
            [RUNTIME, "running"]
        assert os.path.isdir(os.path.join(RUNTIME_ROOT, container_id))
        assert podman("exec", container_id, "sh", "-c", "echo $$ > /dev/null; cat /proc/1/cmdline").stdout == \
            "sleep\x00600\x00"
        assert os.path.isdir(cgroup)
    finally:
        podman("rm", "--force", "--time", "0", container_id)
    assert not os.path.exists(os.path.join(RUNTIME_ROOT, container_id))
    assert not os.path.exists(cgroup)
