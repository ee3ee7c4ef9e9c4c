"""Fixtures for the CLI's integration tests: `hk`, a store (root and
runroot in a temporary directory) with a busybox image imported from the
session's busybox rootfs, driven through the real `hakobune` binary.  After
each test every container is removed (`rm -f`, then whatever that could not
reach: monitors, runtime state, mounts, cgroups), and the test fails if
anything was left."""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile

import pytest

HAKOBUNE = os.path.join(os.path.dirname(sys.executable), "hakobune")
SINCE = r"(Less than a second|1 second|\d+ seconds|About a minute)"
CLIENT_VARIABLES = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")


def local_env(env=None) -> dict:
    """The child's environment without what would make the CLI a client of a server."""
    return {k: v for k, v in (os.environ if env is None else env).items() if k not in CLIENT_VARIABLES}


class Hakobune:
    def __init__(self, base):
        self.base = base
        self.root = os.path.join(base, "root")
        self.runroot = os.path.join(base, "run")

    def run(self, *args, env=None, timeout=60):
        return subprocess.run([HAKOBUNE, "--root", self.root, "--runroot", self.runroot, *args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout,
                              env=local_env(env))

    def ok(self, *args, **kw):
        proc = self.run(*args, **kw)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return proc.stdout

    def mounts(self) -> list[str]:
        with open("/proc/self/mountinfo") as f:
            return [line.split()[4] for line in f if self.base in line.split()[4]]

    def cleanup(self):
        """rm -f every container, then whatever that could not reach."""
        listing = self.run("ps", "-aq", "--no-trunc")
        for container_id in listing.stdout.split():
            self.run("rm", "-f", container_id)
        for state in glob.glob(os.path.join(self.runroot, "containers", "*", "state.json")):
            try:
                with open(state) as f:
                    pid = json.load(f).get("monitor_pid")
                if pid:
                    os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass
        runtime_root = os.path.join(self.runroot, "runtime")
        if os.path.isdir(runtime_root):
            runtime = os.path.join(os.path.dirname(sys.executable), "hakobune-runtime")
            ids = subprocess.run([runtime, "--root", runtime_root, "list", "-q"], capture_output=True,
                                 text=True).stdout.split()
            for container_id in ids:
                subprocess.run([runtime, "--root", runtime_root, "delete", "--force", container_id],
                               capture_output=True)
        for target in sorted(self.mounts(), key=len, reverse=True):
            subprocess.run(["umount", "-l", target], capture_output=True)
        for directory in glob.glob(os.path.join(self.root, "containers", "*")):
            name = os.path.basename(directory)
            for cgroup in glob.glob(f"/sys/fs/cgroup/*/hakobune/{name}") + glob.glob(f"/sys/fs/cgroup/hakobune/{name}"):
                try:
                    os.rmdir(cgroup)
                except OSError:
                    pass

    def stop_zygotes(self):
        """The monitors' common parent outlives its monitors for a while: end it."""
        from hakobune.monitor.launcher import stop_zygotes

        stop_zygotes(self.runroot)

    def leftovers(self) -> list[str]:
        """What a removed container may have left: mounts, runtime state, cgroups, monitor state."""
        found = list(self.mounts())
        found += glob.glob(os.path.join(self.runroot, "containers", "*"))
        found += glob.glob(os.path.join(self.runroot, "runtime", "*"))
        return found


@pytest.fixture(scope="module")
def store(busybox_rootfs):
    base = tempfile.mkdtemp(prefix="hk-containers-", dir="/tmp")
    h = Hakobune(base)
    tar = os.path.join(base, "busybox.tar")
    with tarfile.open(tar, "w") as t:
        for name in sorted(os.listdir(busybox_rootfs)):
            t.add(os.path.join(busybox_rootfs, name), arcname=name)
    h.busybox_id = h.ok("import", "-c", 'CMD ["sh"]', tar, "busybox:latest").strip()
    h.tar = tar
    try:
        yield h
    finally:
        h.cleanup()
        from hakobune.engine.netsetup import teardown_store  # the store's bridges, nft table, DNS server

        teardown_store(h.root, h.runroot)
        h.stop_zygotes()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def hk(store):
    yield store
    store.cleanup()
    assert store.run("ps", "-aq").stdout == ""
    assert store.leftovers() == []


def cgroups_of(container_id: str) -> list[str]:
    return glob.glob(f"/sys/fs/cgroup/*/hakobune/{container_id}") + glob.glob(f"/sys/fs/cgroup/hakobune/{container_id}")
