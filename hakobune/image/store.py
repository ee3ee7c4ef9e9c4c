"""The image store: images by id (the sha256 of their config, as Docker's image
ids are), the references that name them, and what they are made of.

    <root>/image/blobs/…             configs, manifests, layer blobs (`ContentStore`)
    <root>/image/layers/…            unpacked layers by chain id (`LayerStore`)
    <root>/image/images/<hex>.json   one record per image (`records.ImageRecord`)
    <root>/image/repositories.json   the reference index (`references.References`)
    <root>/image/images.lock         this store's lock
    <root>/image/leases/             what loads and pulls in progress hold (`leases`)

Consistency: an image exists when its record exists.  Adding stores the
config blob (layers and other blobs are stored before) and then writes the
record and then the reference index; removing goes the other way.  Every
file is replaced atomically (`_fsutil.write_atomic`), so a kill -9 leaves
either the old or the new version of each, and at worst an image without a
name or a layer no image uses (`collect_orphans` removes those): never a name
without an image, nor an image without its layers.  Mutations hold ``images.lock`` exclusively, readers
shared; the lock is re-entrant within one ImageStore object.

Layers and blobs are reference counted by deriving the counts from the
records (and from `ImageUsers`, the engine's view of containers): nothing
stores a count that could drift.  `rmi` semantics live in `removal`, the
Docker API's JSON shapes in `views`.
"""

from __future__ import annotations

import contextlib
import os
from _thread import _local as thread_local  # threading.local, without importing threading
from collections.abc import Iterable

from hakobune.errors import InvalidArgument, NotFound, SystemFailure
from hakobune.image import _timefmt, leases
from hakobune.image._fsutil import fsync_dir, locked, make_dirs, write_atomic
from hakobune.image.content import ContentStore
from hakobune.image.layers import LayerStore
from hakobune.image.model import (FULL_HEX, HEX_PREFIX, ContainerUse, Image, ImageUsers, LayerSource, NewImage,
                                  exact_id, is_id_prefix, lookup_reference, short_id)
from hakobune.image.records import ImageRecord, LayerBlob
from hakobune.image.references import References
from hakobune.oci.digest import digest_bytes, is_digest
from hakobune.oci.image_config import parse_image_config
from hakobune.oci.image_spec import chain_ids as chain_ids_of
from hakobune.oci.reference import DEFAULT_TAG, Reference, parse, parse_named

__all__ = ["ImageStore", "Image", "ImageUsers", "ContainerUse", "LayerSource", "NewImage", "is_id_prefix",
           "lookup_reference", "short_id"]


class ImageStore:
    def __init__(self, root: str, users: ImageUsers | None = None):
        """`root` is hakobune's --root; `users` tells which containers use what."""
        self.root = root
        self.directory = os.path.join(root, "image")
        self.content = ContentStore(root)
        self.layers = LayerStore(root)
        self.users = users or ImageUsers()
        self._records = os.path.join(self.directory, "images")
        self._references = os.path.join(self.directory, "repositories.json")
        self._lock_path = os.path.join(self.directory, "images.lock")
        self.temporary = os.path.join(self.directory, "tmp")
        try:
            make_dirs(self._records)
            make_dirs(self.temporary)
            self.leases_directory = leases.leases_directory(self.directory)
        except OSError as e:
            raise SystemFailure(f"cannot create the image store in {self.directory}: {e.strerror}") from None
        self._thread = thread_local()  # .held: "shared" or "exclusive" while this thread holds the lock

    # --- the lock ----------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self, shared: bool = False):
        """Hold the store's lock; re-entrant within a thread (a shared request
        inside an exclusive hold is free).  Other threads and processes wait."""
        held = getattr(self._thread, "held", None)
        if held == "exclusive" or (shared and held == "shared"):
            yield
            return
        if held == "shared":
            raise RuntimeError("the image store's lock cannot be upgraded from shared to exclusive")
        with locked(self._lock_path, shared=shared):
            self._thread.held = "shared" if shared else "exclusive"
            try:
                yield
            finally:
                self._thread.held = None

    @contextlib.contextmanager
    def lease(self):
        """A `leases.Lease` for the layers and blobs of an image about to be added."""
        lease = leases.Lease(self.leases_directory, lambda: self.locked(shared=True))
        try:
            yield lease
        finally:
            lease.release()

    # --- records and references --------------------------------------------------

    def read_references(self) -> References:
        try:
            with open(self._references, "rb") as f:
                return References.from_bytes(f.read(), self._references)
        except FileNotFoundError:
            return References()

    def write_references(self, references: References) -> None:
        self._write(self._references, references.to_bytes())

    def _record_path(self, image_id: str) -> str:
        if not is_digest(image_id) or not image_id.startswith("sha256:"):
            raise InvalidArgument(f"invalid image id {image_id!r}")
        return os.path.join(self._records, image_id.partition(":")[2] + ".json")

    def read_record(self, image_id: str) -> ImageRecord | None:
        path = self._record_path(image_id)
        try:
            with open(path, "rb") as f:
                return ImageRecord.from_bytes(f.read(), path)
        except FileNotFoundError:
            return None

    def write_record(self, record: ImageRecord) -> None:
        self._write(self._record_path(record.id), record.to_bytes())

    def delete_record(self, image_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._record_path(image_id))
            fsync_dir(self._records)

    def image_ids(self) -> list[str]:
        return sorted(f"sha256:{name[:-5]}" for name in os.listdir(self._records)
                      if name.endswith(".json") and FULL_HEX.fullmatch(name[:-5]))

    def records(self) -> list[ImageRecord]:
        return [record for record in map(self.read_record, self.image_ids()) if record is not None]

    def _write(self, path: str, data: bytes) -> None:
        try:
            write_atomic(path, data)
        except OSError as e:
            raise SystemFailure(f"cannot write {path}: {e.strerror or e}") from None

    # --- adding ------------------------------------------------------------------

    def prepare(self, config_bytes: bytes, layers: list[LayerSource], manifests: Iterable[str] = (),
                parent: str = "") -> NewImage:
        """Check an image whose layers (and blobs) are stored; nothing is written."""
        config = parse_image_config(config_bytes)
        if [layer.diff_id for layer in layers] != config.diff_ids:
            raise InvalidArgument(f"the layers given ({len(layers)}) are not the config's diff ids "
                                  f"({len(config.diff_ids)}) in order")
        image_id = digest_bytes(config_bytes)
        layer_blobs: dict[str, list[LayerBlob]] = {}
        for layer in layers:
            if layer.blob is not None:
                layer_blobs.setdefault(layer.diff_id, []).append(layer.blob)
        record = ImageRecord(image_id, chain_ids_of(config.diff_ids), list(dict.fromkeys(manifests)),
                             layer_blobs, parent=parent)
        return NewImage(image_id, bytes(config_bytes), record)

    def add_image(self, config_bytes: bytes, layers: list[LayerSource], manifests: Iterable[str] = (),
                  tags: Iterable[str | Reference] = (), parent: str = "") -> str:
        """Add an image whose layers are registered in the layer store (and whose
        layer blobs and manifests, if given, are in the content store); returns its id."""
        new = self.prepare(config_bytes, layers, manifests, parent)
        self.commit([new], [(self.tag_reference(tag), new.id) for tag in tags])
        return new.id

    def commit(self, images: list[NewImage], tags: list[tuple[Reference, str]], tag_time: bool = True,
               lease=None) -> dict[str, str]:
        """Add `images` and point `tags` at them, all or nothing; returns, for each
        tag that named another image before, that image's id.  `tag_time`: set
        the tagged images' LastTagTime (as `docker tag` and `import` do, not `load`);
        `lease`: the caller's, whose names a failed commit may collect."""
        with self.locked():
            for new in images:
                self._check_present(new.record)
            stored_configs = [new.id for new in images if not self.content.exists(new.id)]
            previous: list[tuple[str, bytes | None]] = []
            try:
                for new in images:
                    self.content.put(new.config_bytes, expected_digest=new.id)
                tagged = {image_id for _, image_id in tags} if tag_time else set()
                for new in _merged(images):
                    previous.append((new.id, self._record_bytes(new.id)))
                    self.write_record(self._combined(new, tagged))
                references = self.read_references()
                moved = {str(reference): old for reference, image_id in tags
                         if (old := references.set(reference, image_id)) is not None}
                self.write_references(references)
                return moved
            except BaseException:
                self._restore(previous)
                self.collect([], stored_configs, lease)
                raise

    def _combined(self, new: NewImage, tagged: set[str]) -> ImageRecord:
        existing = self.read_record(new.id)
        record = existing.merge(new.record) if existing else new.record
        record.added = record.added or _timefmt.now()
        if new.id in tagged:
            record.last_tag_time = _timefmt.now()
        return record

    def _record_bytes(self, image_id: str) -> bytes | None:
        try:
            with open(self._record_path(image_id), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def _restore(self, previous: list[tuple[str, bytes | None]]) -> None:
        for image_id, data in reversed(previous):
            if data is None:
                self.delete_record(image_id)
            else:
                self._write(self._record_path(image_id), data)

    def _check_present(self, record: ImageRecord) -> None:
        for chain_id in record.chain_ids:
            if not self.layers.exists(chain_id):
                raise NotFound(f"layer {chain_id} of image {record.id} is not in the layer store")
        for digest in record.blob_digests() - {record.id}:
            if not self.content.exists(digest):
                raise NotFound(f"blob {digest} of image {record.id} is not in the content store")

    # --- finding -----------------------------------------------------------------

    def resolve(self, text: str) -> Image:
        """The image `text` names: a full id (with or without ``sha256:``), a
        unique id prefix, a name (``:latest`` when untagged) or name@digest."""
        with self.locked(shared=True):
            references = self.read_references()
            return self.get(self.resolve_id(text, references), references)

    def get(self, image_id: str, references: References | None = None) -> Image:
        with self.locked(shared=True):
            record = self.read_record(image_id)
            if record is None:
                raise NotFound(f"No such image: {image_id}")
            config_bytes = self.content.read(image_id)
            references = references if references is not None else self.read_references()
            return Image(image_id, parse_image_config(config_bytes), config_bytes, record,
                         references.of(image_id))

    def images(self) -> list[Image]:
        with self.locked(shared=True):
            references = self.read_references()
            return [self.get(image_id, references) for image_id in self.image_ids()]

    def resolve_id(self, text: str, references: References) -> str:
        if not isinstance(text, str) or not text:
            raise InvalidArgument("an image name or id is required")
        exact = exact_id(text)
        if exact is not None:
            if self.read_record(exact) is None:
                raise NotFound(f"No such image: {exact}")
            return exact
        try:
            reference, error = lookup_reference(text), None
        except InvalidArgument as e:
            reference, error = None, e
        if reference is not None:
            image_id = references.get(reference)
            if image_id is not None and self.read_record(image_id) is not None:
                return image_id
        found = self._search_prefix(text)
        if found is not None:
            return found
        if error is not None:
            raise error
        raise NotFound(f"No such image: {reference.familiar}")

    def _search_prefix(self, text: str) -> str | None:
        prefix = text[len("sha256:"):] if text.startswith("sha256:") else text
        if not HEX_PREFIX.fullmatch(prefix):
            return None
        matches = [image_id for image_id in self.image_ids() if image_id[len("sha256:"):].startswith(prefix)]
        if len(matches) > 1:
            shown = ", ".join(short_id(m) for m in matches[:5])
            raise InvalidArgument(f"ambiguous image id prefix {text!r}: it matches {len(matches)} images "
                                  f"({shown}); give more of the id")
        return matches[0] if matches else None

    # --- names -------------------------------------------------------------------

    def tag(self, image: "Image | str", reference: str | Reference) -> Reference:
        """Point the tag `reference` (``:latest`` when none is given) at `image`,
        moving it from any image it named before."""
        target = self.tag_reference(reference)
        with self.locked():
            references = self.read_references()
            image_id = image.id if isinstance(image, Image) else self.resolve_id(image, references)
            record = self.read_record(image_id)
            if record is None:
                raise NotFound(f"No such image: {image_id}")
            record.last_tag_time = _timefmt.now()
            self.write_record(record)
            references.set(target, image_id)
            self.write_references(references)
        return target

    def add_digest(self, reference: str | Reference, image: "Image | str") -> Reference:
        """Record ``name@digest`` (a manifest's digest) for `image`: its RepoDigests."""
        target = parse_named(reference) if isinstance(reference, str) else reference
        if target.digest is None:
            raise InvalidArgument(f"{target} has no digest")
        target = target.name_only().with_digest(target.digest)
        with self.locked():
            references = self.read_references()
            image_id = image.id if isinstance(image, Image) else self.resolve_id(image, references)
            references.set(target, image_id)
            self.write_references(references)
        return target

    def untag(self, reference: str | Reference) -> str:
        """Remove one tag or digested reference (the image stays); returns the image id."""
        target = lookup_reference(reference) if isinstance(reference, str) else reference
        with self.locked():
            references = self.read_references()
            image_id = references.remove(target)
            if image_id is None:
                raise NotFound(f"No such image: {target.familiar}")
            self.write_references(references)
        return image_id

    @staticmethod
    def tag_reference(reference: str | Reference) -> Reference:
        target = parse(reference) if isinstance(reference, str) else reference
        if target.digest is not None:
            raise InvalidArgument(f"refusing to create a tag with a digest reference: {target.familiar}")
        if target.familiar_name == "sha256":
            raise InvalidArgument("refusing to create an ambiguous tag using digest algorithm as name")
        return target if target.tag else target.with_tag(DEFAULT_TAG)

    # --- sizes, removal, garbage -------------------------------------------------

    def size(self, image: "Image | ImageRecord") -> int:
        """Bytes of the regular files of all the image's layers (Docker's Size)."""
        record = image.record if isinstance(image, Image) else image
        return sum(self.layers.size(chain_id) for chain_id in record.chain_ids)

    def collect(self, chain_ids: Iterable[str], blobs: Iterable[str], lease=None) -> dict[str, int]:
        """Remove those of `chain_ids` and `blobs` that no image, container or
        live lease (but `lease`) uses; returns the removed layers and their sizes."""
        from hakobune.image.removal import collect_unused
        return collect_unused(self, chain_ids, blobs, lease)

    def collect_orphans(self) -> dict[str, int]:
        """Remove every layer and blob no image, container or lease uses: what a
        kill -9 between removing an image and removing its layers left."""
        with self.locked():
            return self.collect(self.layers.chain_ids(), [blob.digest for blob in self.content.walk()])

    def remove(self, text: str, force: bool = False, prune: bool = True) -> list[dict]:
        """`docker rmi`: see `removal.remove_image`."""
        from hakobune.image.removal import remove_image
        return remove_image(self, text, force=force, prune=prune)

    def prune(self, dangling_only: bool = True, select=None) -> dict:
        """`docker image prune`: see `removal.prune_images`."""
        from hakobune.image.removal import prune_images
        return prune_images(self, dangling_only=dangling_only, select=select)

    # --- Docker's JSON shapes ----------------------------------------------------

    def inspect(self, image: "Image | str") -> dict:
        from hakobune.image.views import inspect_image
        with self.locked(shared=True):
            return inspect_image(self, image if isinstance(image, Image) else self.resolve(image))

    def list(self, all: bool = False) -> list[dict]:  # noqa: A002 - Docker's parameter name
        from hakobune.image.views import list_images
        with self.locked(shared=True):
            return list_images(self, all=all)

    def history(self, image: "Image | str") -> list[dict]:
        from hakobune.image.views import image_history
        with self.locked(shared=True):
            return image_history(self, image if isinstance(image, Image) else self.resolve(image))

    def gc_temporaries(self) -> int:
        """Remove what interrupted loads, registrations and ingests left behind."""
        from hakobune.image._staging import remove_abandoned
        with self.locked():
            removed = remove_abandoned(self.temporary) + self._remove_interrupted_writes()
        return removed + self.layers.gc_temporaries() + self.content.gc_temporaries()

    def _remove_interrupted_writes(self) -> int:
        """`write_atomic`'s temporaries of writers that died (every writer holds
        the lock exclusively, so under it none is live)."""
        removed = 0
        for directory in (self.directory, self._records):
            for name in os.listdir(directory):
                if name.startswith(".") and ".tmp-" in name:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(os.path.join(directory, name))
                        removed += 1
        return removed

    def scratch(self, prefix: str):
        """A scratch directory under the store (`_staging.staging_directory`)."""
        from hakobune.image._staging import staging_directory
        return staging_directory(self.temporary, prefix, lambda: self.locked(shared=True))


def _merged(images: list[NewImage]) -> list[NewImage]:
    """One entry per image id (an archive may list an image twice)."""
    by_id: dict[str, NewImage] = {}
    for new in images:
        if new.id in by_id:
            by_id[new.id] = NewImage(new.id, new.config_bytes, by_id[new.id].record.merge(new.record))
        else:
            by_id[new.id] = new
    return list(by_id.values())
