"""`run`/`create`'s mount flags → the create body, as the docker CLI
builds it: `-v` (HostConfig.Binds or Config.Volumes), `--mount`
(HostConfig.Mounts), `--tmpfs` (HostConfig.Tmpfs), `--volumes-from` and
`--volume-driver`; with the CLI's own checks and messages."""

import os


def parse_mount_flag(text: str) -> dict:
    """docker's MountOpt.Set: one --mount value (CSV of key[=value]) as a
    HostConfig.Mounts entry in the API's shape (empty fields left out).
    Raises ValueError with docker's message (the parser adds
    `invalid argument "..." for "--mount" flag: `)."""
    from hakobune.createbody.kinds import ram_in_bytes, read_csv_record
    from hakobune.createbody.gosyntax import parse_bool

    mount: dict = {"Type": "volume"}

    def volume_options() -> dict:
        options = mount.setdefault("VolumeOptions", {"Labels": {}})
        options.setdefault("DriverConfig", {})
        return options

    def bind_options() -> dict:
        return mount.setdefault("BindOptions", {})

    def tmpfs_options() -> dict:
        return mount.setdefault("TmpfsOptions", {})

    for field in read_csv_record(text):
        key, has_value, value = field.partition("=")
        key = key.lower()
        if not has_value:
            if key in ("readonly", "ro"):
                mount["ReadOnly"] = True
            elif key == "volume-nocopy":
                volume_options()["NoCopy"] = True
            elif key == "bind-nonrecursive":
                bind_options()["NonRecursive"] = True
            else:
                raise ValueError(f"invalid field '{field}' must be a key=value pair")
            continue
        if key == "type":
            mount["Type"] = value.lower()
        elif key in ("source", "src"):
            mount["Source"] = os.path.abspath(value) if value == "." or value.startswith("./") else value
        elif key in ("target", "dst", "destination"):
            mount["Target"] = value
        elif key in ("readonly", "ro"):
            try:
                mount["ReadOnly"] = parse_bool(value)
            except ValueError:
                raise ValueError(f"invalid value for {key}: {value}") from None
        elif key == "consistency":
            mount["Consistency"] = value.lower()
        elif key == "bind-propagation":
            bind_options()["Propagation"] = value.lower()
        elif key == "bind-nonrecursive":
            raise ValueError("bind-nonrecursive is deprecated, use bind-recursive=disabled instead")
        elif key == "bind-create-src":
            bind_options()["CreateMountpoint"] = True if value == "" else _bool_value(key, value, parse_bool)
        elif key == "volume-driver":
            volume_options()["DriverConfig"]["Name"] = value
        elif key == "volume-subpath":
            volume_options()["Subpath"] = value
        elif key == "volume-label":
            name, _, label_value = value.partition("=")
            if name:
                volume_options()["Labels"][name] = label_value
        elif key == "volume-opt":
            driver = volume_options()["DriverConfig"]
            name, _, option_value = value.partition("=")
            if name:
                driver.setdefault("Options", {})[name] = option_value
        elif key == "volume-nocopy":
            volume_options()["NoCopy"] = _bool_value(key, value, parse_bool)
        elif key == "tmpfs-size":
            try:
                tmpfs_options()["SizeBytes"] = ram_in_bytes(value)
            except ValueError:
                raise ValueError(f"invalid value for {key}: {value}") from None
        elif key == "tmpfs-mode":
            try:
                tmpfs_options()["Mode"] = int(value, 8)
            except ValueError:
                raise ValueError(f"invalid value for {key}: {value}") from None
        else:
            raise ValueError(f"unexpected key '{key}' in '{field}'")
    return _check_mount(mount)


def _bool_value(key: str, value: str, parse_bool) -> bool:
    try:
        return parse_bool(value)
    except ValueError:
        raise ValueError(f"invalid value for {key}: {value}") from None


def _check_mount(mount: dict) -> dict:
    kind = mount["Type"]
    if not kind:
        raise ValueError("type is required")
    if not mount.get("Target"):
        raise ValueError("target is required")
    for prefix, key, wanted in (("volume", "VolumeOptions", "volume"), ("bind", "BindOptions", "bind"),
                                ("tmpfs", "TmpfsOptions", "tmpfs")):
        if key in mount and kind != wanted:
            raise ValueError(f"cannot mix '{prefix}-*' options with mount type '{kind}'")
    if mount.get("ReadOnly") is False:
        del mount["ReadOnly"]
    return mount


def tmpfs_map(values) -> dict:
    """--tmpfs /path[:options] values as HostConfig.Tmpfs."""
    tmpfs = {}
    for value in values or ():
        target, _, options = value.partition(":")
        tmpfs[target] = options
    return tmpfs


def apply_mount_flags(body: dict, opts) -> None:
    """-v, --mount, --tmpfs, --volumes-from and --volume-driver into the
    create body as the docker CLI sends them: `-v` with a source into
    HostConfig.Binds (a relative host path made absolute), `-v /path` into
    Config.Volumes, --mount into HostConfig.Mounts (after
    IOMaximumBandwidth), --tmpfs into HostConfig.Tmpfs (after SecurityOpt)."""
    host = body["HostConfig"]
    binds, anonymous = [], {}
    for text in getattr(opts, "volume", None) or ():
        source, bind = client_volume_spec(text)
        if source:
            if bind not in binds:
                binds.append(bind)
        else:
            anonymous[text] = {}
    body["Volumes"] = anonymous
    host["Binds"] = binds or None
    host["VolumeDriver"] = getattr(opts, "volume_driver", "") or ""
    host["VolumesFrom"] = list(getattr(opts, "volumes_from", None) or ()) or None
    tmpfs = tmpfs_map(getattr(opts, "tmpfs", None))
    mounts = list(getattr(opts, "mount", None) or ())
    if not tmpfs and not mounts:
        return
    ordered = {}
    for key, value in host.items():
        if key in ("Tmpfs", "Mounts"):
            continue
        ordered[key] = value
        if key == "SecurityOpt" and tmpfs:
            ordered["Tmpfs"] = tmpfs
        if key == "IOMaximumBandwidth" and mounts:
            ordered["Mounts"] = mounts
    if tmpfs:
        ordered.setdefault("Tmpfs", tmpfs)
    if mounts:
        ordered.setdefault("Mounts", mounts)
    body["HostConfig"] = ordered


def client_volume_spec(text: str) -> tuple[str, str]:
    """docker's loader.ParseVolume as the CLI uses it on a `-v`: (source, the
    Binds entry); no source for an anonymous volume.  Errors are the CLI's
    own ("invalid spec: ...")."""
    from hakobune.createbody.runopts import OptionError

    if text == "":
        raise OptionError("invalid empty volume spec")
    if len(text) <= 2:
        return "", text
    fields = text.split(":")
    for index, field in enumerate(fields):
        if field == "":
            raise OptionError(f"invalid spec: {text}: empty section between colons")
        if index == 2 and len(fields) > 3:
            raise OptionError(f"invalid spec: {text}: too many colons")
    if len(fields) == 1:
        return "", text
    source = fields[0]
    if source == "." or source.startswith("./"):
        source = os.path.abspath(source)
        return source, source + ":" + text.partition(":")[2]
    return source, text
