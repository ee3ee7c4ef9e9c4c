"""Compose files → the resolved model (plain dicts, as `compose config` prints it).

    options = LoadOptions(files=[], project_name="", env_files=[], profiles=[], workdir=os.getcwd())
    model = load(options)     # {"name", "services", "networks", "volumes"}

Files: `-f` (several merged in order) or the first of FILE_NAMES found in the
working directory or its parents.  Variables come from the environment, then
from `.env` in the project directory (or `--env-file`); the project's name
from `-p`, COMPOSE_PROJECT_NAME, the top-level `name:` or the directory's
name, normalized as Docker Compose does.  Services whose profiles are not
enabled are left out.  Errors are ComposeError, naming the file and the key.
"""

from __future__ import annotations

import os

from hakobune.errors import InvalidArgument

FILE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")

SERVICE_KEYS = frozenset((
    "image", "build", "command", "entrypoint", "environment", "env_file", "ports", "expose", "volumes", "tmpfs",
    "networks", "network_mode", "depends_on", "healthcheck", "restart", "deploy", "scale", "mem_limit", "cpus",
    "shm_size", "tty", "stdin_open", "privileged", "devices", "pid", "container_name", "hostname", "user",
    "working_dir", "labels", "init", "read_only", "cap_add", "cap_drop", "security_opt", "stop_signal",
    "stop_grace_period", "extra_hosts", "dns", "dns_search", "dns_opt", "ulimits", "sysctls", "logging",
    "profiles", "pull_policy", "domainname", "ipc", "mem_reservation", "memswap_limit", "pids_limit",
    "cpu_shares", "group_add", "oom_score_adj", "platform",
    "secrets", "configs",
    "extends",
    "links", "external_links",
    "volumes_from", "runtime", "cgroup_parent",
))
UNSUPPORTED_SERVICE_KEYS: tuple = ()  # known keys not supported yet: a warning (none now)
TOP_KEYS = frozenset(("version", "name", "services", "networks", "volumes", "secrets", "configs", "include"))
NETWORK_KEYS = frozenset(("driver", "driver_opts", "internal", "ipam", "external", "name", "labels", "attachable",
                          "enable_ipv6"))
VOLUME_KEYS = frozenset(("driver", "driver_opts", "external", "name", "labels"))
FILE_OBJECT_KEYS = frozenset(("file", "environment", "external", "name", "content", "labels"))
CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")
APPEND_LISTS = ("ports", "expose", "dns", "dns_search", "dns_opt", "cap_add", "cap_drop", "security_opt",
                "devices", "tmpfs", "profiles", "group_add")


class ComposeError(InvalidArgument):
    """Bad compose input: printed as is by the CLI (exit status 1)."""


class LoadOptions:
    def __init__(self, files=(), project_name: str = "", env_files=(), profiles=(), workdir: str = "",
                 project_directory: str = "", environ=None):
        self.files = list(files)
        self.project_name = project_name
        self.env_files = list(env_files)
        self.profiles = list(profiles)
        self.workdir = workdir or os.getcwd()
        self.project_directory = project_directory
        self.environ = dict(os.environ if environ is None else environ)


# --- names --------------------------------------------------------------------------------

def normalize_project_name(text: str) -> str:
    """Docker Compose's NormalizeProjectName: lower case, only [a-z0-9_-], no leading _ or -."""
    kept = "".join(c for c in text.lower() if c.isascii() and (c.isalnum() or c in "_-"))
    return kept.lstrip("_-")


def check_project_name(name: str) -> str:
    if not name or normalize_project_name(name) != name:
        raise ComposeError(f'invalid project name "{name}": must consist only of lowercase alphanumeric '
                           "characters, hyphens, and underscores as well as start with a letter or number")
    return name


# --- files and .env -----------------------------------------------------------------------

def find_files(workdir: str) -> list[str]:
    """The first compose file in `workdir` or its nearest parent that has one."""
    directory = os.path.abspath(workdir)
    while True:
        for name in FILE_NAMES:
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate):
                return [candidate]
        parent = os.path.dirname(directory)
        if parent == directory:
            raise ComposeError("no configuration file provided: not found")
        directory = parent


def parse_dotenv(path: str) -> dict:
    """KEY=VALUE lines (`export ` allowed, # comments, '...' literal, "..." with \\n escapes)."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise ComposeError(f"failed to read {path}: {(e.strerror or str(e)).lower()}") from None
    values = {}
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:].lstrip()
        key, equals, value = line.partition("=")
        key = key.strip()
        if not key or any(c.isspace() for c in key):
            raise ComposeError(f"failed to read {path}: line {number}: unexpected character in variable name "
                               f"{key!r}")
        values[key] = _dotenv_value(value.strip()) if equals else None
    return values


def _dotenv_value(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
    comment = value.find(" #")
    return (value[:comment] if comment >= 0 else value).strip()


def _read_yaml(path: str):
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ComposeError(f"open {path}: {(e.strerror or str(e)).lower()}") from None
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ComposeError(f"yaml: {path}:{where}: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ComposeError(f"validating {path}: top-level object must be a mapping")
    return data


# --- the model ---------------------------------------------------------------------------------

def load(options: LoadOptions, warn=None) -> dict:
    """The resolved model; `warn(text)` hears about keys accepted but not supported."""
    warn = warn or (lambda text: None)
    files = [os.path.abspath(os.path.join(options.workdir, f)) for f in options.files] or find_files(options.workdir)
    project_dir = os.path.abspath(options.project_directory or os.path.dirname(files[0]))
    environment = _environment(options, project_dir)

    def lookup(name: str):
        return environment.get(name)

    merged: dict = {}
    for path in files:
        raw = _read_yaml(path)
        _check_top(raw, path, warn)
        document = _interpolated(raw, lookup, path)
        merged = _merge_documents(merged, _normalize_document(document, path, project_dir, environment, lookup))
    name = _project_name(options, environment, merged.get("name"), project_dir)
    profiles = list(options.profiles) or [p for p in (environment.get("COMPOSE_PROFILES") or "").split(",") if p]
    try:
        model = _finish(merged, name, profiles)
    except ComposeError as e:  # an error of the merged model: named by its files, its service and key
        raise ComposeError(f"{', '.join(files)}: {e}") from None
    model["_files"] = files
    model["_project_dir"] = project_dir
    return model


def _interpolated(raw: dict, lookup, path: str) -> dict:
    """The file's values with their variables replaced; an error names the file and the key."""
    from hakobune.compose.interpolation import InterpolationError, interpolate_tree

    try:
        return interpolate_tree(raw, lookup)
    except InterpolationError as e:
        raise ComposeError(f"{path}: {e}") from None


def _environment(options: LoadOptions, project_dir: str) -> dict:
    """The variables interpolation sees: .env (or --env-file) under the process's environment."""
    values: dict = {}
    env_files = [os.path.join(options.workdir, f) for f in options.env_files]
    if not env_files and os.path.isfile(os.path.join(project_dir, ".env")):
        env_files = [os.path.join(project_dir, ".env")]
    for path in env_files:
        values.update({k: v for k, v in parse_dotenv(path).items() if v is not None})
    values.update(options.environ)
    return values


def _project_name(options: LoadOptions, environment: dict, declared, project_dir: str) -> str:
    if options.project_name:
        return check_project_name(options.project_name)
    if environment.get("COMPOSE_PROJECT_NAME"):
        return check_project_name(environment["COMPOSE_PROJECT_NAME"])
    if declared:
        return check_project_name(str(declared))
    name = normalize_project_name(os.path.basename(project_dir))
    if not name:
        raise ComposeError(f'project name must not be empty (directory "{project_dir}")')
    return name


def _check_top(raw: dict, path: str, warn) -> None:
    for key in raw:
        if str(key).startswith("x-"):
            continue
        if key not in TOP_KEYS:
            raise ComposeError(f"validating {path}: additional properties '{key}' not allowed")
        if key == "include":
            warn(f"{path}: top-level `{key}` is not supported yet, ignored")
    services = raw.get("services")
    if services is not None and not isinstance(services, dict):
        raise ComposeError(f"validating {path}: services must be a mapping")
    for name, service in (services or {}).items():
        if service is None:
            continue
        if not isinstance(service, dict):
            raise ComposeError(f"validating {path}: services.{name} must be a mapping")
        for key in service:
            if str(key).startswith("x-"):
                continue
            if key not in SERVICE_KEYS:
                raise ComposeError(f"validating {path}: services.{name} additional properties '{key}' not allowed")
            if key in UNSUPPORTED_SERVICE_KEYS:
                warn(f"{path}: services.{name}.{key} is not supported yet, ignored")
        _check_nested_keys(service, path, f"services.{name}", warn)
        _warn_ignored_fields(service, f"{path}: services.{name}", warn)
    for section, allowed in (("networks", NETWORK_KEYS), ("volumes", VOLUME_KEYS), ("secrets", FILE_OBJECT_KEYS),
                             ("configs", FILE_OBJECT_KEYS)):
        block = raw.get(section)
        if block is not None and not isinstance(block, dict):
            raise ComposeError(f"validating {path}: {section} must be a mapping")
        for name, entry in (block or {}).items():
            if entry is not None and not isinstance(entry, dict):
                raise ComposeError(f"validating {path}: {section}.{name} must be a mapping")
            for key in entry or {}:
                if key not in allowed and not str(key).startswith("x-"):
                    raise ComposeError(f"validating {path}: {section}.{name} additional properties '{key}' not "
                                       "allowed")


# The keys the specification allows inside a service's mappings: another is
# an error, as an unknown service key is; those hakobune knows but ignores
# are warned about (_warn_ignored_fields, _IGNORED_IN_ENTRIES).
_NESTED_KEYS = {
    "healthcheck": ("test", "interval", "timeout", "retries", "start_period", "start_interval", "disable"),
    "logging": ("driver", "options"),
    "build": ("context", "dockerfile", "args", "target", "labels", "cache_from", "cache_to", "network", "shm_size",
              "extra_hosts", "isolation", "platforms", "secrets", "ssh", "tags", "no_cache", "pull",
              "additional_contexts", "dockerfile_inline", "privileged", "ulimits", "entitlements"),
    "deploy": ("replicas", "resources", "mode", "placement", "restart_policy", "update_config", "rollback_config",
               "labels", "endpoint_mode"),
    "deploy.resources": ("limits", "reservations"),
    "deploy.resources.limits": ("memory", "cpus", "pids"),
}
_ENTRY_KEYS = {  # mappings of named entries: each entry's keys
    "depends_on": ("condition", "required", "restart"),
    "networks": ("aliases", "ipv4_address", "ipv6_address", "link_local_ips", "priority", "mac_address",
                 "driver_opts", "gw_priority"),
    "ulimits": ("soft", "hard"),
}
_ITEM_KEYS = {  # lists whose long-syntax items are mappings: each item's keys
    "ports": ("target", "published", "host_ip", "protocol", "mode", "app_protocol", "name"),
    "volumes": ("type", "source", "target", "read_only", "bind", "volume", "tmpfs", "consistency"),
    "secrets": ("source", "target", "uid", "gid", "mode"),
    "configs": ("source", "target", "uid", "gid", "mode"),
}
_IGNORED_IN_ENTRIES = {"networks": ("link_local_ips", "priority", "driver_opts", "gw_priority"),
                       "secrets": ("uid", "gid", "mode"), "configs": ("uid", "gid", "mode"),
                       "ports": ("app_protocol", "name")}


def _check_nested_keys(service: dict, path: str, where: str, warn) -> None:
    """Unknown keys inside healthcheck, build, deploy, logging, depends_on,
    networks, ulimits and long-syntax ports, volumes, secrets, configs: an
    error naming the file and the key; known ones hakobune ignores: a warning."""
    def check(node, allowed, key_path: str, ignored=()) -> None:
        if not isinstance(node, dict):
            return
        for key in node:
            if str(key).startswith("x-"):
                continue
            if key not in allowed:
                raise ComposeError(f"validating {path}: {key_path} additional properties '{key}' not allowed")
            if key in ignored:
                warn(f"{path}: {key_path}.{key} is not supported on hakobune, ignored")

    for dotted, allowed in _NESTED_KEYS.items():
        node = service
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        check(node, allowed, f"{where}.{dotted}")
    for key, allowed in _ENTRY_KEYS.items():
        entries = service.get(key)
        for name, entry in entries.items() if isinstance(entries, dict) else ():
            check(entry, allowed, f"{where}.{key}.{name}", _IGNORED_IN_ENTRIES.get(key, ()))
    for key, allowed in _ITEM_KEYS.items():
        items = service.get(key)
        for index, item in enumerate(items if isinstance(items, list) else ()):
            check(item, allowed, f"{where}.{key}[{index}]", _IGNORED_IN_ENTRIES.get(key, ()))


_KEPT_FIELDS = {"deploy": ("replicas", "resources"), "deploy.resources": ("limits",),
                "deploy.resources.limits": ("memory", "cpus", "pids"),
                "build": ("context", "dockerfile", "args", "target", "labels")}


def _warn_ignored_fields(service: dict, where: str, warn) -> None:
    """deploy fields with no meaning on one host, build options the builder lacks: a warning each."""
    for dotted, kept in _KEPT_FIELDS.items():
        node = service
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        for key in node if isinstance(node, dict) else ():
            if key not in kept and not str(key).startswith("x-"):
                warn(f"{where}.{dotted}.{key} is not supported on hakobune, ignored")
    driver = (service.get("logging") or {}).get("driver") if isinstance(service.get("logging"), dict) else None
    if driver:
        from hakobune.engine.create import LOG_DRIVERS

        if driver not in LOG_DRIVERS:
            warn(f"{where}.logging.driver: hakobune has no log driver named '{driver}', json-file is used")


def _normalize_document(document: dict, path: str, project_dir: str, environment: dict, lookup) -> dict:
    out: dict = {}
    if document.get("name"):
        out["name"] = str(document["name"])
    services = document.get("services") or {}
    out["services"] = {str(name): _service_of(str(name), services, path, project_dir, environment, lookup, [])
                       for name in services}
    out["networks"] = {str(k): dict(v or {}) for k, v in (document.get("networks") or {}).items()}
    out["volumes"] = {str(k): dict(v or {}) for k, v in (document.get("volumes") or {}).items()}
    for section in ("secrets", "configs"):
        out[section] = {str(k): _file_object(f"{path}: {section}.{k}", dict(v or {}), project_dir)
                        for k, v in (document.get(section) or {}).items()}
    return out


def _service_of(name: str, services: dict, path: str, project_dir: str, environment: dict, lookup,
                chain: list) -> dict:
    """A service normalized, with what it `extends` (in this file or another) merged under it."""
    from hakobune.compose.services import normalize_service

    raw = dict(services[name] or {})
    extends = raw.pop("extends", None)
    service = normalize_service(name, raw, path, project_dir, environment)
    if extends is None:
        return service
    if isinstance(extends, str):
        extends = {"service": extends}
    if not isinstance(extends, dict) or not extends.get("service"):
        raise ComposeError(f"{path}: services.{name}.extends must name a service")
    base_path, base_services = path, services
    if extends.get("file"):
        base_path = os.path.normpath(os.path.join(os.path.dirname(path), str(extends["file"])))
        base_services = _interpolated(_read_yaml(base_path), lookup, base_path).get("services") or {}
    base_name = str(extends["service"])
    if base_name not in base_services:
        raise ComposeError(f"{path}: services.{name}.extends: cannot extend service \"{base_name}\": not found "
                           f"in {base_path}")
    if (base_path, base_name) in chain:
        raise ComposeError(f"{path}: services.{name}.extends: circular reference to service \"{base_name}\"")
    base_dir = project_dir if base_path == path else os.path.dirname(base_path)  # its paths are its file's
    base = _service_of(base_name, base_services, base_path, base_dir, environment, lookup, chain + [(path, name)])
    for key in ("depends_on", "volumes_from", "links"):  # what the specification says is never inherited
        base.pop(key, None)
    return merge_service(base, service)


def _file_object(where: str, entry: dict, project_dir: str) -> dict:
    """A top-level secret or config: only `file` is supported (made absolute)."""
    if not entry.get("file"):
        raise ComposeError(f"{where}: only secrets and configs from a file are supported")
    return {"file": os.path.normpath(os.path.join(project_dir, os.path.expanduser(str(entry["file"]))))}


# --- merging (the compose specification's rules for the keys supported) -----------------------

def _merge_documents(base: dict, override: dict) -> dict:
    merged = dict(base)
    if override.get("name"):
        merged["name"] = override["name"]
    services = dict(base.get("services") or {})
    for name, service in override["services"].items():
        services[name] = merge_service(services[name], service) if name in services else service
    merged["services"] = services
    for section in ("networks", "volumes", "secrets", "configs"):
        block = dict(base.get(section) or {})
        for name, entry in override[section].items():
            block[name] = _deep_merge(block.get(name) or {}, entry)
        merged[section] = block
    return merged


def merge_service(base: dict, override: dict) -> dict:
    """An override file's service over the base's: mappings merged, command,
    entrypoint and healthcheck.test replaced, ports & co. appended (without
    duplicates), volumes merged by target."""
    merged = dict(base)
    for key, value in override.items():
        if key not in merged:
            merged[key] = value
        elif key in APPEND_LISTS:
            merged[key] = _append_unique(merged[key], value)
        elif key == "volumes":
            by_target = {v["target"]: v for v in merged[key]}
            by_target.update({v["target"]: v for v in value})
            merged[key] = list(by_target.values())
        elif key in ("build", "environment", "labels", "depends_on", "networks", "healthcheck", "deploy",
                     "logging", "ulimits", "sysctls", "extra_hosts"):
            merged[key] = _deep_merge(merged[key], value) if isinstance(value, dict) else value
        else:
            merged[key] = value
    return merged


def _append_unique(first: list, second: list) -> list:
    out = list(first)
    for item in second:
        if item not in out:
            out.append(item)
    return out


def _deep_merge(base, override):
    if not isinstance(base, dict) or not isinstance(override, dict):
        return override
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _deep_merge(merged[key], value) if key in merged else value
    return merged


# --- finishing: profiles, defaults, references -------------------------------------------------

def _invalid(service_name: str, key: str, text: str) -> ComposeError:
    return ComposeError(f"services.{service_name}.{key}: {text}: invalid compose project")


def _finish(merged: dict, name: str, profiles: list) -> dict:
    enabled = set(profiles)
    services = {}
    for service_name, service in merged["services"].items():
        wanted = service.get("profiles") or []
        if not wanted or "*" in enabled or enabled & set(wanted):
            services[service_name] = service
    networks_used, volumes_used = set(), set()
    for service_name, service in services.items():
        if "image" not in service and "build" not in service:
            raise _invalid(service_name, "image", f'service "{service_name}" has neither an image nor a build '
                           "context specified")
        for dependency in service.get("depends_on") or {}:
            if dependency not in services and (service["depends_on"][dependency].get("required", True)):
                raise _invalid(service_name, "depends_on", f'service "{service_name}" depends on undefined service '
                               f'"{dependency}"')
        for link in service.get("links") or []:
            if link_service(link) not in services:
                raise _invalid(service_name, "links", f'service "{service_name}" has a link to service '
                               f'"{link_service(link)}" which is undefined')
        for source in service.get("volumes_from") or []:
            if volumes_from_service(source) and volumes_from_service(source) not in services:
                raise _invalid(service_name, "volumes_from", f'service "{service_name}" refers to undefined service '
                               f'"{volumes_from_service(source)}"')
        for key in ("network_mode", "pid", "ipc"):
            mode = str(service.get(key) or "")
            if mode.startswith("service:") and mode[len("service:"):] not in services:
                raise _invalid(service_name, key, f'service "{service_name}" refers to undefined service '
                               f'"{mode[len("service:"):]}"')
        if not service.get("network_mode"):
            service.setdefault("networks", {"default": None})
        for network in service.get("networks") or {}:
            if network != "default" and network not in merged["networks"]:
                raise _invalid(service_name, "networks", f'service "{service_name}" refers to undefined network '
                               f"{network}")
            networks_used.add(network)
        for section in ("secrets", "configs"):
            for grant in service.get(section) or []:
                if grant["source"] not in merged.get(section, {}):
                    raise _invalid(service_name, section, f'service "{service_name}" refers to undefined '
                                   f'{section[:-1]} {grant["source"]}')
        for volume in service.get("volumes") or []:
            if volume["type"] == "volume" and volume.get("source"):
                if volume["source"] not in merged["volumes"]:
                    raise _invalid(service_name, "volumes", f'service "{service_name}" refers to undefined volume '
                                   f'{volume["source"]}')
                volumes_used.add(volume["source"])
    _check_port_conflicts(services)
    networks = {}
    for key, entry in merged["networks"].items():
        networks[key] = _network(name, key, entry)
    if "default" in networks_used and "default" not in networks:
        networks["default"] = {"name": f"{name}_default"}
    volumes = {key: _volume(name, key, entry) for key, entry in merged["volumes"].items()}
    model = {"name": name, "services": dict(sorted(services.items())), "_file_order": list(services)}
    if networks:
        model["networks"] = networks
    if volumes:
        model["volumes"] = volumes
    for section in ("secrets", "configs"):
        if merged.get(section):
            model[section] = merged[section]
    from hakobune.compose.services import startup_order

    startup_order(model)  # a dependency cycle is an error now, before anything is created
    return model


def link_service(link: str) -> str:
    """The service a `links` entry (SERVICE or SERVICE:ALIAS) names."""
    return link.partition(":")[0]


def volumes_from_service(source: str) -> str | None:
    """The service a `volumes_from` entry (SERVICE[:ro|rw] or container:NAME[:ro|rw]) names; None for a container."""
    return None if source.startswith("container:") else source.partition(":")[0]


def link_alias(link: str) -> str:
    """The name a `links` / `external_links` entry makes resolvable (ALIAS, else the name linked)."""
    target, _, alias = link.partition(":")
    return alias or target


def _check_port_conflicts(services: dict) -> None:
    """Two containers cannot publish the same host port: an error now, before anything is created."""
    from hakobune.compose.services import replicas_of

    taken: dict = {}
    for service_name, service in services.items():
        for port in service.get("ports") or []:
            published = port.get("published")
            if not published:
                continue
            key = (port.get("host_ip") or "0.0.0.0", str(published), port.get("protocol", "tcp"))
            if key in taken or replicas_of(service) > 1:
                other = taken.get(key, service_name)
                raise ComposeError(f'services.{service_name}.ports: host port {key[1]}/{key[2]} on {key[0]} is '
                                   f'already published by service "{other}"')
            taken[key] = service_name


def _network(project: str, key: str, entry: dict) -> dict:
    entry = dict(entry)
    external = entry.get("external")
    if isinstance(external, dict):  # the obsolete external: {name: ...}
        entry["name"] = external.get("name") or entry.get("name")
        external = True
    if external:
        entry["external"] = True
        entry.setdefault("name", key)
    else:
        entry.pop("external", None)
        entry.setdefault("name", f"{project}_{key}")
    return entry


def _volume(project: str, key: str, entry: dict) -> dict:
    return _network(project, key, entry)  # the same rules: external keeps its name, else <project>_<key>


# --- printing ---------------------------------------------------------------------------------------

def public_model(model: dict) -> dict:
    """The model without its private keys (those starting with _)."""
    return {k: v for k, v in model.items() if not k.startswith("_")}


def to_yaml(model: dict) -> str:
    import yaml

    class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
        pass

    return yaml.dump(public_model(model), Dumper=_Dumper, sort_keys=True, default_flow_style=False,
                     allow_unicode=True, width=1 << 16)
