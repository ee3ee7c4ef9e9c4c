"""`hakobune serve` for the API tests: a server on a socket in a temporary
directory over its own store (busybox:local imported from the session's
busybox rootfs), and a `docker` function running the real docker CLI
against it.  The server is stopped and everything it made is removed after
the module, even when a test fails."""

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
DOCKER = shutil.which("docker")


class Server:
    def __init__(self, base: str):
        self.base = base
        self.root = os.path.join(base, "root")
        self.runroot = os.path.join(base, "run")
        self.socket = os.path.join(base, "api.sock")
        self.host = f"unix://{self.socket}"
        self.process = None

    def hakobune(self, *args, **kw):
        return subprocess.run([HAKOBUNE, "--root", self.root, "--runroot", self.runroot, *args],
                              capture_output=True, text=True, timeout=120, **kw)

    def start(self) -> "Server":
        self.log = open(os.path.join(self.base, "serve.log"), "w")
        # the server's own Docker config (what /auth stores) stays in the temp directory
        environment = {**os.environ, "DOCKER_CONFIG": os.path.join(self.base, "server-cfg")}
        self.process = subprocess.Popen([HAKOBUNE, "--root", self.root, "--runroot", self.runroot, "serve",
                                         "-H", self.host], stdout=self.log, stderr=subprocess.STDOUT,
                                        env=environment)
        deadline = time.monotonic() + 30
        while not os.path.exists(self.socket):
            assert self.process.poll() is None, open(self.log.name).read()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def docker(self, *args, input=None, timeout=120, env=None):
        environment = {**os.environ, "DOCKER_HOST": self.host, "DOCKER_CONFIG": os.path.join(self.base, "cfg"),
                       **(env or {})}
        return subprocess.run([DOCKER, *args], capture_output=True, text=True, input=input, timeout=timeout,
                              env=environment)

    def cleanup_containers(self) -> None:
        listing = self.hakobune("ps", "-aq", "--no-trunc")
        for container_id in listing.stdout.split():
            self.hakobune("rm", "-f", container_id)


@pytest.fixture(scope="module")
def api(busybox_rootfs):
    base = tempfile.mkdtemp(prefix="hk-api-", dir="/tmp")
    server = Server(base)
    tar = os.path.join(base, "busybox.tar")
    with tarfile.open(tar, "w") as t:
        for name in sorted(os.listdir(busybox_rootfs)):
            t.add(os.path.join(busybox_rootfs, name), arcname=name)
    imported = server.hakobune("import", "-c", 'CMD ["sh"]', tar, "busybox:local")
    assert imported.returncode == 0, imported.stderr
    server.busybox_id = imported.stdout.strip()
    server.tar = tar
    try:
        server.start()
        yield server
    finally:
        server.stop()
        server.cleanup_containers()
        from hakobune.monitor.launcher import stop_zygotes

        stop_zygotes(server.runroot)
        subprocess.run(["umount", "-R", "-l", base], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def sleeper(api):
    """A running container (`sleep 600`) made through the API, removed after the test."""
    name = f"api-sleeper-{os.getpid()}"
    proc = api.docker("run", "-d", "--name", name, "busybox:local", "sleep", "600")
    assert proc.returncode == 0, proc.stderr
    try:
        yield name
    finally:
        api.docker("rm", "-f", name)


def under_script(command: str, env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    """`command` with a terminal (util-linux `script`), its stdin an open pipe
    with nothing written: an empty stdin would make `script` send the
    terminal's EOF character, which a raw-mode tty echoes as ^@ in the middle
    of the output."""
    proc = subprocess.Popen(["script", "-qec", command, "/dev/null"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdin.close()
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
