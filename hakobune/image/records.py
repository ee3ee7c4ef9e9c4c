"""What the image store keeps about each image besides its config blob, one
small JSON file per image at ``<root>/image/images/<id hex>.json``:

- ``chain_ids``: the layer store's keys of the image's layers, base first
  (derivable from the config's diff ids; kept so that reference counting of
  layers never has to read configs);
- ``manifests``: digests of the manifests the image came from (registry,
  OCI layout), each stored in the content store;
- ``layer_blobs``: for each diff id, the stored blobs (compressed or not)
  whose uncompressed content is that layer, with their media types, so that
  save and push can reuse them instead of packing the layer again;
- ``added`` (when this store got it), ``last_tag_time``, ``parent`` (the
  image a local build started from; "" otherwise).

The record exists only for an image whose config blob and layers are
stored: the store writes it after them and removes it before them.
"""

import json
from hakobune.oci._record import field, record as dataclass

from hakobune.errors import SystemFailure
from hakobune.oci.digest import check_digest


@dataclass(frozen=True)
class LayerBlob:
    """A stored blob holding one layer: `digest` of the blob as stored,
    `diff_size` the bytes of its uncompressed tar when known."""

    digest: str
    media_type: str
    size: int
    diff_size: int | None = None

    def to_dict(self) -> dict:
        doc = {"digest": self.digest, "mediaType": self.media_type, "size": self.size}
        if self.diff_size is not None:
            doc["diffSize"] = self.diff_size
        return doc

    @classmethod
    def from_dict(cls, doc: dict) -> "LayerBlob":
        return cls(check_digest(doc["digest"]), str(doc["mediaType"]), int(doc["size"]),
                   int(doc["diffSize"]) if doc.get("diffSize") is not None else None)


@dataclass
class ImageRecord:
    id: str
    chain_ids: list[str]
    manifests: list[str] = field(default_factory=list)
    layer_blobs: dict[str, list[LayerBlob]] = field(default_factory=dict)
    added: str = ""
    last_tag_time: str = ""
    parent: str = ""

    def blob_digests(self) -> set[str]:
        """Every content store blob the image uses: config, manifests, layer blobs."""
        digests = {self.id, *self.manifests}
        for blobs in self.layer_blobs.values():
            digests.update(blob.digest for blob in blobs)
        return digests

    def merge(self, other: "ImageRecord") -> "ImageRecord":
        """This record with the manifests and layer blobs `other` knows too."""
        manifests = self.manifests + [m for m in other.manifests if m not in self.manifests]
        layer_blobs = {diff_id: list(blobs) for diff_id, blobs in self.layer_blobs.items()}
        for diff_id, blobs in other.layer_blobs.items():
            known = layer_blobs.setdefault(diff_id, [])
            known.extend(blob for blob in blobs if blob.digest not in {b.digest for b in known})
        return ImageRecord(self.id, self.chain_ids, manifests, layer_blobs, self.added,
                           other.last_tag_time or self.last_tag_time, self.parent or other.parent)

    def to_bytes(self) -> bytes:
        doc = {"id": self.id, "chain_ids": self.chain_ids, "manifests": self.manifests,
               "layer_blobs": {diff_id: [blob.to_dict() for blob in blobs]
                               for diff_id, blobs in self.layer_blobs.items()},
               "added": self.added, "last_tag_time": self.last_tag_time, "parent": self.parent}
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes, where: str) -> "ImageRecord":
        try:
            doc = json.loads(data)
            return cls(check_digest(doc["id"]), [check_digest(c) for c in doc["chain_ids"]],
                       [check_digest(m) for m in doc.get("manifests", [])],
                       {check_digest(diff_id): [LayerBlob.from_dict(b) for b in blobs]
                        for diff_id, blobs in doc.get("layer_blobs", {}).items()},
                       str(doc.get("added", "")), str(doc.get("last_tag_time", "")), str(doc.get("parent", "")))
        except Exception as e:  # noqa: BLE001 - any damage is reported the same way
            raise SystemFailure(f"the image record {where} is damaged: {e}",
                                hint="remove the file and load or pull the image again") from None
