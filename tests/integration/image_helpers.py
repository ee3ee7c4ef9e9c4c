"""Images for the image store's tests, made in memory: layer tarballs, configs,
OCI layouts and docker-save archives, and a snapshot of a store's files to
tell "unchanged" from "changed"."""

import gzip
import hashlib
import io
import json
import os
import tarfile

from hakobune.image.records import LayerBlob
from hakobune.image.store import ImageStore, LayerSource
from hakobune.oci.image_spec import OCI_LAYER
from layer_tars import file, tar

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "images")


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def config_for(layers: list[bytes], created: str = "2024-01-02T03:04:05Z", **extra) -> bytes:
    doc = {"architecture": "amd64", "os": "linux", "created": created,
           "config": {"Env": ["PATH=/usr/bin:/bin"], "Cmd": ["/bin/sh"]},
           "rootfs": {"type": "layers", "diff_ids": [sha256(layer) for layer in layers]},
           "history": [{"created": created, "created_by": f"layer {i}"} for i in range(len(layers))]}
    doc.update(extra)
    return json.dumps(doc, separators=(",", ":")).encode()


def add_image(store: ImageStore, layers: list[bytes], tags=(), created="2024-01-02T03:04:05Z", parent="",
              **extra) -> str:
    """Register `layers` (uncompressed tars), store them as blobs too, as a
    load does, and add an image of them."""
    chain = None
    sources = []
    for layer in layers:
        chain = store.layers.register(layer, chain)
        store.content.put(layer)
        sources.append(LayerSource(sha256(layer), LayerBlob(sha256(layer), OCI_LAYER, len(layer), len(layer))))
    config = config_for(layers, created, **extra)
    return store.add_image(config, sources, tags=tags, parent=parent)


def layer(name: str, content: bytes) -> bytes:
    return tar(file(name, content))


def snapshot(root: str) -> dict[str, str]:
    """Every file of a store but locks and scratch space, with a hash of its content."""
    found = {}
    for directory, dirnames, filenames in os.walk(root):
        relative = os.path.relpath(directory, root)
        if relative.split(os.sep)[-1] in ("tmp", "locks", "ingest", "leases") or "/tmp/" in f"/{relative}/":
            continue
        for name in filenames:
            if name.endswith(".lock"):
                continue
            path = os.path.join(directory, name)
            if os.path.islink(path) or not os.path.isfile(path):
                found[os.path.join(relative, name)] = "special"
                continue
            with open(path, "rb") as f:
                found[os.path.join(relative, name)] = hashlib.sha256(f.read()).hexdigest()
        for name in dirnames:
            found.setdefault(os.path.join(relative, name) + "/", "dir")
    return found


def tar_members(members: list[tuple[str, bytes]], links: dict[str, str] | None = None) -> bytes:
    """An outer archive: regular members in order, then symlinks."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return buffer.getvalue()


def oci_layout(images: list[dict], nested: bool = False) -> bytes:
    """An OCI layout tar; each image: {"layers": [(blob, media type)], "config": bytes, "annotations": {}}."""
    blobs: dict[str, bytes] = {}
    descriptors = []
    for image in images:
        blobs[sha256(image["config"])] = image["config"]
        layer_descriptors = []
        for blob, media_type in image["layers"]:
            blobs[sha256(blob)] = blob
            layer_descriptors.append({"mediaType": media_type, "digest": sha256(blob), "size": len(blob)})
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                          "digest": sha256(image["config"]), "size": len(image["config"])},
                               "layers": layer_descriptors}).encode()
        blobs[sha256(manifest)] = manifest
        descriptor = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha256(manifest),
                      "size": len(manifest)}
        if nested:
            descriptor["platform"] = {"architecture": "amd64", "os": "linux"}
        else:
            descriptor["annotations"] = image.get("annotations", {})
        descriptors.append(descriptor)
    if nested:
        inner = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                            "manifests": descriptors}).encode()
        blobs[sha256(inner)] = inner
        descriptors = [{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": sha256(inner),
                        "size": len(inner), "annotations": images[0].get("annotations", {})}]
    index = json.dumps({"schemaVersion": 2, "manifests": descriptors}).encode()
    members = [(f"blobs/sha256/{digest[7:]}", data) for digest, data in sorted(blobs.items())]
    members += [("index.json", index), ("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')]
    return tar_members(members)


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def zstd(data: bytes) -> bytes:
    import zstandard
    return zstandard.ZstdCompressor().compress(data)
