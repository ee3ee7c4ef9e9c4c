"""`docker import --change` and `docker commit --change`: Dockerfile
instructions applied to a container config (the image config's "config").

A minimal reading of the instructions Docker accepts there (CMD, ENTRYPOINT,
ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL): JSON (exec)
and shell forms for CMD and ENTRYPOINT, ``key=value`` pairs with quotes and
the old ``KEY value`` form for ENV and LABEL, port ranges for EXPOSE.  No
variable substitution and no line continuations: the build issue's
Dockerfile parser is meant to replace `apply_changes`.
"""

import json
import posixpath
import re
import shlex

from hakobune.errors import InvalidArgument

SHELL = ["/bin/sh", "-c"]
_PORT = re.compile(r"(\d+)(?:-(\d+))?(?:/(tcp|udp|sctp))?", re.IGNORECASE)
_SIGNAL = re.compile(r"(?:SIG)?[A-Z][A-Z0-9+-]*|\d+", re.IGNORECASE)
_FORBIDDEN_TRIGGERS = {"ONBUILD", "FROM", "MAINTAINER"}


def apply_changes(config: dict, changes) -> dict:
    """A copy of `config` (Go container.Config keys) with each change applied in order."""
    result = json.loads(json.dumps(config or {}))
    seen: set[str] = set()
    for change in changes:
        instruction, arguments = _split(change)
        handler = _HANDLERS.get(instruction.upper())
        if handler is None:
            raise InvalidArgument(f"{instruction.lower()} is not a valid change command")
        if not arguments:
            raise InvalidArgument(f"{instruction.upper()} requires at least one argument")
        if instruction.upper() == "ENTRYPOINT" and "CMD" not in seen:
            result["Cmd"] = None  # as Docker: a new entrypoint drops the command not set alongside
        handler(result, arguments)
        seen.add(instruction.upper())
    return result


def _split(change: str) -> tuple[str, str]:
    if not isinstance(change, str) or not change.strip():
        raise InvalidArgument("an empty change")
    parts = change.strip().split(None, 1)
    return parts[0], parts[1].strip() if len(parts) > 1 else ""


def _json_strings(arguments: str) -> list[str] | None:
    """The exec form's JSON array of strings, or None when `arguments` is none."""
    if not arguments.startswith("["):
        return None
    try:
        value = json.loads(arguments)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None


def _command(arguments: str) -> list[str]:
    """The exec form or, for anything else, the shell form."""
    exec_form = _json_strings(arguments)
    return exec_form if exec_form is not None else SHELL + [arguments]


def _pairs(arguments: str, instruction: str) -> list[tuple[str, str]]:
    """``a=1 b="two words"``, or the old ``KEY the rest`` form."""
    try:
        words = shlex.split(arguments)
    except ValueError as e:
        raise InvalidArgument(f"{instruction} {arguments!r}: {e}") from None
    if "=" not in words[0]:
        key, _, value = arguments.partition(" ")
        if not value.strip():
            raise InvalidArgument(f"{instruction} {key} needs a value: {instruction} {key}=VALUE")
        return [(key, value.strip())]
    pairs = []
    for word in words:
        key, equals, value = word.partition("=")
        if not equals or not key:
            raise InvalidArgument(f"{instruction}: {word!r} is not KEY=VALUE")
        pairs.append((key, value))
    return pairs


def _cmd(config: dict, arguments: str) -> None:
    config["Cmd"] = _command(arguments)


def _entrypoint(config: dict, arguments: str) -> None:
    config["Entrypoint"] = _command(arguments)


def _env(config: dict, arguments: str) -> None:
    env = list(config.get("Env") or [])
    for key, value in _pairs(arguments, "ENV"):
        entry = f"{key}={value}"
        position = next((i for i, item in enumerate(env) if item.partition("=")[0] == key), None)
        if position is None:
            env.append(entry)
        else:
            env[position] = entry
    config["Env"] = env


def _label(config: dict, arguments: str) -> None:
    labels = dict(config.get("Labels") or {})
    labels.update(_pairs(arguments, "LABEL"))
    config["Labels"] = labels


def _expose(config: dict, arguments: str) -> None:
    ports = dict(config.get("ExposedPorts") or {})
    for word in arguments.split():
        match = _PORT.fullmatch(word)
        if match is None:
            raise InvalidArgument(f"EXPOSE: invalid port {word!r}: expected PORT[-PORT][/tcp|udp|sctp]")
        first, last, protocol = int(match[1]), int(match[2] or match[1]), (match[3] or "tcp").lower()
        if not 0 < first <= last < 65536:
            raise InvalidArgument(f"EXPOSE: invalid port range {word!r}")
        ports.update({f"{port}/{protocol}": {} for port in range(first, last + 1)})
    config["ExposedPorts"] = ports


def _volume(config: dict, arguments: str) -> None:
    paths = _json_strings(arguments)
    paths = arguments.split() if paths is None else paths
    volumes = dict(config.get("Volumes") or {})
    for path in paths:
        if not path.strip():
            raise InvalidArgument("VOLUME specified can not be an empty string")
        volumes[path] = {}
    config["Volumes"] = volumes


def _workdir(config: dict, arguments: str) -> None:
    current = config.get("WorkingDir") or "/"
    config["WorkingDir"] = posixpath.normpath(posixpath.join(current, arguments))


def _user(config: dict, arguments: str) -> None:
    config["User"] = arguments


def _stopsignal(config: dict, arguments: str) -> None:
    if not _SIGNAL.fullmatch(arguments):
        raise InvalidArgument(f"STOPSIGNAL: invalid signal {arguments!r}")
    config["StopSignal"] = arguments


def _onbuild(config: dict, arguments: str) -> None:
    trigger = arguments.split(None, 1)[0].upper()
    if trigger in _FORBIDDEN_TRIGGERS:
        raise InvalidArgument(f"{trigger} isn't allowed as an ONBUILD trigger")
    config["OnBuild"] = list(config.get("OnBuild") or []) + [arguments]


_HANDLERS = {"CMD": _cmd, "ENTRYPOINT": _entrypoint, "ENV": _env, "LABEL": _label, "EXPOSE": _expose,
             "VOLUME": _volume, "WORKDIR": _workdir, "USER": _user, "STOPSIGNAL": _stopsignal,
             "ONBUILD": _onbuild}
