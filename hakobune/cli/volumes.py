"""The volume commands: volume create, ls, inspect, rm, prune, as the docker
CLI prints them; and run/create's mount flags (`run_mount_flags`), whose
values hakobune.createbody.mounts puts into the create body."""

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


# --- run/create: the flags and the create body ------------------------------------------------------

def run_mount_flags():
    """run's and create's mount flags, with docker's names and help."""
    from hakobune.cli.args import Flag
    from hakobune.createbody.mounts import parse_mount_flag

    return [Flag.list("mount", "", "Attach a filesystem mount to the container", convert=parse_mount_flag,
                      metavar="mount"),
            Flag.list("tmpfs", "", "Mount a tmpfs directory"),
            Flag.list("volume", "v", "Bind mount a volume"),
            Flag.string("volume-driver", "", "Optional volume driver for the container"),
            Flag.list("volumes-from", "", "Mount volumes from the specified container(s)")]


# --- system df -v ------------------------------------------------------------------------------------

DF_VOLUMES_TABLE = "table {{.Name}}\t{{.Links}}\t{{.Size}}"


def volumes_df_table(volumes) -> str:
    """`system df -v`'s Local Volumes table (the header alone when there are none)."""
    rows = [volume_row(v) for v in sorted(volumes or (), key=lambda v: _natural_key(v["Name"]))]
    return render(DF_VOLUMES_TABLE, rows, VOLUMES_HEADERS, DF_VOLUMES_TABLE)
