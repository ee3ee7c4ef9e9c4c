"""`docker push`: upload the blobs the registry lacks, then the manifest.

Each blob is checked with HEAD first; a missing one is mounted from another
repository of the same registry that this image is known by (``POST
…/blobs/uploads/?mount=<digest>&from=<repo>``), else uploaded monolithically
(POST to start, PUT with ``?digest=``), up to `PARALLEL` layers at once.
Layers go as the compressed blobs the store keeps for them
(`ImageRecord.layer_blobs`, gzip preferred); one stored only as an
uncompressed tar (a loaded docker-archive) is gzipped (`COMPRESSION_LEVEL`),
and one without any blob is packed again (`difftar`, which must hash to the
config's diff id) and gzipped.  A blob gzipped here is kept in the content
store and recorded with the image, so later pushes (to any registry) send it
without compressing again.  Layers are named by their diff id's short form,
as docker does; "Pushing" messages carry byte counts (`events.Bytes`).  The
manifest is Docker's image manifest v2 schema 2; its digest is recorded as
the image's RepoDigest and returned.
"""

import json
import tempfile
import urllib.parse

from hakobune.errors import HakobuneError, NotFound, SystemFailure
from hakobune.image.model import LayerSource
from hakobune.image.records import LayerBlob
from hakobune.image.registry.events import Meter, MeteredReader
from hakobune.image.registry.client import Client, repository_scope
from hakobune.oci.digest import digest_bytes
from hakobune.oci.image_spec import (DOCKER_CONFIG, DOCKER_LAYER, DOCKER_LAYER_GZIP, DOCKER_LAYER_ZSTD,
                                     DOCKER_MANIFEST, LAYER_COMPRESSION, chain_id_of)
from hakobune.oci.reference import parse

PARALLEL = 3
CHUNK = 1 << 20
# zlib level 1: on real file trees (a tar of /usr/lib) it compresses ~3x as
# fast as level 6 (112 vs 37 MB/s) for output ~10% larger (ratio 0.372 vs
# 0.338); on incompressible data (the benchmark's) sizes are equal and 1 is
# still the faster.  Pushing to a near registry is bound by compression.
COMPRESSION_LEVEL = 1
# A layer whose samples do not shrink below this ratio at level 1 (random or
# already-compressed files) is written as stored deflate blocks (level 0):
# 1.2 GB/s instead of 62 MB/s, and on random data even smaller (+0.008%
# against +0.03% at level 1).
INCOMPRESSIBLE = 0.95
SAMPLES = 4
SAMPLE_SIZE = 256 << 10
_DOCKER_LAYER_TYPES = {"": DOCKER_LAYER, "gzip": DOCKER_LAYER_GZIP, "zstd": DOCKER_LAYER_ZSTD}


def push(store, reference, progress=None, insecure_registries=(), credentials=None) -> str:
    """Push the image named `reference` (``:latest`` when untagged) to its
    registry; returns the manifest's digest.  `credentials`
    (auth.Credentials) replace the user's stored ones."""
    target = parse(reference) if isinstance(reference, str) else reference
    if target.tag is None:
        raise NotFound(f"an image to push needs a tag: {target.familiar}")
    report = progress or (lambda status, ident=None: None)
    image = store.resolve(str(target))
    client = Client(target.domain, insecure_registries=insecure_registries, credentials=credentials)
    scope = repository_scope(target.path, "pull,push")
    try:
        return _push(store, client, target, image, scope, report)
    except HakobuneError as e:
        raise type(e)(f"pushing {target.familiar}: {e.message}", e.hint) from None
    finally:
        client.close()


def _push(store, client, target, image, scope, report) -> str:
    report(f"The push refers to repository [{target.name}]", None)
    client.ping()
    mount_from = [r.path for r in image.references if r.domain == target.domain and r.path != target.path]
    with store.lease() as lease:
        layers = _upload_layers(store, client, target, image, scope, mount_from, report, lease)
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
        lease.hold(digest, image.id, *(blob.digest for blob, _ in layers))
        store.content.put(data, expected_digest=digest)
        sources = [LayerSource(diff_id, blob) for blob, diff_id in layers]
        store.commit([store.prepare(image.config_bytes, sources, [digest], parent=image.record.parent)], [],
                     tag_time=False, lease=lease)
    store.add_digest(target.name_only().with_digest(digest), image.id)
    report(f"{target.tag}: digest: {digest} size: {len(data)}", None)
    return digest


def _upload_layers(store, client, target, image, scope, mount_from, report, lease) -> list[tuple[LayerBlob, str]]:
    """Upload every layer, up to PARALLEL at once; returns (blob, diff id) of
    each as the manifest names it.  Layers stored uncompressed are gzipped
    first (in the worker, so several compress at once: zlib drops the GIL)
    and the gzip blob is recorded with the image by the caller's commit, so
    the next push finds it.  "Preparing" and "Layer already exists" go out
    in layer order (the engine names layers by that order)."""
    from concurrent.futures import ThreadPoolExecutor

    plans = _layer_plans(store, image)
    results: list = [None] * len(plans)
    with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="push") as pool:
        futures = []
        try:
            for index, (kind, blob, diff_id, chain_id) in enumerate(plans):
                short = diff_id.partition(":")[2][:12]
                if kind == "stored" and _exists(client, target, blob.digest, scope):
                    report("Layer already exists", short)
                    results[index] = (blob, diff_id)
                    continue
                report("Preparing", short)
                futures.append((index, pool.submit(_layer_job, store, client, target, scope, mount_from, report,
                                                   lease, kind, blob, diff_id, chain_id, short)))
            for index, future in futures:
                results[index] = (future.result(), plans[index][2])
        except BaseException:
            for _, future in futures:
                future.cancel()
            raise
    return results


def _layer_job(store, client, target, scope, mount_from, report, lease, kind, blob, diff_id, chain_id, short):
    if kind == "compress":
        blob = _compress(store, blob, lease)
    elif kind == "pack":
        blob = _pack(store, chain_id, diff_id, lease)
    if kind != "stored" and _exists(client, target, blob.digest, scope):
        report("Layer already exists", short)
        return blob
    _upload(store, client, target, blob.digest, blob.size, scope, mount_from, report, short=short, head=False)
    return blob


def _exists(client, target, digest, scope) -> bool:
    with client.request("HEAD", f"/v2/{target.path}/blobs/{digest}", scope=scope, expect=(200, 404)) as response:
        return response.status == 200


def _layer_plans(store, image) -> list[tuple[str, LayerBlob | None, str, str]]:
    """(kind, blob, diff id, chain id) of each layer: kind "stored" (a
    compressed blob to send as it is), "compress" (an uncompressed one to
    gzip) or "pack" (no blob: pack the layer again and gzip it)."""
    result, parent = [], None
    for diff_id in image.diff_ids:
        chain_id = chain_id_of(parent, diff_id)
        parent = chain_id
        stored = [b for b in image.record.layer_blobs.get(diff_id, [])
                  if b.media_type in LAYER_COMPRESSION and store.content.exists(b.digest)]
        compressed = [b for b in stored if LAYER_COMPRESSION[b.media_type]]
        compressed.sort(key=lambda b: LAYER_COMPRESSION[b.media_type] != "gzip")
        if compressed:
            result.append(("stored", compressed[0], diff_id, chain_id))
        elif stored:
            result.append(("compress", stored[0], diff_id, chain_id))
        else:
            result.append(("pack", None, diff_id, chain_id))
    return result


def _compress(store, blob: LayerBlob, lease) -> LayerBlob:
    """Gzip the uncompressed layer blob `blob` into the content store (its
    digest is the layer's diff id, checked when it was stored)."""
    import zlib

    size = 0

    def chunks():
        nonlocal size
        with store.content.open(blob.digest) as source:
            compressor = zlib.compressobj(_level_for(source, blob.size), zlib.DEFLATED, 31)
            while data := source.read(CHUNK):
                size += len(data)
                out = compressor.compress(data)
                if out:
                    yield out
        yield compressor.flush()

    stored = store.content.put(chunks())
    lease.hold(stored.digest)
    return LayerBlob(stored.digest, DOCKER_LAYER_GZIP, stored.size, size)


def _level_for(source, size: int) -> int:
    """COMPRESSION_LEVEL, or 0 when samples spread over the (seekable)
    `source` of `size` bytes do not compress; `source` is left at 0."""
    import zlib

    taken = shrunk = 0
    step = max(size // SAMPLES, SAMPLE_SIZE)
    for offset in range(0, max(size, 1), step):
        source.seek(offset)
        data = source.read(SAMPLE_SIZE)
        if not data:
            break
        compressor = zlib.compressobj(COMPRESSION_LEVEL, zlib.DEFLATED, -15)
        shrunk += len(compressor.compress(data)) + len(compressor.flush())
        taken += len(data)
    source.seek(0)
    return 0 if taken and shrunk / taken >= INCOMPRESSIBLE else COMPRESSION_LEVEL


def _pack(store, chain_id: str, diff_id: str, lease) -> LayerBlob:
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
        with gzip.GzipFile(fileobj=spool, mode="wb", mtime=0, compresslevel=COMPRESSION_LEVEL) as compressed:
            tee = _Tee(compressed)
            pack_layer(store.layers.diff_dir(chain_id), tee)
        packed = "sha256:" + tee.hasher.hexdigest()
        if packed != diff_id:
            raise SystemFailure(f"layer {chain_id} packs to {packed}, not its diff id {diff_id}",
                                hint="save the image with its layer blobs (load or pull it again)")
        spool.seek(0)
        blob = store.content.put(spool)
    lease.hold(blob.digest)
    return LayerBlob(blob.digest, DOCKER_LAYER_GZIP, blob.size, tee.size)


def _upload(store, client, target, digest, size, scope, mount_from, report, short=None, head=True) -> None:
    """Upload the blob `digest` unless the registry has it (HEAD, unless
    `head` is False: the caller asked) or can mount it from `mount_from`;
    `report` hears of the layer `short` (none for the config)."""
    short = short or digest.partition(":")[2][:12]
    base = f"/v2/{target.path}/blobs"
    if head and _exists(client, target, digest, scope):
        if report:
            report("Layer already exists", short)
        return
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
    meter = Meter(report, "Pushing", short, size) if report else None

    def body():
        if meter is None:
            return store.content.open(digest)
        meter.reset()
        return MeteredReader(store.content.open(digest), meter)

    with client.request("PUT", url, headers, body, scope=scope, expect=(201, 204)) as response:
        response.read()
    if meter is not None:
        meter.done()
    if report:
        report("Pushed", short)
