"""The registry client against Debian's docker-registry (distribution 2.8) run
on 127.0.0.1 by the tests, plain and with htpasswd basic auth, and through a
proxy that counts requests, injects faults and demands bearer tokens.
skopeo reads what hakobune pushed."""

import gzip
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time

import pytest

from hakobune.errors import NotFound, SystemFailure
from hakobune.image import registry
from hakobune.image.archive import import_rootfs
from hakobune.image.registry import auth, client
from hakobune.image.registry.client import Unauthorized
from hakobune.image.store import ImageStore
from image_helpers import add_image, layer, snapshot
from registry_server import Proxy, Registry

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/bin/docker-registry"),
                                reason="needs Debian's docker-registry")

TOP = layer("app/hello.txt", b"hello from the top layer\n")


@pytest.fixture(autouse=True)
def docker_config(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    monkeypatch.setattr(client, "BACKOFF", 0.01)
    return tmp_path / "docker-config"


@pytest.fixture(scope="module")
def plain_registry():
    with Registry() as server:
        yield server


@pytest.fixture(scope="module")
def busybox_tar(busybox_rootfs):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        archive.add(busybox_rootfs, arcname=".")
    return buffer.getvalue()


def new_store(tmp_path, name="root") -> ImageStore:
    return ImageStore(str(tmp_path / name))


def push_busybox(tmp_path, address, busybox_tar, name="busybox:v1", store_name="pusher") -> tuple[ImageStore, str, str]:
    store = new_store(tmp_path, store_name)
    image_id = import_rootfs(store, io.BytesIO(gzip.compress(busybox_tar, mtime=0)), f"{address}/{name}")
    digest = registry.push(store, f"{address}/{name}")
    return store, image_id, digest


def push_two_layers(tmp_path, address, busybox_tar, base="base:v1", top="app:v1"):
    """An image of the busybox layer alone and one with a layer on it."""
    store = new_store(tmp_path, "pusher2")
    base_id = add_image(store, [busybox_tar], tags=[f"{address}/{base}"])
    top_id = add_image(store, [busybox_tar, TOP], tags=[f"{address}/{top}"])
    registry.push(store, f"{address}/{base}")
    registry.push(store, f"{address}/{top}")
    return base_id, top_id


def pushed_blob(image, index: int):
    """The blob a push sent for layer `index`: the gzip one."""
    (blob,) = [b for b in image.record.layer_blobs[image.diff_ids[index]] if b.media_type.endswith("gzip")]
    return blob


# --- push, pull, round trips ------------------------------------------------------

def test_push_then_pull_gives_the_same_image(tmp_path, plain_registry, busybox_tar):
    pusher, image_id, digest = push_busybox(tmp_path, plain_registry.address, busybox_tar)
    name = f"{plain_registry.address}/busybox"
    assert f"{name}@{digest}" in pusher.inspect(image_id)["RepoDigests"]

    store = new_store(tmp_path)
    events = []
    pulled = registry.pull(store, f"{name}:v1", progress=lambda status, ident=None: events.append(status))
    assert pulled == image_id
    info = store.inspect(f"{name}:v1")
    assert info["Id"] == image_id
    assert info["RepoTags"] == [f"{name}:v1"]
    assert info["RepoDigests"] == [f"{name}@{digest}"]
    assert any(e.startswith("Digest: ") for e in events)
    assert store.layers.exists(store.resolve(image_id).top_chain_id)
    # the unpacked layer is the busybox root file system
    assert os.path.exists(os.path.join(store.layers.diff_dir(store.resolve(image_id).top_chain_id), "bin", "busybox"))

    # removed locally, pulled back by digest
    store.remove(f"{name}:v1")
    assert registry.pull(store, f"{name}@{digest}") == image_id
    assert store.inspect(image_id)["RepoDigests"] == [f"{name}@{digest}"]


def test_pushing_again_uploads_nothing_and_mounts_across_repositories(tmp_path, plain_registry, busybox_tar):
    address = plain_registry.address
    with Proxy(address) as proxy:
        store, image_id, digest = push_busybox(tmp_path, proxy.address, busybox_tar, name="mountsrc:v1")
        uploads = [p for m, p in proxy.requests if m == "PUT" and "/blobs/uploads/" in p]
        assert len(uploads) == 2  # the layer and the config
        proxy.requests.clear()
        assert registry.push(store, f"{proxy.address}/mountsrc:v1") == digest
        assert not [p for m, p in proxy.requests if m in ("PUT", "POST") and "/blobs/" in p]

        store.tag(image_id, f"{proxy.address}/mountdst:v1")
        proxy.requests.clear()
        registry.push(store, f"{proxy.address}/mountdst:v1")
        posts = [p for m, p in proxy.requests if m == "POST"]
        assert posts and all("mount=" in p and "from=mountsrc" in p for p in posts)
        assert not [p for m, p in proxy.requests if m == "PUT" and "/blobs/" in p]


def test_skopeo_reads_what_was_pushed(tmp_path, plain_registry, busybox_tar):
    if shutil.which("skopeo") is None:
        pytest.skip("needs skopeo")
    _, image_id, digest = push_busybox(tmp_path, plain_registry.address, busybox_tar, name="skopeo:v1")
    reference = f"docker://{plain_registry.address}/skopeo:v1"
    done = subprocess.run(["skopeo", "inspect", "--tls-verify=false", reference], capture_output=True, text=True,
                          timeout=60, check=True)
    assert json.loads(done.stdout)["Digest"] == digest
    copy = tmp_path / "copy"
    subprocess.run(["skopeo", "copy", "--src-tls-verify=false", reference, f"dir:{copy}"],
                   capture_output=True, timeout=120, check=True)
    manifest = json.loads((copy / "manifest.json").read_text())
    assert manifest["config"]["digest"] == image_id
    for descriptor in [manifest["config"], *manifest["layers"]]:
        assert (copy / descriptor["digest"].partition(":")[2]).stat().st_size == descriptor["size"]


def test_pull_selects_the_platform_from_an_index(tmp_path, plain_registry, busybox_tar):
    address = plain_registry.address
    _, image_id, digest = push_busybox(tmp_path, address, busybox_tar, name="multi:single")
    size = len(_get(address, f"/v2/multi/manifests/{digest}"))
    entry = {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": digest, "size": size}
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {**entry, "platform": {"os": "linux", "architecture": "s390x"}},
        {**entry, "platform": {"os": "linux", "architecture": os.uname().machine}},
    ]}
    data = json.dumps(index).encode()
    _put(address, "/v2/multi/manifests/all", data, "application/vnd.oci.image.index.v1+json")
    store = new_store(tmp_path)
    assert registry.pull(store, f"{address}/multi:all") == image_id
    from hakobune.oci.digest import digest_bytes
    assert store.inspect(image_id)["RepoDigests"] == [f"{address}/multi@{digest_bytes(data)}"]
    from hakobune.oci.platform import Platform
    with pytest.raises(NotFound, match="no manifest for platform"):
        registry.pull(new_store(tmp_path, "other"), f"{address}/multi:all", platform=Platform("linux", "riscv64"))


def _get(address, path) -> bytes:
    import http.client
    connection = http.client.HTTPConnection(address)
    connection.request("GET", path, headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    data = connection.getresponse().read()
    connection.close()
    return data


def _put(address, path, data, media_type) -> None:
    import http.client
    connection = http.client.HTTPConnection(address)
    connection.request("PUT", path, body=data, headers={"Content-Type": media_type})
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 201, response.status


def test_pull_fetches_only_the_layers_missing(tmp_path, plain_registry, busybox_tar):
    base_id, top_id = push_two_layers(tmp_path, plain_registry.address, busybox_tar)
    with Proxy(plain_registry.address) as proxy:
        store = new_store(tmp_path)
        assert registry.pull(store, f"{proxy.address}/base:v1") == base_id
        proxy.requests.clear()
        proxy.body_bytes = 0
        assert registry.pull(store, f"{proxy.address}/app:v1") == top_id
        blobs = proxy.gets("blobs")
        config = store.resolve(top_id)
        top_blob = config.record.layer_blobs[config.diff_ids[1]][0].digest
        assert sorted(blobs) == sorted([f"/v2/app/blobs/{top_id}", f"/v2/app/blobs/{top_blob}"])
        assert proxy.body_bytes < len(busybox_tar) // 10


# --- auth -----------------------------------------------------------------------

def test_basic_auth_with_login(tmp_path, busybox_tar, docker_config):
    with Registry(users={"alice": "s3cret"}) as server:
        store = new_store(tmp_path, "pusher")
        image_id = import_rootfs(store, io.BytesIO(busybox_tar), f"{server.address}/private:v1")
        with pytest.raises(Unauthorized, match="unauthorized"):
            registry.push(store, f"{server.address}/private:v1")
        with pytest.raises(Unauthorized):
            registry.login(server.address, "alice", "wrong")
        assert not (docker_config / "config.json").exists()

        path = registry.login(server.address, "alice", "s3cret")
        assert os.stat(path).st_mode & 0o777 == 0o600
        assert auth.credentials_for(server.address) == ("alice", "s3cret")
        digest = registry.push(store, f"{server.address}/private:v1")
        other = new_store(tmp_path)
        assert registry.pull(other, f"{server.address}/private:v1") == image_id
        assert other.inspect(image_id)["RepoDigests"] == [f"{server.address}/private@{digest}"]

        assert registry.logout(server.address)
        third = new_store(tmp_path, "third")
        before = snapshot(third.root)
        with pytest.raises(Unauthorized, match="pull access denied for .*private"):
            registry.pull(third, f"{server.address}/private:v1")
        assert snapshot(third.root) == before


def test_credentials_from_a_helper(tmp_path, docker_config, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-fake"
    helper.write_text("#!/bin/sh\nread server\n"
                      "[ \"$server\" = reg.example:5000 ] && "
                      "echo '{\"Username\":\"bob\",\"Secret\":\"pw\"}' && exit 0\n"
                      "echo 'credentials not found in native keychain'; exit 1\n")
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    docker_config.mkdir()
    (docker_config / "config.json").write_text(json.dumps({"credsStore": "fake"}))
    assert auth.credentials_for("reg.example:5000") == ("bob", "pw")
    assert auth.credentials_for("other.example") is None


def test_bearer_token_flow(tmp_path, plain_registry, busybox_tar, docker_config):
    with Proxy(plain_registry.address, bearer={"user": "carol", "password": "tok"}) as proxy:
        store = new_store(tmp_path, "pusher")
        image_id = import_rootfs(store, io.BytesIO(busybox_tar), f"{proxy.address}/tokens:v1")
        with pytest.raises(Unauthorized):
            registry.push(store, f"{proxy.address}/tokens:v1")
        registry.login(proxy.address, "carol", "tok")
        proxy.token_requests.clear()
        digest = registry.push(store, f"{proxy.address}/tokens:v1")
        assert [q["scope"] for q in proxy.token_requests] == [["repository:tokens:pull,push"]]
        assert proxy.token_requests[0]["service"] == ["hakobune-test"]

        other = new_store(tmp_path)
        proxy.token_requests.clear()
        assert registry.pull(other, f"{proxy.address}/tokens:v1") == image_id
        assert [q["scope"] for q in proxy.token_requests] == [["repository:tokens:pull"]]
        assert other.inspect(image_id)["RepoDigests"] == [f"{proxy.address}/tokens@{digest}"]


# --- failures -------------------------------------------------------------------

def test_unknown_manifest_is_not_found(tmp_path, plain_registry):
    store = new_store(tmp_path)
    before = snapshot(store.root)
    with pytest.raises(NotFound, match=r"manifest for .*/nothing:here not found: manifest unknown"):
        registry.pull(store, f"{plain_registry.address}/nothing:here")
    assert snapshot(store.root) == before


def test_transient_failures_are_retried(tmp_path, plain_registry, busybox_tar):
    _, image_id, _ = push_busybox(tmp_path, plain_registry.address, busybox_tar, name="flaky:v1")
    with Proxy(plain_registry.address) as proxy:
        def fault(method, path, n):
            if "/manifests/" in path and n == 0:
                return ("status", 429, {"Retry-After": "0"})
            if "/manifests/" in path and n == 1:
                return 503
            if "/blobs/" in path and n == 0:
                return "reset"
            if "/blobs/" in path and n == 1:
                return ("truncate", 100)
            if "/blobs/" in path and n == 2:
                return "corrupt"
            return None
        proxy.fault = fault
        store = new_store(tmp_path)
        assert registry.pull(store, f"{proxy.address}/flaky:v1") == image_id
        assert len(proxy.gets("manifests")) == 3  # 429, 503, then the manifest
        assert len(proxy.gets("blobs")) == 2 * 4  # config and layer: reset, truncated, corrupt, then whole


def test_persistent_server_errors_fail_and_leave_the_store(tmp_path, plain_registry, busybox_tar):
    push_busybox(tmp_path, plain_registry.address, busybox_tar, name="broken:v1")
    with Proxy(plain_registry.address) as proxy:
        store = new_store(tmp_path)
        before = snapshot(store.root)
        proxy.fault = lambda method, path, n: 500 if "/manifests/" in path else None
        with pytest.raises(SystemFailure, match="500"):
            registry.pull(store, f"{proxy.address}/broken:v1")
        assert len(proxy.gets("manifests")) == client.RETRIES + 1
        for kind in ("corrupt", ("truncate", 10)):
            proxy.fault = lambda method, path, n, kind=kind: kind if "/blobs/" in path and "sha256" in path else None
            with pytest.raises(SystemFailure, match="broken:v1"):
                registry.pull(store, f"{proxy.address}/broken:v1")
            assert snapshot(store.root) == before


def test_an_interrupted_pull_is_completed_by_the_next(tmp_path, plain_registry, busybox_tar):
    base_id, top_id = push_two_layers(tmp_path, plain_registry.address, busybox_tar, base="ibase:v1", top="iapp:v1")
    store = new_store(tmp_path)
    with Proxy(plain_registry.address) as proxy:
        pusher = ImageStore(str(tmp_path / "pusher2"))
        image = pusher.resolve(top_id)
        base_blob = pushed_blob(image, 0).digest
        top_blob = pushed_blob(image, 1).digest
        proxy.fault = lambda method, path, n: "hang" if path.endswith(top_blob) else None
        code = ("import sys; from hakobune.image.store import ImageStore; from hakobune.image import registry; "
                "registry.pull(ImageStore(sys.argv[1]), sys.argv[2])")
        process = subprocess.Popen([sys.executable, "-c", code, store.root, f"{proxy.address}/iapp:v1"])
        try:
            deadline = time.monotonic() + 60
            while not (store.content.exists(base_blob) and proxy.gets("blobs")
                       and any(p.endswith(top_blob) for p in proxy.gets("blobs"))):
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
            time.sleep(0.2)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        assert store.images() == []
        proxy.fault = None
        proxy.requests.clear()
        assert registry.pull(store, f"{proxy.address}/iapp:v1") == top_id
        assert not any(p.endswith(base_blob) for p in proxy.gets("blobs"))
        assert any(p.endswith(top_blob) for p in proxy.gets("blobs"))
        store.gc_temporaries()
        assert os.listdir(os.path.join(store.content.directory, "ingest")) == []


def test_insecure_registries_and_hosts():
    assert client.Client("127.0.0.1:5000").scheme == "http"
    assert client.Client("localhost:5000").scheme == "http"
    assert client.Client("[::1]:5000").scheme == "http"
    assert client.Client("docker.io").base == "https://registry-1.docker.io"
    assert client.Client("reg.example").scheme == "https"
    assert client.Client("reg.example", insecure_registries=["reg.example"]).scheme == "http"


def test_challenges_are_parsed():
    found = auth.parse_challenges('Bearer realm="https://auth.example/token",service="reg",'
                                  'scope="repository:a/b:pull,push", Basic realm="x"')
    assert found == [("bearer", {"realm": "https://auth.example/token", "service": "reg",
                                 "scope": "repository:a/b:pull,push"}), ("basic", {"realm": "x"})]


def test_a_layer_without_a_stored_blob_is_packed_and_gzipped(tmp_path, plain_registry):
    from hakobune.image.difftar import pack_layer
    from hakobune.image.store import LayerSource
    from image_helpers import config_for
    source = tmp_path / "layer"
    (source / "etc").mkdir(parents=True)
    (source / "etc" / "motd").write_text("packed again\n")
    buffer = io.BytesIO()
    pack_layer(str(source), buffer)
    tarball = buffer.getvalue()
    store = new_store(tmp_path, "pusher")
    chain_id = store.layers.register(tarball)
    image_id = store.add_image(config_for([tarball]), [LayerSource(chain_id)],
                               tags=[f"{plain_registry.address}/packed:v1"])
    registry.push(store, f"{plain_registry.address}/packed:v1")
    blobs = store.resolve(image_id).record.layer_blobs[chain_id]
    assert blobs[0].media_type.endswith("tar.gzip")
    other = new_store(tmp_path)
    assert registry.pull(other, f"{plain_registry.address}/packed:v1") == image_id


def _registry_call(address: str, method: str, path: str, body: bytes = b"", headers=None):
    import http.client

    connection = http.client.HTTPConnection(address, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_a_layer_that_is_not_its_diff_id_fails_clearly_and_leaves_the_store(tmp_path, plain_registry,
                                                                            busybox_tar):
    """The blob matches its digest but unpacks to other content than the
    config's diff id: the pull fails naming the layer, the store is as it was."""
    import hashlib

    address = plain_registry.address
    push_busybox(tmp_path, address, busybox_tar, name="liar:v1")
    accept = {"Accept": "application/vnd.docker.distribution.manifest.v2+json"}
    status, _, raw = _registry_call(address, "GET", "/v2/liar/manifests/v1", headers=accept)
    assert status == 200
    manifest = json.loads(raw)
    _, _, config_raw = _registry_call(address, "GET", f"/v2/liar/blobs/{manifest['config']['digest']}")
    config = json.loads(config_raw)
    config["rootfs"]["diff_ids"][0] = "sha256:" + "0" * 64
    config_bytes = json.dumps(config).encode()
    config_digest = "sha256:" + hashlib.sha256(config_bytes).hexdigest()
    status, headers, _ = _registry_call(address, "POST", "/v2/liar/blobs/uploads/")
    location = headers["Location"].replace(f"http://{address}", "")
    separator = "&" if "?" in location else "?"
    status, _, _ = _registry_call(address, "PUT", f"{location}{separator}digest={config_digest}", config_bytes,
                                  {"Content-Type": "application/octet-stream"})
    assert status == 201
    manifest["config"].update(digest=config_digest, size=len(config_bytes))
    status, _, _ = _registry_call(address, "PUT", "/v2/liar/manifests/v2", json.dumps(manifest).encode(),
                                  {"Content-Type": manifest["mediaType"]})
    assert status == 201
    store = new_store(tmp_path)
    before = snapshot(store.root)
    layer_short = manifest["layers"][0]["digest"].partition(":")[2][:12]
    with pytest.raises(SystemFailure, match=f"layer {layer_short} of .*liar:v2 is damaged: layer content does "
                                            "not match its diff id"):
        registry.pull(store, f"{address}/liar:v2")
    assert snapshot(store.root) == before
