"""The reference index: which image each repository tag and each digested
reference names, in Docker's own format (``repositories.json``)::

    {"Repositories": {"docker.io/library/busybox": {
        "docker.io/library/busybox:latest": "sha256:<image id>",
        "docker.io/library/busybox@sha256:<manifest digest>": "sha256:<image id>"}}}

Keys are full references (domain and path normalised); a tagged reference
has a tag and no digest, a digested one a digest and no tag.  This module is
plain data and its (de)serialisation; the image store reads and replaces the
file under its lock, atomically (`_fsutil.write_atomic`).
"""

import json

from hakobune.errors import SystemFailure
from hakobune.oci.digest import is_digest
from hakobune.oci.reference import Reference, parse_named


class References:
    """A mutable map: full reference string → image id."""

    def __init__(self, entries: dict[str, str] | None = None):
        self.entries = dict(entries or {})

    # --- queries -----------------------------------------------------------------

    def get(self, reference: Reference) -> str | None:
        return self.entries.get(str(reference))

    def of(self, image_id: str) -> list[Reference]:
        """The references to `image_id`, tags first, each group sorted."""
        found = [parse_named(text) for text, target in self.entries.items() if target == image_id]
        return sorted(found, key=lambda r: (r.digest is not None, str(r)))

    def tags_of(self, image_id: str) -> list[Reference]:
        return [r for r in self.of(image_id) if r.tag is not None]

    def digests_of(self, image_id: str) -> list[Reference]:
        return [r for r in self.of(image_id) if r.digest is not None]

    def in_repository(self, name: str) -> list[tuple[Reference, str]]:
        """(reference, image id) of every reference of the repository `name`."""
        found = []
        for text, image_id in self.entries.items():
            reference = parse_named(text)
            if reference.name == name:
                found.append((reference, image_id))
        return sorted(found, key=lambda pair: str(pair[0]))

    def image_ids(self) -> set[str]:
        return set(self.entries.values())

    # --- changes -----------------------------------------------------------------

    def set(self, reference: Reference, image_id: str) -> str | None:
        """Point `reference` at `image_id`; returns the image it named before, if another."""
        previous = self.entries.get(str(reference))
        self.entries[str(reference)] = image_id
        return previous if previous != image_id else None

    def remove(self, reference: Reference) -> str | None:
        return self.entries.pop(str(reference), None)

    def remove_image(self, image_id: str) -> list[Reference]:
        removed = self.of(image_id)
        for reference in removed:
            del self.entries[str(reference)]
        return removed

    # --- the file ----------------------------------------------------------------

    def to_bytes(self) -> bytes:
        repositories: dict[str, dict[str, str]] = {}
        for text, image_id in sorted(self.entries.items()):
            repositories.setdefault(parse_named(text).name, {})[text] = image_id
        return json.dumps({"Repositories": repositories}, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes, where: str) -> "References":
        try:
            doc = json.loads(data)
            repositories = doc["Repositories"]
            entries = {}
            for name, members in repositories.items():
                for text, image_id in members.items():
                    if not is_digest(image_id) or parse_named(text).name != name:
                        raise ValueError(f"bad entry {text!r}: {image_id!r}")
                    entries[text] = image_id
        except Exception as e:  # noqa: BLE001 - any damage is reported the same way
            raise SystemFailure(f"the reference index {where} is damaged: {e}",
                                hint="restore it from a backup, or remove it and tag the images again") from None
        return cls(entries)
