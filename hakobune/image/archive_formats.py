"""What a spooled image archive holds: the images of the formats `docker load`
and `podman load` accept, read into `ImagePlan`s, every digest verified.

- Docker's ``docker save`` (manifest.json: Config, RepoTags, Layers),
  old-style (``<id>.json``, ``<v1 id>/layer.tar``, links between layers)
  and, since Docker 25, inside an OCI layout (``blobs/sha256/…``); podman's
  ``docker-archive`` is the same format.
- An OCI image layout (oci-layout, index.json, blobs/): ``skopeo copy …
  oci-archive:``, ``podman save --format oci-archive``, umoci; a nested
  index (a multi-platform image) gives the manifest for this machine.
  Names come from the ``io.containerd.image.name`` annotation (as
  containerd takes them; with ref.name's tag when that is a bare tag that
  says otherwise) or from ``org.opencontainers.image.ref.name`` when that
  is a full reference; a bare tag alone names nothing (loaded by id).

An archive that is an OCI layout is read as one even when it has Docker's
manifest.json too (Docker 25 writes both): OCI tools that change a layout
(umoci, skopeo) keep index.json right and leave manifest.json as it was.
Nothing here writes to a store.
"""

import json
import re
from dataclasses import dataclass, field

from hakobune.errors import InvalidArgument
from hakobune.image.archive_reader import Member, SpooledArchive, verify_layer_content
from hakobune.oci.digest import digest_bytes, new_hasher, split_digest
from hakobune.oci.image_config import parse_image_config
from hakobune.oci.image_spec import (DOCKER_LAYER, DOCKER_LAYER_GZIP, DOCKER_LAYER_ZSTD, INDEX_TYPES, MANIFEST_TYPES,
                                     OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, Descriptor, check_image_manifest,
                                     parse_index, parse_manifest, select_manifest)
from hakobune.oci.reference import Reference, is_valid_tag, parse

CONTAINERD_NAME = "io.containerd.image.name"
OCI_REF_NAME = "org.opencontainers.image.ref.name"
_DOCKER_TYPES = {"": DOCKER_LAYER, "gzip": DOCKER_LAYER_GZIP, "zstd": DOCKER_LAYER_ZSTD}
_OCI_TYPES = {"": OCI_LAYER, "gzip": OCI_LAYER_GZIP, "zstd": OCI_LAYER_ZSTD}
_NAMED_CONFIG = re.compile(r"(?:.*/)?(?:blobs/sha256/)?([0-9a-f]{64})(?:\.json)?")


@dataclass
class LayerPlan:
    member: Member
    diff_id: str
    blob_digest: str
    media_type: str
    diff_size: int


@dataclass
class ImagePlan:
    image_id: str
    config_bytes: bytes
    layers: list[LayerPlan]
    tags: list[Reference] = field(default_factory=list)
    manifest: tuple[str, bytes] | None = None  # (digest, bytes) of the manifest it came with
    parent: str = ""  # docker save's "Parent": a local build's base image, saved along


def plan_archive(archive: SpooledArchive) -> list[ImagePlan]:
    if archive.exists("index.json") and archive.exists("oci-layout"):
        return _oci_layout(archive)
    if archive.exists("manifest.json"):
        return _docker_archive(archive)
    if archive.exists("index.json"):
        return _oci_layout(archive)  # says what it lacks
    if archive.exists("repositories"):
        raise InvalidArgument("image archive: it has no manifest.json: the format of docker save before "
                              "Docker 1.10 is not supported")
    raise InvalidArgument("not an image archive: it has neither manifest.json (docker save) nor index.json "
                          "(an OCI layout)")


# --- docker save / podman save (docker-archive) ------------------------------------

def _docker_archive(archive: SpooledArchive) -> list[ImagePlan]:
    entries = _json(archive.read("manifest.json"), "manifest.json")
    if not isinstance(entries, list) or not entries:
        raise InvalidArgument("image archive: manifest.json: expected a list of images")
    plans = [_docker_image(archive, entry, f"manifest.json[{i}]") for i, entry in enumerate(entries)]
    saved = {plan.image_id: plan for plan in plans}
    for plan, entry in zip(plans, entries):
        parent = saved.get(entry.get("Parent")) if isinstance(entry.get("Parent"), str) else None
        if parent is not None and _built_on(plan, parent):
            plan.parent = parent.image_id
    return plans


def _built_on(child: ImagePlan, parent: ImagePlan) -> bool:
    """Docker's check of a saved parent: the child's history is the parent's
    and one step more, and its layers start with the parent's."""
    child_config, parent_config = parse_image_config(child.config_bytes), parse_image_config(parent.config_bytes)
    layers = child_config.diff_ids[:len(parent_config.diff_ids)]
    return len(child_config.history) == len(parent_config.history) + 1 and layers == parent_config.diff_ids


def _docker_image(archive: SpooledArchive, entry, where: str) -> ImagePlan:
    if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str):
        raise InvalidArgument(f"image archive: {where}: expected an object with Config")
    config_bytes = archive.read(entry["Config"])
    image_id = digest_bytes(config_bytes)
    named = _NAMED_CONFIG.fullmatch(entry["Config"])
    if named and named[1] != image_id[7:]:
        raise InvalidArgument(f"image archive: {entry['Config']} does not match its digest (its content is "
                              f"{image_id})")
    config = parse_image_config(config_bytes)
    names = entry.get("Layers")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InvalidArgument(f"image archive: {where}.Layers: expected a list of member names")
    if len(names) != len(config.diff_ids):
        raise InvalidArgument(f"image archive: {where} lists {len(names)} layers, its config "
                              f"{len(config.diff_ids)}")
    layers = []
    for name, diff_id in zip(names, config.diff_ids):
        member = archive.member(name)
        compression, diff_size = verify_layer_content(archive, member, diff_id)
        layers.append(LayerPlan(member, diff_id, member.sha256, _media_type(_DOCKER_TYPES, compression),
                                 diff_size))
    return ImagePlan(image_id, config_bytes, layers, _repo_tags(entry.get("RepoTags"), where))


def _repo_tags(tags, where: str) -> list[Reference]:
    if tags is None:
        return []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise InvalidArgument(f"image archive: {where}.RepoTags: expected a list of names")
    references = []
    for tag in tags:
        reference = parse(tag)
        if reference.tag is None:
            raise InvalidArgument(f"image archive: {where}.RepoTags: {tag!r} has no tag")
        references.append(reference)
    return references


# --- OCI image layouts --------------------------------------------------------------

def _oci_layout(archive: SpooledArchive) -> list[ImagePlan]:
    layout = _json(archive.read("oci-layout"), "oci-layout") if archive.exists("oci-layout") else None
    if not isinstance(layout, dict) or not isinstance(layout.get("imageLayoutVersion"), str):
        raise InvalidArgument("image archive: an OCI layout needs an oci-layout file with imageLayoutVersion")
    index = parse_index(archive.read("index.json"))
    plans = []
    for descriptor in index.manifests:
        if descriptor.media_type in INDEX_TYPES:
            nested = parse_index(_blob(archive, descriptor), descriptor.media_type)
            plans.append(_oci_image(archive, select_manifest(nested), descriptor.annotations))
        elif descriptor.media_type in MANIFEST_TYPES:
            plans.append(_oci_image(archive, descriptor, descriptor.annotations))
    if not plans:
        raise InvalidArgument("image archive: its index.json lists no image manifest")
    return plans


def _oci_image(archive: SpooledArchive, descriptor: Descriptor, annotations: dict) -> ImagePlan:
    manifest_bytes = _blob(archive, descriptor)
    manifest = parse_manifest(manifest_bytes, descriptor.media_type)
    check_image_manifest(manifest)
    config_bytes = _blob(archive, manifest.config)
    config = parse_image_config(config_bytes)
    if len(manifest.layers) != len(config.diff_ids):
        raise InvalidArgument(f"image archive: manifest {descriptor.digest} has {len(manifest.layers)} "
                              f"layers, its config {len(config.diff_ids)}")
    layers = []
    for layer, diff_id in zip(manifest.layers, config.diff_ids):
        member = _blob_member(archive, layer)
        _, diff_size = verify_layer_content(archive, member, diff_id)
        layers.append(LayerPlan(member, diff_id, layer.digest, layer.media_type, diff_size))
    return ImagePlan(digest_bytes(config_bytes), config_bytes, layers, _annotated_names(annotations),
                     (descriptor.digest, manifest_bytes))


def _annotated_names(annotations: dict) -> list[Reference]:
    """The name containerd's annotation gives, with the layout's own tag when
    that says otherwise (tools such as umoci copy the first along to an image
    they derive and give it a new ref.name); else ref.name if a full reference."""
    containerd, ref_name = annotations.get(CONTAINERD_NAME, ""), annotations.get(OCI_REF_NAME, "")
    bare_tag = is_valid_tag(ref_name)  # "v1", not "registry/name:v1"
    for text in (containerd, ref_name if not bare_tag else ""):
        try:
            reference = parse(text) if text else None
        except InvalidArgument:
            continue
        if reference is not None and reference.digest is None:
            return [reference.with_tag(ref_name) if text == containerd and bare_tag else reference]
    return []


def _blob_member(archive: SpooledArchive, descriptor: Descriptor) -> Member:
    algorithm, encoded = split_digest(descriptor.digest)
    member = archive.member(f"blobs/{algorithm}/{encoded}")
    if member.size != descriptor.size:
        raise InvalidArgument(f"image archive: blob {descriptor.digest} has {member.size} bytes, its "
                              f"descriptor says {descriptor.size}")
    actual = member.sha256 if algorithm == "sha256" else _hash_file(member.path, algorithm)
    if actual != descriptor.digest:
        raise InvalidArgument(f"image archive: blob {descriptor.digest} does not match its digest (its "
                              f"content is {actual})")
    return member


def _blob(archive: SpooledArchive, descriptor: Descriptor) -> bytes:
    if descriptor.data is not None:
        return descriptor.data
    return archive.read(_blob_member(archive, descriptor).name)


def _hash_file(path: str, algorithm: str) -> str:
    hasher = new_hasher(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            hasher.update(chunk)
    return f"{algorithm}:{hasher.hexdigest()}"


def _media_type(types: dict, compression: str) -> str:
    return types.get(compression, f"{OCI_LAYER}+{compression}")


def _json(data: bytes, where: str):
    try:
        return json.loads(data)
    except ValueError as e:
        raise InvalidArgument(f"image archive: {where}: malformed JSON: {e}") from None
