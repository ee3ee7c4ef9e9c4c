"""`docker save`, `docker load` and `docker import`, on an `ImageStore`.

- `save` writes Docker 25's archive (`archive_writer`) for the images named,
  with the tags Docker would include;
- `load` reads any archive `archive_formats` knows, verifies every digest
  before the stores are touched, then registers layers, stores blobs and
  commits the images and their tags in one step: a bad archive, or a
  failure half-way, leaves the stores as they were (no image, tag, layer
  or blob of it stays behind);
- `import_rootfs` makes a one-layer image of a root file system tar, with
  `--change` instructions (`changes`) and Docker's history entry.

Layers and blobs are held by a lease (`leases`) from before they are stored
until their image is committed, so a concurrent `rmi` never takes them away.
"""

import json
import os
from dataclasses import dataclass, field

from hakobune.errors import InvalidArgument
from hakobune.image import _timefmt
from hakobune.image.archive_formats import ImagePlan, plan_archive
from hakobune.image.archive_reader import SpooledArchive, layer_digest
from hakobune.image.archive_writer import Selected, write_archive
from hakobune.image.changes import apply_changes
from hakobune.image.records import LayerBlob
from hakobune.image.store import Image, ImageStore, LayerSource, NewImage, is_id_prefix
from hakobune.image.views import container_config
from hakobune.oci.image_spec import DOCKER_LAYER, DOCKER_LAYER_GZIP, DOCKER_LAYER_ZSTD, chain_id_of
from hakobune.oci.platform import Platform
from hakobune.oci.reference import Reference, parse_named

_IMPORT_TYPES = {"": DOCKER_LAYER, "gzip": DOCKER_LAYER_GZIP, "zstd": DOCKER_LAYER_ZSTD}


@dataclass
class LoadedImage:
    id: str
    tags: list[Reference] = field(default_factory=list)
    moved: dict[str, str] = field(default_factory=dict)  # tag → the image it named before

    def messages(self) -> list[str]:
        """What `docker load` prints for it."""
        if not self.tags:
            return [f"Loaded image ID: {self.id}"]
        return [f"Loaded image: {tag.familiar}" for tag in self.tags]


# --- save ---------------------------------------------------------------------------

def save(store: ImageStore, names, output) -> None:
    """Write the images `names` (names, ids, `Image`s) as `docker save` does to
    the binary file object `output`.  A bare repository name saves all its tags."""
    if not names:
        raise InvalidArgument("docker save needs at least one image")
    with store.lease() as lease, store.scratch("save-") as scratch:
        with store.locked(shared=True):
            selected = select_images(store, names)
            for choice in selected:
                record = choice.image.record
                lease.hold(*record.chain_ids, *sorted(record.blob_digests()))
        write_archive(store, selected, output, scratch)


def select_images(store: ImageStore, names) -> list[Selected]:
    """The images and tags `docker save` includes for `names`, in order."""
    references = store.read_references()
    chosen: dict[str, list[Reference]] = {}

    def add(image_id: str, tags: list[Reference]) -> None:
        known = chosen.setdefault(image_id, [])
        known.extend(tag for tag in tags if tag not in known)

    for name in names:
        if isinstance(name, Image):
            add(name.id, name.tags)
            continue
        reference = _named_or_none(name)
        if reference is None or reference.familiar_name == "sha256":
            add(store.resolve_id(name, references), [])
        elif reference.is_name_only and _repository_tags(references, reference):
            for tag, tagged_id in _repository_tags(references, reference):
                add(tagged_id, [tag])
        else:
            image_id = store.resolve_id(name, references)
            named = not is_id_prefix(image_id, name) and reference.tag is not None and reference.digest is None
            add(image_id, [reference] if named else [])
    return [Selected(store.get(image_id, references), tags) for image_id, tags in chosen.items()]


def _named_or_none(name: str) -> Reference | None:
    try:
        return parse_named(name)
    except InvalidArgument:
        return None  # an id, or garbage that resolve_id will name


def _repository_tags(references, reference: Reference) -> list[tuple[Reference, str]]:
    return [(r, image_id) for r, image_id in references.in_repository(reference.name) if r.tag is not None]


# --- load ---------------------------------------------------------------------------

def load(store: ImageStore, stream) -> list[LoadedImage]:
    """Load every image of the archive read from `stream`; all or nothing."""
    with store.scratch("load-") as scratch:
        archive = SpooledArchive(scratch)
        archive.spool(stream)
        plans = plan_archive(archive)
        return _commit_plans(store, archive, plans)


def _commit_plans(store: ImageStore, archive: SpooledArchive, plans: list[ImagePlan]) -> list[LoadedImage]:
    created_layers: list[str] = []
    created_blobs: list[str] = []
    with store.lease() as lease:
        try:
            images = [_store_parts(store, archive, plan, lease, created_layers, created_blobs) for plan in plans]
            moved = store.commit(images, [(tag, plan.image_id) for plan in plans for tag in plan.tags],
                                 tag_time=False, lease=lease)
        except BaseException:
            store.collect(created_layers, created_blobs, lease)
            raise
    return _loaded(plans, moved)


def _store_parts(store: ImageStore, archive: SpooledArchive, plan: ImagePlan, lease, created_layers: list,
                 created_blobs: list) -> NewImage:
    """Register the plan's layers and store its blobs; the image itself is for `commit`."""
    parent = None
    sources = []
    for layer in plan.layers:
        chain_id = chain_id_of(parent, layer.diff_id)
        lease.hold(chain_id, layer.blob_digest)
        if not store.layers.exists(chain_id):
            with archive.open(layer.member) as tarball:
                store.layers.register(tarball, parent, expected_diff_id=layer.diff_id)
            created_layers.append(chain_id)
        with archive.open(layer.member) as blob:
            _put(store, blob, layer.blob_digest, created_blobs)
        sources.append(LayerSource(layer.diff_id, LayerBlob(layer.blob_digest, layer.media_type,
                                                            layer.member.size, layer.diff_size)))
        parent = chain_id
    manifests = []
    if plan.manifest is not None:
        digest, manifest_bytes = plan.manifest
        lease.hold(digest)
        _put(store, manifest_bytes, digest, created_blobs)
        manifests.append(digest)
    lease.hold(plan.image_id)
    return store.prepare(plan.config_bytes, sources, manifests, parent=plan.parent)


def _put(store: ImageStore, source, digest: str, created: list) -> None:
    if not store.content.exists(digest):
        store.content.put(source, expected_digest=digest)
        created.append(digest)


def _loaded(plans: list[ImagePlan], moved: dict[str, str]) -> list[LoadedImage]:
    loaded: dict[str, LoadedImage] = {}
    for plan in plans:
        entry = loaded.setdefault(plan.image_id, LoadedImage(plan.image_id))
        for tag in plan.tags:
            if tag not in entry.tags:
                entry.tags.append(tag)
            if str(tag) in moved and moved[str(tag)] != plan.image_id:
                entry.moved[tag.familiar] = moved[str(tag)]
    return list(loaded.values())


# --- import -------------------------------------------------------------------------

def import_rootfs(store: ImageStore, stream, reference: str | None = None, changes=(), message: str | None = None,
                  source: str = "-") -> str:
    """`docker import`: a one-layer image of the root file system tar read from
    `stream` (plain or compressed), tagged `reference` if given; returns its id."""
    tag = store.tag_reference(reference) if reference else None
    run_config = apply_changes(container_config({}), changes)
    with store.scratch("import-") as scratch:
        archive = SpooledArchive(scratch)
        member = archive.add_file("rootfs.tar", stream)
        diff_id, compression, diff_size = layer_digest(archive, member)
        created_layers: list[str] = []
        created_blobs: list[str] = []
        with store.lease() as lease:
            lease.hold(diff_id, member.sha256)
            try:
                if not store.layers.exists(diff_id):
                    with archive.open(member) as tarball:
                        store.layers.register(tarball, None, expected_diff_id=diff_id)
                    created_layers.append(diff_id)
                with archive.open(member) as blob:
                    _put(store, blob, member.sha256, created_blobs)
                config = _import_config(diff_id, run_config, message or f"Imported from {source}")
                layer = LayerSource(diff_id, LayerBlob(member.sha256, _IMPORT_TYPES.get(compression, DOCKER_LAYER),
                                                       member.size, diff_size))
                new = store.prepare(config, [layer])
                store.commit([new], [(tag, new.id)] if tag else [], lease=lease)
            except BaseException:
                store.collect(created_layers, created_blobs, lease)
                raise
    return new.id


def _import_config(diff_id: str, run_config: dict, comment: str) -> bytes:
    """The config Docker writes for an import, its keys in Docker's order."""
    created = _timefmt.now()
    host = Platform("linux", os.uname().machine).normalized()
    doc = {"comment": comment, "created": created, "container_config": container_config({}),
           "config": container_config(run_config), "architecture": host.architecture}
    if host.architecture == "arm":
        doc["variant"] = host.variant
    doc.update({"os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                "history": [{"created": created, "comment": comment}]})
    return json.dumps(doc, separators=(",", ":")).encode()


# --- a child image: an image's layers plus one -------------------------------------

def add_child_image(store: ImageStore, base_id: str, write_layer, make_config, reference: str | None = None,
                    empty: bool = False, layer_directory: tuple[str, frozenset] | None = None) -> str:
    """A new image made of the image `base_id`'s layers plus the one
    `write_layer(output)` writes (an uncompressed layer tar; no blob of it is
    kept: save and push pack the layer again, `difftar`), or none when
    `empty`; `make_config(diff_id)` gives the config's bytes (diff_id None
    for an empty layer).  Tagged `reference` if given; returns the new id.
    What `docker commit` stores; `base_id` None: no base (a build's FROM scratch).
    `layer_directory` (instead of `write_layer`): (an unmounted overlay upper
    directory, the relative paths its layer leaves out), whose files the
    layer store adopts (`LayerStore.adopt`) rather than unpacking its tar."""
    tag = store.tag_reference(reference) if reference else None
    base = store.get(base_id) if base_id else None
    top_chain_id = base.top_chain_id if base else None
    with store.scratch("child-") as scratch, store.lease() as lease:
        if base:
            lease.hold(*base.record.chain_ids)
        created_layers: list[str] = []
        try:
            adopted = None
            if layer_directory is not None:
                adopted = _adopt_directory(store, layer_directory, top_chain_id, lease, created_layers)
                if adopted is None:
                    write_layer = _directory_packer(layer_directory)
            diff_id = adopted if adopted is not None or empty else _spool_layer(scratch, write_layer)
            layers = [LayerSource(layer) for layer in base.diff_ids] if base else []
            if adopted is not None:
                layers.append(LayerSource(diff_id))
            elif diff_id is not None:
                chain_id = chain_id_of(top_chain_id, diff_id)
                lease.hold(chain_id)
                if not store.layers.exists(chain_id):
                    with open(os.path.join(scratch, "layer.tar"), "rb") as tarball:
                        store.layers.register(tarball, top_chain_id, expected_diff_id=diff_id)
                    created_layers.append(chain_id)
                layers.append(LayerSource(diff_id))
            new = store.prepare(make_config(diff_id), layers, parent=base.id if base else "")
            if base:
                new.record.layer_blobs.update({key: list(blobs) for key, blobs in base.record.layer_blobs.items()})
            store.commit([new], [(tag, new.id)] if tag else [], lease=lease)
        except BaseException:
            store.collect(created_layers, [], lease)
            raise
    return new.id


def _adopt_directory(store: ImageStore, layer_directory, top_chain_id, lease, created_layers: list[str]) -> str | None:
    """The diff id of the layer the directory became, or None when it cannot
    be adopted (the caller packs and unpacks it)."""
    from hakobune.image.adoption import survey

    directory, skip = layer_directory
    found = survey(directory, skip)
    chain_id = chain_id_of(top_chain_id, found.diff_id)
    lease.hold(chain_id)
    if not store.layers.exists(chain_id):
        if store.layers.adopt(found, top_chain_id) is None:
            return None
        created_layers.append(chain_id)
    return found.diff_id


def _directory_packer(layer_directory):
    from hakobune.image.difftar import pack_layer

    directory, skip = layer_directory
    return lambda out: pack_layer(directory, out, skip)


def _spool_layer(scratch: str, write_layer) -> str:
    """Write the layer tar into `scratch`/layer.tar; its diff id."""
    import hashlib

    hasher = hashlib.sha256()

    class _Hashing:
        def __init__(self, f):
            self.f = f

        def write(self, data) -> int:
            hasher.update(data)
            return self.f.write(data)

    with open(os.path.join(scratch, "layer.tar"), "wb") as f:
        write_layer(_Hashing(f))
    return "sha256:" + hasher.hexdigest()
