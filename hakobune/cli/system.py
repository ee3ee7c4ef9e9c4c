"""`system df`, `version` and `info`, formatted as the docker CLI does.  There
is no daemon: "Server" is this process's view of the engine's state."""

import os
import platform

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

    headers = dict(IMAGES_HEADERS)
    table = ("table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}"
             "\t{{.UniqueSize}}\t{{.Containers}}")
    text = "Images space usage:\n\n" + render(table, _image_rows(usage["Images"], True, False), headers, table)
    text += ("\nContainers space usage:\n\nCONTAINER ID   IMAGE     COMMAND   LOCAL VOLUMES   SIZE      "
             "CREATED   STATUS    NAMES\n"
             "\nLocal Volumes space usage:\n\nVOLUME NAME   LINKS     SIZE\n"
             "\nBuild cache usage: 0B\n\nCACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n")
    write(text)
    return 0


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


def info(inv):
    from hakobune import __version__

    data = engine_of(inv).info()
    data["RunRoot"] = engine_of(inv).runroot
    if inv.opts.format:
        from hakobune.cli.template.table import render_rows

        write(render_rows(inv.opts.format, [data]))
        return 0
    write("Client:\n"
          f" Version:    {__version__}\n"
          " Context:    default\n"
          " Debug Mode: false\n"
          "\n"
          "Server:\n"
          f" Containers: {data['Containers']}\n"
          f"  Running: {data['ContainersRunning']}\n"
          f"  Paused: {data['ContainersPaused']}\n"
          f"  Stopped: {data['ContainersStopped']}\n"
          f" Images: {data['Images']}\n"
          f" Server Version: {data['ServerVersion']}\n"
          f" Storage Driver: {data['Driver']}\n"
          f" Kernel Version: {data['KernelVersion']}\n"
          f" Operating System: {data['OperatingSystem']}\n"
          f" OSType: {data['OSType']}\n"
          f" Architecture: {data['Architecture']}\n"
          f" CPUs: {data['NCPU']}\n"
          f" Name: {data['Name']}\n"
          f" Docker Root Dir: {data['DockerRootDir']}\n"
          f" Run Root Dir: {data['RunRoot']}\n")
    return 0
