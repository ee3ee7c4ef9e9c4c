"""The compose conformance corpus: every case under tests/compose_corpus/
rendered by `hakobune compose config` (the real binary) and compared, as
parsed YAML models, with what docker-compose 1.29.2's own `config` printed
for the same files.

How the expected results were produced (once, on a machine with Debian's
docker-compose 1.29.2; commit the files it writes):

    for each case directory NAME under tests/compose_corpus, in that directory:
    env -i PATH=/usr/bin:/bin docker-compose -p corpus ARGS config
    with its standard output, in which the case directory's absolute path
    is replaced by the placeholder @CASE_DIR@ (sed "s|$PWD|@CASE_DIR@|g"),
    saved as NAME/expected.yaml.  ARGS are the words of NAME/args when the
    case has that file, else `-f compose.yaml`.  The same command with
    `config --services` and `config --volumes` instead of `config`, saved
    as they are in NAME/expected_services.txt and NAME/expected_volumes.txt.

The two models are first written in one form (`canonical`): the compose
specification gives several spellings of one thing (short and long syntax
of ports, volumes, depends_on and networks; a command as a string or as a
list; a healthcheck's test as a string; 90s or 1m30s; numbers or strings
as environment values), and docker-compose 1.29 keeps the spelling of the
file where `hakobune compose config` prints the long form, as Docker
Compose v2 does.

Then, only where docker-compose 1.29 differs from the compose
specification, the expected model is normalized, and each case lists which
of these normalizations it needs (ALWAYS: every case):

- VERSION: 1.29 prints a top-level `version` (the file's, or '3.9'); the
  specification makes it obsolete, and hakobune does not print it.
- NAME: 1.29 has no top-level `name`; the specification's model carries the
  project's name (here: `corpus`).
- DEFAULT_NETWORK: 1.29 leaves the implicit `default` network out; in the
  specification a service with neither `networks` nor `network_mode` is on
  `default`, which the model lists as `<project>_default`.
- OBJECT_NAMES: 1.29 prints a network's or volume's `name` only when the
  file gives one; the specification's model names each (`<project>_<key>`,
  an external one: its key).
- REQUIRED: 1.29 predates depends_on's `required` (default true).
- PROFILES: 1.29's `config` prints the services of every profile; the
  specification's model holds only the services whose profiles are enabled.
- DOLLAR: 1.29 prints `$$` escaped again (output meant to be re-read); the
  model holds the resolved value, a single `$`.
- PIDS, `${VAR:+alt}`: not in 1.29 at all (its schema refuses
  deploy.resources.limits.pids; its interpolation refuses `:+`), so the
  corpus leaves them out; tests/unit/test_compose_loader.py covers them.
"""

import os
import shlex
import subprocess
import sys

import pytest
import yaml

CORPUS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "compose_corpus")
HAKOBUNE = os.path.join(os.path.dirname(sys.executable), "hakobune")
PROJECT = "corpus"

VERSION, NAME, DEFAULT_NETWORK, OBJECT_NAMES = "VERSION", "NAME", "DEFAULT_NETWORK", "OBJECT_NAMES"
REQUIRED, PROFILES, DOLLAR = "REQUIRED", "PROFILES", "DOLLAR"
ALWAYS = (VERSION, NAME, DEFAULT_NETWORK, OBJECT_NAMES)

# case directory → normalizations beyond ALWAYS (see the docstring)
CASES = {
    "anchors": (),
    "build": (),
    "commands": (),
    "depends_on": (REQUIRED,),
    "env_file_flag": (DOLLAR,),
    "environment": (),
    "extends": (),
    "healthcheck": (),
    "interpolation": (DOLLAR,),
    "links": (),
    "misc": (),
    "networks": (),
    "override": (),
    "ports": (),
    "profiles": (PROFILES,),
    "resources": (),
    "secrets_configs": (),
    "shared_namespaces": (),
    "version2": (REQUIRED,),
    "volumes": (),
}


def test_every_case_directory_is_in_the_table():
    assert sorted(CASES) == sorted(d for d in os.listdir(CORPUS) if os.path.isdir(os.path.join(CORPUS, d)))


# --- the case's files ----------------------------------------------------------------------------------

def _args(case_dir: str) -> list[str]:
    try:
        with open(os.path.join(case_dir, "args")) as f:
            return f.read().split()
    except FileNotFoundError:
        return ["-f", "compose.yaml"]


def _expected(case_dir: str) -> dict:
    with open(os.path.join(case_dir, "expected.yaml")) as f:
        text = f.read().replace("@CASE_DIR@", case_dir)
    return yaml.safe_load(text)


def _render(case_dir: str, tmp_path, *options: str) -> str:
    proc = subprocess.run([HAKOBUNE, "--root", str(tmp_path / "root"), "--runroot", str(tmp_path / "run"),
                           "compose", "-p", PROJECT, *_args(case_dir), "config", *options],
                          cwd=case_dir, env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# --- one form for both models ------------------------------------------------------------------------------

def _text(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _texts(mapping: dict) -> dict:
    return {str(k): _text(v) for k, v in mapping.items()}


def _seconds(text) -> float:
    """A Go duration (1m30s, 500ms, 10s) in seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6, "ns": 1e-9}
    total, number, unit = 0.0, "", ""
    for char in str(text) + " ":
        if char.isdigit() or char == ".":
            if unit:
                total += float(number) * units[unit]
                number, unit = "", ""
            number += char
        elif char.isalpha():
            unit += char
        elif number:
            total += float(number) * units[unit or "s"]
            number, unit = "", ""
    return round(total, 9)


def _port(item) -> list[dict]:
    """A port in the long syntax (a short one expanded: ranges, host IP, protocol)."""
    if isinstance(item, dict):
        port = {"target": int(item["target"]), "protocol": item.get("protocol") or "tcp",
                "mode": item.get("mode") or "ingress"}
        if item.get("published") not in (None, ""):
            port["published"] = str(item["published"])
        if item.get("host_ip"):
            port["host_ip"] = item["host_ip"]
        return [port]
    text, _, protocol = str(item).partition("/")
    parts = text.rsplit(":", 2) if text.count(":") >= 2 else text.split(":")
    host_ip, published, target = ([""] * (3 - len(parts)) + parts)
    targets = target.split("-")
    first = int(targets[0])
    last = int(targets[-1])
    publisheds = published.split("-") if published else []
    out = []
    for offset in range(last - first + 1):
        entry = {"target": first + offset}
        if publisheds:
            entry["published"] = str(int(publisheds[0]) + offset)
        if host_ip:
            entry["host_ip"] = host_ip
        if protocol:
            entry["protocol"] = protocol
        out += _port(entry)
    return out


def _volume(item, case_dir: str) -> dict:
    """A volume in the long syntax: SOURCE:TARGET:MODE, a bind when SOURCE is a path."""
    if isinstance(item, dict):
        return dict(item)
    parts = item.split(":")
    if len(parts) == 1:
        return {"type": "volume", "target": parts[0]}
    source, target, mode = parts[0], parts[1], (parts[2] if len(parts) > 2 else "")
    options = mode.split(",") if mode else []
    if source[0] in "/.~":
        volume = {"type": "bind", "source": os.path.normpath(os.path.join(case_dir, source)), "target": target,
                  "bind": {"create_host_path": True}}
    else:
        volume = {"type": "volume", "source": source, "target": target}
    if "ro" in options:
        volume["read_only"] = True
    if "z" in options or "Z" in options:
        volume["bind"]["selinux"] = "z" if "z" in options else "Z"
    if "nocopy" in options:
        volume["volume"] = {"nocopy": True}
    return volume


def _healthcheck(check: dict) -> dict:
    check = dict(check)
    if check.pop("disable", False):
        return {"test": ["NONE"]}
    if isinstance(check.get("test"), str):
        check["test"] = ["CMD-SHELL", check["test"]]
    for key in ("interval", "timeout", "start_period", "start_interval"):
        if key in check:
            check[key] = _seconds(check[key])
    return check


def _service(service: dict, case_dir: str) -> dict:
    service = dict(service)
    for key in ("command", "entrypoint"):
        if isinstance(service.get(key), str):
            service[key] = shlex.split(service[key])
    for key in ("environment", "labels", "sysctls"):
        if isinstance(service.get(key), list):
            service[key] = dict(item.split("=", 1) if "=" in item else (item, None) for item in service[key])
        if key in service:
            service[key] = _texts(service[key])
    if "build" in service:
        build = dict(service["build"]) if isinstance(service["build"], dict) else {"context": service["build"]}
        build.setdefault("dockerfile", "Dockerfile")
        for key in ("args", "labels"):
            if key in build:
                build[key] = _texts(build[key])
        service["build"] = build
    if "ports" in service:
        service["ports"] = [p for item in service["ports"] for p in _port(item)]
    if "extra_hosts" in service:
        hosts = service["extra_hosts"]
        pairs = hosts.items() if isinstance(hosts, dict) else (h.replace("=", ":", 1).split(":", 1) for h in hosts)
        service["extra_hosts"] = [f"{host}:{address}" for host, address in pairs]
    if "expose" in service:
        service["expose"] = [str(p) for p in service["expose"]]
    if "volumes" in service:
        service["volumes"] = [_volume(v, case_dir) for v in service["volumes"]]
    if isinstance(service.get("depends_on"), list):
        service["depends_on"] = {name: {"condition": "service_started"} for name in service["depends_on"]}
    if isinstance(service.get("networks"), list):
        service["networks"] = {name: None for name in service["networks"]}
    if "healthcheck" in service:
        service["healthcheck"] = _healthcheck(service["healthcheck"])
    if "cpus" in service:
        service["cpus"] = float(service["cpus"])
    limits = ((service.get("deploy") or {}).get("resources") or {}).get("limits")
    if limits and "cpus" in limits:
        limits["cpus"] = float(limits["cpus"])
    if "logging" in service and "options" in service["logging"]:
        service["logging"]["options"] = _texts(service["logging"]["options"])
    if "stop_grace_period" in service:
        service["stop_grace_period"] = _seconds(service["stop_grace_period"])
    return service


def canonical(model: dict, case_dir: str) -> dict:
    model = dict(model)
    model["services"] = {name: _service(s or {}, case_dir) for name, s in (model.get("services") or {}).items()}
    for section in ("networks", "volumes", "secrets", "configs"):
        if section in model:
            model[section] = {name: dict(entry or {}) for name, entry in model[section].items()}
    return model


# --- where docker-compose 1.29 differs from the specification ---------------------------------------------

def _unescape_dollars(node):
    if isinstance(node, dict):
        return {k: _unescape_dollars(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_unescape_dollars(v) for v in node]
    return node.replace("$$", "$") if isinstance(node, str) else node


def normalized(expected: dict, normalizations, enabled_profiles=()) -> dict:
    model = dict(expected)
    if VERSION in normalizations:
        model.pop("version", None)
    if NAME in normalizations:
        model["name"] = PROJECT
    if PROFILES in normalizations:
        model["services"] = {name: s for name, s in model["services"].items()
                             if not s.get("profiles") or set(s["profiles"]) & set(enabled_profiles)}
    if DEFAULT_NETWORK in normalizations:
        for service in model["services"].values():
            if "network_mode" not in service and "networks" not in service:
                service["networks"] = {"default": None}
        if any("default" in (s.get("networks") or {}) for s in model["services"].values()):
            model.setdefault("networks", {}).setdefault("default", {})
    if OBJECT_NAMES in normalizations:
        for section in ("networks", "volumes"):
            for key, entry in (model.get(section) or {}).items():
                entry.setdefault("name", key if entry.get("external") else f"{PROJECT}_{key}")
    if REQUIRED in normalizations:
        for service in model["services"].values():
            for condition in (service.get("depends_on") or {}).values():
                condition.setdefault("required", True)
    if DOLLAR in normalizations:
        model = _unescape_dollars(model)
    return model


def _enabled_profiles(args: list[str]) -> list[str]:
    return [args[i + 1] for i, word in enumerate(args[:-1]) if word == "--profile"]


def _assert_sorted_like_docker_compose(node, where="") -> None:
    """docker-compose prints every mapping's keys sorted: so does hakobune."""
    if isinstance(node, dict):
        keys = [str(k) for k in node]
        assert keys == sorted(keys), f"{where or 'top level'}: keys {keys} are not sorted"
        for key, value in node.items():
            _assert_sorted_like_docker_compose(value, f"{where}.{key}" if where else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _assert_sorted_like_docker_compose(value, f"{where}[{index}]")


@pytest.mark.parametrize("case", sorted(CASES))
def test_config_matches_docker_compose_1_29(case, tmp_path):
    case_dir = os.path.join(CORPUS, case)
    text = _render(case_dir, tmp_path)
    rendered = yaml.safe_load(text)
    _assert_sorted_like_docker_compose(rendered)
    expected = normalized(canonical(_expected(case_dir), case_dir), ALWAYS + CASES[case],
                          _enabled_profiles(_args(case_dir)))
    assert canonical(rendered, case_dir) == expected


@pytest.mark.parametrize("case", sorted(CASES))
def test_services_and_volumes_are_listed_as_docker_compose_1_29_lists_them(case, tmp_path):
    """`config --services`: the file's order, each service after what it
    depends on (depends_on, links), as docker-compose sorts them."""
    case_dir = os.path.join(CORPUS, case)
    with open(os.path.join(case_dir, "expected_services.txt")) as f:
        services = f.read().split()
    with open(os.path.join(case_dir, "expected_volumes.txt")) as f:
        volumes = f.read().split()
    if PROFILES in CASES[case]:
        enabled = set(_enabled_profiles(_args(case_dir)))
        model = yaml.safe_load(_render(case_dir, tmp_path))
        profiles = {name: (_expected(case_dir)["services"][name].get("profiles") or []) for name in services}
        services = [name for name in services if not profiles[name] or enabled & set(profiles[name])]
        assert list(model["services"]) == sorted(services)
    assert _render(case_dir, tmp_path, "--services").split() == services
    assert _render(case_dir, tmp_path, "--volumes").split() == volumes
