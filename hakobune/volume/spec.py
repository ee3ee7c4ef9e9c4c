"""What the daemon receives about mounts, as plain mount dicts, with Docker's errors.

Pure functions (they touch the filesystem only to check that a ``--mount
type=bind`` source exists, as Docker's daemon does):

    parse_bind("data:/srv:ro")                 # one HostConfig.Binds entry
    parse_mount({"Type": "tmpfs", ...})        # one HostConfig.Mounts entry
    parse_tmpfs("/run", "size=1m")             # one HostConfig.Tmpfs entry
    parse_anonymous("/var/lib/x")              # one Config.Volumes key (image VOLUME, `-v /path`)
    parse_volumes_from("web:ro")               # one HostConfig.VolumesFrom entry
    mounts_of_create(config, host_config, inherited)   # all of a create body, Docker's precedence

A plain mount dict::

    {"Type": "volume" | "bind" | "tmpfs",
     "Source": volume name ("" for an anonymous volume) | host path | "",
     "Target": clean absolute path in the container,
     "ReadOnly": bool, "Mode": the -v mode text ("" else), "Propagation": "rprivate"... (binds),
     "NonRecursive": bool (binds), "CreateSource": bool (a -v bind: mkdir -p the source),
     "CopyData": bool (volumes: fill an empty volume with the image's files),
     "VolumeOptions": {"Driver", "Labels", "DriverOptions"} (volumes),
     "TmpfsOptions": {"SizeBytes", "Mode"}, "Data": mount options text (tmpfs),
     "Origin": "binds" | "mounts" | "tmpfs" | "volumes" | "volumes-from"}
"""

from __future__ import annotations

import os
import posixpath

from hakobune.errors import InvalidArgument

RW_MODES = ("rw", "ro")
LABEL_MODES = ("z", "Z")
PROPAGATION_MODES = ("private", "rprivate", "slave", "rslave", "shared", "rshared")
COPY_MODES = ("nocopy",)
CONSISTENCY_MODES = ("consistent", "cached", "delegated", "default")
DEFAULT_PROPAGATION = "rprivate"


def clean(path: str) -> str:
    """Go's path.Clean."""
    if not path:
        return "."
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


# --- the mode of a -v ---------------------------------------------------------------------

def valid_mode(mode: str) -> bool:
    """moby's linuxValidMountMode: words of known kinds, at most one of each kind."""
    if mode == "":
        return True
    counts = [0, 0, 0, 0, 0]
    for word in mode.split(","):
        for i, kind in enumerate((RW_MODES, LABEL_MODES, PROPAGATION_MODES, COPY_MODES, CONSISTENCY_MODES)):
            if word in kind:
                counts[i] += 1
                break
        else:
            return False
    return all(c <= 1 for c in counts)


def _mode_words(mode: str) -> list[str]:
    return mode.split(",") if mode else []


def _read_write(mode: str) -> bool:
    return "ro" not in _mode_words(mode)


def _propagation(mode: str) -> str:
    for word in _mode_words(mode):
        if word in PROPAGATION_MODES:
            return word
    return ""


# --- validation shared by Binds and Mounts ---------------------------------------------------

class _MountConfigError(InvalidArgument):
    pass


def _config_error(kind: str, message: str) -> _MountConfigError:
    return _MountConfigError(f'invalid mount config for type "{kind}": {message}')


def _validate_target(kind: str, target: str) -> None:
    if target == "":
        raise _config_error(kind, "field Target must not be empty")
    if clean(target.replace("\\", "/")) == "/":
        raise _config_error(kind, "invalid specification: destination can't be '/'")
    if not target.startswith("/"):
        raise _config_error(kind, f"invalid mount path: '{target}' mount path must be absolute")


def _validate_volume_name(name: str) -> None:
    from hakobune.volume.store import validate_name

    try:
        validate_name(name)
    except InvalidArgument as e:
        raise InvalidArgument(f"create {name}: {e}") from None


def _volume_mount(source: str, target: str, read_only: bool, *, mode: str = "", copy_data: bool = True,
                  driver: str = "", labels: dict | None = None, driver_options: dict | None = None,
                  origin: str) -> dict:
    return {"Type": "volume", "Source": source, "Target": clean(target), "ReadOnly": read_only, "Mode": mode,
            "Propagation": "", "CopyData": copy_data,
            "VolumeOptions": {"Driver": driver or "local", "Labels": dict(labels or {}),
                              "DriverOptions": dict(driver_options or {})},
            "Origin": origin}


def _bind_mount(source: str, target: str, read_only: bool, *, mode: str = "", propagation: str = "",
                non_recursive: bool = False, create_source: bool, origin: str) -> dict:
    return {"Type": "bind", "Source": clean(source), "Target": clean(target), "ReadOnly": read_only,
            "Mode": mode, "Propagation": propagation or DEFAULT_PROPAGATION, "NonRecursive": non_recursive,
            "CreateSource": create_source, "Origin": origin}


# --- HostConfig.Binds -------------------------------------------------------------------------

def parse_bind(raw: str, volume_driver: str = "") -> dict:
    """One `-v` as the daemon receives it in HostConfig.Binds: `name:/path[:mode]`,
    `/host:/path[:mode]` (a source starting with / is a bind) or `/path` (anonymous)."""
    invalid = f"invalid volume specification: '{raw}'"
    parts = raw.split(":", 3)
    if parts[0] == "":
        raise InvalidArgument(invalid)
    source, mode = "", ""
    if len(parts) == 1:
        target = parts[0]
    elif len(parts) == 2:
        if valid_mode(parts[1]):
            raise InvalidArgument(invalid)  # a destination and a mode: volumes take no mode
        source, target = parts
    elif len(parts) == 3:
        source, target, mode = parts
    else:
        raise InvalidArgument(invalid)
    if not valid_mode(mode):
        raise InvalidArgument(f"invalid mode: {mode}")
    kind = "bind" if source.startswith("/") else "volume"
    read_only = not _read_write(mode)
    try:
        _validate_target(kind, target)
        if kind == "volume":
            if _propagation(mode):
                raise _config_error(kind, "field BindOptions must not be specified")
            if read_only and not source:
                raise _config_error(kind, "must not set ReadOnly mode when using anonymous volumes")
    except _MountConfigError as e:
        raise InvalidArgument(f"{invalid}: {e}") from None
    if kind == "bind":
        return _bind_mount(source, target, read_only, mode=mode, propagation=_propagation(mode),
                           create_source=True, origin="binds")
    if source:
        _validate_volume_name(source)
    return _volume_mount(source, target, read_only, mode=mode, copy_data="nocopy" not in _mode_words(mode),
                         driver=volume_driver, origin="binds")


# --- HostConfig.Mounts -------------------------------------------------------------------------

def parse_mount(spec: dict, check_source: bool = True) -> dict:
    """One HostConfig.Mounts entry (the CLI's --mount), validated as the daemon does."""
    kind = spec.get("Type") or ""
    target = spec.get("Target") or ""
    source = spec.get("Source") or ""
    read_only = bool(spec.get("ReadOnly"))
    bind_options = spec.get("BindOptions")
    volume_options = spec.get("VolumeOptions")
    tmpfs_options = spec.get("TmpfsOptions")
    _validate_target(kind, target)
    if kind == "bind":
        if not source:
            raise _config_error(kind, "field Source must not be empty")
        propagation = (bind_options or {}).get("Propagation") or ""
        if propagation and propagation not in PROPAGATION_MODES:
            raise _config_error(kind, f"invalid propagation mode: {propagation}")
        if volume_options is not None:
            raise _config_error(kind, "field VolumeOptions must not be specified")
        if tmpfs_options is not None:
            raise _config_error(kind, "field TmpfsOptions must not be specified")
        if not source.startswith("/"):
            raise _config_error(kind, f"invalid mount path: '{source}' mount path must be absolute")
        if check_source and not os.path.lexists(source):
            raise _config_error(kind, f"bind source path does not exist: {source}")
        return _bind_mount(source, target, read_only, propagation=propagation,
                           non_recursive=bool((bind_options or {}).get("NonRecursive")),
                           create_source=bool((bind_options or {}).get("CreateMountpoint")), origin="mounts")
    if kind == "volume":
        if bind_options is not None:
            raise _config_error(kind, "field BindOptions must not be specified")
        if tmpfs_options is not None:
            raise _config_error(kind, "field TmpfsOptions must not be specified")
        options = volume_options or {}
        if options.get("Subpath"):
            raise _config_error(kind, "volume subpaths are not supported")
        if read_only and not source:
            raise _config_error(kind, "must not set ReadOnly mode when using anonymous volumes")
        if source:
            _validate_volume_name(source)
        driver = options.get("DriverConfig") or {}
        return _volume_mount(source, target, read_only, copy_data=not options.get("NoCopy"),
                             driver=driver.get("Name") or "", labels=options.get("Labels"),
                             driver_options=driver.get("Options"), origin="mounts")
    if kind == "tmpfs":
        if bind_options is not None:
            raise _config_error(kind, "field BindOptions must not be specified")
        if volume_options is not None:
            raise _config_error(kind, "field VolumeOptions must not be specified")
        if source:
            raise _config_error(kind, "field Source must not be specified")
        size = int((tmpfs_options or {}).get("SizeBytes") or 0)
        mode = int((tmpfs_options or {}).get("Mode") or 0)
        if size < 0:
            raise _config_error(kind, f"invalid tmpfs size: {size}")
        return {"Type": "tmpfs", "Source": "", "Target": clean(target), "ReadOnly": read_only, "Mode": "",
                "Propagation": "", "TmpfsOptions": {"SizeBytes": size, "Mode": mode},
                "Data": tmpfs_data(size, mode, read_only), "Origin": "mounts"}
    raise _config_error(kind, "mount type unknown")


def tmpfs_data(size: int, mode: int, read_only: bool) -> str:
    """moby's ConvertTmpfsOptions: "ro,mode=1777,size=64m"."""
    words = ["ro"] if read_only else []
    if mode:
        words.append(f"mode={mode:o}")
    if size:
        for suffix, divisor in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
            if size % divisor == 0:
                words.append(f"size={size // divisor}{suffix}")
                break
        else:
            words.append(f"size={size}")
    return ",".join(words)


# --- HostConfig.Tmpfs, Config.Volumes, HostConfig.VolumesFrom ------------------------------------

_TMPFS_FLAGS = {"ro", "rw", "suid", "nosuid", "dev", "nodev", "exec", "noexec", "sync", "async", "dirsync",
                "mand", "nomand", "atime", "noatime", "diratime", "nodiratime", "relatime", "norelatime",
                "strictatime", "nostrictatime", "defaults", "remount", "bind", "rbind", "lazytime", "nolazytime",
                "tmpcopyup", "private", "rprivate", "shared", "rshared", "slave", "rslave"}
_TMPFS_DATA = {"size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol", "huge", "inode64", "noswap"}


def parse_tmpfs(target: str, data: str = "") -> dict:
    """One HostConfig.Tmpfs entry (`--tmpfs /path[:options]`)."""
    if clean(target.replace("\\", "/")) == "/":
        raise InvalidArgument("invalid specification: destination can't be '/'")
    if not target.startswith("/"):
        raise InvalidArgument(f"invalid mount path: '{target}' mount path must be absolute")
    for word in _mode_words(data):
        key, sep, value = word.partition("=")
        if (not sep and word not in _TMPFS_FLAGS and word not in ("inode64", "noswap")) or \
                (sep and key not in _TMPFS_DATA):
            raise InvalidArgument(f"invalid tmpfs option {word!r}")
        if key == "size" and sep and not _valid_tmpfs_size(value):
            raise InvalidArgument(f"invalid tmpfs option {word!r}")
        if key == "mode" and sep and not _is_octal(value):
            raise InvalidArgument(f"invalid tmpfs option {word!r}")
    return {"Type": "tmpfs", "Source": "", "Target": clean(target), "ReadOnly": "ro" in _mode_words(data),
            "Mode": "", "Propagation": "", "TmpfsOptions": {}, "Data": data, "Origin": "tmpfs"}


def _valid_tmpfs_size(value: str) -> bool:
    digits = value[:-1] if value[-1:].lower() in ("k", "m", "g", "%") else value
    return digits.isdigit()


def _is_octal(value: str) -> bool:
    return bool(value) and all(c in "01234567" for c in value)


def parse_anonymous(target: str) -> dict:
    """One Config.Volumes key: an image's VOLUME or `-v /path`: a new anonymous volume."""
    try:
        _validate_target("volume", target)
    except _MountConfigError as e:
        raise InvalidArgument(f"invalid volume specification: '{target}': {e}") from None
    mount = _volume_mount("", target, False, origin="volumes")
    return mount


def parse_volumes_from(spec: str) -> tuple[str, str]:
    """`container[:ro|rw]` -> (container, mode)."""
    if not spec:
        raise InvalidArgument("volumes-from specification cannot be an empty string")
    container, _, mode = spec.partition(":")
    if not mode:
        return container, "rw"
    if not valid_mode(mode):
        raise InvalidArgument(f"invalid mode for volumes-from: {mode}")
    if _propagation(mode):
        raise InvalidArgument(f"propagation property {mode} is not allowed in --volumes-from specification")
    return container, mode


def inherit(mounts: list[dict], mode: str) -> list[dict]:
    """Another container's mounts for --volumes-from (tmpfs mounts are not inherited);
    an explicit ro/rw mode overrides each mount's own."""
    inherited = []
    words = _mode_words(mode)
    for mount in mounts:
        if mount["Type"] == "tmpfs" or mount.get("Origin") == "tmpfs":
            continue
        copy = {**mount, "Origin": "volumes-from"}
        if "ro" in words:
            copy["ReadOnly"] = True
        elif "rw" in words:
            copy["ReadOnly"] = False
        inherited.append(copy)
    return inherited


# --- a whole create body -------------------------------------------------------------------------

def duplicate(target: str) -> InvalidArgument:
    return InvalidArgument(f"Duplicate mount point: {target}")


def mounts_of_create(config: dict, host_config: dict, inherited: list[dict] | None = None) -> list[dict]:
    """All of a create body's mounts, in Docker's precedence: --volumes-from
    (`inherited`, already given through `inherit`), then Binds and Mounts
    (overriding an inherited one, never each other: "Duplicate mount point"),
    HostConfig.Tmpfs (a duplicate of a bind too), and Config.Volumes' anonymous
    volumes where nothing else is mounted."""
    config, host_config = config or {}, host_config or {}
    by_target: dict[str, dict] = {m["Target"]: m for m in inherited or ()}
    explicit: set[str] = set()
    tmpfs_targets = {clean(t) for t in (host_config.get("Tmpfs") or {})}
    driver = host_config.get("VolumeDriver") or ""
    for raw in host_config.get("Binds") or ():
        mount = parse_bind(raw, driver)
        if mount["Target"] in explicit or mount["Target"] in tmpfs_targets:
            raise duplicate(mount["Target"])
        explicit.add(mount["Target"])
        by_target[mount["Target"]] = mount
    for spec in host_config.get("Mounts") or ():
        mount = parse_mount(spec)
        if mount["Target"] in explicit:
            raise duplicate(spec.get("Target"))
        explicit.add(mount["Target"])
        by_target[mount["Target"]] = mount
    for target, data in (host_config.get("Tmpfs") or {}).items():
        mount = parse_tmpfs(target, data or "")
        if mount["Target"] in explicit:
            raise duplicate(mount["Target"])
        explicit.add(mount["Target"])
        by_target[mount["Target"]] = mount
    for target in config.get("Volumes") or {}:
        mount = parse_anonymous(target)
        if mount["Target"] not in by_target:
            by_target[mount["Target"]] = mount
    return list(by_target.values())
