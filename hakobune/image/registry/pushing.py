"""`docker push`: upload the blobs the registry lacks, then the manifest.

Each blob is checked with HEAD first; a missing one is mounted from another
repository of the same registry that this image is known by (``POST
…/blobs/uploads/?mount=<digest>&from=<repo>``), else uploaded monolithically
(POST to start, PUT with ``?digest=``).  Layers go as the blobs the store
keeps for them (`ImageRecord.layer_blobs`); a layer without one is packed
again (`difftar`) and gzipped into the content store, and must hash to the
config's diff id.  The manifest is Docker's image manifest v2 schema 2; its
digest is recorded as the image's RepoDigest and returned.
"""

import json
import tempfile
import urllib.parse

from hakobune.errors import HakobuneError, NotFound, SystemFailure
from hakobune.image.model import LayerSource
from hakobune.image.records import LayerBlob
from hakobune.image.registry.client import Client, repository_scope
from hakobune.oci.digest import digest_bytes
from hakobune.oci.image_spec import (DOCKER_CONFIG, DOCKER_LAYER, DOCKER_LAYER_GZIP, DOCKER_LAYER_ZSTD,
                                     DOCKER_MANIFEST, LAYER_COMPRESSION, chain_id_of)
from hakobune.oci.reference import parse

_DOCKER_LAYER_TYPES = {"": DOCKER_LAYER, "gzip": DOCKER_LAYER_GZIP, "zstd": DOCKER_LAYER_ZSTD}


def push(store, reference, progress=None, insecure_registries=()) -> str:
    """Push the image named `reference` (``:latest`` when untagged) to its
    registry; returns the manifest's digest."""
    target = parse(reference) if isinstance(reference, str) else reference
    if target.tag is None:
        raise NotFound(f"an image to push needs a tag: {target.familiar}")
    report = progress or (lambda status, ident=None: None)
    image = store.resolve(str(target))
    client = Client(target.domain, insecure_registries=insecure_registries)
    scope = repository_scope(target.path, "pull,push")
    try:
        return _push(store, client, target, image, scope, report)
    except HakobuneError as e:
        raise type(e)(f"pushing {target.familiar}: {e.message}", e.hint) from None


def _push(store, client, target, image, scope, report) -> str:
    report(f"The push refers to repository [{target.name}]", None)
    client.ping()
    layers = _layer_blobs(store, image)
    mount_from = [r.path for r in image.references if r.domain == target.domain and r.path != target.path]
    for blob, _ in layers:
        _upload(store, client, target, blob.digest, blob.size, scope, mount_from, report)
    config_size = len(image.config_bytes)
    _upload(store, client, target, image.id, config_size, scope, mount_from, None)
    manifest = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": DOCKER_CONFIG, "size": config_size, "digest": image.id},
        "layers": [{"mediaType": _DOCKER_LAYER_TYPES[LAYER_COMPRESSION.get(blob.media_type, "gzip")],
                    "size": blob.size, "digest": blob.digest} for blob, _ in layers],
    }
    data = json.dumps(manifest, indent=3).encode()
    digest = digest_bytes(data)
    path = f"/v2/{target.path}/manifests/{target.tag}"
    with client.request("PUT", path, {"Content-Type": DOCKER_MANIFEST, "Content-Length": str(len(data))}, data,
                        scope=scope, expect=(201, 200)) as response:
        response.read()
    with store.lease() as lease:
        lease.hold(digest, image.id, *(blob.digest for blob, _ in layers))
        store.content.put(data, expected_digest=digest)
        sources = [LayerSource(diff_id, blob) for blob, diff_id in layers]
        store.commit([store.prepare(image.config_bytes, sources, [digest], parent=image.record.parent)], [],
                     tag_time=False, lease=lease)
    store.add_digest(target.name_only().with_digest(digest), image.id)
    report(f"{target.tag}: digest: {digest} size: {len(data)}", None)
    return digest


def _layer_blobs(store, image) -> list[tuple[LayerBlob, str]]:
    """(blob, diff id) of each layer: a stored blob, else one packed now."""
    result, parent = [], None
    for diff_id in image.diff_ids:
        chain_id = chain_id_of(parent, diff_id)
        parent = chain_id
        stored = [b for b in image.record.layer_blobs.get(diff_id, [])
                  if b.media_type in LAYER_COMPRESSION and store.content.exists(b.digest)]
        stored.sort(key=lambda b: LAYER_COMPRESSION[b.media_type] != "gzip")
        if stored:
            result.append((stored[0], diff_id))
            continue
        result.append((_pack(store, chain_id, diff_id), diff_id))
    return result


def _pack(store, chain_id: str, diff_id: str) -> LayerBlob:
    import gzip
    import hashlib

    from hakobune.image.difftar import pack_layer

    class _Tee:
        def __init__(self, sink):
            self.sink = sink
            self.hasher = hashlib.sha256()
            self.size = 0

        def write(self, data):
            self.hasher.update(data)
            self.size += len(data)
            return self.sink.write(data)

        def flush(self):
            self.sink.flush()

    with tempfile.TemporaryFile(dir=store.temporary) as spool:
        with gzip.GzipFile(fileobj=spool, mode="wb", mtime=0) as compressed:
            tee = _Tee(compressed)
            pack_layer(store.layers.diff_dir(chain_id), tee)
        packed = "sha256:" + tee.hasher.hexdigest()
        if packed != diff_id:
            raise SystemFailure(f"layer {chain_id} packs to {packed}, not its diff id {diff_id}",
                                hint="save the image with its layer blobs (load or pull it again)")
        spool.seek(0)
        blob = store.content.put(spool)
    return LayerBlob(blob.digest, "application/vnd.docker.image.rootfs.diff.tar.gzip", blob.size, tee.size)


def _upload(store, client, target, digest, size, scope, mount_from, report) -> None:
    short = digest.partition(":")[2][:12]
    base = f"/v2/{target.path}/blobs"
    with client.request("HEAD", f"{base}/{digest}", scope=scope, expect=(200, 404)) as response:
        if response.status == 200:
            if report:
                report("Layer already exists", short)
            return
    if report:
        report("Preparing", short)
    location = None
    for source in mount_from:
        query = urllib.parse.urlencode({"mount": digest, "from": source})
        mount_scope = f"{scope} {repository_scope(source)}"
        with client.request("POST", f"{base}/uploads/?{query}", {"Content-Length": "0"}, b"",
                            scope=mount_scope, expect=(201, 202)) as response:
            if response.status == 201:
                if report:
                    report(f"Mounted from {source}", short)
                return
            location = response.headers.get("Location")
            response.read()
            break
    if location is None:
        with client.request("POST", f"{base}/uploads/", {"Content-Length": "0"}, b"", scope=scope,
                            expect=(202,)) as response:
            location = response.headers.get("Location")
            response.read()
    if not location:
        raise SystemFailure(f"the registry {client.host} started an upload without a Location")
    url = urllib.parse.urljoin(client.base + base + "/uploads/", location)
    url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"digest": digest})
    headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
    with client.request("PUT", url, headers, lambda: store.content.open(digest), scope=scope,
                        expect=(201, 204)) as response:
        response.read()
    if report:
        report("Pushed", short)
