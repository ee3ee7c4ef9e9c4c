"""The volume commands: volume create, ls, inspect, rm, prune, as the docker
CLI prints them; and the client's side of run/create's mount flags:
`parse_mount_flag` (``--mount`` into a HostConfig.Mounts entry, docker's
opts.MountOpt) and `tmpfs_map` (``--tmpfs`` into HostConfig.Tmpfs)."""

import os
import sys

from hakobune.cli.images import engine_of, filters_of, render, write

VOLUMES_TABLE = "table {{.Driver}}\t{{.Name}}"
VOLUMES_HEADERS = {"Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
                   "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE", "CreatedAt": "CREATED AT"}
QUIET_FORMAT = "{{.Name}}"


def _labels_of(texts) -> dict:
    """docker's ConvertKVStringsToMap: "k=v" -> k: v, "k" -> k: ""."""
    labels = {}
    for text in texts or ():
        key, _, value = text.partition("=")
        labels[key] = value
    return labels


# --- create ---------------------------------------------------------------------------

def create(inv):
    from hakobune.cli.main import CLIError

    o = inv.opts
    name = o.name or ""
    if inv.args:
        if name:
            raise CLIError("conflicting options: cannot specify a volume-name through both --name and as a "
                           "positional arg", 1)
        name = inv.args[0]
    volume = engine_of(inv).create_volume(name or None, o.driver or "local", _labels_of(o.label) or None,
                                          dict(o.opt) or None)
    write(volume["Name"] + "\n")
    return 0


# --- ls -----------------------------------------------------------------------------------

def _natural_key(text: str):
    """docker's sortorder.NaturalLess: digit runs compared as numbers."""
    import re

    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text) if part]


def volume_row(volume: dict) -> dict:
    labels = volume.get("Labels") or {}
    usage = volume.get("UsageData")
    from hakobune.cli.images import human_size

    return {"Name": volume["Name"], "Driver": volume["Driver"], "Scope": volume.get("Scope", "local"),
            "Mountpoint": volume["Mountpoint"], "CreatedAt": volume.get("CreatedAt", ""),
            "Labels": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
            "Links": str(usage["RefCount"]) if usage else "N/A",
            "Size": human_size(usage["Size"]) if usage and usage.get("Size", -1) >= 0 else "N/A"}


def ls(inv):
    o = inv.opts
    volumes = engine_of(inv).volumes(filters_of(o.filter))["Volumes"] or []
    volumes.sort(key=lambda v: _natural_key(v["Name"]))
    fmt = o.format or "table"
    if fmt == "table" and o.quiet:
        fmt = QUIET_FORMAT
    write(render(fmt, [volume_row(v) for v in volumes], VOLUMES_HEADERS, VOLUMES_TABLE))
    return 0


# --- inspect ----------------------------------------------------------------------------------

def inspect(inv):
    from hakobune.cli.images import inspect_each

    return inspect_each(inv.args, engine_of(inv).volume_inspect, inv.opts.format)


# --- rm and prune --------------------------------------------------------------------------------

def rm(inv):
    from hakobune.errors import HakobuneError

    engine = engine_of(inv)
    errors = []
    for name in inv.args:
        try:
            engine.remove_volume(name, force=inv.opts.force)
        except HakobuneError as e:
            errors.append(f"Error response from daemon: {e}")
            continue
        write(name + "\n")
    if errors:
        from hakobune.cli.main import CLIError

        raise CLIError("\n".join(errors), 1)
    return 0


def prune(inv):
    from hakobune.cli.images import human_size

    o = inv.opts
    filters = filters_of(o.filter)
    if not o.force:
        warning = ("WARNING! This will remove all local volumes not used by at least one container."
                   if o.all or filters.get("all") else
                   "WARNING! This will remove anonymous local volumes not used by at least one container.")
        write(warning + "\nAre you sure you want to continue? [y/N] ")
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    report = engine_of(inv).prune_volumes(all=o.all, filters=filters)
    deleted = report.get("VolumesDeleted") or []
    out = ""
    if deleted:
        out = "Deleted Volumes:\n" + "".join(name + "\n" for name in deleted) + "\n"
    write(out + f"Total reclaimed space: {human_size(report.get('SpaceReclaimed', 0) if deleted else 0)}\n")
    return 0


# --- run/create: --mount and --tmpfs ---------------------------------------------------------------

def parse_mount_flag(text: str) -> dict:
    """docker's MountOpt.Set: one --mount value (CSV of key[=value]) as a
    HostConfig.Mounts entry in the API's shape (empty fields left out).
    Raises ValueError with docker's message (the parser adds
    `invalid argument "..." for "--mount" flag: `)."""
    from hakobune.cli.args.kinds import ram_in_bytes, read_csv_record
    from hakobune.cli.args.gosyntax import parse_bool

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


# --- run/create: the flags and the create body ------------------------------------------------------

def run_mount_flags():
    """run's and create's mount flags, with docker's names and help."""
    from hakobune.cli.args import Flag

    return [Flag.list("mount", "", "Attach a filesystem mount to the container", convert=parse_mount_flag,
                      metavar="mount"),
            Flag.list("tmpfs", "", "Mount a tmpfs directory"),
            Flag.list("volume", "v", "Bind mount a volume"),
            Flag.string("volume-driver", "", "Optional volume driver for the container"),
            Flag.list("volumes-from", "", "Mount volumes from the specified container(s)")]


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
    from hakobune.cli.runopts import OptionError

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


# --- system df -v ------------------------------------------------------------------------------------

DF_VOLUMES_TABLE = "table {{.Name}}\t{{.Links}}\t{{.Size}}"


def volumes_df_table(volumes) -> str:
    """`system df -v`'s Local Volumes table (the header alone when there are none)."""
    rows = [volume_row(v) for v in sorted(volumes or (), key=lambda v: _natural_key(v["Name"]))]
    return render(DF_VOLUMES_TABLE, rows, VOLUMES_HEADERS, DF_VOLUMES_TABLE)
