"""Image configs: Docker's image config v1, which the OCI image config extends.

`parse_image_config` reads the JSON document whose digest is the image id:
the platform (architecture, os, variant), the defaults for a container's
process (`RunConfig`: Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts,
Volumes, Labels, StopSignal, Healthcheck, ...), the layers' diff ids under
``rootfs`` and the ``history``.  Every field hakobune acts on is type-checked
with an error naming it; the whole document stays in `raw`, so the legacy
fields (container_config, docker_version, ...) are kept when it is written
again with `to_dict`.
"""

import json
from hakobune.oci._record import field, record as dataclass

from hakobune.errors import InvalidArgument
from hakobune.oci.digest import check_digest
from hakobune.oci.platform import Platform

_PROTOCOLS = ("tcp", "udp", "sctp")


@dataclass
class Healthcheck:
    """Docker's HEALTHCHECK; durations in nanoseconds, 0 meaning "inherit"."""

    test: list[str]
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0


@dataclass
class RunConfig:
    """The image's defaults for a container's process (the config's "config")."""

    user: str = ""
    env: list[str] = field(default_factory=list)
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    working_dir: str = ""
    exposed_ports: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    stop_signal: str = ""
    stop_timeout: int | None = None
    healthcheck: Healthcheck | None = None
    args_escaped: bool = False
    on_build: list[str] = field(default_factory=list)
    shell: list[str] | None = None


@dataclass
class HistoryEntry:
    created: str = ""
    created_by: str = ""
    author: str = ""
    comment: str = ""
    empty_layer: bool = False


@dataclass
class ImageConfig:
    architecture: str
    os: str
    config: RunConfig
    diff_ids: list[str]
    history: list[HistoryEntry] = field(default_factory=list)
    variant: str = ""
    os_version: str = ""
    created: str = ""
    author: str = ""
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def platform(self) -> Platform:
        return Platform(self.os, self.architecture, self.variant, self.os_version)

    def to_dict(self) -> dict:
        """The document, with the modelled fields written over `raw`."""
        doc = dict(self.raw)
        doc.update({"architecture": self.architecture, "os": self.os,
                    "config": run_config_to_dict(self.config, self.raw.get("config") or {}),
                    "rootfs": {"type": "layers", "diff_ids": list(self.diff_ids)},
                    "history": [_history_to_dict(entry) for entry in self.history]})
        for key, value in (("variant", self.variant), ("os.version", self.os_version),
                           ("created", self.created), ("author", self.author)):
            if value:
                doc[key] = value
        return doc


def parse_image_config(raw: bytes) -> ImageConfig:
    try:
        doc = json.loads(raw)
    except (ValueError, TypeError) as e:
        raise InvalidArgument(f"image config: malformed JSON: {e}") from None
    _check(doc, dict, "image config")
    rootfs = doc.get("rootfs")
    _check(rootfs, dict, "image config: rootfs")
    if rootfs.get("type") != "layers":
        raise InvalidArgument(f"image config: rootfs.type: expected 'layers', got {rootfs.get('type')!r}")
    diff_ids = _list(rootfs, "diff_ids", "image config: rootfs", str) or []
    for i, diff_id in enumerate(diff_ids):
        check_digest(diff_id, f"image config: rootfs.diff_ids[{i}]")
    history = doc.get("history") or []
    _check(history, list, "image config: history")
    return ImageConfig(
        architecture=_text(doc, "architecture", "image config", required=True),
        os=_text(doc, "os", "image config", required=True),
        config=parse_run_config(doc.get("config") or {}, "image config: config"),
        diff_ids=diff_ids,
        history=[_history_entry(entry, f"image config: history[{i}]") for i, entry in enumerate(history)],
        variant=_text(doc, "variant", "image config"),
        os_version=_text(doc, "os.version", "image config"),
        created=_text(doc, "created", "image config"),
        author=_text(doc, "author", "image config"),
        raw=doc)


def parse_run_config(doc, where: str = "config") -> RunConfig:
    _check(doc, dict, where)
    timeout = doc.get("StopTimeout")
    if timeout is not None and type(timeout) is not int:
        raise InvalidArgument(f"{where}.StopTimeout: expected whole seconds, got {timeout!r}")
    return RunConfig(
        user=_text(doc, "User", where), env=_list(doc, "Env", where, str) or [],
        entrypoint=_list(doc, "Entrypoint", where, str), cmd=_list(doc, "Cmd", where, str),
        working_dir=_text(doc, "WorkingDir", where),
        exposed_ports=[_port(key, f"{where}.ExposedPorts") for key in _keys(doc, "ExposedPorts", where)],
        volumes=_keys(doc, "Volumes", where), labels=_labels(doc, where),
        stop_signal=_text(doc, "StopSignal", where), stop_timeout=timeout,
        healthcheck=_healthcheck(doc.get("Healthcheck"), f"{where}.Healthcheck"),
        args_escaped=bool(doc.get("ArgsEscaped", False)),
        on_build=_list(doc, "OnBuild", where, str) or [], shell=_list(doc, "Shell", where, str))


def run_config_to_dict(config: RunConfig, base: dict | None = None) -> dict:
    doc = dict(base or {})
    doc.update({"User": config.user, "Env": list(config.env), "Entrypoint": config.entrypoint,
                "Cmd": config.cmd, "WorkingDir": config.working_dir,
                "Labels": dict(config.labels) or None, "OnBuild": list(config.on_build) or None})
    optional = {"ExposedPorts": {port: {} for port in config.exposed_ports} or None,
                "Volumes": {path: {} for path in config.volumes} or None,
                "StopSignal": config.stop_signal or None, "StopTimeout": config.stop_timeout,
                "Shell": config.shell, "ArgsEscaped": config.args_escaped or None,
                "Healthcheck": healthcheck_to_dict(config.healthcheck) if config.healthcheck else None}
    for key, value in optional.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def _healthcheck(doc, where: str) -> Healthcheck | None:
    if doc is None:
        return None
    _check(doc, dict, where)
    durations = {}
    for key in ("Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"):
        value = doc.get(key, 0)
        if type(value) is not int or value < 0:
            raise InvalidArgument(f"{where}.{key}: expected a non-negative integer, got {value!r}")
        durations[key] = value
    return Healthcheck(_list(doc, "Test", where, str) or [], durations["Interval"], durations["Timeout"],
                       durations["StartPeriod"], durations["StartInterval"], durations["Retries"])


def healthcheck_to_dict(check: Healthcheck) -> dict:
    doc = {"Test": list(check.test)}
    for key, value in (("Interval", check.interval), ("Timeout", check.timeout),
                       ("StartPeriod", check.start_period), ("StartInterval", check.start_interval),
                       ("Retries", check.retries)):
        if value:
            doc[key] = value
    return doc


def _history_entry(doc, where: str) -> HistoryEntry:
    _check(doc, dict, where)
    empty = doc.get("empty_layer", False)
    if not isinstance(empty, bool):
        raise InvalidArgument(f"{where}.empty_layer: expected true or false, got {empty!r}")
    return HistoryEntry(_text(doc, "created", where), _text(doc, "created_by", where),
                        _text(doc, "author", where), _text(doc, "comment", where), empty)


def _history_to_dict(entry: HistoryEntry) -> dict:
    doc = {key: value for key, value in (("created", entry.created), ("created_by", entry.created_by),
                                         ("author", entry.author), ("comment", entry.comment)) if value}
    if entry.empty_layer:
        doc["empty_layer"] = True
    return doc


def _port(key: str, where: str) -> str:
    number, _, protocol = key.partition("/")
    if not number.isdigit() or not 0 < int(number) < 65536 or (protocol or "tcp") not in _PROTOCOLS:
        raise InvalidArgument(f"{where}: invalid port {key!r}: expected PORT[/tcp|udp|sctp]")
    return f"{int(number)}/{protocol or 'tcp'}"


def _labels(doc: dict, where: str) -> dict:
    labels = doc.get("Labels") or {}
    _check(labels, dict, f"{where}.Labels")
    for key, value in labels.items():
        if not isinstance(value, str):
            raise InvalidArgument(f"{where}.Labels[{key!r}]: expected a string, got {type(value).__name__}")
    return dict(labels)


def _keys(doc: dict, key: str, where: str) -> list[str]:
    value = doc.get(key) or {}
    _check(value, dict, f"{where}.{key}")
    return list(value)


def _list(doc: dict, key: str, where: str, item: type) -> list | None:
    value = doc.get(key)
    if value is None:
        return None
    _check(value, list, f"{where}.{key}")
    for i, element in enumerate(value):
        if not isinstance(element, item):
            raise InvalidArgument(f"{where}.{key}[{i}]: expected a string, got {type(element).__name__}")
    return list(value)


def _text(doc: dict, key: str, where: str, required: bool = False) -> str:
    value = doc.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        got = "nothing" if value is None else repr(value)
        raise InvalidArgument(f"{where}: {key}: expected a string, got {got}")
    return value


def _check(value, kind: type, where: str) -> None:
    if not isinstance(value, kind):
        got = "nothing" if value is None else type(value).__name__
        raise InvalidArgument(f"{where}: expected {'an object' if kind is dict else 'a list'}, got {got}")
