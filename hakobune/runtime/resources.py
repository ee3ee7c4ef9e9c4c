"""`update`'s flags (runc's spelling) turned into an OCI linux.resources object."""

import json

from hakobune.errors import InvalidArgument

_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4}

# flag dest -> (section, key, parser)
_FLAGS = {
    "memory": ("memory", "limit", "size"),
    "memory_swap": ("memory", "swap", "size"),
    "memory_reservation": ("memory", "reservation", "size"),
    "cpu_shares": ("cpu", "shares", "int"),
    "cpu_quota": ("cpu", "quota", "int"),
    "cpu_period": ("cpu", "period", "int"),
    "cpuset_cpus": ("cpu", "cpus", "str"),
    "cpuset_mems": ("cpu", "mems", "str"),
    "pids_limit": ("pids", "limit", "int"),
}


def parse_size(text: str) -> int:
    """"64m", "1G", "512k", "1024" or "-1" (unlimited) as bytes."""
    value = text.strip().lower()
    if value == "-1":
        return -1
    if value.endswith("ib"):
        value = value[:-2]
    elif value.endswith("b") and len(value) > 1 and not value[-2].isdigit():
        value = value[:-1]
    unit = value[-1] if value and value[-1] in _SIZE_UNITS else ""
    number = value[:-1] if unit else value
    try:
        return int(float(number) * _SIZE_UNITS[unit])
    except ValueError:
        raise InvalidArgument(f"invalid size {text!r}: use a number with an optional unit (k, m, g)") from None


def resources_from_flags(values: dict) -> dict:
    resources: dict = {}
    if values.get("resources"):
        resources = _read_resources(values["resources"])
    for dest, (section, key, kind) in _FLAGS.items():
        if dest not in values:
            continue
        resources.setdefault(section, {})[key] = _parse(values[dest], kind, dest)
    if not resources:
        raise InvalidArgument("update: give --resources FILE or at least one resource flag")
    return resources


def _read_resources(path: str) -> dict:
    try:
        if path == "-":
            import sys

            return json.load(sys.stdin)
        with open(path) as f:
            return json.load(f)
    except ValueError as e:
        raise InvalidArgument(f"--resources {path}: malformed JSON: {e}") from None


def _parse(text: str, kind: str, dest: str):
    if kind == "size":
        return parse_size(text)
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            raise InvalidArgument(f"--{dest.replace('_', '-')}: {text!r} is not a number") from None
    return text
