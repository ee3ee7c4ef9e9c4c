"""`docker rmi` and `docker image prune`, with Docker's rules and messages.

Removing by name removes that reference only, unless it was the image's last
(then the image goes too); removing a tag also removes the digested
references of its repository when no other tag of it is left.  Removing by
id removes the image with its references when they are all one repository's
(one tag and its digests); with references in several repositories it needs
force ("image is referenced in multiple repositories").  Containers, through
`ImageUsers`: a running one blocks even a forced removal; a stopped one
blocks unless forced; a name whose image a container uses is kept unless
forced.  An image other images were built on is never removed.

Each call returns Docker's response items, ``{"Untagged": "busybox:latest"}``
and ``{"Deleted": "sha256:…"}`` (the image, then the layers it freed), and
is done under the store's lock held exclusively: all of it or, on a
conflict, nothing.
"""

from dataclasses import dataclass

import contextlib
from typing import Iterable

from hakobune.errors import Conflict, NotFound
from hakobune.image import leases
from hakobune.image.store import ImageStore, is_id_prefix, lookup_reference, short_id
from hakobune.oci.reference import Reference

DEPENDENT_CHILD, RUNNING_CONTAINER, ACTIVE_REFERENCE, STOPPED_CONTAINER = 1, 2, 4, 8
HARD = DEPENDENT_CHILD | RUNNING_CONTAINER
SOFT = ACTIVE_REFERENCE | STOPPED_CONTAINER


@dataclass
class _DeleteConflict:
    image_id: str
    message: str
    hard: bool = False
    used: bool = False

    def error(self) -> Conflict:
        how = "cannot be forced" if self.hard else "must be forced"
        return Conflict(f"conflict: unable to delete {short_id(self.image_id)} ({how}) - {self.message}")


class _Removal:
    """One rmi (or one prune) in progress: the reference index it changes and
    the layers it freed, with their sizes."""

    def __init__(self, store: ImageStore):
        self.store = store
        self.references = store.read_references()
        self.freed: dict[str, int] = {}

    def remove(self, text: str, force: bool, prune: bool) -> list[dict]:
        image_id = self.store.resolve_id(text, self.references)
        items: list[dict] = []
        if is_id_prefix(image_id, text):
            self._untag_single_repository(image_id, force, items)
            self._delete(image_id, items, force, prune, quiet=False)
            return items
        self._untag_name(image_id, lookup_reference(text), text, force, items)
        if self.references.of(image_id):
            self.store.write_references(self.references)
            return items
        self._delete(image_id, items, force, prune, quiet=True)
        return items

    def _untag_name(self, image_id: str, reference: Reference, text: str, force: bool, items: list) -> None:
        if not force and _single_reference(self.references.of(image_id)):
            users = self.store.users.containers_using(image_id)
            if users:
                raise Conflict(f'conflict: unable to remove repository reference "{text}" (must force) - '
                               f"container {short_id(users[0].container_id)} is using its referenced image "
                               f"{short_id(image_id)}")
        self.references.remove(reference)
        items.append({"Untagged": reference.familiar})
        if reference.digest is not None:
            return
        remaining = self.references.of(image_id)
        if any(r.tag is not None and r.name == reference.name for r in remaining):
            return
        for other in remaining:  # the repository's digests go with its last tag
            if other.digest is not None and other.name == reference.name:
                self.references.remove(other)
                items.append({"Untagged": other.familiar})

    def _untag_single_repository(self, image_id: str, force: bool, items: list) -> None:
        references = self.references.of(image_id)
        if not _single_reference(references):
            return
        mask = HARD if force else HARD | (SOFT & ~ACTIVE_REFERENCE)
        conflict = self._conflict(image_id, mask)
        if conflict is not None:
            raise conflict.error()
        for reference in references:
            self.references.remove(reference)
            items.append({"Untagged": reference.familiar})

    def _delete(self, image_id: str, items: list, force: bool, prune: bool, quiet: bool) -> None:
        conflict = self._conflict(image_id, HARD if force else HARD | SOFT)
        if conflict is not None:
            if quiet and (not self._dangling(image_id) or conflict.used):
                self.store.write_references(self.references)
                return
            raise conflict.error()
        record = self.store.read_record(image_id)
        for reference in self.references.remove_image(image_id):
            items.append({"Untagged": reference.familiar})
        self.store.write_references(self.references)
        self.store.delete_record(image_id)
        items.append({"Deleted": image_id})
        freed = self.store.collect(record.chain_ids, record.blob_digests())
        self.freed.update(freed)
        items.extend({"Deleted": chain_id} for chain_id in reversed(record.chain_ids) if chain_id in freed)
        if prune and record.parent and self.store.read_record(record.parent) is not None:
            self._delete(record.parent, items, force=False, prune=True, quiet=True)

    def _conflict(self, image_id: str, mask: int) -> _DeleteConflict | None:
        if mask & DEPENDENT_CHILD and self._children(image_id):
            return _DeleteConflict(image_id, "image has dependent child images", hard=True)
        containers = self.store.users.containers_using(image_id)
        running = [c for c in containers if c.running]
        if mask & RUNNING_CONTAINER and running:
            return _DeleteConflict(image_id, f"image is being used by running container "
                                   f"{short_id(running[0].container_id)}", hard=True, used=True)
        if mask & ACTIVE_REFERENCE and self.references.of(image_id):
            return _DeleteConflict(image_id, "image is referenced in multiple repositories")
        stopped = [c for c in containers if not c.running]
        if mask & STOPPED_CONTAINER and stopped:
            return _DeleteConflict(image_id, f"image is being used by stopped container "
                                   f"{short_id(stopped[0].container_id)}", used=True)
        return None

    def _children(self, image_id: str) -> list[str]:
        return [record.id for record in self.store.records() if record.parent == image_id]

    def _dangling(self, image_id: str) -> bool:
        return not self.references.of(image_id) and not self._children(image_id)


def _single_reference(references: list[Reference]) -> bool:
    """Docker's isSingleReference: one tag (or none) and digests, all of one repository."""
    if len(references) <= 1:
        return len(references) == 1
    tags = [r for r in references if r.digest is None]
    digest_names = {r.name for r in references if r.digest is not None}
    if len(tags) > 1:
        return False
    single = tags[0] if tags else references[0]
    return len(digest_names) == 1 and single.name in digest_names


def remove_image(store: ImageStore, text: str, force: bool = False, prune: bool = True) -> list[dict]:
    """`docker rmi [--force] [--no-prune] text`; the response items."""
    with store.locked():
        return _Removal(store).remove(text, force, prune)


def prune_images(store: ImageStore, dangling_only: bool = True, select=None) -> dict:
    """`docker image prune [-a]`: removes images without tags (with `dangling_only`)
    or every image no container uses; `select(image)` may narrow the choice
    (the CLI's filters).  Docker's response: ImagesDeleted and SpaceReclaimed."""
    with store.locked():
        removal = _Removal(store)
        deleted: list[dict] = []
        for image in _prune_candidates(store, removal, dangling_only, select):
            deleted.extend(_prune_one(removal, image, dangling_only))
        return {"ImagesDeleted": deleted or None, "SpaceReclaimed": sum(removal.freed.values())}


def _prune_candidates(store: ImageStore, removal: _Removal, dangling_only: bool, select) -> list:
    records = store.records()
    parents = {record.parent for record in records if record.parent}
    candidates = []
    for record in records:
        has_children = record.id in parents
        if dangling_only and has_children:
            continue  # only heads: the intermediate images go with them
        if not removal.references.of(record.id) and has_children:
            continue
        if store.users.containers_using(record.id):
            continue
        image = store.get(record.id, removal.references)
        if select is None or select(image):
            candidates.append(image)
    return candidates


def _prune_one(removal: _Removal, image, dangling_only: bool) -> list[dict]:
    references = removal.references.of(image.id)
    if dangling_only and any(r.tag is not None for r in references):
        return []
    targets = [str(r) for r in references] or [image.id]
    items: list[dict] = []
    for target in targets:
        if removal.store.read_record(image.id) is None:
            break
        try:
            items.extend(removal.remove(target, force=False, prune=True))
        except Conflict:
            removal.references = removal.store.read_references()  # drop what the failed call changed
            continue  # as Docker: an image that cannot go is left
    return items


# --- garbage -------------------------------------------------------------------------

def collect_unused(store: ImageStore, chain_ids: Iterable[str], blobs: Iterable[str], lease=None) -> dict[str, int]:
    """Remove those of `chain_ids` and `blobs` that no image record, no container
    (`ImageUsers.chain_ids_in_use`) and no live lease but `lease` uses, layers
    stacked highest first; returns the removed layers with their sizes.  The
    counts are derived from the records each time: none is stored."""
    with store.locked():
        records = store.records()
        used_layers = {c for record in records for c in record.chain_ids} | store.users.chain_ids_in_use()
        used_blobs = {d for record in records for d in record.blob_digests()}
        held = leases.held_names(store.leases_directory, lease.path if lease is not None else None)
        removed = {}
        for chain_id in _deepest_first(store, set(chain_ids) - used_layers - held):
            removed.update(_remove_layer(store, chain_id))
        for digest in set(blobs) - used_blobs - held:
            with contextlib.suppress(NotFound):
                store.content.delete(digest)
        return removed


def _deepest_first(store: ImageStore, chain_ids: set[str]) -> list[str]:
    depth = {}
    for chain_id in chain_ids:
        level, current = 0, chain_id
        while current is not None and store.layers.exists(current):
            level, current = level + 1, store.layers.parent(current)
        depth[chain_id] = level
    return sorted((c for c in chain_ids if depth[c]), key=lambda c: -depth[c])


def _remove_layer(store: ImageStore, chain_id: str) -> dict[str, int]:
    try:
        size = store.layers.size(chain_id)
        store.layers.remove(chain_id)
    except (Conflict, NotFound):
        return {}  # a layer stacked on it (a container's, say) or a mount keeps it
    return {chain_id: size}
