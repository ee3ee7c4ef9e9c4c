"""The Docker Engine API's JSON shapes of images (API 1.41, as Docker 20.10
answers): `docker image inspect`, `docker images` (GET /images/json) and
`docker history`.  Key order and null-versus-empty follow the recorded
answers in the engine-api reference: Go structs marshalled, so a container
config always has its fixed keys and drops only its ``omitempty`` ones.
"""

from hakobune.errors import InvalidArgument
from hakobune.image._timefmt import ZERO_TIME, unix_seconds
from hakobune.image.store import Image, ImageStore

GRAPH_DRIVER = "overlay2"  # one directory per layer, stacked as overlayfs lower dirs

# Go's container.Config: (key, value when absent, omitted when empty)
_CONTAINER_CONFIG = (
    ("Hostname", "", False), ("Domainname", "", False), ("User", "", False),
    ("AttachStdin", False, False), ("AttachStdout", False, False), ("AttachStderr", False, False),
    ("ExposedPorts", None, True), ("Tty", False, False), ("OpenStdin", False, False),
    ("StdinOnce", False, False), ("Env", None, False), ("Cmd", None, False), ("Healthcheck", None, True),
    ("ArgsEscaped", False, True), ("Image", "", False), ("Volumes", None, False), ("WorkingDir", "", False),
    ("Entrypoint", None, False), ("NetworkDisabled", False, True), ("MacAddress", "", True),
    ("OnBuild", None, False), ("Labels", None, False), ("StopSignal", "", True), ("StopTimeout", None, True),
    ("Shell", None, True),
)


def container_config(doc: dict | None) -> dict:
    """A config's "config" or "container_config" as Go's container.Config marshals."""
    doc = doc or {}
    shaped = {}
    for key, absent, omit_empty in _CONTAINER_CONFIG:
        value = doc.get(key)
        value = absent if value is None else value
        if omit_empty and (value is None if key == "StopTimeout" else _is_empty(value)):
            continue
        shaped[key] = value
    return shaped


def _is_empty(value) -> bool:
    return value is None or value is False or value == "" or value == {} or value == []


def inspect_image(store: ImageStore, image: Image) -> dict:
    raw = image.config.raw
    size = store.size(image)
    doc = {
        "Id": image.id,
        "RepoTags": image.repo_tags,
        "RepoDigests": image.repo_digests,
        "Parent": image.record.parent,
        "Comment": _text(raw, "comment"),
        "Created": _text(raw, "created") or ZERO_TIME,
        "Container": _text(raw, "container"),
        "ContainerConfig": container_config(raw.get("container_config")),
        "DockerVersion": _text(raw, "docker_version"),
        "Author": _text(raw, "author"),
        "Config": container_config(raw["config"]) if isinstance(raw.get("config"), dict) else None,
        "Architecture": image.config.architecture,
    }
    if image.config.variant:
        doc["Variant"] = image.config.variant
    doc["Os"] = image.config.os
    if image.config.os_version:
        doc["OsVersion"] = image.config.os_version
    doc.update({
        "Size": size,
        "VirtualSize": size,
        "GraphDriver": {"Data": _graph_data(store, image), "Name": GRAPH_DRIVER},
        "RootFS": {"Type": "layers", "Layers": image.diff_ids or None},
        "Metadata": {"LastTagTime": image.record.last_tag_time or ZERO_TIME},
    })
    return doc


def _graph_data(store: ImageStore, image: Image) -> dict:
    if image.top_chain_id is None:
        return {}
    directories = store.layers.lower_dirs(image.top_chain_id)
    data = {"UpperDir": directories[0]}
    if len(directories) > 1:
        data = {"LowerDir": ":".join(directories[1:]), **data}
    return data


def list_images(store: ImageStore, all: bool = False) -> list[dict]:  # noqa: A002 - Docker's name
    """GET /images/json: newest first; images without names but with children
    (intermediate build steps) only with `all`; the rest untagged are
    ``<none>:<none>``."""
    images = store.images()
    parents = {image.record.parent for image in images if image.record.parent}
    summaries = []
    for image in images:
        tags, digests = image.repo_tags or None, image.repo_digests or None
        if tags is None and digests is None:
            if not all and image.id in parents:
                continue
            tags, digests = ["<none>:<none>"], ["<none>@<none>"]
        size = store.size(image)
        summaries.append({
            "Containers": -1, "Created": unix_seconds(image.config.created), "Id": image.id,
            "Labels": dict(image.config.config.labels) or None, "ParentId": image.record.parent,
            "RepoDigests": digests, "RepoTags": tags, "SharedSize": -1, "Size": size, "VirtualSize": size,
        })
    return sorted(summaries, key=lambda summary: (-summary["Created"], summary["Id"]))


def image_history(store: ImageStore, image: Image) -> list[dict]:
    """GET /images/{name}/history: the config's history, newest first, each
    non-empty step with its layer's size; the image's id (and tags) on its
    newest step, its parents' on theirs, ``<missing>`` where unknown."""
    entries = []
    layer = 0
    for step in image.config.history:
        size = 0
        if not step.empty_layer:
            if layer >= len(image.record.chain_ids):
                raise InvalidArgument(f"image {image.short_id}: its config's history has more non-empty "
                                      "layers than its rootfs")
            size = store.layers.size(image.record.chain_ids[layer])
            layer += 1
        entries.insert(0, {"Comment": step.comment, "Created": unix_seconds(step.created),
                           "CreatedBy": step.created_by, "Id": "<missing>", "Size": size, "Tags": None})
    current = image
    for entry in entries:
        entry["Id"] = current.id
        entry["Tags"] = current.repo_tags or None
        parent = current.record.parent
        if not parent or store.read_record(parent) is None:
            break
        current = store.get(parent)
    return entries


def _text(doc: dict, key: str) -> str:
    value = doc.get(key)
    return value if isinstance(value, str) else ""
