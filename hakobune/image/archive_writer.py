"""Writing the archive `docker save` writes since Docker 25: an OCI image
layout that Docker's older loaders read too.

    blobs/sha256/<hex>   image configs, uncompressed layer tars (digest = diff id),
                         OCI manifests
    index.json           an OCI index: one descriptor per tag, annotated with
                         io.containerd.image.name and org.opencontainers.image.ref.name
    manifest.json        [{"Config": "blobs/sha256/<id>", "RepoTags": [...],
                           "Layers": ["blobs/sha256/<diff id>", ...]}]
    oci-layout           {"imageLayoutVersion": "1.0.0"}
    repositories         {"busybox": {"latest": "<v1-style id>"}}: for old loaders
                         only; the id is hakobune's own (sha256 of the image id and the
                         top chain id), no older format's directories are written

Layers come from a stored blob when the image has one for the diff id
(decompressed if it was stored compressed), and otherwise are packed again
from the layer store (`difftar`), which must give back the diff id.  Every
layer is checked against its diff id.  The output is reproducible: members
in name order, dated 0, owned by 0:0, the same bytes for the same images.
"""

import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass
from typing import Callable

from hakobune.errors import SystemFailure
from hakobune.image.compression import open_uncompressed
from hakobune.image.difftar import pack_layer
from hakobune.image.store import Image, ImageStore
from hakobune.oci.image_spec import OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST
from hakobune.oci.reference import Reference

LAYOUT = b'{"imageLayoutVersion":"1.0.0"}'
CHUNK = 1 << 20


@dataclass
class Selected:
    image: Image
    tags: list[Reference]


@dataclass
class _Payload:
    size: int
    open: Callable
    digest: str


def write_archive(store: ImageStore, selected: list[Selected], output, scratch: str) -> None:
    blobs: dict[str, _Payload] = {}
    manifest_entries, index_entries, repositories = [], [], {}
    for choice in selected:
        image = choice.image
        layers = [_layer_payload(store, image, i, scratch) for i in range(len(image.diff_ids))]
        manifest = _manifest(image, layers)
        blobs[image.id] = _bytes_payload(image.config_bytes)
        blobs.update({layer.digest: layer for layer in layers})
        manifest_digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        blobs[manifest_digest] = _bytes_payload(manifest)
        index_entries.extend(_index_entries(manifest_digest, len(manifest), choice.tags))
        manifest_entries.append({"Config": _blob_name(image.id), "RepoTags": [t.familiar for t in choice.tags] or None,
                                 "Layers": [_blob_name(layer.digest) for layer in layers]})
        for tag in choice.tags:
            repositories.setdefault(tag.familiar_name, {})[tag.tag] = _legacy_id(image)
    with tarfile.open(fileobj=output, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        _directory(tar, "blobs")
        _directory(tar, "blobs/sha256")
        for digest in sorted(blobs):
            _member(tar, _blob_name(digest), blobs[digest])
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": index_entries}
        _member(tar, "index.json", _bytes_payload(_json(index)))
        _member(tar, "manifest.json", _bytes_payload(_json(manifest_entries)))
        _member(tar, "oci-layout", _bytes_payload(LAYOUT))
        if repositories:
            _member(tar, "repositories", _bytes_payload(_json(repositories)))


def _manifest(image: Image, layers: list[_Payload]) -> bytes:
    return _json({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                  "config": {"mediaType": OCI_CONFIG, "digest": image.id, "size": len(image.config_bytes)},
                  "layers": [{"mediaType": OCI_LAYER, "digest": layer.digest, "size": layer.size}
                             for layer in layers]})


def _index_entries(digest: str, size: int, tags: list[Reference]) -> list[dict]:
    plain = {"mediaType": OCI_MANIFEST, "digest": digest, "size": size}
    if not tags:
        return [plain]
    return [{**plain, "annotations": {"io.containerd.image.name": str(tag),
                                      "org.opencontainers.image.ref.name": tag.tag}} for tag in tags]


def _legacy_id(image: Image) -> str:
    return hashlib.sha256(f"{image.id} {image.top_chain_id or ''}".encode()).hexdigest()


# --- layers ---------------------------------------------------------------------------

def _layer_payload(store: ImageStore, image: Image, position: int, scratch: str) -> _Payload:
    diff_id, chain_id = image.diff_ids[position], image.chain_ids[position]
    for blob in image.record.layer_blobs.get(diff_id, []):
        if not store.content.exists(blob.digest):
            continue
        if blob.digest == diff_id:
            return _Payload(store.content.size(blob.digest), lambda d=blob.digest: store.content.open(d), diff_id)
        if blob.diff_size is not None:
            return _Payload(blob.diff_size, lambda d=blob.digest: _Decompressed(store.content.open(d)), diff_id)
        return _spooled(scratch, diff_id, lambda out, d=blob.digest: _copy_decompressed(store, d, out))
    directory = store.layers.diff_dir(chain_id)
    return _spooled(scratch, diff_id, lambda out: pack_layer(directory, out))


class _Decompressed:
    """The uncompressed tar of a stored blob, as a file object that closes the blob."""

    def __init__(self, blob):
        self.blob = blob
        self.reader, _ = open_uncompressed(blob)

    def read(self, size: int = -1) -> bytes:
        return self.reader.read(size)

    def close(self) -> None:
        self.blob.close()


def _copy_decompressed(store: ImageStore, digest: str, output) -> None:
    source = _Decompressed(store.content.open(digest))
    try:
        while chunk := source.read(CHUNK):
            output.write(chunk)
    finally:
        source.close()


def _spooled(scratch: str, diff_id: str, produce: Callable) -> _Payload:
    """The layer written to a file in `scratch` first: its size goes in the
    manifest before the archive is written.  Checked against `diff_id` here."""
    path = os.path.join(scratch, f"layer-{diff_id[7:]}")
    with open(path, "wb") as out:
        produce(out)
    hasher = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            hasher.update(chunk)
    if "sha256:" + hasher.hexdigest() != diff_id:
        raise SystemFailure(f"layer {diff_id} cannot be reproduced: packed again it is "
                            f"sha256:{hasher.hexdigest()}", hint="the layer store may be damaged")
    return _Payload(os.path.getsize(path), lambda: open(path, "rb"), diff_id)


# --- tar members --------------------------------------------------------------------

def _bytes_payload(data: bytes) -> _Payload:
    return _Payload(len(data), lambda: io.BytesIO(data), "sha256:" + hashlib.sha256(data).hexdigest())


class _Hashing:
    def __init__(self, source):
        self.source = source
        self.hasher = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.hasher.update(data)
        return data


def _member(tar: tarfile.TarFile, name: str, payload: _Payload) -> None:
    info = _info(name, tarfile.REGTYPE, 0o644)
    info.size = payload.size
    source = payload.open()
    try:
        hashing = _Hashing(source)
        tar.addfile(info, hashing)
    except OSError as e:
        raise SystemFailure(f"cannot write {name} to the archive: {e.strerror or e}") from None
    finally:
        source.close()
    if "sha256:" + hashing.hasher.hexdigest() != payload.digest:
        raise SystemFailure(f"{name}: the stored content no longer matches {payload.digest}",
                            hint="the content store may be damaged")


def _directory(tar: tarfile.TarFile, name: str) -> None:
    tar.addfile(_info(name, tarfile.DIRTYPE, 0o755))


def _info(name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = kind, mode, 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _blob_name(digest: str) -> str:
    return "blobs/sha256/" + digest.partition(":")[2]


def _json(doc) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()
