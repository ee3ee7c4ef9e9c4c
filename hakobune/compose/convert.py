"""A service of the resolved model → Docker's create body, through the
same code that turns `run`'s flags into it (hakobune.createbody.runopts.body_of):
the service becomes the flag values `run` would have parsed, then the
compose-only parts (several networks with aliases, list entrypoints,
labels) are set on the body.

    body = create_body(model, "web", number=1)
    config_hash(model["services"]["web"])     # com.docker.compose.config-hash
"""

from __future__ import annotations

import hashlib
import json

from hakobune.compose.loader import ComposeError
from hakobune.compose.services import replicas_of

PROJECT = "com.docker.compose.project"
SERVICE = "com.docker.compose.service"
NUMBER = "com.docker.compose.container-number"
ONEOFF = "com.docker.compose.oneoff"
CONFIG_HASH = "com.docker.compose.config-hash"
VERSION = "com.docker.compose.version"
WORKING_DIR = "com.docker.compose.project.working_dir"
CONFIG_FILES = "com.docker.compose.project.config_files"
DEPENDS_ON = "com.docker.compose.depends_on"
IMAGE = "com.docker.compose.image"
NETWORK = "com.docker.compose.network"
VOLUME = "com.docker.compose.volume"
COMPOSE_VERSION = "2.29.0"  # the Docker Compose whose behaviour is followed


class RunFlags:
    """The values `run`'s flags would have (what runopts.body_of reads)."""

    def __init__(self, **values):
        self._changed = set(values.pop("_changed", ()))
        self.__dict__.update(values)

    def changed(self, name: str) -> bool:
        return name in self._changed


def config_hash(service: dict) -> str:
    """The digest of a service's configuration: `up` recreates a container when it changed."""
    text = json.dumps(service, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def container_name(model: dict, service_name: str, number: int) -> str:
    service = model["services"][service_name]
    if service.get("container_name"):
        return service["container_name"]
    return f"{model['name']}-{service_name}-{number}"


def image_of(model: dict, service_name: str) -> str:
    """The service's image; a build without one is named `<project>-<service>`."""
    service = model["services"][service_name]
    return service.get("image") or f"{model['name']}-{service_name}"


def _convert(where: str, function, text):
    try:
        return function(str(text))
    except ValueError as e:
        raise ComposeError(f"{where}: {e}") from None


def _duration_ns(where: str, text) -> int:
    from hakobune.createbody.gosyntax import parse_duration

    if isinstance(text, (int, float)):
        return int(text * 1_000_000_000)
    return _convert(where, parse_duration, text)


def _run_flags(model: dict, service_name: str, service: dict) -> RunFlags:
    from hakobune.createbody.kinds import Ulimit, parse_cpus, ram_in_bytes

    where = f"services.{service_name}"
    limits = ((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    memory = limits.get("memory") or service.get("mem_limit")
    cpus = limits.get("cpus") or service.get("cpus")
    pids = limits.get("pids") or service.get("pids_limit")
    logging = service.get("logging") or {}
    from hakobune.engine.create import LOG_DRIVERS

    if logging.get("driver") and logging["driver"] not in LOG_DRIVERS:  # warned about when loaded
        logging = {}
    ulimits = {}
    for name, value in (service.get("ulimits") or {}).items():
        soft, hard = (value["soft"], value["hard"]) if isinstance(value, dict) else (value, value)
        ulimits[name] = Ulimit(name, soft, hard)
    changed = []
    if "init" in service:
        changed.append("init")
    if "stop_grace_period" in service:
        changed.append("stop-timeout")
    flags = RunFlags(
        _changed=changed, interactive=service.get("stdin_open", False), tty=service.get("tty", False),
        hostname=service.get("hostname", ""), user=service.get("user", ""), workdir=service.get("working_dir", ""),
        env=[k if v is None else f"{k}={v}" for k, v in (service.get("environment") or {}).items() if v is not None],
        stop_signal=service.get("stop_signal", ""),
        stop_timeout=(_duration_ns(f"{where}.stop_grace_period", service["stop_grace_period"]) // 1_000_000_000
                      if "stop_grace_period" in service else None),
        restart=service.get("restart", "no"), cap_add=service.get("cap_add", []),
        cap_drop=service.get("cap_drop", []), ipc=_container_mode(model, service.get("ipc", "")),
        pid=_container_mode(model, service.get("pid", "")),
        ulimit=ulimits, log_driver=logging.get("driver", ""),
        log_opt=[f"{k}={v}" for k, v in (logging.get("options") or {}).items()],
        group_add=service.get("group_add", []), oom_score_adj=service.get("oom_score_adj", 0),
        privileged=service.get("privileged", False), read_only=service.get("read_only", False),
        security_opt=service.get("security_opt", []),
        shm_size=_convert(f"{where}.shm_size", ram_in_bytes, service["shm_size"]) if "shm_size" in service else 0,
        cpu_shares=service.get("cpu_shares", 0),
        memory=_convert(f"{where}.memory", ram_in_bytes, memory) if memory else 0,
        memory_reservation=(_convert(f"{where}.mem_reservation", ram_in_bytes, service["mem_reservation"])
                            if "mem_reservation" in service else 0),
        memory_swap=(_convert(f"{where}.memswap_limit", ram_in_bytes, service["memswap_limit"])
                     if "memswap_limit" in service else 0),
        cpus=_convert(f"{where}.cpus", parse_cpus, cpus) if cpus else 0,
        pids_limit=int(pids) if pids else 0, device=service.get("devices", []),
        sysctl=service.get("sysctls") or {}, init=service.get("init", False),
        expose=service.get("expose", []), publish=[_port_text(p) for p in service.get("ports") or []],
        dns=service.get("dns", []), dns_search=service.get("dns_search", []),
        dns_option=service.get("dns_opt", []), add_host=service.get("extra_hosts", []),
        tmpfs=service.get("tmpfs", []), runtime=service.get("runtime", ""),
        cgroup_parent=service.get("cgroup_parent", ""),
    )
    flags.__dict__.update(_health_flags(where, service.get("healthcheck")))
    return flags


def _port_text(port: dict) -> str:
    """A long-syntax port back as `-p`'s text."""
    text = f"{port['target']}/{port.get('protocol', 'tcp')}"
    if port.get("published"):
        text = f"{port['published']}:{text}"
        if port.get("host_ip"):
            text = f"{port['host_ip']}:{text}"
    elif port.get("host_ip"):
        text = f"{port['host_ip']}::{text}"
    return text


def _health_flags(where: str, check: dict | None) -> dict:
    if not check:
        return {}
    if check.get("disable") or (check.get("test") or [None])[0] == "NONE":
        return {"no_healthcheck": True}
    flags = {}
    test = check.get("test") or []
    if test and test[0] == "CMD-SHELL":
        flags["health_cmd"] = " ".join(test[1:])
    for key, dest in (("interval", "health_interval"), ("timeout", "health_timeout"),
                      ("start_period", "health_start_period"), ("start_interval", "health_start_interval")):
        if check.get(key):
            flags[dest] = _duration_ns(f"{where}.healthcheck.{key}", check[key])
    flags["health_retries"] = check.get("retries", 0)
    return flags


def create_body(model: dict, service_name: str, number: int, oneoff: bool = False, command=None,
                detach: bool = True) -> dict:
    """The create body of the service's container number `number` (a `run`
    container: `oneoff`, with its own `command`)."""
    from hakobune.createbody import runopts

    service = model["services"][service_name]
    flags = _run_flags(model, service_name, service)
    try:
        body = runopts.body_of(flags, image_of(model, service_name), list(command or service.get("command") or []),
                               detach=detach)
    except runopts.OptionError as e:
        raise ComposeError(f"services.{service_name}: {e}") from None
    if command is None and "command" not in service:
        body["Cmd"] = None
    if "entrypoint" in service:
        body["Entrypoint"] = list(service["entrypoint"]) or [""]
    health = service.get("healthcheck") or {}
    if health.get("test") and health["test"][0] == "CMD":
        body.setdefault("Healthcheck", {})["Test"] = list(health["test"])
    if service.get("domainname"):
        body["Domainname"] = service["domainname"]
    _apply_volumes(model, service, body)
    _apply_networks(model, service_name, service, body, number)
    body["Labels"] = {**(service.get("labels") or {}), **_labels(model, service_name, number, oneoff)}
    return body


def _labels(model: dict, service_name: str, number: int, oneoff: bool) -> dict:
    service = model["services"][service_name]
    return {PROJECT: model["name"], SERVICE: service_name, NUMBER: str(number),
            ONEOFF: "True" if oneoff else "False", CONFIG_HASH: config_hash(service), VERSION: COMPOSE_VERSION,
            WORKING_DIR: model.get("_project_dir", ""), CONFIG_FILES: ",".join(model.get("_files") or ()),
            IMAGE: image_of(model, service_name),
            DEPENDS_ON: ",".join(f"{name}:{dep['condition']}:{str(dep.get('restart', False)).lower()}"
                                 for name, dep in (service.get("depends_on") or {}).items())}


def _apply_volumes(model: dict, service: dict, body: dict) -> None:
    """Named volumes and binds as HostConfig.Binds, anonymous ones as Config.Volumes, tmpfs ones as Tmpfs."""
    from hakobune.createbody.mounts import apply_mount_flags

    volumes, tmpfs = [], list(service.get("tmpfs") or [])
    for volume in service.get("volumes") or []:
        if volume["type"] == "tmpfs":
            size = (volume.get("tmpfs") or {}).get("size")
            tmpfs.append(volume["target"] + (f":size={size}" if size else ""))
            continue
        if not volume.get("source"):
            volumes.append(volume["target"])
            continue
        source = volume["source"]
        if volume["type"] == "volume":
            source = model["volumes"][source]["name"]
        options = ["ro"] if volume.get("read_only") else []
        if (volume.get("volume") or {}).get("nocopy"):
            options.append("nocopy")
        for option in ("propagation", "selinux"):
            if (volume.get("bind") or {}).get(option):
                options.append(volume["bind"][option])
        volumes.append(f"{source}:{volume['target']}" + (f":{','.join(options)}" if options else ""))
    for section, directory in (("secrets", "/run/secrets/"), ("configs", "/")):
        for grant in service.get(section) or []:
            target = grant.get("target") or grant["source"]
            target = target if target.startswith("/") else directory + target
            volumes.append(f"{model[section][grant['source']]['file']}:{target}:ro")
    apply_mount_flags(body, RunFlags(volume=volumes, tmpfs=tmpfs,
                                     volumes_from=[_volumes_from(model, source) for source in
                                                   service.get("volumes_from") or []]))


def _volumes_from(model: dict, source: str) -> str:
    """A `volumes_from` entry → --volumes-from's CONTAINER[:ro|rw]: a service's first container."""
    if source.startswith("container:"):
        return source[len("container:"):]
    service, _, mode = source.partition(":")
    return container_name(model, service, 1) + (f":{mode}" if mode else "")


def keep_anonymous_volumes(body: dict, volumes: dict) -> None:
    """Mount `volumes` ({container path: volume name}, the anonymous volumes of
    a replaced container) at their paths, unless the body mounts something
    else there."""
    host = body["HostConfig"]
    taken = {bind.split(":")[1] for bind in host.get("Binds") or [] if ":" in bind}
    taken |= {m.get("Target") for m in host.get("Mounts") or []} | set(host.get("Tmpfs") or {})
    anonymous = body.get("Volumes") or {}
    for path, name in sorted(volumes.items()):
        if path in taken:
            continue
        anonymous.pop(path, None)
        host["Binds"] = (host.get("Binds") or []) + [f"{name}:{path}"]
    body["Volumes"] = anonymous


def _container_mode(model: dict, mode: str) -> str:
    """`service:NAME` (network_mode, pid, ipc) → Docker's `container:` of that service's first container."""
    if mode.startswith("service:"):
        return f"container:{container_name(model, mode[len('service:'):], 1)}"
    return mode


def endpoint_links(model: dict, service: dict) -> list[str]:
    """Docker's EndpointsConfig.Links (`CONTAINER:ALIAS`) of a service's
    `links` (each container of the service linked) and `external_links`:
    on a user network the engine's DNS answers ALIAS, for this container
    only, with the linked container's address."""
    from hakobune.compose.loader import link_alias, link_service

    out = []
    for link in service.get("links") or []:
        target = link_service(link)
        for number in range(1, replicas_of(model["services"][target]) + 1):
            out.append(f"{container_name(model, target, number)}:{link_alias(link)}")
    for link in service.get("external_links") or []:
        out.append(f"{link.partition(':')[0]}:{link_alias(link)}")
    return out


def _apply_networks(model: dict, service_name: str, service: dict, body: dict, number: int) -> None:
    from hakobune.createbody.netopts import empty_endpoint

    host = body["HostConfig"]
    if service.get("network_mode"):
        host["NetworkMode"] = _container_mode(model, service["network_mode"])
        body["NetworkingConfig"] = {"EndpointsConfig": {}}
        return
    endpoints = {}
    name = container_name(model, service_name, number)
    links = endpoint_links(model, service) or None
    for key, settings in (service.get("networks") or {}).items():
        settings = settings or {}
        aliases = [service_name, name] + [a for a in settings.get("aliases") or [] if a not in (service_name, name)]
        endpoint = empty_endpoint(aliases, settings.get("ipv4_address", ""), settings.get("ipv6_address", ""),
                                  settings.get("mac_address", ""))
        endpoint["Links"] = links
        endpoints[model["networks"][key]["name"]] = endpoint
    host["NetworkMode"] = next(iter(endpoints), "default")
    body["NetworkingConfig"] = {"EndpointsConfig": endpoints}
