"""The JSON types of a container create body, checked before the engine sees
it: a field of the wrong type (``"Memory": "lots"``) is a 400 with the
message Go's decoder gives in dockerd ("json: cannot unmarshal string into
Go struct field HostConfig.HostConfig.Memory of type int64"), not an error
somewhere inside the engine.  null is accepted everywhere, as Go accepts it.
"""

from __future__ import annotations

from hakobune.errors import InvalidArgument

_STRING, _BOOL, _INT64, _INT, _UINT16 = "string", "bool", "int64", "int", "uint16"
_STRINGS, _STRSLICE, _MAP, _LIST, _OBJECT = "[]string", "strslice.StrSlice", "map", "list", "object"

CONFIG_FIELDS = {
    **dict.fromkeys(("Hostname", "Domainname", "User", "Image", "WorkingDir", "MacAddress", "StopSignal"), _STRING),
    **dict.fromkeys(("AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin", "StdinOnce",
                     "NetworkDisabled", "ArgsEscaped"), _BOOL),
    **dict.fromkeys(("Env", "OnBuild"), _STRINGS),
    **dict.fromkeys(("Cmd", "Entrypoint", "Shell"), _STRSLICE),
    **dict.fromkeys(("ExposedPorts", "Volumes", "Labels"), _MAP),
    "StopTimeout": _INT, "Healthcheck": _OBJECT, "HostConfig": _OBJECT, "NetworkingConfig": _OBJECT,
}

HOST_CONFIG_FIELDS = {
    **dict.fromkeys(("Memory", "MemorySwap", "MemoryReservation", "KernelMemory", "KernelMemoryTCP", "NanoCpus",
                     "CpuShares", "CpuPeriod", "CpuQuota", "CpuRealtimePeriod", "CpuRealtimeRuntime", "CpuCount",
                     "CpuPercent", "IOMaximumIOps", "IOMaximumBandwidth", "ShmSize", "PidsLimit",
                     "MemorySwappiness"), _INT64),
    "OomScoreAdj": _INT, "BlkioWeight": _UINT16,
    **dict.fromkeys(("Privileged", "PublishAllPorts", "ReadonlyRootfs", "AutoRemove", "OomKillDisable", "Init"),
                    _BOOL),
    **dict.fromkeys(("NetworkMode", "ContainerIDFile", "VolumeDriver", "IpcMode", "PidMode", "UTSMode", "UsernsMode",
                     "CgroupnsMode", "Cgroup", "CgroupParent", "Runtime", "Isolation", "CpusetCpus", "CpusetMems"),
                    _STRING),
    **dict.fromkeys(("Binds", "Links", "VolumesFrom", "CapAdd", "CapDrop", "Dns", "DnsOptions", "DnsSearch",
                     "ExtraHosts", "GroupAdd", "SecurityOpt", "MaskedPaths", "ReadonlyPaths"), _STRINGS),
    **dict.fromkeys(("Devices", "Ulimits", "Mounts", "DeviceRequests", "BlkioWeightDevice", "BlkioDeviceReadBps",
                     "BlkioDeviceWriteBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps"), _LIST),
    **dict.fromkeys(("PortBindings", "Sysctls", "Tmpfs", "StorageOpt"), _MAP),
    **dict.fromkeys(("RestartPolicy", "LogConfig"), _OBJECT),
}

_INT_RANGES = {_INT64: (-(1 << 63), (1 << 63) - 1), _INT: (-(1 << 63), (1 << 63) - 1), _UINT16: (0, 65535)}


def _json_kind(value) -> str:
    """How Go's decoder names a JSON value in its errors."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _fits(kind: str, value) -> bool:
    if kind == _STRING:
        return isinstance(value, str)
    if kind == _BOOL:
        return isinstance(value, bool)
    if kind in _INT_RANGES:
        low, high = _INT_RANGES[kind]
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    if kind == _STRINGS:
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    if kind == _STRSLICE:
        return isinstance(value, str) or (isinstance(value, list) and all(isinstance(item, str) for item in value))
    if kind == _LIST:
        return isinstance(value, list)
    return isinstance(value, dict)  # _MAP, _OBJECT


def _go_type(kind: str) -> str:
    return {_MAP: "map[string]interface {}", _LIST: "[]interface {}", _OBJECT: "struct"}.get(kind, kind)


def _refuse(field: str, kind: str, value) -> None:
    shown = _json_kind(value)
    if shown == "number" and isinstance(value, (int, float)) and kind in _INT_RANGES:
        shown = f"number {value}"
    if isinstance(value, list) and kind == _STRINGS:
        shown, kind = _json_kind(next(item for item in value if not isinstance(item, str))), "string"
    elif kind == _STRSLICE:  # Go's StrSlice falls back to decoding a string, and says so
        kind = "string"
    raise InvalidArgument(f"json: cannot unmarshal {shown} into Go struct field {field} of type {_go_type(kind)}")


def check_create_body(body: dict) -> None:
    """Raise InvalidArgument for the first field of the wrong JSON type."""
    for name, kind in CONFIG_FIELDS.items():
        value = body.get(name)
        if value is not None and not _fits(kind, value):
            _refuse(f"ContainerConfigWrapper.{name}", kind, value)
    host = body.get("HostConfig")
    if isinstance(host, dict):
        for name, kind in HOST_CONFIG_FIELDS.items():
            value = host.get(name)
            if value is not None and not _fits(kind, value):
                _refuse(f"HostConfig.HostConfig.{name}", kind, value)
