"""The image spec's documents: media types, descriptors, manifests, indexes
(Docker's manifest lists), the choice of a manifest for a platform, and chain ids.

Both the OCI image spec (v1.0, v1.1) and Docker's image manifest v2 schema 2
are read; Docker's schema 1 is refused with a message saying so.  Parsing
checks the types of every field that hakobune acts on and names the field
that is wrong (``manifest.layers[2].digest: …``); fields it does not know are
kept in `raw`.  Image configs are in `hakobune.oci.image_config`.
"""

import json
from hakobune.oci._record import field, record as dataclass

from hakobune.errors import InvalidArgument, NotFound
from hakobune.oci.digest import check_digest, digest_bytes
from hakobune.oci.platform import Platform, host_platform, match_rank, platform_from_dict

OCI_DESCRIPTOR = "application/vnd.oci.descriptor.v1+json"
OCI_LAYOUT_HEADER = "application/vnd.oci.layout.header.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_NONDISTRIBUTABLE = "application/vnd.oci.image.layer.nondistributable.v1.tar"
OCI_LAYER_NONDISTRIBUTABLE_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
OCI_LAYER_NONDISTRIBUTABLE_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST_V1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_MANIFEST_V1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_PLUGIN_CONFIG = "application/vnd.docker.plugin.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER_ZSTD = "application/vnd.docker.image.rootfs.diff.tar.zstd"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar"
DOCKER_FOREIGN_LAYER_GZIP = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
CONFIG_TYPES = frozenset({OCI_CONFIG, DOCKER_CONFIG})
SCHEMA1_TYPES = frozenset({DOCKER_MANIFEST_V1, DOCKER_MANIFEST_V1_SIGNED})
# layer media type → its compression ("" for a plain tar)
LAYER_COMPRESSION = {
    OCI_LAYER: "", OCI_LAYER_GZIP: "gzip", OCI_LAYER_ZSTD: "zstd",
    OCI_LAYER_NONDISTRIBUTABLE: "", OCI_LAYER_NONDISTRIBUTABLE_GZIP: "gzip", OCI_LAYER_NONDISTRIBUTABLE_ZSTD: "zstd",
    DOCKER_LAYER: "", DOCKER_LAYER_GZIP: "gzip", DOCKER_LAYER_ZSTD: "zstd",
    DOCKER_FOREIGN_LAYER: "", DOCKER_FOREIGN_LAYER_GZIP: "gzip",
}
FOREIGN_LAYER_TYPES = frozenset({OCI_LAYER_NONDISTRIBUTABLE, OCI_LAYER_NONDISTRIBUTABLE_GZIP,
                                 OCI_LAYER_NONDISTRIBUTABLE_ZSTD, DOCKER_FOREIGN_LAYER, DOCKER_FOREIGN_LAYER_GZIP})
_SCHEMA1_HINT = "Docker's image manifest schema 1 is not supported; push the image again with a current client"


def layer_compression(media_type: str) -> str:
    """"", "gzip" or "zstd" for a layer media type; InvalidArgument for another type."""
    try:
        return LAYER_COMPRESSION[media_type]
    except (KeyError, TypeError):
        raise InvalidArgument(f"unsupported layer media type {media_type!r}") from None


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    urls: tuple = ()
    annotations: dict = field(default_factory=dict, compare=False)
    platform: Platform | None = None
    artifact_type: str | None = None
    data: bytes | None = field(default=None, compare=False)

    def to_dict(self) -> dict:
        doc = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.urls:
            doc["urls"] = list(self.urls)
        if self.annotations:
            doc["annotations"] = dict(self.annotations)
        if self.platform is not None:
            doc["platform"] = self.platform.to_dict()
        if self.artifact_type:
            doc["artifactType"] = self.artifact_type
        if self.data is not None:
            import base64

            doc["data"] = base64.b64encode(self.data).decode()
        return doc


@dataclass
class Manifest:
    media_type: str
    config: Descriptor
    layers: list[Descriptor]
    annotations: dict = field(default_factory=dict)
    subject: Descriptor | None = None
    artifact_type: str | None = None
    raw: dict = field(default_factory=dict, repr=False)


@dataclass
class Index:
    media_type: str
    manifests: list[Descriptor]
    annotations: dict = field(default_factory=dict)
    subject: Descriptor | None = None
    raw: dict = field(default_factory=dict, repr=False)


def descriptor_from_dict(doc, where: str = "descriptor") -> Descriptor:
    _expect(doc, dict, where)
    media_type = _string(doc, "mediaType", where, required=True)
    digest = check_digest(doc.get("digest"), f"{where}.digest")
    size = doc.get("size")
    if type(size) is not int or size < 0:
        raise InvalidArgument(f"{where}.size: expected a byte count, got {size!r}")
    urls = doc.get("urls") or []
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise InvalidArgument(f"{where}.urls: expected a list of strings")
    platform = platform_from_dict(doc["platform"], f"{where}.platform") if doc.get("platform") is not None else None
    data = _embedded_data(doc, where, digest, size)
    return Descriptor(media_type, digest, size, tuple(urls), _annotations(doc, where), platform,
                      _string(doc, "artifactType", where), data)


def parse_manifest(raw: bytes, media_type: str | None = None) -> Manifest:
    """An image manifest; `media_type` is what the registry or a descriptor said it is."""
    doc = _load(raw, "manifest")
    kind = _document_type(doc, media_type, "manifest")
    if kind not in MANIFEST_TYPES:
        raise InvalidArgument(f"manifest: expected an image manifest, got {kind}")
    layers = doc.get("layers")
    _expect(layers, list, "manifest.layers")
    subject = descriptor_from_dict(doc["subject"], "manifest.subject") if doc.get("subject") else None
    return Manifest(kind, descriptor_from_dict(doc.get("config"), "manifest.config"),
                    [descriptor_from_dict(layer, f"manifest.layers[{i}]") for i, layer in enumerate(layers)],
                    _annotations(doc, "manifest"), subject, _string(doc, "artifactType", "manifest"), doc)


def parse_index(raw: bytes, media_type: str | None = None) -> Index:
    """An OCI image index or a Docker manifest list."""
    doc = _load(raw, "index")
    kind = _document_type(doc, media_type, "index")
    if kind not in INDEX_TYPES:
        raise InvalidArgument(f"index: expected an image index or manifest list, got {kind}")
    manifests = doc.get("manifests")
    _expect(manifests, list, "index.manifests")
    subject = descriptor_from_dict(doc["subject"], "index.subject") if doc.get("subject") else None
    return Index(kind, [descriptor_from_dict(m, f"index.manifests[{i}]") for i, m in enumerate(manifests)],
                 _annotations(doc, "index"), subject, doc)


def detect_media_type(raw: bytes) -> str:
    """The media type a manifest or index says it is, or that its shape shows."""
    doc = _load(raw, "document")
    return _document_type(doc, None, "document")


def check_image_manifest(manifest: Manifest) -> None:
    """An image hakobune can run: an image config and layers of known types."""
    if manifest.config.media_type not in CONFIG_TYPES:
        raise InvalidArgument(f"manifest.config: {manifest.config.media_type!r} is not an image config "
                              "(an artifact, not a container image)")
    for i, layer in enumerate(manifest.layers):
        try:
            layer_compression(layer.media_type)
        except InvalidArgument as e:
            raise InvalidArgument(f"manifest.layers[{i}]: {e}") from None


def select_manifest(index: Index, wanted: Platform | None = None) -> Descriptor:
    """The entry of `index` that best fits `wanted` (the host's platform by default);
    NotFound listing what the index offers when none does."""
    wanted = wanted or host_platform()
    ranked = []
    for position, descriptor in enumerate(index.manifests):
        if descriptor.media_type not in MANIFEST_TYPES | INDEX_TYPES:
            continue
        rank = match_rank(wanted, descriptor.platform) if descriptor.platform else 100
        if rank is not None:
            ranked.append((rank, position, descriptor))
    if not ranked:
        offered = sorted({str(d.platform) for d in index.manifests if d.platform}) or ["no platforms"]
        raise NotFound(f"no manifest for platform {wanted} in the index; it has {', '.join(offered)}")
    return min(ranked, key=lambda entry: entry[:2])[2]


def chain_ids(diff_ids: list[str]) -> list[str]:
    """The chain id of each layer stack: chainID(L0) = diffID(L0);
    chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln))."""
    result = []
    for i, diff_id in enumerate(diff_ids):
        check_digest(diff_id, f"diff_ids[{i}]")
        result.append(diff_id if not result else chain_id_of(result[-1], diff_id))
    return result


def chain_id(diff_ids: list[str]) -> str:
    if not diff_ids:
        raise InvalidArgument("a chain id needs at least one layer")
    return chain_ids(diff_ids)[-1]


def chain_id_of(parent_chain_id: str | None, diff_id: str) -> str:
    """The chain id of the layer `diff_id` stacked on `parent_chain_id`."""
    if parent_chain_id is None:
        return diff_id
    import hashlib  # here: OpenSSL's load costs every CLI start

    return "sha256:" + hashlib.sha256(f"{parent_chain_id} {diff_id}".encode()).hexdigest()


def _load(raw, what: str) -> dict:
    try:
        doc = json.loads(raw)
    except (ValueError, TypeError) as e:
        raise InvalidArgument(f"{what}: malformed JSON: {e}") from None
    _expect(doc, dict, what)
    return doc


def _document_type(doc: dict, declared: str | None, what: str) -> str:
    if doc.get("schemaVersion") == 1 or "fsLayers" in doc or declared in SCHEMA1_TYPES:
        raise InvalidArgument(f"{what}: {_SCHEMA1_HINT}")
    if doc.get("schemaVersion") != 2 or type(doc.get("schemaVersion")) is not int:
        raise InvalidArgument(f"{what}.schemaVersion: expected 2, got {doc.get('schemaVersion')!r}")
    own = _string(doc, "mediaType", what)
    if own and declared and own != declared:
        raise InvalidArgument(f"{what}.mediaType: the document says {own!r} but it was served as {declared!r}")
    kind = own or declared
    if kind:
        return kind
    if "manifests" in doc:
        return OCI_INDEX
    if "config" in doc and "layers" in doc:
        return OCI_MANIFEST
    raise InvalidArgument(f"{what}: neither a manifest nor an index (no mediaType, config or manifests)")


def _embedded_data(doc: dict, where: str, digest: str, size: int) -> bytes | None:
    encoded = doc.get("data")
    if encoded is None:
        return None
    try:
        import base64

        data = base64.b64decode(_string(doc, "data", where), validate=True)
    except ValueError:
        raise InvalidArgument(f"{where}.data: not base64") from None
    if len(data) != size or digest_bytes(data, digest.partition(":")[0]) != digest:
        raise InvalidArgument(f"{where}.data: does not match the descriptor's size and digest")
    return data


def _annotations(doc: dict, where: str) -> dict:
    annotations = doc.get("annotations") or {}
    if not isinstance(annotations, dict) or not all(isinstance(v, str) for v in annotations.values()):
        raise InvalidArgument(f"{where}.annotations: expected an object of strings")
    return annotations


def _string(doc: dict, key: str, where: str, required: bool = False) -> str | None:
    value = doc.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise InvalidArgument(f"{where}.{key}: expected a string, got {type(value).__name__}")
    return value


def _expect(value, kind: type, where: str) -> None:
    if not isinstance(value, kind):
        got = "nothing" if value is None else type(value).__name__
        raise InvalidArgument(f"{where}: expected {'an object' if kind is dict else 'a list'}, got {got}")
