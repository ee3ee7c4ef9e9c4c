"""pull, push, login, logout and `system check` of the real `hakobune` binary
against Debian's docker-registry on 127.0.0.1, compared with the lines the
docker CLI printed (shared/reference/engine-api/docker-pull*, docker-push*,
docker-login*)."""

import json
import os
import re
import subprocess
import sys
import tarfile

import pytest

from registry_server import Registry

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/bin/docker-registry"),
                                reason="needs Debian's docker-registry")

HAKOBUNE = os.path.join(os.path.dirname(sys.executable), "hakobune")
DIGEST = r"sha256:[0-9a-f]{64}"


class Hakobune:
    def __init__(self, base):
        self.root = os.path.join(base, "root")
        self.runroot = os.path.join(base, "run")
        self.env = {**os.environ, "DOCKER_CONFIG": os.path.join(base, "docker-config")}

    def run(self, *args, input=None):
        return subprocess.run([HAKOBUNE, "--root", self.root, "--runroot", self.runroot, *args], input=input,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120, env=self.env)

    def ok(self, *args, **kw) -> list[str]:
        proc = self.run(*args, **kw)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return proc.stdout.splitlines()

    def fails(self, *args, **kw) -> str:
        proc = self.run(*args, **kw)
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        return proc.stderr

    def image_id(self, name: str) -> str:
        return json.loads("".join(self.ok("image", "inspect", name)))[0]["Id"]

    def diff_ids(self, name: str) -> list[str]:
        return json.loads("".join(self.ok("image", "inspect", name)))[0]["RootFS"]["Layers"]


@pytest.fixture(scope="module")
def busybox_tar(busybox_rootfs, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("tars") / "busybox.tar")
    with tarfile.open(path, "w") as tar:
        for name in sorted(os.listdir(busybox_rootfs)):
            tar.add(os.path.join(busybox_rootfs, name), arcname=name)
    return path


@pytest.fixture(scope="module")
def plain_registry():
    with Registry() as server:
        yield server


@pytest.fixture(scope="module")
def private_registry():
    with Registry(users={"alice": "s3cret"}) as server:
        yield server


@pytest.fixture
def hk(tmp_path):
    return Hakobune(str(tmp_path))


def short(digest: str) -> str:
    return digest.partition(":")[2][:12]


def test_push_rmi_pull_round_trip(hk, plain_registry, busybox_tar):
    name = f"{plain_registry.address}/x:1"
    imported = hk.ok("import", "-c", 'CMD ["sh"]', busybox_tar, "busybox:local")[0]
    hk.ok("tag", "busybox:local", name)
    (diff_id,) = hk.diff_ids(name)

    lines = hk.ok("push", name)
    assert lines[:3] == [f"The push refers to repository [{plain_registry.address}/x]",
                         f"{short(diff_id)}: Preparing", f"{short(diff_id)}: Pushed"]
    match = re.fullmatch(rf"1: digest: ({DIGEST}) size: (\d+)", lines[3])
    assert match and len(lines) == 4, lines
    pushed_digest = match.group(1)

    hk.ok("rmi", name, "busybox:local")
    assert hk.run("image", "inspect", name).returncode == 1

    lines = hk.ok("pull", name)
    assert lines[0] == "1: Pulling from x"
    layer = re.fullmatch(r"([0-9a-f]{12}): Pulling fs layer", lines[1]).group(1)
    assert lines[2:5] == [f"{layer}: Download complete", f"{layer}: Pull complete", f"Digest: {pushed_digest}"]
    assert lines[5:] == [f"Status: Downloaded newer image for {name}", name]
    assert hk.image_id(name) == imported

    again = hk.ok("image", "pull", name)
    assert again[0] == "1: Pulling from x"
    assert f"{layer}: Already exists" in again
    assert again[-3:] == [f"Digest: {pushed_digest}", f"Status: Image is up to date for {name}", name]

    lines = hk.ok("push", name)
    assert lines == [f"The push refers to repository [{plain_registry.address}/x]",
                     f"{short(diff_id)}: Preparing", f"{short(diff_id)}: Layer already exists",
                     lines[3]]
    assert lines[3].startswith("1: digest: ")

    assert hk.ok("image", "push", "-q", name) == [name]
    assert hk.ok("pull", "-q", name) == [name]


def test_pull_default_tag_and_digest(hk, plain_registry, busybox_tar):
    hk.ok("import", busybox_tar, f"{plain_registry.address}/dflt")
    lines = hk.ok("push", f"{plain_registry.address}/dflt")
    assert lines[0] == "Using default tag: latest"
    digest = lines[-1].split()[2]
    hk.ok("rmi", f"{plain_registry.address}/dflt")
    lines = hk.ok("pull", f"{plain_registry.address}/dflt")
    assert lines[:2] == ["Using default tag: latest", "latest: Pulling from dflt"]
    assert lines[-1] == f"{plain_registry.address}/dflt:latest"
    by_digest = f"{plain_registry.address}/dflt@{digest}"
    lines = hk.ok("pull", by_digest)
    assert lines[0] == f"{digest}: Pulling from dflt"
    assert lines[-1] == by_digest


def test_pull_of_a_missing_tag(hk, plain_registry):
    name = f"{plain_registry.address}/apirec-nothing:latest"
    proc = hk.run("pull", name)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == (f"Error response from daemon: manifest for {name} not found: manifest unknown: "
                           "manifest unknown\n")
    proc = hk.run("pull", f"{plain_registry.address}/apirec-nothing")
    assert proc.returncode == 1
    assert proc.stdout == "Using default tag: latest\n"


def test_push_of_a_missing_image(hk, plain_registry):
    stderr = hk.fails("push", f"{plain_registry.address}/nothing-here:1")
    assert stderr == ("Error response from daemon: An image does not exist locally with the tag: "
                      f"{plain_registry.address}/nothing-here\n")


def test_login_push_logout_pull(hk, private_registry, busybox_tar):
    address = private_registry.address
    name = f"{address}/secret:1"
    hk.ok("import", busybox_tar, name)

    stderr = hk.fails("login", "-u", "alice", "--password-stdin", address, input="wrong\n")
    assert stderr == (f"Error response from daemon: login attempt to http://{address}/v2/ failed with status: "
                      "401 Unauthorized\n")
    assert hk.fails("login", "-u", "alice", address, input="") == \
        "Error: Cannot perform an interactive login from a non TTY device\n"
    assert hk.fails("login", "--password-stdin", address, input="s3cret\n") == \
        "Must provide --username with --password-stdin\n"

    stderr = hk.fails("push", name)
    assert stderr.startswith("Error response from daemon: "), stderr

    proc = hk.run("login", "-u", "alice", "--password-stdin", address, input="s3cret\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "Login Succeeded\n"
    config = os.path.join(hk.env["DOCKER_CONFIG"], "config.json")
    assert f"WARNING! Your credentials are stored unencrypted in '{config}'." in proc.stderr
    with open(config) as f:
        assert address in json.load(f)["auths"]

    assert hk.ok("push", name)[-1].startswith("1: digest: ")

    assert hk.ok("logout", address) == [f"Removing login credentials for {address}"]
    assert hk.ok("logout", address) == [f"Not logged in to {address}"]
    stderr = hk.fails("pull", name)
    assert stderr.startswith(f"Error response from daemon: pull access denied for {address}/secret, repository "
                             "does not exist or may require 'docker login': "), stderr


def test_system_check_finds_a_corrupt_blob(hk, plain_registry, busybox_tar):
    name = f"{plain_registry.address}/checked:1"
    hk.ok("import", busybox_tar, name)
    hk.ok("push", name)
    assert hk.ok("system", "check") == ["OK"]

    blobs = os.path.join(hk.root, "image", "blobs", "sha256")
    biggest = max(os.listdir(blobs), key=lambda n: os.path.getsize(os.path.join(blobs, n)))
    path = os.path.join(blobs, biggest)
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))
    proc = hk.run("system", "check")
    assert proc.returncode == 1, proc.stdout
    assert f"blob sha256:{biggest} is corrupt" in proc.stdout


def test_push_and_pull_all_tags(hk, plain_registry, busybox_tar):
    repository = f"{plain_registry.address}/every"
    hk.ok("import", busybox_tar, f"{repository}:one")
    hk.ok("import", "-c", 'CMD ["sh"]', busybox_tar, f"{repository}:two")
    lines = hk.ok("push", "--all-tags", repository)
    assert [line for line in lines if ": digest: " in line] == [
        line for line in lines if re.fullmatch(rf"(one|two): digest: {DIGEST} size: \d+", line)]
    assert len([line for line in lines if ": digest: " in line]) == 2
    ids = {tag: hk.image_id(f"{repository}:{tag}") for tag in ("one", "two")}
    hk.ok("rmi", f"{repository}:one", f"{repository}:two")

    lines = hk.ok("pull", "-a", repository)
    assert lines[0] == "one: Pulling from every" and "two: Pulling from every" in lines
    assert lines[-2:] == [f"Status: Downloaded newer image for {repository}", repository]
    assert {tag: hk.image_id(f"{repository}:{tag}") for tag in ("one", "two")} == ids

    assert hk.fails("pull", "-a", f"{repository}:one") == "tag can't be used with --all-tags/-a\n"
    assert hk.fails("push", "-a", f"{repository}:one") == "tag can't be used with --all-tags/-a\n"
    assert "does not exist locally" in hk.fails("push", "-a", f"{plain_registry.address}/nothing-at-all")
