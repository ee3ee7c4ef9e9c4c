"""Fixtures shared by every test: a busybox root filesystem built once per
session from Debian's busybox-static, OCI bundles made from it, and a runtime
driver whose state lives in a private directory and is cleaned up even when a
test fails."""

import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from hakobune.oci.defaults import default_spec
from hakobune.testing import busybox

RUNTIME = os.path.join(os.path.dirname(sys.executable), "hakobune-runtime")

# What would send the `hakobune` binary to a server instead of its local
# store: no test inherits it (tests of the client pass it per command).
for _variable in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
    os.environ.pop(_variable, None)


def pytest_configure(config):
    config.addinivalue_line("markers", "local_only(reason): a CLI test that the Engine API cannot express; "
                            "skipped when HAKOBUNE_TEST_VIA runs the CLI as a client (cli_store)")


def pytest_collection_modifyitems(config, items):
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def busybox_rootfs(tmp_path_factory):
    """A read-only template: copy it (or use `bundle`) before changing it."""
    return busybox.build_rootfs(str(tmp_path_factory.mktemp("busybox") / "rootfs"))


class Bundle:
    """An OCI bundle in a temporary directory; `config` is written on `save`."""

    def __init__(self, path: str, rootfs_template: str, args):
        self.path = path
        self.rootfs = os.path.join(path, "rootfs")
        shutil.copytree(rootfs_template, self.rootfs, symlinks=True)
        self.config = default_spec(args=args)

    def save(self) -> "Bundle":
        busybox.write_config(self.path, self.config)
        return self

    def copy_config(self) -> dict:
        return copy.deepcopy(self.config)


@pytest.fixture
def make_bundle(busybox_rootfs, tmp_path):
    counter = iter(range(1000))

    def make(args=None) -> Bundle:
        path = tmp_path / f"bundle{next(counter)}"
        path.mkdir()
        return Bundle(str(path), busybox_rootfs, args or ["true"])

    return make


def run_to_files(argv: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run with the output captured in files, not pipes: a
    container started by the command inherits them and keeps them open long
    after the command itself has exited, so reading a pipe to its end would
    wait for the container."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.run(argv, timeout=timeout, stdout=out, stderr=err, **kwargs)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(process.args, process.returncode, out.read().decode(errors="replace"),
                                           err.read().decode(errors="replace"))


class Runtime:
    """Drives a runtime binary (hakobune-runtime, runc, crun) with its own --root."""

    def __init__(self, binary: str, root: str):
        self.binary = binary
        self.root = root

    def command(self, *args) -> list[str]:
        return [self.binary, "--root", self.root, *args]

    def __call__(self, *args, check=True, timeout=60, **kwargs) -> subprocess.CompletedProcess:
        result = run_to_files(self.command(*args), timeout=timeout, **kwargs)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    def run_bundle(self, bundle: Bundle, container_id: str = "c1", **kwargs) -> subprocess.CompletedProcess:
        bundle.save()
        return self("run", "--bundle", bundle.path, container_id, **kwargs)

    def state(self, container_id: str) -> dict:
        return json.loads(self("state", container_id).stdout)

    def cleanup(self) -> None:
        listing = self("list", "-q", check=False)
        for container_id in listing.stdout.split():
            self("delete", "--force", container_id, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def runtime():
    root = tempfile.mkdtemp(prefix="hakobune-test-rt-", dir="/run")
    driver = Runtime(RUNTIME, root)
    yield driver
    driver.cleanup()


@pytest.fixture
def runc():
    binary = shutil.which("runc")
    if not binary:
        pytest.skip("runc is not installed")
    root = tempfile.mkdtemp(prefix="hakobune-test-runc-", dir="/run")
    driver = Runtime(binary, root)
    yield driver
    driver.cleanup()
