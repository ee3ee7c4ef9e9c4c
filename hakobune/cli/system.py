"""`system df`, `version`, `info`, `events`, `system prune` and `system
restore`, formatted as the docker CLI does.  There is no daemon: "Server" is
this process's view of the engine's state, and `events` reads the journal
that every command appends to (hakobune.engine.events).  `system restore`
is hakobune's own: run at boot (a systemd unit or a boot script), it starts
the containers whose restart policy is always or unless-stopped and that the
user had not stopped."""

import os
import platform
import sys

from hakobune.cli.images import engine_of, human_size, render, write

DF_TABLE = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"
DF_HEADERS = {"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE",
              "Reclaimable": "RECLAIMABLE"}
API_VERSION = "1.41"
MIN_API_VERSION = "1.12"


def _reclaimable(reclaimable: int, total: int, percent: bool = True) -> str:
    if percent and total > 0:
        return f"{human_size(reclaimable)} ({reclaimable * 100 // total}%)"
    return human_size(reclaimable)


def df_rows(usage: dict) -> list[dict]:
    """docker's diskUsage contexts: Images, Containers, Local Volumes, Build Cache."""
    images = usage.get("Images") or []
    total = usage.get("LayersSize", 0)
    used = sum(i["Size"] - i["SharedSize"] for i in images
               if i.get("Containers", 0) > 0 and i["Size"] != -1 and i["SharedSize"] != -1)
    rows = [{"Type": "Images", "TotalCount": str(len(images)),
             "Active": str(sum(1 for i in images if i.get("Containers", 0) > 0)),
             "Size": human_size(total), "Reclaimable": _reclaimable(total - used, total)}]
    containers = usage.get("Containers") or []
    c_size = sum(c.get("SizeRw", 0) for c in containers)
    c_active = [c for c in containers if c.get("State") == "running"]
    c_used = sum(c.get("SizeRw", 0) for c in c_active)
    rows.append({"Type": "Containers", "TotalCount": str(len(containers)), "Active": str(len(c_active)),
                 "Size": human_size(c_size), "Reclaimable": _reclaimable(c_size - c_used, c_size)})
    volumes = usage.get("Volumes") or []
    v_size = sum(max(v.get("UsageData", {}).get("Size", 0), 0) for v in volumes)
    v_active = [v for v in volumes if v.get("UsageData", {}).get("RefCount", 0) > 0]
    v_used = sum(max(v["UsageData"].get("Size", 0), 0) for v in v_active)
    rows.append({"Type": "Local Volumes", "TotalCount": str(len(volumes)), "Active": str(len(v_active)),
                 "Size": human_size(v_size), "Reclaimable": _reclaimable(v_size - v_used, v_size)})
    cache = usage.get("BuildCache") or []
    b_size = sum(b.get("Size", 0) for b in cache if not b.get("Shared"))
    b_active = [b for b in cache if b.get("InUse")]
    b_inactive = sum(b.get("Size", 0) for b in cache if not b.get("InUse") and not b.get("Shared"))
    rows.append({"Type": "Build Cache", "TotalCount": str(len(cache)), "Active": str(len(b_active)),
                 "Size": human_size(b_size), "Reclaimable": _reclaimable(b_inactive, b_size, percent=False)})
    return rows


def df(inv):
    usage = engine_of(inv).system_df()
    fmt = inv.opts.format or "table"
    if inv.opts.verbose and not inv.opts.format:
        return _df_verbose(usage)
    write(render(fmt, df_rows(usage), DF_HEADERS, DF_TABLE))
    return 0


def _df_verbose(usage: dict) -> int:
    from hakobune.cli.images import IMAGES_HEADERS, _image_rows
    from hakobune.cli.volumes import volumes_df_table

    headers = dict(IMAGES_HEADERS)
    table = ("table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}"
             "\t{{.UniqueSize}}\t{{.Containers}}")
    text = "Images space usage:\n\n" + render(table, _image_rows(usage["Images"], True, False), headers, table)
    text += ("\nContainers space usage:\n\nCONTAINER ID   IMAGE     COMMAND   LOCAL VOLUMES   SIZE      "
             "CREATED   STATUS    NAMES\n"
             "\nLocal Volumes space usage:\n\n" + volumes_df_table(usage.get("Volumes")) +
             _build_cache_table(usage.get("BuildCache") or []))
    write(text)
    return 0


def _build_cache_table(cache: list[dict]) -> str:
    """docker's verbose df section for the build cache (its buildCacheContext)."""
    from hakobune.cli.images import since
    from hakobune.image._timefmt import unix_seconds

    table = ("table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}"
             "\t{{.Shared}}")
    headers = {"ID": "CACHE ID", "CacheType": "CACHE TYPE", "Size": "SIZE", "CreatedSince": "CREATED",
               "LastUsedSince": "LAST USED", "UsageCount": "USAGE", "Shared": "SHARED"}
    rows = [{"ID": entry["ID"][:12] + ("*" if entry.get("InUse") else ""), "CacheType": entry["Type"],
             "Size": human_size(entry.get("Size", 0), 3), "CreatedSince": since(unix_seconds(entry["CreatedAt"])),
             "LastUsedSince": since(unix_seconds(entry["LastUsedAt"])), "UsageCount": str(entry.get("UsageCount", 0)),
             "Shared": "true" if entry.get("Shared") else "false"} for entry in cache]
    total = sum(entry.get("Size", 0) for entry in cache if not entry.get("Shared"))
    return f"\nBuild cache usage: {human_size(total)}\n\n" + render(table, rows, headers, table)


def _arch() -> str:
    machine = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(machine, machine)


def version_info() -> dict:
    from hakobune import __version__

    arch = _arch()
    details = {"ApiVersion": API_VERSION, "Arch": arch, "GoVersion": "", "KernelVersion": os.uname().release,
               "MinAPIVersion": MIN_API_VERSION, "Os": "linux"}
    return {
        "Client": {"Platform": {"Name": ""}, "Version": __version__, "ApiVersion": API_VERSION,
                   "DefaultAPIVersion": API_VERSION, "GitCommit": "", "GoVersion": "python" + platform.python_version(),
                   "Os": "linux", "Arch": arch, "BuildTime": "", "Context": "default"},
        "Server": {"Platform": {"Name": "hakobune"},
                   "Components": [{"Name": "Engine", "Version": __version__, "Details": details}],
                   "Version": __version__, "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
                   "Os": "linux", "Arch": arch, "KernelVersion": os.uname().release},
    }


def version(inv):
    if inv.globals.host or inv.globals.context or os.environ.get("DOCKER_HOST") or os.environ.get("DOCKER_CONTEXT"):
        engine = engine_of(inv)
        if getattr(engine, "remote", False):  # the server's own version (hakobune.client)
            from hakobune.cli import remote as commands

            return commands.version(inv, engine)
    info = version_info()
    if inv.opts.format:
        from hakobune.cli.template.table import render_rows

        write(render_rows(inv.opts.format, [info]))
        return 0
    c, s = info["Client"], info["Server"]
    write("Client:\n"
          f" Version:           {c['Version']}\n"
          f" API version:       {c['ApiVersion']}\n"
          f" Go version:        {c['GoVersion']}\n"
          f" OS/Arch:           {c['Os']}/{c['Arch']}\n"
          f" Context:           {c['Context']}\n"
          "\n"
          "Server: hakobune\n"
          " Engine:\n"
          f"  Version:          {s['Version']}\n"
          f"  API version:      {s['ApiVersion']} (minimum version {s['MinAPIVersion']})\n"
          f"  OS/Arch:          {s['Os']}/{s['Arch']}\n")
    return 0


def _binary_size(size: float) -> str:
    """go-units BytesSize: "3.8GiB"."""
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
    i = 0
    while size >= 1024 and i < len(units) - 1:
        size /= 1024
        i += 1
    return f"{size:.4g}{units[i]}"


def info(inv):
    from hakobune import __version__

    engine = engine_of(inv)
    data = engine.info()
    if inv.opts.format:
        from hakobune.cli.template.table import render_rows

        write(render_rows(inv.opts.format, [data]))
        return 0
    context = getattr(getattr(engine, "endpoint", None), "context", "default")  # a server's context (hakobune.client)
    lines = ["Client:", f" Version:    {__version__}", f" Context:    {context}", " Debug Mode: false", "",
             "Server:",
             f" Containers: {data['Containers']}",
             f"  Running: {data['ContainersRunning']}",
             f"  Paused: {data['ContainersPaused']}",
             f"  Stopped: {data['ContainersStopped']}",
             f" Images: {data['Images']}",
             f" Server Version: {data['ServerVersion']}",
             f" Storage Driver: {data['Driver']}"]
    lines += [f"  {name}: {value}" for name, value in data.get("DriverStatus") or ()]
    plugins = data.get("Plugins") or {}
    lines += [f" Logging Driver: {data['LoggingDriver']}",
              f" Cgroup Driver: {data['CgroupDriver']}",
              f" Cgroup Version: {data['CgroupVersion']}",
              " Plugins:",
              f"  Volume: {' '.join(plugins.get('Volume') or [])}",
              f"  Network: {' '.join(plugins.get('Network') or [])}",
              f"  Log: {' '.join(plugins.get('Log') or [])}",
              " Swarm: inactive",
              f" Runtimes: {' '.join(sorted(data.get('Runtimes') or {}))}",
              f" Default Runtime: {data['DefaultRuntime']}",
              f" Init Binary: {data.get('InitBinary', '')}",
              " Security Options:"]
    for option in data.get("SecurityOptions") or ():
        fields = dict(part.partition("=")[::2] for part in option.split(","))
        lines.append(f"  {fields.get('name', option)}")
        if fields.get("profile"):
            lines.append(f"   Profile: {fields['profile']}")
    lines += [f" Kernel Version: {data['KernelVersion']}",
              f" Operating System: {data['OperatingSystem']}",
              f" OSType: {data['OSType']}",
              f" Architecture: {data['Architecture']}",
              f" CPUs: {data['NCPU']}",
              f" Total Memory: {_binary_size(data.get('MemTotal', 0))}",
              f" Name: {data['Name']}",
              f" Docker Root Dir: {data['DockerRootDir']}",
              f" Run Root Dir: {data.get('RunRoot', '')}",
              " Debug Mode: false",
              " Experimental: false",
              f" Live Restore Enabled: {'true' if data.get('LiveRestoreEnabled') else 'false'}"]
    write("\n".join(lines) + "\n")
    for warning in data.get("Warnings") or ():
        sys.stderr.write(warning + "\n")
    return 0


# --- events ----------------------------------------------------------------------

def events(inv):
    """docker events: the journal's events; without --until it follows
    new ones until interrupted."""
    from hakobune.cli.images import filters_of
    from hakobune.engine import events as E

    o = inv.opts
    engine = engine_of(inv)
    template = None
    if o.format:
        from hakobune.cli.template.table import parse_format

        _, template = parse_format(o.format)
    for event in engine.events(since=o.since or None, until=o.until or None, filters=filters_of(o.filter)):
        if template is not None:
            out = []
            template.execute_into(out, _EventRow(event))
            text = "".join(out) + "\n"
        else:
            text = E.default_line(event) + "\n"
        sys.stdout.write(text)
        sys.stdout.flush()
    return 0


class _EventRow(dict):
    """An event for templates: Go's events.Message field order for `json`."""

    def __json__(self):
        from hakobune.cli.template.table import go_json

        return go_json(dict(self), escape_html=True)


# --- prune, restore ----------------------------------------------------------------

def prune(inv):
    from hakobune.cli.containers import prune_text
    from hakobune.cli.images import filters_of

    o = inv.opts
    if not o.force:
        items = ["all stopped containers", "all networks not used by at least one container"]
        if o.volumes:
            items.append("all anonymous volumes not used by at least one container")
        items.append("all images without at least one container associated to them" if o.all
                     else "all dangling images")
        items.append("all build cache" if o.all else "unused build cache")
        write("WARNING! This will remove:\n" + "".join(f"  - {item}\n" for item in items)
              + "\nAre you sure you want to continue? [y/N] ")
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    report = engine_of(inv).system_prune(all=o.all, volumes=o.volumes, filters=filters_of(o.filter))
    containers = report.get("Containers") or {}
    text = prune_text("Deleted Containers:", containers.get("ContainersDeleted"))
    reclaimed = containers.get("SpaceReclaimed", 0)
    text += prune_text("Deleted Networks:", (report.get("Networks") or {}).get("NetworksDeleted"))
    volumes = report.get("Volumes") or {}
    text += prune_text("Deleted Volumes:", volumes.get("VolumesDeleted"))
    reclaimed += volumes.get("SpaceReclaimed", 0)
    images = report.get("Images") or {}
    image_lines = []
    for item in images.get("ImagesDeleted") or ():
        if item.get("Untagged"):
            image_lines.append(f"untagged: {item['Untagged']}")
        if item.get("Deleted"):
            image_lines.append(f"deleted: {item['Deleted']}")
    text += prune_text("Deleted Images:", image_lines)
    reclaimed += images.get("SpaceReclaimed", 0)
    cache = report.get("BuildCache") or {}
    if cache.get("CachesDeleted"):
        text += "Deleted build cache objects:\n" + "".join(f"{key}\n" for key in cache["CachesDeleted"]) + "\n"
    reclaimed += cache.get("SpaceReclaimed", 0)
    write(text + f"Total reclaimed space: {human_size(reclaimed)}\n")
    return 0


def restore(inv):
    """Start the always/unless-stopped containers the user did not stop;
    each started container's id on stdout, failures on stderr (status 1)."""
    failed = False
    for container_id, error in engine_of(inv).restore_containers():
        if error is None:
            write(container_id + "\n")
        else:
            failed = True
            sys.stderr.write(f"Error: cannot start {container_id}: {error}\n")
    return 1 if failed else 0
