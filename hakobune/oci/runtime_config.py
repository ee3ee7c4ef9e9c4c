"""Reading and checking an OCI runtime bundle's config.json (runtime spec 1.0–1.2).

`load_config` returns the parsed document as plain dicts and lists, after
checking the type of every field the runtime acts on, so that a malformed
config ends in an error that names the field (``process.args[1]: expected a
string``) before anything is created.
"""

from hakobune import _fastjson
from hakobune.errors import InvalidArgument
from hakobune.oci.capabilities import NUMBERS as _CAPABILITIES

NAMESPACE_TYPES = ("pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time")
HOOK_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")
CAPABILITY_SETS = ("bounding", "effective", "inheritable", "permitted", "ambient")


def load_config(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise InvalidArgument(f"{path}: no such file: a bundle needs a config.json") from None
    try:
        config = _fastjson.loads(raw)
    except ValueError as e:
        raise InvalidArgument(f"{path}: malformed JSON: {e}") from None
    check_config(config)
    return config


def check_config(config) -> None:
    _expect(config, dict, "config")
    version = config.get("ociVersion")
    _expect(version, str, "ociVersion")
    if not version.startswith("1."):
        raise InvalidArgument(f"ociVersion: unsupported version {version!r} (1.0 to 1.2 are supported)")
    root = config.get("root")
    _expect(root, dict, "root")
    _expect(root.get("path"), str, "root.path")
    _optional(root, "readonly", bool, "root")
    if "process" in config:
        check_process(config["process"], "process")
    _optional(config, "hostname", str, "")
    _optional(config, "domainname", str, "")
    _check_mounts(config.get("mounts", []))
    _check_hooks(config.get("hooks", {}))
    _optional(config, "annotations", dict, "")
    _check_linux(config.get("linux", {}))


def check_process(process, where: str) -> None:
    _expect(process, dict, where)
    args = process.get("args")
    _expect(args, list, f"{where}.args")
    if not args:
        raise InvalidArgument(f"{where}.args: must name a program to run")
    _strings(args, f"{where}.args")
    cwd = process.get("cwd", "/")
    _expect(cwd, str, f"{where}.cwd")
    if not cwd.startswith("/"):
        raise InvalidArgument(f"{where}.cwd: must be an absolute path, not {cwd!r}")
    _strings(process.get("env", []), f"{where}.env")
    _optional(process, "terminal", bool, where)
    _optional(process, "noNewPrivileges", bool, where)
    _optional(process, "oomScoreAdj", int, where)
    _check_user(process.get("user", {}), f"{where}.user")
    _check_capabilities(process.get("capabilities", {}), f"{where}.capabilities")
    for i, rlimit in enumerate(process.get("rlimits", [])):
        here = f"{where}.rlimits[{i}]"
        _expect(rlimit, dict, here)
        _expect(rlimit.get("type"), str, f"{here}.type")
        _expect(rlimit.get("hard"), int, f"{here}.hard")
        _expect(rlimit.get("soft"), int, f"{here}.soft")
    if "umask" in process:
        _expect(process["umask"], int, f"{where}.umask")


def _check_user(user, where: str) -> None:
    _expect(user, dict, where)
    for key in ("uid", "gid", "umask"):
        _optional(user, key, int, where)
    for i, gid in enumerate(user.get("additionalGids", [])):
        _expect(gid, int, f"{where}.additionalGids[{i}]")


def _check_capabilities(capabilities, where: str) -> None:
    _expect(capabilities, dict, where)
    for kind in CAPABILITY_SETS:
        names = capabilities.get(kind, [])
        _strings(names, f"{where}.{kind}")
        for name in names:
            if name not in _CAPABILITIES:
                raise InvalidArgument(f"{where}.{kind}: unknown capability {name!r}")


def _check_mounts(mounts) -> None:
    _expect(mounts, list, "mounts")
    for i, mount in enumerate(mounts):
        here = f"mounts[{i}]"
        _expect(mount, dict, here)
        destination = mount.get("destination")
        _expect(destination, str, f"{here}.destination")
        if not destination.startswith("/"):
            raise InvalidArgument(f"{here}.destination: must be an absolute path, not {destination!r}")
        _optional(mount, "type", str, here)
        _optional(mount, "source", str, here)
        _strings(mount.get("options", []), f"{here}.options")


def _check_hooks(hooks) -> None:
    _expect(hooks, dict, "hooks")
    for kind, entries in hooks.items():
        if kind not in HOOK_KINDS:
            raise InvalidArgument(f"hooks.{kind}: unknown hook kind")
        _expect(entries, list, f"hooks.{kind}")
        for i, hook in enumerate(entries):
            here = f"hooks.{kind}[{i}]"
            _expect(hook, dict, here)
            _expect(hook.get("path"), str, f"{here}.path")
            if not hook["path"].startswith("/"):
                raise InvalidArgument(f"{here}.path: must be an absolute path")
            _strings(hook.get("args", []), f"{here}.args")
            _strings(hook.get("env", []), f"{here}.env")
            _optional(hook, "timeout", int, here)
            if hook.get("timeout", 1) <= 0:
                raise InvalidArgument(f"{here}.timeout: must be positive")


def _check_linux(linux) -> None:
    _expect(linux, dict, "linux")
    seen = set()
    for i, namespace in enumerate(linux.get("namespaces", [])):
        here = f"linux.namespaces[{i}]"
        _expect(namespace, dict, here)
        kind = namespace.get("type")
        if kind not in NAMESPACE_TYPES:
            raise InvalidArgument(f"{here}.type: unknown namespace type {kind!r}")
        if kind in seen:
            raise InvalidArgument(f"{here}.type: namespace {kind!r} listed twice")
        seen.add(kind)
        _optional(namespace, "path", str, here)
    for key in ("uidMappings", "gidMappings"):
        for i, mapping in enumerate(linux.get(key, [])):
            for field in ("containerID", "hostID", "size"):
                _expect(mapping.get(field) if isinstance(mapping, dict) else None, int, f"linux.{key}[{i}].{field}")
    if ("uidMappings" in linux or "gidMappings" in linux) and "user" not in seen:
        raise InvalidArgument("linux.uidMappings: id mappings need a user namespace")
    _strings(linux.get("maskedPaths", []), "linux.maskedPaths")
    _strings(linux.get("readonlyPaths", []), "linux.readonlyPaths")
    _optional(linux, "sysctl", dict, "linux")
    _optional(linux, "resources", dict, "linux")
    _optional(linux, "cgroupsPath", str, "linux")
    _optional(linux, "seccomp", dict, "linux")
    propagation = linux.get("rootfsPropagation", "")
    if propagation not in ("", "shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable"):
        raise InvalidArgument(f"linux.rootfsPropagation: unknown propagation {propagation!r}")
    for i, device in enumerate(linux.get("devices", [])):
        here = f"linux.devices[{i}]"
        _expect(device, dict, here)
        _expect(device.get("path"), str, f"{here}.path")
        if device.get("type") not in ("c", "b", "u", "p"):
            raise InvalidArgument(f"{here}.type: must be one of c, b, u, p")


_TYPE_NAMES = {dict: "an object", list: "a list", str: "a string", int: "an integer", bool: "true or false"}


def _expect(value, kind, where: str) -> None:
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        got = "nothing" if value is None else type(value).__name__
        raise InvalidArgument(f"{where}: expected {_TYPE_NAMES[kind]}, got {got}")


def _optional(container: dict, key: str, kind, where: str) -> None:
    if key in container and container[key] is not None:
        _expect(container[key], kind, f"{where}.{key}" if where else key)


def _strings(values, where: str) -> None:
    _expect(values, list, where)
    for i, value in enumerate(values):
        _expect(value, str, f"{where}[{i}]")
