"""Archives against real tools: skopeo and umoci read what hakobune saves,
hakobune loads what they (and podman, and Docker, through the fixtures of
tests/fixtures/images) write, with the same image ids and diff ids."""

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile

import pytest

from hakobune.image.archive import import_rootfs, load, save
from hakobune.image.store import ImageStore
from image_helpers import FIXTURES, add_image
from layer_tars import directory, file, symlink, tar

pytestmark = pytest.mark.root  # umoci unpacks with owners, podman runs a private store as root

ROOTFS = tar(directory("bin"), file("bin/hello", b"#!/bin/sh\necho hello\n", mode=0o755), directory("etc"),
             file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"), symlink("bin/sh", "hello"))
APP = tar(directory("app"), file("app/data.txt", b"application data\n"))
PODMAN_ID = "sha256:671764f22cc804198eb439a85d77fa4c1d8c6940d1262ee250756647f6aff96e"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (apt-get install {name})")
    return path


def run(*command, **kwargs) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)
    assert result.returncode == 0, f"{' '.join(command)}: {result.stderr}"
    return result.stdout


@pytest.fixture
def store(tmp_path):
    return ImageStore(str(tmp_path / "root"))


@pytest.fixture
def other(tmp_path):
    return ImageStore(str(tmp_path / "other"))


@pytest.fixture
def saved_archive(store, tmp_path):
    """Two layers, a tag: (path of hakobune's save, image)."""
    with_changes = import_rootfs(store, io.BytesIO(ROOTFS), changes=['CMD ["/bin/sh"]', "ENV GREETING=hi"])
    image_id = add_image(store, [ROOTFS, APP], tags=["interop:v1"], history=[{"created_by": "base"},
                                                                             {"created_by": "app"}])
    assert with_changes != image_id
    path = tmp_path / "saved.tar"
    with open(path, "wb") as f:
        save(store, ["interop:v1"], f)
    return str(path), store.resolve(image_id)


def tar_directory(path: str) -> bytes:
    output = io.BytesIO()
    with tarfile.open(fileobj=output, mode="w") as archive:
        for name in sorted(os.listdir(path)):
            archive.add(os.path.join(path, name), arcname=name)
    return output.getvalue()


def oci_config_of(layout: str, tag: str) -> tuple[str, dict]:
    """(config digest, config) of the manifest `tag` names in an OCI layout directory."""
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    [descriptor] = [d for d in index["manifests"]
                    if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
    manifest = json.load(open(os.path.join(layout, "blobs", "sha256", descriptor["digest"][7:])))
    digest = manifest["config"]["digest"]
    return digest, json.load(open(os.path.join(layout, "blobs", "sha256", digest[7:])))


# --- skopeo reads hakobune's archives ----------------------------------------------

def test_skopeo_inspects_a_saved_archive(saved_archive):
    skopeo = tool("skopeo")
    path, image = saved_archive
    manifest = json.loads(run(skopeo, "inspect", "--raw", f"docker-archive:{path}"))
    assert manifest["config"]["digest"] == image.id
    assert [layer["digest"] for layer in manifest["layers"]] == image.diff_ids
    config = run(skopeo, "inspect", "--config", "--raw", f"docker-archive:{path}").encode()
    assert "sha256:" + hashlib.sha256(config).hexdigest() == image.id
    summary = json.loads(run(skopeo, "inspect", f"docker-archive:{path}:interop:v1"))
    assert summary["Layers"] == image.diff_ids
    oci_manifest = json.loads(run(skopeo, "inspect", "--raw", f"oci-archive:{path}:v1"))
    assert oci_manifest["config"]["digest"] == image.id


def test_skopeo_copies_to_an_oci_layout_that_loads_back(saved_archive, other, tmp_path):
    skopeo = tool("skopeo")
    path, image = saved_archive
    layout = str(tmp_path / "layout")
    run(skopeo, "copy", f"docker-archive:{path}", f"oci:{layout}:fromdocker")
    run(skopeo, "copy", f"oci-archive:{path}:v1", f"oci:{layout}:fromoci")
    converted_id, converted = oci_config_of(layout, "fromdocker")
    assert converted["rootfs"]["diff_ids"] == image.diff_ids  # skopeo rewrites Docker's config as OCI's
    loaded = load(other, io.BytesIO(tar_directory(layout)))
    assert {entry.id for entry in loaded} == {image.id, converted_id}  # the OCI copy keeps the config as is
    assert other.resolve(image.id).diff_ids == image.diff_ids
    assert other.resolve(converted_id).diff_ids == image.diff_ids
    assert other.size(other.resolve(converted_id)) == other.size(image.record)


def test_skopeo_docker_archive_copy_keeps_the_id(saved_archive, other, tmp_path):
    skopeo = tool("skopeo")
    path, image = saved_archive
    copy = str(tmp_path / "copy.tar")
    run(skopeo, "copy", f"docker-archive:{path}", f"docker-archive:{copy}:copied:v2")
    with open(copy, "rb") as f:
        [loaded] = load(other, f)
    assert loaded.id == image.id and [tag.familiar for tag in loaded.tags] == ["copied:v2"]


# --- umoci ---------------------------------------------------------------------------

def test_umoci_unpacks_a_saved_archive_and_its_changes_load_back(saved_archive, other, tmp_path):
    umoci = tool("umoci")
    path, image = saved_archive
    layout = str(tmp_path / "layout")
    with tarfile.open(path) as archive:
        archive.extractall(layout)
    bundle = str(tmp_path / "bundle")
    run(umoci, "unpack", "--image", f"{layout}:v1", bundle)
    assert open(os.path.join(bundle, "rootfs", "app", "data.txt")).read() == "application data\n"
    assert os.readlink(os.path.join(bundle, "rootfs", "bin", "sh")) == "hello"
    run(umoci, "config", "--image", f"{layout}:v1", "--tag", "v2", "--config.cmd", "/bin/hello")
    changed_id, changed = oci_config_of(layout, "v2")
    assert changed["config"]["Cmd"] == ["/bin/hello"]
    loaded = load(other, io.BytesIO(tar_directory(layout)))
    assert [entry.id for entry in loaded] == [image.id, changed_id]
    # umoci copies io.containerd.image.name to the image it derives, and gives it its own ref.name
    assert [entry.messages() for entry in loaded] == [["Loaded image: interop:v1"], ["Loaded image: interop:v2"]]


# --- podman --------------------------------------------------------------------------

def test_podman_loads_a_saved_archive(saved_archive, tmp_path):
    podman = tool("podman")
    path, image = saved_archive
    scratch = tempfile.mkdtemp(prefix="hk-pm-", dir="/tmp")  # podman wants a runroot under 50 characters
    private = [podman, "--root", f"{scratch}/root", "--runroot", f"{scratch}/run", "--storage-driver", "vfs"]
    try:
        run(*private, "load", "-i", path)
        [listed] = json.loads(run(*private, "images", "--format", "json"))
        assert "sha256:" + listed["Id"] == image.id
        assert any(name.endswith("interop:v1") for name in listed["Names"])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # vfs: plain directories, nothing mounted


def test_podman_fixtures(store):
    for name in ("podman-docker-archive.tar", "podman-oci-archive.tar"):
        with open(os.path.join(FIXTURES, name), "rb") as f:
            [loaded] = load(store, f)
        assert loaded.id == PODMAN_ID
        assert loaded.messages() == ["Loaded image: localhost/hakobune-fixture:podman"]
    image = store.resolve("localhost/hakobune-fixture:podman")
    hello = os.path.join(store.layers.diff_dir(image.top_chain_id), "data", "hello.txt")
    assert open(hello).read() == "hello from a podman fixture\n"
    assert store.history(image)[0]["Comment"] == "podman fixture"
    assert store.inspect(image)["Config"]["Cmd"] == ["/bin/sh"]


# --- Docker (a fixture made by dockerd 20.10) ---------------------------------------

def test_docker_fixture_answers_as_docker_did(store):
    with open(os.path.join(FIXTURES, "docker-save.expected.json")) as f:
        expected = json.load(f)
    with open(os.path.join(FIXTURES, "docker-save.tar"), "rb") as f:
        loaded = load(store, f)
    assert [m for entry in loaded for m in entry.messages()] == ["Loaded image: hakobune-fixture:docker",
                                                                  "Loaded image: hakobune-fixture:docker-base"]
    assert store.list() == expected["images"]
    for name, docker in expected["inspect"].items():
        ours = store.inspect(name)
        assert list(ours) == list(docker)
        assert {k: v for k, v in ours.items() if k != "GraphDriver"} == \
            {k: v for k, v in docker.items() if k != "GraphDriver"}
    for name, docker in expected["history"].items():
        assert store.history(name) == docker


def test_docker_fixture_saved_again_keeps_ids_and_layers(store, other):
    with open(os.path.join(FIXTURES, "docker-save.tar"), "rb") as f:
        load(store, f)
    output = io.BytesIO()
    save(store, ["hakobune-fixture"], output)
    loaded = load(other, io.BytesIO(output.getvalue()))
    assert sorted(entry.id for entry in loaded) == sorted(image.id for image in store.images())
    with tarfile.open(os.path.join(FIXTURES, "docker-save.tar")) as original:
        docker_layer = original.extractfile("ad632119f9ac34be5026e48a36cb92bb7d5328fc947ae79d92a16f20d9df6546/"
                                            "layer.tar").read()
    with tarfile.open(fileobj=io.BytesIO(output.getvalue())) as ours:
        digest = "sha256:" + hashlib.sha256(docker_layer).hexdigest()
        assert ours.extractfile(f"blobs/sha256/{digest[7:]}").read() == docker_layer
