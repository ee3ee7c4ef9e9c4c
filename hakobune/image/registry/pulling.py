"""`docker pull`: resolve a reference to a manifest (choosing the platform's
entry of an index), fetch the config and the layers not yet stored, and
commit the image with its tag and RepoDigest.

Each missing layer is downloaded and unpacked in one pass: the response is
read by the unpacker through a tee that also writes the blob
(`ContentStore.writer`), so a layer is never read back from disk.  Nothing
is used before it is verified: the layer stays in a staging directory
(`LayerStore.staged`) until the whole blob matched its digest and size, the
unpacked content its diff id, and its parent layer was stored; only then is
it published, in order.  Up to `PARALLEL` layers move at once.  A lease
keeps everything from the collector until the image is committed.

Failures: a blob is fetched again on a broken connection or content that
does not match its digest (`BLOB_ATTEMPTS` times); a layer whose verified
blob does not unpack to its diff id fails the pull at once; a failed pull removes the layers and blobs it added
(nothing else uses them), so the store is as it was.  A pull killed with
SIGKILL leaves complete blobs and layers only (both stores publish by
rename), which the next pull finds and does not fetch again.

Progress: "Downloading" and "Extracting" messages carry byte counts
(`events.Bytes`, of the blob as sent), throttled per layer.
"""

from concurrent.futures import ThreadPoolExecutor

from hakobune.errors import HakobuneError, InvalidArgument, NotFound, SystemFailure
from hakobune.image.records import LayerBlob
from hakobune.image.model import LayerSource
from hakobune.image.registry.events import Meter, MeteredReader
from hakobune.image.registry.client import Client, Transient, Unauthorized, repository_scope
from hakobune.oci.digest import digest_bytes
from hakobune.oci.image_spec import (DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, INDEX_TYPES, OCI_INDEX, OCI_MANIFEST,
                                     chain_id_of, check_image_manifest, detect_media_type, parse_index,
                                     parse_manifest, select_manifest)
from hakobune.oci.image_config import parse_image_config
from hakobune.oci.reference import Reference, parse_pull_target

PARALLEL = 3
BLOB_ATTEMPTS = 3
MANIFEST_LIMIT = 4 << 20
ACCEPT = ", ".join([OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST])


def pull(store, reference, platform=None, progress=None, insecure_registries=(), credentials=None) -> str:
    """Pull `reference` (text or Reference) into the ImageStore `store`;
    returns the image id.  `platform` (oci.platform.Platform) picks an
    index's entry, the host's by default; `progress(status, id)` hears of
    each step (from worker threads too).  `credentials` (auth.Credentials)
    replace the user's stored ones."""
    target = parse_pull_target(reference) if isinstance(reference, str) else reference
    report = progress or (lambda status, ident=None: None)
    client = Client(target.domain, insecure_registries=insecure_registries, credentials=credentials)
    scope = repository_scope(target.path)
    try:
        return _Pull(store, client, target, scope, platform, report).run()
    except Unauthorized as e:
        raise Unauthorized(f"pull access denied for {target.familiar_name}, repository does not exist or may "
                           f"require 'docker login': {e.message}") from None
    except HakobuneError as e:
        if isinstance(e, NotFound) or f"{target.familiar}" in e.message:
            raise
        raise type(e)(f"pulling {target.familiar}: {e.message}", e.hint) from None
    finally:
        client.close()


def list_tags(reference, insecure_registries=(), credentials=None) -> list[str]:
    """GET /v2/<name>/tags/list, following the Link header's pages."""
    import json
    import urllib.parse

    target = parse_pull_target(reference) if isinstance(reference, str) else reference
    client = Client(target.domain, insecure_registries=insecure_registries, credentials=credentials)
    scope = repository_scope(target.path)
    path, tags = f"/v2/{target.path}/tags/list?n=1000", []
    try:
        while path:
            with client.request("GET", path, scope=scope) as response:
                try:
                    page = json.loads(response.read(MANIFEST_LIMIT))
                except ValueError:
                    raise SystemFailure(f"the tag list of {target.familiar_name} is not JSON") from None
                link = response.headers.get("Link") or ""
            tags += [tag for tag in page.get("tags") or () if isinstance(tag, str)]
            path = None
            if 'rel="next"' in link:
                path = urllib.parse.urljoin(client.base + "/", link.partition("<")[2].partition(">")[0])
    except NotFound as e:
        raise NotFound(f"repository {target.familiar_name} not found: {e.message}") from None
    finally:
        client.close()
    return sorted(set(tags))


class _Pull:
    def __init__(self, store, client: Client, target: Reference, scope: str, platform, report):
        self.store = store
        self.client = client
        self.target = target
        self.scope = scope
        self.platform = platform
        self.report = report
        self.created_layers: list[str] = []
        self.created_blobs: list[str] = []

    def run(self) -> str:
        self.client.ping()
        wanted = self.target.digest or self.target.tag
        top_digest, top_type, top_bytes = self._manifest(wanted)
        documents = [(top_digest, top_bytes)]
        manifest_digest, manifest_bytes, manifest_type = top_digest, top_bytes, top_type
        if top_type in INDEX_TYPES:
            chosen = select_manifest(parse_index(top_bytes, top_type), self.platform)
            manifest_digest, manifest_type, manifest_bytes = self._manifest(chosen.digest)
            documents.append((manifest_digest, manifest_bytes))
        manifest = parse_manifest(manifest_bytes, manifest_type)
        check_image_manifest(manifest)
        self.report(f"{self.target.tag or self.target.digest}: Pulling from {self.target.familiar_name}", None)
        with self.store.lease() as lease:
            try:
                image_id = self._store(lease, manifest, documents)
            except BaseException:
                self.store.collect(self.created_layers, self.created_blobs, lease)
                raise
        self.report(f"Digest: {top_digest}", None)
        self.report(f"Status: Downloaded newer image for {self.target.familiar}", None)
        return image_id

    # --- manifests --------------------------------------------------------------

    def _manifest(self, wanted: str) -> tuple[str, str, bytes]:
        """(digest, media type, bytes) of the manifest or index `wanted` names."""
        path = f"/v2/{self.target.path}/manifests/{wanted}"
        for attempt in range(BLOB_ATTEMPTS):
            try:
                with self.client.request("GET", path, {"Accept": ACCEPT}, scope=self.scope) as response:
                    data = response.read(MANIFEST_LIMIT + 1)
                    declared = response.headers.get("Content-Length")
                    header_digest = response.headers.get("Docker-Content-Digest")
                    media_type = (response.headers.get("Content-Type") or "").partition(";")[0].strip()
            except NotFound as e:
                raise NotFound(f"manifest for {self.target.familiar} not found: {e.message}") from None
            except Transient as e:
                if attempt + 1 == BLOB_ATTEMPTS:
                    raise SystemFailure(f"cannot read the manifest of {self.target.familiar}: {e}") from None
                continue
            if len(data) > MANIFEST_LIMIT:
                raise SystemFailure(f"the manifest of {self.target.familiar} is larger than {MANIFEST_LIMIT} bytes")
            if declared is not None and declared.isdigit() and int(declared) != len(data):
                if attempt + 1 == BLOB_ATTEMPTS:
                    raise SystemFailure(f"the manifest of {self.target.familiar} was truncated")
                continue
            break
        expected = wanted if wanted.startswith(("sha256:", "sha512:")) else header_digest
        algorithm = expected.partition(":")[0] if expected and ":" in expected else "sha256"
        actual = digest_bytes(data, algorithm if algorithm in ("sha256", "sha512") else "sha256")
        if expected and actual != expected:
            raise SystemFailure(f"the manifest of {self.target.familiar} does not match its digest: "
                                f"expected {expected}, got {actual}")
        if media_type not in INDEX_TYPES and media_type not in (OCI_MANIFEST, DOCKER_MANIFEST):
            media_type = detect_media_type(data)
        return actual, media_type, data

    # --- blobs and layers -------------------------------------------------------

    def _store(self, lease, manifest, documents) -> str:
        store = self.store
        config_descriptor = manifest.config
        lease.hold(config_descriptor.digest)
        self._fetch(config_descriptor.digest, config_descriptor.size)
        config_bytes = store.content.read(config_descriptor.digest)
        config = parse_image_config(config_bytes)
        if len(config.diff_ids) != len(manifest.layers):
            raise InvalidArgument(f"the manifest has {len(manifest.layers)} layers, its config "
                                  f"{len(config.diff_ids)} diff ids")
        chain_ids, parent = [], None
        for diff_id in config.diff_ids:
            parent = chain_id_of(parent, diff_id)
            chain_ids.append(parent)
        lease.hold(*chain_ids, *(layer.digest for layer in manifest.layers))
        with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="pull") as pool:
            previous, tasks = None, []
            for layer, diff_id, chain_id in zip(manifest.layers, config.diff_ids, chain_ids):
                short = layer.digest.partition(":")[2][:12]
                if store.layers.exists(chain_id):
                    self.report("Already exists", short)
                    previous = chain_id
                else:
                    self.report("Pulling fs layer", short)
                    previous = pool.submit(self._pull_layer, layer, diff_id, short, previous)
                    tasks.append(previous)
            try:
                for task in tasks:
                    task.result()
            except BaseException:
                for task in tasks:
                    task.cancel()
                raise
        sources = []
        for layer, diff_id in zip(manifest.layers, config.diff_ids):
            blob = LayerBlob(layer.digest, layer.media_type, layer.size) \
                if store.content.exists(layer.digest) else None
            sources.append(LayerSource(diff_id, blob))
        manifests = []
        for digest, data in documents:
            lease.hold(digest)
            if not store.content.exists(digest):
                store.content.put(data, expected_digest=digest)
                self.created_blobs.append(digest)
            manifests.append(digest)
        lease.hold(digest_bytes(config_bytes))
        new = store.prepare(config_bytes, sources, manifests)
        tags = [(self.target, new.id)] if self.target.tag else []
        store.commit([new], tags, lease=lease)
        digest_reference = self.target.name_only().with_digest(documents[0][0])
        store.add_digest(digest_reference, new.id)
        return new.id

    def _pull_layer(self, layer, diff_id: str, short: str, previous) -> str:
        """Store one layer: its blob downloaded and unpacked in one pass
        (a blob already stored is only unpacked), published once the blob
        matched its digest and the parent layer (`previous`: a chain id,
        None, or the parent's task) is stored.  Returns its chain id."""
        content = self.store.content
        if content.exists(layer.digest) and content.size(layer.digest) == layer.size:
            self.report("Download complete", short)
            with content.open(layer.digest) as blob:
                return self._unpack_and_publish(blob, diff_id, short, previous)
        path = f"/v2/{self.target.path}/blobs/{layer.digest}"
        meter = Meter(self.report, "Downloading", short, layer.size)
        for attempt in range(BLOB_ATTEMPTS):
            try:
                with self.client.request("GET", path, scope=self.scope) as response, \
                        content.writer(layer.digest, layer.size) as writer:
                    meter.reset()
                    tee = _Tee(MeteredReader(response, meter), writer.write)
                    return self._unpack_and_publish(tee, diff_id, short, previous, writer, meter)
            except NotFound as e:
                raise NotFound(f"blob {layer.digest} of {self.target.familiar} not found: {e.message}") from None
            except (Transient, _BadBlob) as e:
                if isinstance(e, Unauthorized):
                    raise
                if attempt + 1 == BLOB_ATTEMPTS:
                    why = e.message if isinstance(e, _BadBlob) else str(e)
                    raise SystemFailure(f"cannot fetch blob {layer.digest} of {self.target.familiar}: "
                                        f"{why}") from None

    def _unpack_and_publish(self, source, diff_id: str, short: str, previous, writer=None, meter=None) -> str:
        from hakobune.image.compression import open_uncompressed

        reader, _ = open_uncompressed(source)
        try:
            with self.store.layers.staged(reader, diff_id) as publish:
                if writer is not None:
                    try:
                        source.drain()
                        writer.commit()
                    except InvalidArgument as e:
                        raise _BadBlob(e.message) from None
                    self.created_blobs.append(writer.blob.digest)
                    meter.done()
                    self.report("Download complete", short)
                self.report("Extracting", short)
                parent = previous.result() if hasattr(previous, "result") else previous
                chain_id = publish(parent)
        except _BadBlob:
            raise
        except InvalidArgument as e:
            if writer is not None and writer.blob is None:
                self._settle_blob(source, writer)  # damaged in transit? then fetched again
            raise SystemFailure(f"layer {short} of {self.target.familiar} is damaged: {e.message}") from None
        self.created_layers.append(chain_id)
        self.report("Pull complete", short)
        return chain_id

    def _settle_blob(self, source, writer) -> None:
        """After a layer failed to unpack: raise _BadBlob if its blob does not
        match the descriptor either (fetched again); keep it if it does (the
        layer itself is damaged, and the pull fails)."""
        try:
            source.drain()
            writer.commit()
        except InvalidArgument as e:
            raise _BadBlob(e.message) from None
        self.created_blobs.append(writer.blob.digest)

    def _fetch(self, digest: str, size: int, short: str | None = None) -> None:
        """Store the blob `digest` unless the content store has it; verified by the store."""
        content = self.store.content
        if content.exists(digest) and content.size(digest) == size:
            if short:
                self.report("Download complete", short)
            return
        path = f"/v2/{self.target.path}/blobs/{digest}"
        meter = Meter(self.report, "Downloading", short, size) if short else None
        for attempt in range(BLOB_ATTEMPTS):
            try:
                with self.client.request("GET", path, scope=self.scope) as response:
                    source = response
                    if meter is not None:
                        meter.reset()
                        source = MeteredReader(response, meter)
                    content.put(source, expected_digest=digest, expected_size=size)
                self.created_blobs.append(digest)
                if meter is not None:
                    meter.done()
                if short:
                    self.report("Download complete", short)
                return
            except NotFound as e:
                raise NotFound(f"blob {digest} of {self.target.familiar} not found: {e.message}") from None
            except (Transient, InvalidArgument) as e:
                if isinstance(e, Unauthorized):
                    raise
                if attempt + 1 == BLOB_ATTEMPTS:
                    why = e.message if isinstance(e, InvalidArgument) else str(e)
                    raise SystemFailure(f"cannot fetch blob {digest} of {self.target.familiar}: {why}") from None


class _BadBlob(InvalidArgument):
    """A blob that did not match its descriptor: fetched again."""


class _Tee:
    """Reads from `raw`, handing every chunk to `sink` as well (the blob's
    writer): the unpacker reads the layer while it is stored."""

    def __init__(self, raw, sink):
        self.raw = raw
        self.sink = sink

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        if data:
            self.sink(data)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def drain(self) -> None:
        """What the unpacker left unread (padding after the archive's end)."""
        while self.read(1 << 20):
            pass

