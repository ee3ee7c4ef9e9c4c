"""One service of a compose file in its canonical form: short syntaxes
expanded (ports, volumes, depends_on, networks), lists of KEY=VALUE made
mappings, env_file folded into environment, relative paths made absolute
against the project directory; types checked, errors naming the file,
the service and the key.  And the order services start in (`startup_order`).
"""

from __future__ import annotations

import os

from hakobune.compose.loader import CONDITIONS, ComposeError, parse_dotenv

_STRING_KEYS = ("image", "network_mode", "restart", "pid", "ipc", "container_name", "hostname", "domainname",
                "user", "working_dir", "stop_signal", "stop_grace_period", "platform", "pull_policy", "cgroup_parent",
                "runtime")
_BOOL_KEYS = ("tty", "stdin_open", "privileged", "init", "read_only")
_SIZE_KEYS = ("mem_limit", "shm_size", "mem_reservation", "memswap_limit", "cpus")  # converted by convert
_LIST_KEYS = ("expose", "cap_add", "cap_drop", "security_opt", "dns", "dns_search", "dns_opt", "devices", "profiles",
              "group_add", "links", "external_links", "volumes_from")


def normalize_service(name: str, raw: dict, path: str, project_dir: str, environment: dict) -> dict:
    where = f"{path}: services.{name}"
    service: dict = {}
    for key, value in raw.items():
        if str(key).startswith("x-"):
            service[str(key)] = value  # an extension: kept as it is (config prints it), used by nothing
            continue
        if value is None and key not in ("environment",):
            continue
        service[key] = _normalize_key(key, value, f"{where}.{key}", project_dir, environment)
    env_files = service.pop("env_file", None)
    if env_files:
        environment_from_files: dict = {}
        for env_path in env_files:
            environment_from_files.update(parse_dotenv(env_path))
        service["environment"] = {**environment_from_files, **(service.get("environment") or {})}
    return service


def _normalize_key(key: str, value, where: str, project_dir: str, environment: dict):
    if key in _STRING_KEYS:
        return _scalar_text(value, where)
    if key in _BOOL_KEYS:
        return _boolean(value, where)
    if key in _SIZE_KEYS:
        return _scalar_text(value, where)
    if key in _LIST_KEYS:
        return [_scalar_text(item, where) for item in _list(value, where)]
    handler = _HANDLERS.get(key)
    if handler is not None:
        return handler(value, where, project_dir, environment)
    return value


# --- checks -----------------------------------------------------------------------------------

def _scalar_text(value, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ComposeError(f"{where} must be a string")


def _boolean(value, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
        return value.lower() in ("true", "yes", "1")
    raise ComposeError(f"{where} must be a boolean")


def _list(value, where: str) -> list:
    if not isinstance(value, list):
        raise ComposeError(f"{where} must be a list")
    return value


def _mapping(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise ComposeError(f"{where} must be a mapping")
    return value


def _integer(value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ComposeError(f"{where} must be an integer")
    try:
        return int(value)
    except ValueError:
        raise ComposeError(f"{where} must be an integer") from None


def _words(value, where: str) -> list[str]:
    """command / entrypoint: a list as is, a string split as a shell would."""
    if isinstance(value, str):
        import shlex

        try:
            return shlex.split(value)
        except ValueError as e:
            raise ComposeError(f"{where}: {e}") from None
    return [_scalar_text(item, where) for item in _list(value, where)]


def key_values(value, where: str, empty_is_none: bool = True) -> dict:
    """A KEY=VALUE list or a mapping → a mapping (a bare KEY: None)."""
    if isinstance(value, dict):
        return {str(k): (None if v is None else _scalar_text(v, f"{where}.{k}")) for k, v in value.items()}
    out = {}
    for item in _list(value, where):
        key, equals, text = _scalar_text(item, where).partition("=")
        out[key] = text if equals else (None if empty_is_none else "")
    return out


def _absolute(path: str, project_dir: str) -> str:
    path = os.path.expanduser(path)
    return os.path.normpath(os.path.join(project_dir, path))


# --- handlers per key ------------------------------------------------------------------------------

def _build(value, where, project_dir, environment):
    if isinstance(value, str):
        value = {"context": value}
    value = _mapping(value, where)
    build = {"context": _absolute(str(value.get("context") or "."), project_dir),
             "dockerfile": _scalar_text(value.get("dockerfile") or "Dockerfile", f"{where}.dockerfile")}
    if value.get("args"):
        build["args"] = key_values(value["args"], f"{where}.args")
    if value.get("target"):
        build["target"] = _scalar_text(value["target"], f"{where}.target")
    if value.get("labels"):
        build["labels"] = key_values(value["labels"], f"{where}.labels", empty_is_none=False)
    return build


def _environment(value, where, project_dir, environment):
    if value is None:
        return {}
    resolved = {}
    for key, text in key_values(value, where).items():
        resolved[key] = environment.get(key) if text is None else text  # a bare KEY takes the caller's value
    return resolved


def _env_file(value, where, project_dir, environment):
    entries = [value] if isinstance(value, str) else _list(value, where)
    paths = []
    for entry in entries:
        path = entry.get("path") if isinstance(entry, dict) else entry
        paths.append(_absolute(_scalar_text(path, where), project_dir))
    return paths


def _labels(value, where, project_dir, environment):
    return key_values(value, where, empty_is_none=False)


def _ports(value, where, project_dir, environment):
    ports = []
    for item in _list(value, where):
        if isinstance(item, dict):
            entry = {"target": _integer(item.get("target"), f"{where}.target"),
                     "protocol": str(item.get("protocol") or "tcp"), "mode": str(item.get("mode") or "ingress")}
            if item.get("published") is not None:
                entry["published"] = str(item["published"])
            if item.get("host_ip"):
                entry["host_ip"] = str(item["host_ip"])
            ports.append(entry)
            continue
        ports.extend(_short_port(_scalar_text(item, where), where))
    return ports


def _short_port(text: str, where: str) -> list[dict]:
    from hakobune.createbody.netopts import parse_port_spec
    from hakobune.createbody.runopts import OptionError

    try:
        pairs = parse_port_spec(text)
    except OptionError as e:
        raise ComposeError(f"{where}: {e}") from None
    out = []
    for key, binding in pairs:
        port, _, protocol = key.partition("/")
        entry = {"target": int(port), "protocol": protocol, "mode": "ingress"}
        if binding["HostPort"]:
            entry["published"] = binding["HostPort"]
        if binding["HostIp"]:
            entry["host_ip"] = binding["HostIp"]
        out.append(entry)
    return out


def _volumes(value, where, project_dir, environment):
    return [_volume(item, f"{where}[{index}]", project_dir) for index, item in enumerate(_list(value, where))]


def _volume(item, where: str, project_dir: str) -> dict:
    if isinstance(item, dict):
        volume = {"type": str(item.get("type") or "volume"), "target": _scalar_text(item.get("target"), where)}
        if item.get("source"):
            volume["source"] = str(item["source"])
        if item.get("read_only"):
            volume["read_only"] = True
        for key in ("bind", "volume", "tmpfs"):
            if item.get(key):
                volume[key] = dict(item[key])
    else:
        volume = _short_volume(_scalar_text(item, where), where)
    if volume["type"] == "bind":
        if not volume.get("source"):
            raise ComposeError(f"{where}: a bind mount needs a source")
        volume["source"] = _absolute(volume["source"], project_dir)
    if volume["type"] not in ("bind", "volume", "tmpfs"):
        raise ComposeError(f"{where}.type: unsupported volume type {volume['type']}")
    return volume


def _short_volume(text: str, where: str) -> dict:
    """[SOURCE:]TARGET[:MODE]; a SOURCE with `/`, `.` or `~` first is a bind mount."""
    parts = text.split(":")
    if len(parts) > 3 or "" in parts:
        raise ComposeError(f"{where}: invalid volume specification: {text}")
    if len(parts) == 1:
        return {"type": "volume", "target": parts[0]}
    source, target = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else ""
    kind = "bind" if source[0] in "/.~" else "volume"
    volume = {"type": kind, "source": source, "target": target}
    options = mode.split(",") if mode else []
    if "ro" in options:
        volume["read_only"] = True
    if kind == "bind":
        volume["bind"] = {"create_host_path": True}
        propagation = [o for o in options if o in ("shared", "slave", "private", "rshared", "rslave", "rprivate")]
        if propagation:
            volume["bind"]["propagation"] = propagation[0]
        relabel = [o for o in options if o in ("z", "Z")]
        if relabel:
            volume["bind"]["selinux"] = relabel[0]
    elif "nocopy" in options:
        volume["volume"] = {"nocopy": True}
    return volume


def _tmpfs(value, where, project_dir, environment):
    items = [value] if isinstance(value, str) else _list(value, where)
    return [_scalar_text(item, where) for item in items]


def _networks(value, where, project_dir, environment):
    if isinstance(value, list):
        return {_scalar_text(name, where): None for name in value}
    networks = {}
    for name, entry in _mapping(value, where).items():
        if entry is None:
            networks[str(name)] = None
            continue
        entry = _mapping(entry, f"{where}.{name}")
        settings = {}
        if entry.get("aliases"):
            settings["aliases"] = [_scalar_text(a, f"{where}.{name}.aliases") for a in _list(entry["aliases"], where)]
        for key in ("ipv4_address", "ipv6_address", "mac_address"):
            if entry.get(key):
                settings[key] = _scalar_text(entry[key], f"{where}.{name}.{key}")
        networks[str(name)] = settings or None
    return networks


def _depends_on(value, where, project_dir, environment):
    if isinstance(value, list):
        return {_scalar_text(name, where): {"condition": "service_started", "required": True} for name in value}
    dependencies = {}
    for name, entry in _mapping(value, where).items():
        entry = _mapping(entry or {}, f"{where}.{name}")
        condition = str(entry.get("condition") or "service_started")
        if condition not in CONDITIONS:
            raise ComposeError(f"{where}.{name}.condition must be one of {', '.join(CONDITIONS)}")
        dependencies[str(name)] = {"condition": condition, "required": bool(entry.get("required", True))}
        if entry.get("restart"):
            dependencies[str(name)]["restart"] = True
    return dependencies


def _healthcheck(value, where, project_dir, environment):
    value = _mapping(value, where)
    check: dict = {}
    if value.get("disable"):
        return {"disable": True}
    test = value.get("test")
    if test is not None:
        check["test"] = ["CMD-SHELL", test] if isinstance(test, str) else [str(t) for t in _list(test, where)]
    for key in ("interval", "timeout", "start_period", "start_interval"):
        if value.get(key) is not None:
            check[key] = _scalar_text(value[key], f"{where}.{key}")
    if value.get("retries") is not None:
        check["retries"] = _integer(value["retries"], f"{where}.retries")
    return check


def _deploy(value, where, project_dir, environment):
    value = _mapping(value, where)
    deploy: dict = {}
    if value.get("replicas") is not None:
        deploy["replicas"] = _integer(value["replicas"], f"{where}.replicas")
    limits = ((value.get("resources") or {}).get("limits")) or {}
    if limits:
        kept = {}
        for key in ("memory", "cpus", "pids"):
            if limits.get(key) is not None:
                kept[key] = _scalar_text(limits[key], f"{where}.resources.limits.{key}")
        deploy["resources"] = {"limits": kept}
    return deploy


def _grants(value, where, project_dir, environment):
    """A service's secrets / configs: names, or {source, target}."""
    grants = []
    for item in _list(value, where):
        if isinstance(item, dict):
            grant = {"source": _scalar_text(item.get("source"), f"{where}.source")}
            if item.get("target"):
                grant["target"] = _scalar_text(item["target"], f"{where}.target")
        else:
            grant = {"source": _scalar_text(item, where)}
        grants.append(grant)
    return grants


def _scale(value, where, project_dir, environment):
    return _integer(value, where)


def _extra_hosts(value, where, project_dir, environment):
    if isinstance(value, dict):
        return [f"{host}:{address}" for host, address in value.items()]
    return [_scalar_text(item, where).replace("=", ":", 1) for item in _list(value, where)]


def _ulimits(value, where, project_dir, environment):
    limits = {}
    for name, limit in _mapping(value, where).items():
        if isinstance(limit, dict):
            limits[str(name)] = {"soft": _integer(limit.get("soft"), f"{where}.{name}.soft"),
                                 "hard": _integer(limit.get("hard"), f"{where}.{name}.hard")}
        else:
            limits[str(name)] = _integer(limit, f"{where}.{name}")
    return limits


def _sysctls(value, where, project_dir, environment):
    return key_values(value, where, empty_is_none=False)


def _logging(value, where, project_dir, environment):
    value = _mapping(value, where)
    logging = {}
    if value.get("driver"):
        logging["driver"] = str(value["driver"])
    if value.get("options"):
        logging["options"] = {str(k): str(v) for k, v in _mapping(value["options"], f"{where}.options").items()}
    return logging


def _words_handler(value, where, project_dir, environment):
    return _words(value, where)


def _integer_handler(value, where, project_dir, environment):
    return _integer(value, where)


_HANDLERS = {
    "build": _build, "command": _words_handler, "entrypoint": _words_handler, "environment": _environment,
    "env_file": _env_file, "labels": _labels, "ports": _ports, "volumes": _volumes,
    "tmpfs": _tmpfs, "networks": _networks, "depends_on": _depends_on, "healthcheck": _healthcheck,
    "deploy": _deploy, "scale": _scale, "secrets": _grants, "configs": _grants, "extra_hosts": _extra_hosts,
    "ulimits": _ulimits, "sysctls": _sysctls,
    "logging": _logging, "pids_limit": _integer_handler, "cpu_shares": _integer_handler,
    "oom_score_adj": _integer_handler,
}


# --- order ---------------------------------------------------------------------------------------------

def startup_order(model: dict) -> list[str]:
    """Service names, dependencies first (by name among equals); a cycle is an error."""
    services = model["services"]
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, chain: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = chain[chain.index(name):] + [name]
            raise ComposeError(f"dependency cycle detected: {' -> '.join(cycle)}")
        state[name] = "visiting"
        for dependency in sorted(dependencies_of(services[name])):
            if dependency in services:
                visit(dependency, chain + [name])
        state[name] = "done"
        order.append(name)

    for name in sorted(services):
        visit(name, [])
    return order


def listing_order(model: dict) -> list[str]:
    """Service names as docker-compose lists them (`config --services`):
    the file's order, each service moved after what it depends on (its
    depth-first sort over the services that depend on each one)."""
    services = model["services"]
    names = [name for name in model.get("_file_order") or services if name in services]
    dependents = {name: [other for other in names if name in dependencies_of(services[other])] for name in names}
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name in ordered:
            return
        for dependent in dependents[name]:
            visit(dependent)
        ordered.insert(0, name)

    pending = list(names)
    while pending:
        visit(pending.pop())
    return ordered


def dependencies_of(service: dict) -> list[str]:
    """The services this one starts after: its depends_on, the services it
    `links` to or takes `volumes_from`, and those whose namespaces it joins (network_mode, pid, ipc:
    `service:NAME`)."""
    from hakobune.compose.loader import link_service, volumes_from_service

    names = list(service.get("depends_on") or {})
    names += [link_service(link) for link in service.get("links") or []]
    names += [volumes_from_service(source) for source in service.get("volumes_from") or []
              if volumes_from_service(source)]
    names += [service[key][len("service:"):] for key in ("network_mode", "pid", "ipc")
              if str(service.get(key) or "").startswith("service:")]
    return [name for index, name in enumerate(names) if name not in names[:index]]


def replicas_of(service: dict) -> int:
    if "scale" in service:
        return service["scale"]
    return (service.get("deploy") or {}).get("replicas", 1)
