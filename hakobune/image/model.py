"""The image store's plain data: an image as the store hands it out, a layer
of an image being added, what the engine says about containers, and the
rules for reading a name or an id the way Docker does."""

import re
from hakobune.oci._record import record as dataclass
from collections import namedtuple

from hakobune.image.records import ImageRecord, LayerBlob
from hakobune.oci.image_config import ImageConfig
from hakobune.oci.reference import DEFAULT_TAG, Reference, parse_named

HEX_PREFIX = re.compile(r"[0-9a-f]{1,64}")
FULL_HEX = re.compile(r"[0-9a-f]{64}")


# namedtuples, not typing.NamedTuple classes: typing costs every CLI start
ContainerUse = namedtuple("ContainerUse", "container_id running")


class ImageUsers:
    """What the engine tells the image store about containers; nobody by default.
    Called with the image store's lock held: an implementation must not call
    back into the image store."""

    def containers_using(self, image_id: str) -> list[ContainerUse]:
        return []

    def chain_ids_in_use(self) -> set[str]:
        """Layers containers stand on, kept even when their image is removed by force."""
        return set()


LayerSource = namedtuple("LayerSource", "diff_id blob", defaults=(None,))
LayerSource.__doc__ = "One layer of an image being added: its diff id and, when stored, its blob (LayerBlob or None)."


@dataclass
class Image:
    """An image as the store hands it out: its parsed config (and the bytes
    whose sha256 is `id`), its record and the references naming it."""

    id: str
    config: ImageConfig
    config_bytes: bytes
    record: ImageRecord
    references: list[Reference]

    @property
    def short_id(self) -> str:
        return short_id(self.id)

    @property
    def tags(self) -> list[Reference]:
        return [r for r in self.references if r.tag is not None]

    @property
    def digests(self) -> list[Reference]:
        return [r for r in self.references if r.digest is not None]

    @property
    def repo_tags(self) -> list[str]:
        return [r.familiar for r in self.tags]

    @property
    def repo_digests(self) -> list[str]:
        return [r.familiar for r in self.digests]

    @property
    def diff_ids(self) -> list[str]:
        return list(self.config.diff_ids)

    @property
    def chain_ids(self) -> list[str]:
        return list(self.record.chain_ids)

    @property
    def top_chain_id(self) -> str | None:
        return self.record.chain_ids[-1] if self.record.chain_ids else None


@dataclass
class NewImage:
    """An image checked and ready to be committed (see `ImageStore.prepare`)."""

    id: str
    config_bytes: bytes
    record: ImageRecord


def short_id(image_id: str) -> str:
    """Docker's TruncateID: the hex without its algorithm, 12 characters."""
    return image_id.partition(":")[2][:12] if ":" in image_id else image_id[:12]


def lookup_reference(text: str) -> Reference:
    """The reference to look up for `text`: ``:latest`` added to a bare name,
    a tag dropped when a digest is given (the digest decides)."""
    reference = parse_named(text)
    if reference.digest is not None:
        return reference.name_only().with_digest(reference.digest)
    return reference if reference.tag else reference.with_tag(DEFAULT_TAG)


def is_id_prefix(image_id: str, text: str) -> bool:
    """Whether `text` names `image_id` by (a prefix of) its id, as Docker's isImageIDPrefix."""
    return image_id.startswith(text) or image_id.partition(":")[2].startswith(text)


def exact_id(text: str) -> str | None:
    if FULL_HEX.fullmatch(text):
        return "sha256:" + text
    if text.startswith("sha256:") and FULL_HEX.fullmatch(text[7:]):
        return text
    return None
