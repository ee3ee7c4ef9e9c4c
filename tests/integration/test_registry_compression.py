"""Push gzips layers stored uncompressed (a loaded docker-archive keeps its
layer.tar files as they are), in parallel, and keeps the gzip blobs: the
pulled image is the same, and later pushes send the stored gzip blobs."""

import io
import json
import os
import threading

import pytest

from hakobune.image import registry
from hakobune.image.archive import load
from hakobune.image.registry import client, pushing
from hakobune.image.store import ImageStore
from hakobune.oci.image_spec import DOCKER_LAYER_GZIP
from image_helpers import config_for, layer, sha256, tar_members
from registry_server import Proxy, Registry

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/bin/docker-registry"),
                                reason="needs Debian's docker-registry")

LAYERS = [layer(f"data/file{i}.txt", (f"layer {i} " * 20000).encode()) for i in range(3)]


@pytest.fixture(autouse=True)
def docker_config(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    monkeypatch.setattr(client, "BACKOFF", 0.01)


@pytest.fixture(scope="module")
def plain_registry():
    with Registry() as server:
        yield server


def docker_archive(layers: list[bytes], tag: str) -> bytes:
    config = config_for(layers)
    files = [(f"{sha256(config)[7:]}.json", config)]
    names = []
    for i, data in enumerate(layers):
        files.append((f"l{i}/layer.tar", data))
        names.append(f"l{i}/layer.tar")
    files.append(("manifest.json", json.dumps([{"Config": f"{sha256(config)[7:]}.json", "RepoTags": [tag],
                                                "Layers": names}]).encode()))
    return tar_members(files)


def loaded(tmp_path, tag: str) -> tuple[ImageStore, str]:
    store = ImageStore(str(tmp_path / "pusher"))
    [image] = load(store, io.BytesIO(docker_archive(LAYERS, tag)))
    assert all(not b.media_type.endswith("gzip") for blobs in store.resolve(image.id).record.layer_blobs.values()
               for b in blobs)
    return store, image.id


def registry_manifest(address: str, repository: str, tag: str) -> dict:
    import http.client
    connection = http.client.HTTPConnection(address, timeout=10)
    connection.request("GET", f"/v2/{repository}/manifests/{tag}",
                       headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    response = connection.getresponse()
    assert response.status == 200
    doc = json.loads(response.read())
    connection.close()
    return doc


def test_push_gzips_uncompressed_layers_once(tmp_path, plain_registry, monkeypatch):
    address = plain_registry.address
    store, image_id = loaded(tmp_path, f"{address}/gz:v1")
    threads = set()
    compress = pushing._compress

    def spy(*args, **kw):
        threads.add(threading.current_thread().name)
        return compress(*args, **kw)

    monkeypatch.setattr(pushing, "_compress", spy)
    events = []
    registry.push(store, f"{address}/gz:v1", progress=lambda status, ident=None: events.append((status, ident)))
    assert len(threads) >= 2 and all(name.startswith("push") for name in threads)

    manifest = registry_manifest(address, "gz", "v1")
    assert [entry["mediaType"] for entry in manifest["layers"]] == [DOCKER_LAYER_GZIP] * 3
    image = store.resolve(image_id)
    for entry, diff_id, data in zip(manifest["layers"], image.diff_ids, LAYERS):
        gzipped = [b for b in image.record.layer_blobs[diff_id] if b.media_type == DOCKER_LAYER_GZIP]
        assert [(b.digest, b.size, b.diff_size) for b in gzipped] == [(entry["digest"], entry["size"], len(data))]
        assert entry["size"] < len(data) // 10
        assert store.content.exists(entry["digest"])
    # layers are named by their diff ids, and bytes are counted
    shorts = [d.partition(":")[2][:12] for d in image.diff_ids]
    assert [ident for status, ident in events if status == "Preparing"] == shorts
    assert {ident for status, ident in events if status == "Pushed"} == set(shorts)
    pushing_events = [status for status, ident in events if status == "Pushing"]
    assert pushing_events and all(s.total > 0 and 0 < s.current <= s.total for s in pushing_events)

    # the pulled image is the same (the diff ids did not change)
    other = ImageStore(str(tmp_path / "puller"))
    assert registry.pull(other, f"{address}/gz:v1") == image_id

    # pushing to another registry (the proxy's address) sends the same gzip blobs, compressed once
    monkeypatch.setattr(pushing, "_compress", lambda *a, **kw: pytest.fail("compressed again"))
    before = sorted(os.listdir(os.path.join(store.content.directory, "sha256")))
    with Proxy(address) as proxy:
        from hakobune.oci.reference import parse
        store.commit([], [(parse(f"{proxy.address}/gz2:v1"), image_id)])
        registry.push(store, f"{proxy.address}/gz2:v1")
        uploads = [p for m, p in proxy.requests if m == "PUT" and "/blobs/" in p]
        assert len(uploads) == 4  # three layers and the config: the repository is new
        manifest2 = registry_manifest(address, "gz2", "v1")
        assert manifest2["layers"] == manifest["layers"]
    assert sorted(os.listdir(os.path.join(store.content.directory, "sha256"))) == before


def test_second_push_to_the_same_repository_uploads_nothing(tmp_path, plain_registry):
    address = plain_registry.address
    store, image_id = loaded(tmp_path, f"{address}/gzagain:v1")
    registry.push(store, f"{address}/gzagain:v1")
    with Proxy(address) as proxy:
        from hakobune.oci.reference import parse
        store.commit([], [(parse(f"{proxy.address}/gzagain:v1"), image_id)])
        events = []
        registry.push(store, f"{proxy.address}/gzagain:v1",
                      progress=lambda status, ident=None: events.append((status, ident)))
        assert [m for m, p in proxy.requests if m not in ("GET", "HEAD")] == ["PUT"]  # the manifest only
        assert [s for s, _ in events if s in ("Layer already exists", "Pushed", "Pushing")] == \
            ["Layer already exists"] * 3


# --- keep-alive -------------------------------------------------------------------

def test_connections_are_reused_per_thread(tmp_path, plain_registry, monkeypatch):
    import http.client
    address = plain_registry.address
    store, image_id = loaded(tmp_path, f"{address}/keepalive:v1")
    connects = []
    connect = http.client.HTTPConnection.connect

    def counting(self):
        connects.append(threading.current_thread().name)
        return connect(self)

    monkeypatch.setattr(http.client.HTTPConnection, "connect", counting)
    registry.push(store, f"{address}/keepalive:v1")
    # ping, 3 HEADs, 2 POST+PUT per layer, config HEAD/POST/PUT, manifest PUT: on the main thread's
    # connection and one per worker thread
    assert len(connects) <= 1 + pushing.PARALLEL, connects
    connects.clear()
    other = ImageStore(str(tmp_path / "puller"))
    assert registry.pull(other, f"{address}/keepalive:v1") == image_id
    from hakobune.image.registry import pulling
    assert len(connects) <= 1 + pulling.PARALLEL, connects


def test_a_connection_the_server_closed_is_replaced(plain_registry):
    c = client.Client(plain_registry.address)
    c.ping()
    (idle,) = c._idle().values()
    idle.sock.close()  # as if the server had closed it while idle
    c.ping()
    (again,) = c._idle().values()
    assert again is not idle
    c.close()
    assert again.sock is None


def test_incompressible_layers_are_stored_not_deflated(tmp_path):
    import gzip
    import random
    rng = random.Random(7)
    noise = bytes(rng.getrandbits(8) for _ in range(3 << 20))
    text = (b"compressible text " * 200000)
    assert pushing._level_for(io.BytesIO(noise), len(noise)) == 0
    assert pushing._level_for(io.BytesIO(text), len(text)) == pushing.COMPRESSION_LEVEL
    assert pushing._level_for(io.BytesIO(b""), 0) == pushing.COMPRESSION_LEVEL
    store = ImageStore(str(tmp_path / "store"))
    from hakobune.image.records import LayerBlob
    with store.lease() as lease:
        for data in (noise, text):
            stored = store.content.put(data)
            blob = pushing._compress(store, LayerBlob(stored.digest, "application/vnd.oci.image.layer.v1.tar",
                                                      stored.size), lease)
            packed = store.content.read(blob.digest)
            assert gzip.decompress(packed) == data and blob.diff_size == len(data)
            assert len(packed) < len(data) * (1.001 if data is noise else 0.1)
