"""Fixtures for the CLI's integration tests: `hk`, a store (root and
runroot in a temporary directory) with a busybox image imported from the
session's busybox rootfs, driven through the real `hakobune` binary.  After
each test every container is removed (`rm -f`, then whatever that could not
reach: monitors, runtime state, mounts, cgroups), and the test fails if
anything was left.

The mode, HAKOBUNE_TEST_VIA (default "local"):
- "local": `hakobune --root R --runroot RR ARGS` (the embedded engine);
- "serve": the same store served by a `hakobune serve` started for the
  module on a socket in the temp directory, every `hk.run` a client call
  `hakobune -H unix://SOCK ARGS` (except LOCAL_ONLY commands, and tests
  marked `local_only`, which are skipped);
- "docker": `hakobune -H $HAKOBUNE_REFERENCE_DOCKER_HOST ARGS`, the hakobune
  CLI as a client of a real dockerd, for differential checks (skipped when
  that daemon does not answer; CI has none).  The daemon is shared: the
  test's containers are labelled (and `ps` filtered to them), prunes and
  removals of busybox skip the test, and only what the test made is removed
  afterwards (ReferenceDocker).  Tests that read the store's files, mounts
  or cgroups fail there by design: the differences worth a look are in what
  the commands print.
Tests that run the binary themselves (ptys, stdin, signals) use `hk.prefix`.
"""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time

import pytest

HAKOBUNE = os.path.join(os.path.dirname(sys.executable), "hakobune")
SINCE = r"(Less than a second|1 second|\d+ seconds|About a minute)"
CLIENT_VARIABLES = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")
MODES = ("local", "serve", "docker")
# commands only the local engine has (no Engine API form): run locally in every mode
LOCAL_ONLY = (("compose",), ("system", "restore"), ("serve",))


def test_mode() -> str:
    mode = os.environ.get("HAKOBUNE_TEST_VIA", "") or "local"
    assert mode in MODES, f"HAKOBUNE_TEST_VIA={mode}: one of {MODES}"
    return mode


def reference_host() -> str:
    return os.environ.get("HAKOBUNE_REFERENCE_DOCKER_HOST", "")


def local_env(env=None) -> dict:
    """The child's environment without what would make the CLI a client of a server."""
    return {k: v for k, v in (os.environ if env is None else env).items() if k not in CLIENT_VARIABLES}


class Hakobune:
    def __init__(self, base, via: str = "local"):
        self.base = base
        self.root = os.path.join(base, "root")
        self.runroot = os.path.join(base, "run")
        self.via = via
        self.host = None  # the server's address in the serve and docker modes
        self.server = None

    @property
    def prefix(self) -> list[str]:
        """The argv's start in this mode, for tests that run the binary themselves (ptys, stdin, signals)."""
        if self.host is None:
            return [HAKOBUNE, "--root", self.root, "--runroot", self.runroot]
        return [HAKOBUNE, "-H", self.host]

    def command(self, args) -> list[str]:
        """The argv running `args` in this mode."""
        local = [HAKOBUNE, "--root", self.root, "--runroot", self.runroot, *args]
        if self.host is None or any(tuple(args[:len(prefix)]) == prefix for prefix in LOCAL_ONLY):
            return local
        return [HAKOBUNE, "-H", self.host, *args]

    def run(self, *args, env=None, timeout=60):
        if self.via == "docker" and self.host:
            args = self.reference.mark(args)
        proc = subprocess.run(self.command(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=timeout, env=local_env(env))
        if self.via == "docker" and self.host:
            self.reference.words.update(proc.stdout.split())  # the ids it printed (import, commit, create)
        return proc

    def local(self, *args, timeout=60):
        """`args` on the embedded engine over this store, whatever the mode."""
        return subprocess.run([HAKOBUNE, "--root", self.root, "--runroot", self.runroot, *args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout,
                              env=local_env())

    def serve(self) -> None:
        """Start `hakobune serve` over this store on a socket in the temp directory."""
        socket_path = os.path.join(self.base, "api.sock")
        self.server_log = open(os.path.join(self.base, "serve.log"), "w")
        self.server = subprocess.Popen([HAKOBUNE, "--root", self.root, "--runroot", self.runroot, "serve",
                                        "-H", f"unix://{socket_path}"], stdout=self.server_log,
                                       stderr=subprocess.STDOUT, env=local_env())
        deadline = time.monotonic() + 30
        while not os.path.exists(socket_path):
            assert self.server.poll() is None, open(self.server_log.name).read()
            assert time.monotonic() < deadline, "hakobune serve did not start"
            time.sleep(0.05)
        self.host = f"unix://{socket_path}"

    def stop_serving(self) -> None:
        if self.server is None:
            return
        if self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        self.server_log.close()
        self.server = None

    def ok(self, *args, **kw):
        proc = self.run(*args, **kw)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return proc.stdout

    def mounts(self) -> list[str]:
        with open("/proc/self/mountinfo") as f:
            return [line.split()[4] for line in f if self.base in line.split()[4]]

    def cleanup(self):
        """rm -f every container, then whatever that could not reach."""
        listing = self.local("ps", "-aq", "--no-trunc")
        for container_id in listing.stdout.split():
            self.local("rm", "-f", container_id)
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


class ReferenceDocker:
    """The reference dockerd, shared with others: what a test made there is
    removed afterwards, and only that (never busybox:latest, never what was
    there before the test, never what someone else made meanwhile).  The
    test's containers carry a label (MARK, added to every run/create); its
    volumes, networks and images are those made during the test whose names
    appear in the test's commands (plus the test's containers' anonymous
    volumes, removed with them)."""

    MARK = f"hakobune.test-run={os.getpid()}"
    KINDS = (("volume", ("volume", "ls", "-q")), ("network", ("network", "ls", "--format", "{{.Name}}")),
             ("image", ("images", "--format", "{{.Repository}}:{{.Tag}}")),
             ("dangling image", ("images", "-q", "--no-trunc", "--filter", "dangling=true")))

    def __init__(self, host: str):
        self.host = host
        self.words = set()

    def docker(self, *args, timeout=60):
        return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout,
                              env={**local_env(), "DOCKER_HOST": self.host})

    def answers(self) -> bool:
        try:
            return self.docker("version", "--format", "{{.Server.Version}}", timeout=10).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False

    def mark(self, args) -> tuple:
        """`args` with the test's label on the containers it makes; its words noted.
        A prune would take others' objects from the shared daemon: the test is skipped."""
        if "prune" in args[:3]:
            pytest.skip("no prune on the shared reference dockerd")
        if tuple(args[:1]) == ("rmi",) or tuple(args[:2]) in (("image", "rm"), ("image", "remove")):
            if {"busybox", "busybox:latest"} & set(args):
                pytest.skip("the reference dockerd's busybox:latest is never removed")
        self.words.update(str(a) for a in args)
        self.words.update(str(a).split(":", 1)[0] for a in args)
        for verb in (("run",), ("create",), ("container", "run"), ("container", "create")):
            if tuple(args[:len(verb)]) == verb:
                return (*verb, "--label", self.MARK, *args[len(verb):])
        # ps sees only the test's containers, not what others run on the shared daemon meanwhile
        for verb in (("ps",), ("container", "ls"), ("container", "list"), ("container", "ps")):
            if tuple(args[:len(verb)]) == verb and "--help" not in args:
                return (*verb, "--filter", f"label={self.MARK}", *args[len(verb):])
        return tuple(args)

    def containers(self, before: dict) -> set[str]:
        """The test's: labelled, or made during it with a name its commands used
        (made by a binary the test ran itself, e.g. on a pty)."""
        mine = set(self.docker("ps", "-aq", "--no-trunc", "--filter", f"label={self.MARK}").stdout.split())
        for line in self.docker("ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Names}}").stdout.splitlines():
            container_id, _, name = line.partition(" ")
            if container_id not in before["container_ids"] and name in self.words:
                mine.add(container_id)
        return mine

    def snapshot(self) -> dict:
        self.words = set()
        listing = {kind: set(self.docker(*listing).stdout.split()) for kind, listing in self.KINDS}
        listing["container_ids"] = set(self.docker("ps", "-aq", "--no-trunc").stdout.split())
        return listing

    def added_since(self, before: dict) -> dict:
        """The test's containers, and what else it made (named in its commands)."""
        containers = self.containers(before)
        added = {"container": containers} if containers else {}
        for kind, listing in self.KINDS:
            new = set(self.docker(*listing).stdout.split()) - before[kind]
            if kind == "dangling image":  # by the id the test printed, exactly
                new = {name for name in new if name in self.words}
            else:
                new = {name for name in new if name in self.words or name.split(":", 1)[0] in self.words
                       or name.rsplit(":", 1)[0] in self.words}
            new.discard("busybox:latest")
            if new:
                added[kind] = new
        return added

    def remove_added(self, before: dict) -> None:
        added = self.added_since(before)
        if added.get("container"):
            self.docker("rm", "-f", "-v", *added["container"])
        if added.get("network"):
            self.docker("network", "rm", *added["network"])
        if added.get("volume"):
            self.docker("volume", "rm", "-f", *added["volume"])
        if added.get("image"):
            self.docker("rmi", *added["image"])
        dangling = set(added.get("dangling image", ()))
        dangling |= set(self.docker("images", "-q", "--no-trunc", "--filter", "dangling=true", "--filter",
                                    f"label={self.MARK}").stdout.split())  # commits of the test's containers
        if dangling:
            self.docker("rmi", *dangling)


@pytest.fixture(scope="module")
def store(busybox_rootfs):
    yield from make_store(busybox_rootfs, test_mode())


def make_store(busybox_rootfs, via: str):
    """The module's store in mode `via` (a generator for a module-scoped fixture)."""
    if via == "docker":
        reference = ReferenceDocker(reference_host())
        if not reference_host() or not reference.answers():
            pytest.skip("HAKOBUNE_TEST_VIA=docker needs HAKOBUNE_REFERENCE_DOCKER_HOST, a dockerd that answers")
    base = tempfile.mkdtemp(prefix="hk-containers-", dir="/tmp")
    h = Hakobune(base, via)
    tar = os.path.join(base, "busybox.tar")
    with tarfile.open(tar, "w") as t:
        for name in sorted(os.listdir(busybox_rootfs)):
            t.add(os.path.join(busybox_rootfs, name), arcname=name)
    try:
        h.busybox_id = h.ok("import", "-c", 'CMD ["sh"]', tar, "busybox:latest").strip()
        h.tar = tar
        if via == "serve":
            h.serve()
        elif via == "docker":
            h.reference = reference
            h.host = reference.host
            h.busybox_id = reference.docker("image", "inspect", "-f", "{{.Id}}", "busybox:latest").stdout.strip()
        yield h
    finally:
        h.stop_serving()
        h.cleanup()
        from hakobune.engine.netsetup import teardown_store  # the store's bridges, nft table, DNS server

        teardown_store(h.root, h.runroot)
        h.stop_zygotes()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def hk(store, request):
    yield from checked(store, request)


def checked(store, request):
    """The test's `hk`: afterwards every container removed, and nothing left."""
    local_only = request.node.get_closest_marker("local_only")
    if store.via != "local" and local_only:
        pytest.skip(f"local only: {local_only.args[0] if local_only.args else 'the local engine'}")
    if store.via == "docker":
        before = store.reference.snapshot()
        try:
            yield store
        finally:
            store.reference.remove_added(before)
            store.cleanup()
        left = store.reference.added_since(before)
        assert not left, f"left in the reference dockerd: {left}"
        return
    yield store
    store.cleanup()
    assert store.run("ps", "-aq").stdout == ""
    assert store.leftovers() == []


def cgroups_of(container_id: str) -> list[str]:
    return glob.glob(f"/sys/fs/cgroup/*/hakobune/{container_id}") + glob.glob(f"/sys/fs/cgroup/hakobune/{container_id}")
