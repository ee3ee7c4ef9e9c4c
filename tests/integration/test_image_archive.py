"""save, load and import: round trips, every archive format, compressed
layers, and bad archives that must leave the stores exactly as they were."""

import gzip
import io
import json
import os
import tarfile

import pytest

from hakobune.errors import InvalidArgument, NotFound
from hakobune.image import archive
from hakobune.image.archive import import_rootfs, load, save
from hakobune.image.difftar import pack_layer
from hakobune.image.store import ImageStore, LayerSource
from image_helpers import (FIXTURES, add_image, config_for, gz, layer, oci_layout, sha256, snapshot, tar_members,
                           zstd)
from layer_tars import directory, file, hardlink, opaque, symlink, tar, whiteout

BASE = tar(directory("etc"), file("etc/os-release", b"ID=tiny\n"), symlink("etc/link", "os-release"))
TOP = layer("app/run", b"#!/bin/sh\necho app\n")
OCI_TAR = "application/vnd.oci.image.layer.v1.tar"


@pytest.fixture
def store(tmp_path):
    return ImageStore(str(tmp_path / "root"))


@pytest.fixture
def other(tmp_path):
    return ImageStore(str(tmp_path / "other"))


def saved(store, *names) -> bytes:
    output = io.BytesIO()
    save(store, list(names), output)
    return output.getvalue()


def members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data)) as archive_file:
        return {m.name: archive_file.extractfile(m).read() for m in archive_file if m.isfile()}


# --- save and load ------------------------------------------------------------------

def test_round_trip_keeps_ids_tags_and_bytes(store, other):
    image_id = add_image(store, [BASE, TOP], tags=["app:1", "app:2", "registry.example/x/app:3"])
    data = saved(store, "app:1", "app:2", "registry.example/x/app:3")
    loaded = load(other, io.BytesIO(data))
    assert [entry.id for entry in loaded] == [image_id]
    assert loaded[0].messages() == ["Loaded image: app:1", "Loaded image: app:2",
                                    "Loaded image: registry.example/x/app:3"]
    assert other.resolve("app:1").repo_tags == ["app:1", "app:2", "registry.example/x/app:3"]
    assert other.resolve(image_id).diff_ids == [sha256(BASE), sha256(TOP)]
    assert saved(other, "app:1", "app:2", "registry.example/x/app:3") == data  # reproducible
    assert other.inspect(image_id)["Metadata"]["LastTagTime"] == "0001-01-01T00:00:00Z"  # as docker load


def test_saved_archive_layout(store):
    image_id = add_image(store, [BASE, TOP], tags=["app:1"])
    files = members(saved(store, "app:1"))
    assert files["oci-layout"] == b'{"imageLayoutVersion":"1.0.0"}'
    assert files[f"blobs/sha256/{image_id[7:]}"] == config_for([BASE, TOP])
    assert files[f"blobs/sha256/{sha256(BASE)[7:]}"] == BASE and files[f"blobs/sha256/{sha256(TOP)[7:]}"] == TOP
    [entry] = json.loads(files["manifest.json"])
    assert entry == {"Config": f"blobs/sha256/{image_id[7:]}", "RepoTags": ["app:1"],
                     "Layers": [f"blobs/sha256/{sha256(BASE)[7:]}", f"blobs/sha256/{sha256(TOP)[7:]}"]}
    index = json.loads(files["index.json"])
    [descriptor] = index["manifests"]
    assert descriptor["annotations"] == {"io.containerd.image.name": "docker.io/library/app:1",
                                         "org.opencontainers.image.ref.name": "1"}
    manifest = json.loads(files["blobs/sha256/" + descriptor["digest"][7:]])
    assert manifest["config"]["digest"] == image_id
    assert [layer_["digest"] for layer_ in manifest["layers"]] == [sha256(BASE), sha256(TOP)]
    assert list(json.loads(files["repositories"])) == ["app"]


def test_save_by_name_takes_every_tag_and_by_id_none(store, other):
    first = add_image(store, [BASE], tags=["app:1"])
    second = add_image(store, [TOP], tags=["app:2", "elsewhere:1"])
    entries = json.loads(members(saved(store, "app"))["manifest.json"])
    assert {e["Config"][-64:]: e["RepoTags"] for e in entries} == {first[7:]: ["app:1"], second[7:]: ["app:2"]}
    by_id = saved(store, second[7:19])
    assert json.loads(members(by_id)["manifest.json"])[0]["RepoTags"] is None
    [loaded] = load(other, io.BytesIO(by_id))
    assert loaded.messages() == [f"Loaded image ID: {second}"] and other.resolve(second).repo_tags == []


def test_loading_moves_a_tag_and_says_so(store, other):
    image_id = add_image(store, [BASE], tags=["app:1"])
    older = add_image(other, [TOP], tags=["app:1"])
    [loaded] = load(other, io.BytesIO(saved(store, "app:1")))
    assert loaded.moved == {"app:1": older}
    assert other.resolve("app:1").id == image_id and other.resolve(older).repo_tags == []


def test_load_a_layer_stored_compressed_then_save_it_uncompressed(store, other):
    config = config_for([BASE, TOP])
    data = oci_layout([{"config": config, "layers": [(gz(BASE), OCI_TAR + "+gzip"), (zstd(TOP), OCI_TAR + "+zstd")],
                        "annotations": {"org.opencontainers.image.ref.name": "example.com/app:gz"}}])
    [loaded] = load(store, io.BytesIO(data))
    assert loaded.id == sha256(config) and loaded.messages() == ["Loaded image: example.com/app:gz"]
    image = store.resolve("example.com/app:gz")
    assert [blob.digest for blob in image.record.layer_blobs[sha256(BASE)]] == [sha256(gz(BASE))]
    assert image.record.layer_blobs[sha256(TOP)][0].media_type == OCI_TAR + "+zstd"
    assert len(image.record.manifests) == 1 and store.content.exists(image.record.manifests[0])
    files = members(saved(store, "example.com/app:gz"))
    assert files[f"blobs/sha256/{sha256(BASE)[7:]}"] == BASE and files[f"blobs/sha256/{sha256(TOP)[7:]}"] == TOP
    load(other, io.BytesIO(saved(store, "example.com/app:gz")))
    assert other.resolve("example.com/app:gz").id == loaded.id


def test_oci_names_from_annotations(store):
    configs = [config_for([BASE], created=f"2024-01-0{i}T00:00:00Z") for i in (1, 2, 3)]
    data = oci_layout([
        {"config": configs[0], "layers": [(BASE, OCI_TAR)],
         "annotations": {"io.containerd.image.name": "docker.io/library/one:1",
                         "org.opencontainers.image.ref.name": "1"}},
        {"config": configs[1], "layers": [(BASE, OCI_TAR)], "annotations": {"org.opencontainers.image.ref.name": "v2"}},
        {"config": configs[2], "layers": [(BASE, OCI_TAR)], "annotations": {}}])
    loaded = load(store, io.BytesIO(data))
    assert [entry.messages() for entry in loaded] == [["Loaded image: one:1"], [f"Loaded image ID: {sha256(configs[1])}"],
                                                      [f"Loaded image ID: {sha256(configs[2])}"]]


def test_a_nested_index_gives_this_machines_manifest(store):
    config = config_for([BASE])
    data = oci_layout([{"config": config, "layers": [(BASE, OCI_TAR)],
                        "annotations": {"io.containerd.image.name": "multi:1"}}], nested=True)
    [loaded] = load(store, io.BytesIO(data))
    assert loaded.id == sha256(config) and store.resolve("multi:1").id == loaded.id


def old_docker_archive(config: bytes, layers: list[bytes], tags) -> list[tuple[str, bytes]]:
    """Docker 20.10's layout, the first layer linked from a second v1 directory."""
    files = [(f"{sha256(config)[7:]}.json", config)]
    names = []
    for i, data in enumerate(layers):
        files += [(f"v1id{i}/VERSION", b"1.0"), (f"v1id{i}/layer.tar", data)]
        names.append(f"v1id{i}/layer.tar")
    files.append(("manifest.json", json.dumps([{"Config": f"{sha256(config)[7:]}.json", "RepoTags": tags,
                                               "Layers": names}]).encode()))
    return files


def test_old_docker_format_with_linked_layers(store):
    config = config_for([BASE, TOP])
    files = old_docker_archive(config, [BASE, TOP], ["old:1"])
    data = tar_members(files + [("manifest.json", json.dumps([
        {"Config": f"{sha256(config)[7:]}.json", "RepoTags": ["old:1"], "Layers": ["v1id0/layer.tar", "v1id1/layer.tar"]},
        {"Config": f"{sha256(config)[7:]}.json", "RepoTags": ["old:2"], "Layers": ["dup/layer.tar", "v1id1/layer.tar"]},
    ]).encode())], links={"dup/layer.tar": "../v1id0/layer.tar"})
    [loaded] = load(store, io.BytesIO(gzip.compress(data)))  # a gzipped archive, as docker load takes
    assert loaded.id == sha256(config) and store.resolve(loaded.id).repo_tags == ["old:1", "old:2"]


def test_every_fixture_loads(store):
    expected = {"podman-docker-archive.tar": ["localhost/hakobune-fixture:podman"],
                "podman-oci-archive.tar": ["localhost/hakobune-fixture:podman"],
                "docker-save.tar": ["hakobune-fixture:docker", "hakobune-fixture:docker-base"]}
    for name, tags in expected.items():
        with open(os.path.join(FIXTURES, name), "rb") as f:
            loaded = load(store, f)
        assert [tag.familiar for entry in loaded for tag in entry.tags] == tags


# --- bad archives ---------------------------------------------------------------------

def assert_refused(store, data: bytes, match: str, error=InvalidArgument) -> None:
    before = snapshot(store.root)
    with pytest.raises(error, match=match):
        load(store, io.BytesIO(data))
    assert snapshot(store.root) == before
    assert os.listdir(store.temporary) == []


def replace_member(data: bytes, name: str, content: bytes | None) -> bytes:
    files = [(n, c) for n, c in members(data).items() if n != name]
    if content is not None:
        files.append((name, content))
    return tar_members(files)


@pytest.fixture
def good_archive(tmp_path) -> tuple[bytes, str]:
    source = ImageStore(str(tmp_path / "source"))
    image_id = add_image(source, [BASE, TOP], tags=["app:1"])
    return saved(source, "app:1"), image_id


def test_a_blob_that_does_not_match_its_digest(store, good_archive):
    data, _ = good_archive
    assert_refused(store, replace_member(data, f"blobs/sha256/{sha256(TOP)[7:]}", TOP + b"\0" * 512),
                   "does not match its digest")


def test_a_layer_that_is_not_its_diff_id(store):
    config = config_for([BASE])
    assert_refused(store, tar_members(old_docker_archive(config, [TOP], ["bad:1"])), "does not match its diff id")


def test_a_config_that_is_not_its_name(store):
    config = config_for([BASE])
    files = old_docker_archive(config, [BASE], ["bad:1"])
    files[0] = (files[0][0], config_for([BASE], created="1999-01-01T00:00:00Z"))
    assert_refused(store, tar_members(files), "does not match its digest")


def test_a_missing_blob(store, good_archive):
    data, _ = good_archive
    assert_refused(store, replace_member(data, f"blobs/sha256/{sha256(TOP)[7:]}", None), "has no")


@pytest.mark.parametrize("name", ["../escape", "/etc/passwd", "blobs/../../x"])
def test_member_names_that_climb_out(store, good_archive, name):
    data, _ = good_archive
    assert_refused(store, tar_members(list(members(data).items()) + [(name, b"x")]), "climbs out|absolute")


def test_manifest_paths_and_links_that_climb_out(store):
    config = config_for([BASE])
    files = old_docker_archive(config, [BASE], ["bad:1"])
    escaping = [(n, c) if n != "manifest.json" else (n, c.replace(b"v1id0/layer.tar", b"../../etc/passwd"))
                for n, c in files]
    assert_refused(store, tar_members(escaping), "climbs out")
    linked = [(n, c) for n, c in files if n != "v1id0/layer.tar"]
    assert_refused(store, tar_members(linked, links={"v1id0/layer.tar": "../../../etc/shadow"}), "outside")


def test_a_truncated_archive(store, good_archive):
    data, _ = good_archive
    for cut in (len(data) // 3, len(data) - 5000):
        assert_refused(store, data[:cut], "truncated|short|end|checksum")


def test_not_an_archive(store):
    assert_refused(store, b"not a tar at all" * 64, "checksum|not a tar")
    assert_refused(store, tar_members([("hello.txt", b"hi")]), "neither manifest.json")


def test_a_failure_after_layers_were_stored_leaves_nothing(store, other, good_archive, monkeypatch):
    data, image_id = good_archive
    add_image(store, [BASE], tags=["shared:1"])  # the base layer was there before and stays
    before = snapshot(store.root)

    def fail(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(ImageStore, "write_references", fail)
    with pytest.raises(OSError, match="disk full"):
        load(store, io.BytesIO(data))
    monkeypatch.undo()
    assert snapshot(store.root) == before
    assert store.resolve("shared:1").id != image_id and store.layers.exists(sha256(BASE))


# --- import -------------------------------------------------------------------------

def test_import_with_changes(store):
    changes = ['CMD ["sh"]', "ENTRYPOINT /bin/run --flag", "ENV A=1 B='two words'", "ENV A 3",
               "EXPOSE 80 53/udp 8000-8001", "LABEL a=b", "USER nobody", "WORKDIR /srv", "WORKDIR data",
               "VOLUME /data /cache", "STOPSIGNAL SIGINT", "ONBUILD RUN true"]
    image_id = import_rootfs(store, io.BytesIO(gz(BASE)), "imported:v1", changes=changes, message="made here")
    config = store.inspect("imported:v1")["Config"]
    assert config["Cmd"] == ["sh"] and config["Entrypoint"] == ["/bin/sh", "-c", "/bin/run --flag"]
    assert config["Env"] == ["A=3", "B=two words"] and config["Labels"] == {"a": "b"}
    assert config["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}, "8000/tcp": {}, "8001/tcp": {}}
    assert config["User"] == "nobody" and config["WorkingDir"] == "/srv/data" and config["StopSignal"] == "SIGINT"
    assert config["Volumes"] == {"/data": {}, "/cache": {}} and config["OnBuild"] == ["RUN true"]
    history = store.history(image_id)
    assert [(h["Comment"], h["CreatedBy"], h["Size"]) for h in history] == [("made here", "", len(b"ID=tiny\n"))]
    assert store.resolve(image_id).diff_ids == [sha256(BASE)]
    assert store.inspect(image_id)["Comment"] == "made here"


def test_import_without_a_name_and_refusals(store):
    image_id = import_rootfs(store, io.BytesIO(BASE))
    assert store.history(image_id)[0]["Comment"] == "Imported from -" and store.list()[0]["RepoTags"] == \
        ["<none>:<none>"]
    before = snapshot(store.root)
    with pytest.raises(InvalidArgument, match="from is not a valid change command"):
        import_rootfs(store, io.BytesIO(TOP), changes=["FROM scratch"])
    with pytest.raises(InvalidArgument, match="invalid reference format"):
        import_rootfs(store, io.BytesIO(TOP), "Not Valid")
    with pytest.raises(InvalidArgument):
        import_rootfs(store, io.BytesIO(b"garbage" * 100))
    assert snapshot(store.root) == before


# --- layers without a stored blob ---------------------------------------------------

@pytest.mark.root  # whiteouts are device nodes
def test_layers_without_blobs_are_packed_again_to_their_diff_id(store, other):
    lower = tar(directory("etc"), file("etc/gone", b"x"), directory("opq"), file("opq/old", b"o"),
                file("h1", b"hard"), hardlink("h2", "h1"), symlink("l", "etc/gone"))
    upper = tar(whiteout("etc/gone"), opaque("opq"), file("opq/new", b"n"))
    first = store.layers.register(lower)
    canonical_lower = packed(store.layers.diff_dir(first))
    base = store.layers.register(canonical_lower)
    canonical_upper = packed(store.layers.diff_dir(store.layers.register(upper, base)))
    top = store.layers.register(canonical_upper, base)
    assert packed(store.layers.diff_dir(top)) == canonical_upper  # packing is a fixed point
    names = tarfile.open(fileobj=io.BytesIO(canonical_upper)).getnames()
    assert names == ["etc", "etc/.wh.gone", "opq", "opq/.wh..wh..opq", "opq/new"]
    config = config_for([canonical_lower, canonical_upper])
    image_id = store.add_image(config, [LayerSource(sha256(canonical_lower)), LayerSource(sha256(canonical_upper))],
                               tags=["packed:1"])
    load(other, io.BytesIO(saved(store, "packed:1")))
    assert other.resolve("packed:1").id == image_id


def packed(directory_path: str) -> bytes:
    output = io.BytesIO()
    pack_layer(directory_path, output)
    return output.getvalue()


def test_save_refuses_unknown_names(store):
    with pytest.raises(NotFound, match="No such image: nothing:latest"):
        saved(store, "nothing")
    with pytest.raises(InvalidArgument):
        archive.save(store, [], io.BytesIO())


def test_links_that_go_round_in_circles(store):
    config = config_for([BASE])
    files = [(n, c) for n, c in old_docker_archive(config, [BASE], ["loop:1"]) if n != "v1id0/layer.tar"]
    assert_refused(store, tar_members(files, links={"v1id0/layer.tar": "../a/layer.tar",
                                                    "a/layer.tar": "../v1id0/layer.tar"}), "too many links")


def test_a_compressed_blob_of_unknown_size_is_decompressed_for_save(store, other):
    from hakobune.image.records import LayerBlob
    chain = store.layers.register(gz(BASE))
    blob = store.content.put(gz(BASE))
    config = config_for([BASE])
    image_id = store.add_image(config, [LayerSource(sha256(BASE), LayerBlob(blob.digest, OCI_TAR + "+gzip",
                                                                             blob.size))], tags=["gz:1"])
    assert chain == sha256(BASE)
    files = members(saved(store, "gz:1"))
    assert files[f"blobs/sha256/{sha256(BASE)[7:]}"] == BASE
    load(other, io.BytesIO(saved(store, "gz:1")))
    assert other.resolve("gz:1").id == image_id


def test_kill_9_during_a_load_is_cleaned_up(tmp_path):
    import random
    import signal
    import subprocess
    import sys
    import textwrap
    layers = [layer(f"data/{i}", random.randbytes(3 << 20)) for i in range(6)]
    source = ImageStore(str(tmp_path / "source"))
    add_image(source, layers, tags=["big:1"])
    archive_path = tmp_path / "big.tar"
    archive_path.write_bytes(saved(source, "big:1"))
    root = str(tmp_path / "target")
    empty = snapshot(ImageStore(root).root)
    script = textwrap.dedent(f"""
        from hakobune.image.archive import load
        from hakobune.image.store import ImageStore
        store = ImageStore({root!r})
        print("ready", flush=True)
        load(store, open({str(archive_path)!r}, "rb"))
        """)
    for delay in (0.02, 0.1, 0.3, 0.6, 2.0):
        process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
        assert process.stdout.readline() == b"ready\n"
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()
        store = ImageStore(root)
        store.gc_temporaries()
        if not store.images():
            store.collect_orphans()
        else:
            assert store.resolve("big:1").id == source.resolve("big:1").id
            store.remove("big:1")
        after = snapshot(root)
        if store.read_references().entries == {}:
            after.pop("image/repositories.json", None)
        assert after == empty, f"killed after {delay}s"
        assert os.listdir(store.temporary) == [] and os.listdir(store.leases_directory) == []
