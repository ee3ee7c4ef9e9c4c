"""Manifests, indexes, image configs, platforms, digests and chain ids."""

import base64
import hashlib
import json

import pytest

from hakobune.errors import InvalidArgument, NotFound
from hakobune.oci import image_spec as spec
from hakobune.oci.digest import check_digest, digest_bytes, digest_problem, split_digest
from hakobune.oci.image_config import parse_image_config
from hakobune.oci.platform import (Platform, compatible_variants, host_platform, parse_platform,
                                   platform_matches)

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
D3 = "sha256:" + "3" * 64


def descriptor(media_type=spec.OCI_LAYER_GZIP, digest=D1, size=10, **extra):
    return {"mediaType": media_type, "digest": digest, "size": size, **extra}


def manifest_doc(**changes):
    doc = {"schemaVersion": 2, "mediaType": spec.DOCKER_MANIFEST,
           "config": descriptor(spec.DOCKER_CONFIG, D1, 100),
           "layers": [descriptor(spec.DOCKER_LAYER_GZIP, D2, 2000), descriptor(spec.DOCKER_LAYER_GZIP, D3, 3000)]}
    doc.update(changes)
    return json.dumps(doc).encode()


def index_doc(*platforms, media_type=spec.OCI_INDEX):
    manifests = []
    for i, platform in enumerate(platforms):
        os_name, arch, *variant = platform.split("/")
        p = {"os": os_name, "architecture": arch, **({"variant": variant[0]} if variant else {})}
        manifests.append(descriptor(spec.OCI_MANIFEST, "sha256:" + f"{i:x}" * 64, 500, platform=p))
    return json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": manifests}).encode()


# --- digests ------------------------------------------------------------------

def test_digests():
    assert check_digest(D1) == D1
    assert split_digest("sha512:" + "a" * 128) == ("sha512", "a" * 128)
    assert digest_bytes(b"x") == "sha256:" + hashlib.sha256(b"x").hexdigest()
    assert digest_bytes(b"x", "sha512") == "sha512:" + hashlib.sha512(b"x").hexdigest()


@pytest.mark.parametrize("text, problem", [
    ("sha256:" + "a" * 63, "length"), ("sha256:" + "A" * 64, "format"), ("md5:" + "a" * 32, "unsupported"),
    ("sha256", "format"), (":" + "a" * 64, "format"), ("sha256:../../etc/passwd" + "a" * 48, "format"),
    ("sha512:" + "a" * 64, "length"),
])
def test_bad_digests(text, problem):
    assert problem in digest_problem(text)
    with pytest.raises(InvalidArgument, match="layer digest"):
        check_digest(text, "layer digest")


# --- manifests ----------------------------------------------------------------

def test_docker_manifest():
    manifest = spec.parse_manifest(manifest_doc())
    assert manifest.media_type == spec.DOCKER_MANIFEST
    assert manifest.config == spec.Descriptor(spec.DOCKER_CONFIG, D1, 100)
    assert [layer.digest for layer in manifest.layers] == [D2, D3]
    spec.check_image_manifest(manifest)


def test_oci_manifest_without_media_type_is_recognised_by_shape():
    raw = manifest_doc(mediaType=None, config=descriptor(spec.OCI_CONFIG, D1, 5),
                       layers=[descriptor(spec.OCI_LAYER_ZSTD, D2, 7, annotations={"a": "b"})])
    doc = json.loads(raw)
    del doc["mediaType"]
    manifest = spec.parse_manifest(json.dumps(doc).encode())
    assert manifest.media_type == spec.OCI_MANIFEST
    assert manifest.layers[0].annotations == {"a": "b"}
    assert spec.detect_media_type(json.dumps(doc).encode()) == spec.OCI_MANIFEST


def test_served_media_type_must_agree():
    with pytest.raises(InvalidArgument, match="served as"):
        spec.parse_manifest(manifest_doc(), spec.OCI_MANIFEST)
    assert spec.parse_manifest(manifest_doc(), spec.DOCKER_MANIFEST).media_type == spec.DOCKER_MANIFEST


def test_an_index_is_no_manifest():
    with pytest.raises(InvalidArgument, match="expected an image manifest"):
        spec.parse_manifest(index_doc("linux/amd64"))


@pytest.mark.parametrize("changes, message", [
    ({"schemaVersion": 1}, "schema 1 is not supported"),
    ({"fsLayers": []}, "schema 1 is not supported"),
    ({"schemaVersion": 3}, "schemaVersion: expected 2"),
    ({"schemaVersion": "2"}, "schemaVersion: expected 2"),
    ({"layers": None}, "manifest.layers: expected a list"),
    ({"config": None}, "manifest.config: expected an object, got nothing"),
    ({"layers": [descriptor(digest="sha256:abc")]}, "manifest.layers[0].digest"),
    ({"layers": [descriptor(size=-1)]}, "manifest.layers[0].size"),
    ({"layers": [descriptor(size=True)]}, "manifest.layers[0].size"),
    ({"layers": [descriptor(size=1.5)]}, "manifest.layers[0].size"),
    ({"layers": [{"digest": D1, "size": 1}]}, "manifest.layers[0].mediaType"),
    ({"layers": [descriptor(urls="http://x")]}, "manifest.layers[0].urls"),
    ({"layers": [descriptor(platform={"os": "linux"})]}, "os and architecture are required"),
    ({"annotations": {"a": 1}}, "manifest.annotations"),
    ({"mediaType": 7}, "manifest.mediaType"),
])
def test_bad_manifests(changes, message):
    with pytest.raises(InvalidArgument) as error:
        spec.parse_manifest(manifest_doc(**changes))
    assert message in str(error.value)


def test_malformed_json():
    with pytest.raises(InvalidArgument, match="malformed JSON"):
        spec.parse_manifest(b"{not json")
    with pytest.raises(InvalidArgument, match="expected an object"):
        spec.parse_manifest(b"[]")


def test_image_manifest_checks_config_and_layer_types():
    artifact = spec.parse_manifest(manifest_doc(config=descriptor("application/vnd.example+json", D1, 2)))
    with pytest.raises(InvalidArgument, match="not an image config"):
        spec.check_image_manifest(artifact)
    odd = spec.parse_manifest(manifest_doc(layers=[descriptor("application/x-odd", D2, 1)]))
    with pytest.raises(InvalidArgument, match=r"layers\[0\]: unsupported layer media type"):
        spec.check_image_manifest(odd)


def test_embedded_data_is_verified():
    data = b'{"x":1}'
    good = descriptor(spec.OCI_CONFIG, digest_bytes(data), len(data), data=base64.b64encode(data).decode())
    manifest = spec.parse_manifest(manifest_doc(config=good))
    assert manifest.config.data == data
    bad = dict(good, data=base64.b64encode(b'{"x":2}').decode())
    with pytest.raises(InvalidArgument, match="does not match"):
        spec.parse_manifest(manifest_doc(config=bad))


def test_descriptor_round_trip():
    doc = descriptor(spec.OCI_MANIFEST, D2, 3, urls=["https://x/y"], annotations={"k": "v"},
                     platform={"architecture": "arm", "os": "linux", "variant": "v7"}, artifactType="a/b")
    assert spec.descriptor_from_dict(doc).to_dict() == doc


@pytest.mark.parametrize("media_type, compression", [
    (spec.OCI_LAYER, ""), (spec.OCI_LAYER_GZIP, "gzip"), (spec.OCI_LAYER_ZSTD, "zstd"),
    (spec.DOCKER_LAYER_GZIP, "gzip"), (spec.DOCKER_FOREIGN_LAYER_GZIP, "gzip"), (spec.DOCKER_LAYER, ""),
    (spec.OCI_LAYER_NONDISTRIBUTABLE_ZSTD, "zstd"),
])
def test_layer_compression(media_type, compression):
    assert spec.layer_compression(media_type) == compression


def test_foreign_layers():
    assert spec.DOCKER_FOREIGN_LAYER_GZIP in spec.FOREIGN_LAYER_TYPES
    assert spec.OCI_LAYER_GZIP not in spec.FOREIGN_LAYER_TYPES
    with pytest.raises(InvalidArgument):
        spec.layer_compression("application/vnd.oci.image.layer.v1.tar+bzip2")


# --- indexes and platforms ----------------------------------------------------------

def test_index_and_manifest_list():
    index = spec.parse_index(index_doc("linux/amd64", "linux/arm64/v8", media_type=spec.DOCKER_MANIFEST_LIST))
    assert index.media_type == spec.DOCKER_MANIFEST_LIST
    assert [str(d.platform) for d in index.manifests] == ["linux/amd64", "linux/arm64/v8"]
    with pytest.raises(InvalidArgument, match="expected an image index"):
        spec.parse_index(manifest_doc())


@pytest.mark.parametrize("offered, wanted, chosen", [
    (["linux/arm64", "linux/amd64"], "linux/amd64", "linux/amd64"),
    (["linux/amd64", "linux/arm64"], "linux/arm64/v8", "linux/arm64"),
    (["linux/arm/v6", "linux/arm/v7"], "linux/arm/v7", "linux/arm/v7"),
    (["linux/arm/v5", "linux/arm/v6"], "linux/arm/v7", "linux/arm/v6"),
    (["linux/arm/v6", "linux/arm64/v8"], "linux/arm", "linux/arm/v6"),
    (["linux/amd64", "linux/amd64/v3"], "linux/amd64/v3", "linux/amd64/v3"),
    (["linux/amd64/v2", "linux/amd64"], "linux/amd64/v3", "linux/amd64/v2"),
    (["linux/amd64/v3", "linux/amd64"], "linux/amd64", "linux/amd64"),
    (["windows/amd64", "linux/amd64"], "linux/amd64", "linux/amd64"),
    (["linux/386", "linux/s390x"], "linux/i686", "linux/386"),
])
def test_select_manifest(offered, wanted, chosen):
    index = spec.parse_index(index_doc(*offered))
    assert str(spec.select_manifest(index, parse_platform(wanted)).platform) == chosen


def test_select_manifest_defaults_to_the_host_and_names_what_is_offered():
    index = spec.parse_index(index_doc("linux/amd64", "linux/arm64"))
    assert spec.select_manifest(index).platform.normalized() == host_platform()
    with pytest.raises(NotFound) as error:
        spec.select_manifest(index, parse_platform("linux/ppc64le"))
    assert "linux/ppc64le" in str(error.value) and "linux/amd64, linux/arm64" in str(error.value)


def test_attestation_manifests_are_never_chosen():
    doc = json.loads(index_doc("unknown/unknown", "linux/amd64"))
    chosen = spec.select_manifest(spec.parse_index(json.dumps(doc).encode()), parse_platform("linux/amd64"))
    assert str(chosen.platform) == "linux/amd64"


def test_platforms():
    assert host_platform() == Platform("linux", "amd64", "v1")
    assert Platform("linux", "x86_64").normalized() == Platform("linux", "amd64", "v1")
    assert Platform("linux", "aarch64").normalized() == Platform("linux", "arm64", "v8")
    assert Platform("linux", "armhf").normalized() == Platform("linux", "arm", "v7")
    assert Platform("linux", "arm", "7").normalized() == Platform("linux", "arm", "v7")
    assert compatible_variants(Platform("linux", "arm", "v7")) == ("v7", "v6", "v5")
    assert platform_matches(Platform("linux", "arm64"), Platform("linux", "aarch64", "v8"))
    assert not platform_matches(Platform("linux", "amd64"), Platform("linux", "amd64", "v2"))
    assert not platform_matches(Platform("linux", "amd64"), Platform("windows", "amd64"))
    assert str(parse_platform("linux/arm/v7")) == "linux/arm/v7"
    for bad in ("", "linux/", "a/b/c/d"):
        with pytest.raises(InvalidArgument):
            parse_platform(bad)


# --- chain ids ----------------------------------------------------------------

def test_chain_ids():
    first = spec.chain_id_of(None, D1)
    second = "sha256:" + hashlib.sha256(f"{D1} {D2}".encode()).hexdigest()
    third = "sha256:" + hashlib.sha256(f"{second} {D3}".encode()).hexdigest()
    assert first == D1
    assert spec.chain_ids([D1, D2, D3]) == [D1, second, third]
    assert spec.chain_id([D1, D2]) == second
    with pytest.raises(InvalidArgument):
        spec.chain_id([])
    with pytest.raises(InvalidArgument, match=r"diff_ids\[1\]"):
        spec.chain_ids([D1, "sha256:nope"])


def test_chain_id_of_a_known_image():
    # busybox:1.36.1 (amd64) has a single layer: its chain id is its diff id.
    diff_id = "sha256:3d24ee258efc3bfe4066a1a9fb83febf6dc0b1548dfe896161533668281c9f4f"
    assert spec.chain_ids([diff_id]) == [diff_id]


# --- image configs ------------------------------------------------------------

CONFIG = {
    "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
    "config": {"Env": ["PATH=/usr/bin"], "Cmd": ["sh"], "Entrypoint": None, "WorkingDir": "/app",
               "User": "1000:1000", "ExposedPorts": {"80/tcp": {}, "53/udp": {}, "8080": {}},
               "Volumes": {"/data": {}}, "Labels": {"a": "b"}, "StopSignal": "SIGTERM",
               "Healthcheck": {"Test": ["CMD", "true"], "Interval": 30000000000, "Retries": 3},
               "OnBuild": None, "Hostname": "legacy"},
    "rootfs": {"type": "layers", "diff_ids": [D1, D2]},
    "history": [{"created_by": "ADD x /", "created": "2024"}, {"created_by": "ENV a=b", "empty_layer": True},
                {"created_by": "RUN y"}],
    "container_config": {"Cmd": ["legacy"]}, "docker_version": "24.0",
}


def test_image_config():
    config = parse_image_config(json.dumps(CONFIG).encode())
    assert config.platform == Platform("linux", "amd64")
    assert config.config.env == ["PATH=/usr/bin"]
    assert config.config.cmd == ["sh"] and config.config.entrypoint is None
    assert config.config.exposed_ports == ["80/tcp", "53/udp", "8080/tcp"]
    assert config.config.volumes == ["/data"]
    assert config.config.healthcheck.interval == 30_000_000_000
    assert config.config.healthcheck.retries == 3
    assert config.diff_ids == [D1, D2]
    assert [h.empty_layer for h in config.history] == [False, True, False]
    written = config.to_dict()
    assert written["container_config"] == {"Cmd": ["legacy"]}
    assert written["config"]["Hostname"] == "legacy"
    again = parse_image_config(json.dumps(written).encode())
    assert again.config == config.config and again.history == config.history


def test_minimal_image_config():
    config = parse_image_config(b'{"architecture":"arm64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}')
    assert config.config.cmd is None and config.diff_ids == [] and config.history == []


@pytest.mark.parametrize("path, value, message", [
    (("architecture",), None, "architecture: expected a string"),
    (("os",), 3, "os: expected a string"),
    (("rootfs", "type"), "tarballs", "rootfs.type"),
    (("rootfs", "diff_ids"), ["sha256:x"], "rootfs.diff_ids[0]"),
    (("config", "Env"), ["A=1", 2], "config.Env[1]"),
    (("config", "Cmd"), "sh", "config.Cmd: expected a list"),
    (("config", "ExposedPorts"), {"http": {}}, "invalid port 'http'"),
    (("config", "ExposedPorts"), {"80/icmp": {}}, "invalid port '80/icmp'"),
    (("config", "Labels"), {"a": 1}, "config.Labels['a']"),
    (("config", "Healthcheck"), {"Test": ["CMD"], "Interval": -1}, "Healthcheck.Interval"),
    (("config", "StopTimeout"), "10", "StopTimeout"),
    (("history",), [{"empty_layer": "yes"}], "history[0].empty_layer"),
])
def test_bad_image_configs(path, value, message):
    doc = json.loads(json.dumps(CONFIG))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(InvalidArgument) as error:
        parse_image_config(json.dumps(doc).encode())
    assert message in str(error.value)
