"""`stats`: a container's resource usage in Docker's JSON shape
(GET /containers/{id}/stats), from its cgroup, and the arithmetic the docker
CLI applies to it.

The counters come from hakobune.runtime.cgroups.stats (cgroup v1 here:
memory.usage_in_bytes, max_usage, limit_in_bytes, memory.stat; cpuacct.usage,
usage_percpu, usage_sys/usage_user; cpu.stat's throttling; pids.current and
pids.max; cgroup v2: memory.current, memory.stat, memory.max, memory.peak,
cpu.stat, pids.*); this module turns them into Docker's sections and adds
what Docker adds: the host's memory as the limit of an unlimited cgroup,
block I/O (v1 blkio.throttle.io_service_bytes_recursive and
io_serviced_recursive, or the CFQ files when the kernel has them; v2
io.stat), system_cpu_usage (/proc/stat's first seven cpu fields in
nanoseconds, as Docker's daemon reads them), online CPUs, and the networks
of the init's namespace (/proc/<pid>/net/dev without lo).

`cpu_percent`, `memory_usage`, `block_io`, `network_io` are the docker
CLI's computations (CPU delta over system delta times the online CPUs;
usage minus inactive file pages).
"""

import os
import time

NANOS = 1_000_000_000
_BLKIO_KEYS = ("io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive",
               "io_service_time_recursive", "io_wait_time_recursive", "io_merged_recursive",
               "io_time_recursive", "sectors_recursive")
ZERO_TIME = "0001-01-01T00:00:00Z"


# --- small readers -------------------------------------------------------------------

def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


# --- the host -------------------------------------------------------------------------

def system_cpu_usage(proc: str = "/proc") -> int:
    """All CPUs' time since boot in nanoseconds: user+nice+system+idle+iowait+irq+softirq."""
    for line in (_read(f"{proc}/stat") or "").splitlines():
        if line.startswith("cpu "):
            ticks = sum(int(v) for v in line.split()[1:8])
            return ticks * NANOS // os.sysconf("SC_CLK_TCK")
    return 0


def online_cpus() -> int:
    try:
        return os.sysconf("SC_NPROCESSORS_ONLN")
    except (ValueError, OSError):
        return os.cpu_count() or 1


def host_memory(proc: str = "/proc") -> int:
    for line in (_read(f"{proc}/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def networks(pid: int, proc: str = "/proc") -> dict:
    """{interface: Docker's counters} of the network namespace of `pid`, lo left out."""
    result = {}
    for line in (_read(f"{proc}/{pid}/net/dev") or "").splitlines()[2:]:
        name, _, numbers = line.partition(":")
        name = name.strip()
        fields = numbers.split()
        if name == "lo" or len(fields) < 16:
            continue
        values = [int(v) for v in fields]
        result[name] = {"rx_bytes": values[0], "rx_packets": values[1], "rx_errors": values[2],
                        "rx_dropped": values[3], "tx_bytes": values[8], "tx_packets": values[9],
                        "tx_errors": values[10], "tx_dropped": values[11]}
    return result


# --- Docker's sections from the runtime's cgroup statistics --------------------------------
# hakobune.runtime.cgroups.stats reads the counters (runc's `events --stats`
# shape); here they become Docker's, with what Docker adds: the host's memory
# as the limit of an unlimited cgroup, and block I/O.

def docker_cpu(section: dict | None) -> dict:
    usage, throttling = (section or {}).get("usage") or {}, (section or {}).get("throttling") or {}
    cpu_usage = {"total_usage": usage.get("total", 0), "usage_in_kernelmode": usage.get("kernel", 0),
                 "usage_in_usermode": usage.get("user", 0)}
    if usage.get("percpu"):
        cpu_usage["percpu_usage"] = list(usage["percpu"])
    return {"cpu_usage": cpu_usage,
            "throttling_data": {"periods": throttling.get("periods", 0),
                                "throttled_periods": throttling.get("throttledPeriods", 0),
                                "throttled_time": throttling.get("throttledTime", 0)}}


def docker_memory(section: dict | None, host_total: int) -> dict:
    if not section:
        return {}
    usage = section.get("usage") or {}
    limit = usage.get("limit", 0)
    if host_total and (not limit or limit > host_total):
        limit = host_total  # unlimited (v1's huge number, v2's "max"): the host's memory, as Docker shows
    memory = {"usage": usage.get("usage", 0), "stats": dict(section.get("raw") or {}), "limit": limit}
    if usage.get("max"):
        memory["max_usage"] = usage["max"]
    if usage.get("failcnt"):
        memory["failcnt"] = usage["failcnt"]
    return memory


def docker_pids(section: dict | None) -> dict:
    if not section:
        return {}
    pids = {"current": section.get("current", 0)}
    if section.get("limit"):
        pids["limit"] = section["limit"]
    return pids


def v1_blkio(directory: str | None) -> dict:
    stats = {key: [] for key in _BLKIO_KEYS}
    if not directory:
        return stats
    # CFQ/BFQ-era files when the kernel has them, else the throttle policy's (as containerd reads them)
    prefix = "blkio." if os.path.exists(os.path.join(directory, "blkio.io_serviced_recursive")) else "blkio.throttle."
    for key in ("io_service_bytes_recursive", "io_serviced_recursive"):
        stats[key] = _blkio_entries(os.path.join(directory, prefix + key))
    return stats


def _blkio_entries(path: str) -> list[dict]:
    entries = []
    for line in (_read(path) or "").splitlines():
        fields = line.split()
        if len(fields) != 3 or ":" not in fields[0]:
            continue  # "Total N"
        major, _, minor = fields[0].partition(":")
        entries.append({"major": int(major), "minor": int(minor), "op": fields[1], "value": int(fields[2])})
    return entries


def v2_blkio(directory: str) -> dict:
    """io.stat ("8:0 rbytes=… wbytes=… rios=… wios=… dbytes=… dios=…") as Docker's v2 entries."""
    service_bytes, serviced = [], []
    for line in (_read(os.path.join(directory, "io.stat")) or "").splitlines():
        fields = line.split()
        if not fields or ":" not in fields[0]:
            continue
        major, _, minor = fields[0].partition(":")
        values = {}
        for field in fields[1:]:
            key, _, value = field.partition("=")
            if value.isdigit():
                values[key] = int(value)
        device = {"major": int(major), "minor": int(minor)}
        service_bytes += [{**device, "op": "read", "value": values.get("rbytes", 0)},
                          {**device, "op": "write", "value": values.get("wbytes", 0)}]
        serviced += [{**device, "op": "read", "value": values.get("rios", 0)},
                     {**device, "op": "write", "value": values.get("wios", 0)}]
    stats = {key: None for key in _BLKIO_KEYS}
    stats["io_service_bytes_recursive"] = service_bytes
    stats["io_serviced_recursive"] = serviced
    return stats


# --- one reading ----------------------------------------------------------------------------

def empty_cpu() -> dict:
    return {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}


def empty_reading(record: dict) -> dict:
    """What Docker answers for a container that is not running: zeros."""
    return {"read": ZERO_TIME, "preread": ZERO_TIME, "pids_stats": {},
            "blkio_stats": {key: None for key in _BLKIO_KEYS}, "num_procs": 0, "storage_stats": {},
            "cpu_stats": empty_cpu(), "precpu_stats": empty_cpu(), "memory_stats": {},
            "name": record.get("Name", ""), "id": record["Id"]}


def reading(record: dict, pid: int, dirs: dict[str, str], previous: dict | None = None) -> dict:
    """Docker's stats document for the container whose init is `pid` and
    whose cgroup directories are `dirs` ({controller: dir}, "unified" for v2);
    `previous` (an earlier reading) gives precpu_stats and preread."""
    from hakobune.monitor.spec import rfc3339nano
    from hakobune.runtime.cgroups import stats as cgroup_stats

    unified = dirs.get("unified")
    v2 = unified is not None and "memory" not in dirs and os.path.exists(os.path.join(unified, "cgroup.controllers"))
    data = cgroup_stats.v2_stats(unified) if v2 else cgroup_stats.v1_stats(dirs)
    cpu = docker_cpu(data.get("cpu"))
    cpu["system_cpu_usage"] = system_cpu_usage()
    cpu["online_cpus"] = online_cpus()
    document = {"read": rfc3339nano(time.time_ns()), "preread": ZERO_TIME, "pids_stats": docker_pids(data.get("pids")),
                "blkio_stats": v2_blkio(unified) if v2 else v1_blkio(dirs.get("blkio")), "num_procs": 0,
                "storage_stats": {}, "cpu_stats": cpu, "precpu_stats": empty_cpu(),
                "memory_stats": docker_memory(data.get("memory"), host_memory()),
                "name": record.get("Name", ""), "id": record["Id"]}
    if previous and previous.get("read", ZERO_TIME) != ZERO_TIME:
        document["preread"] = previous["read"]
        document["precpu_stats"] = previous["cpu_stats"]
    nets = networks(pid)
    if nets:
        document["networks"] = nets
    return document


# --- the docker CLI's arithmetic ----------------------------------------------------------------

def cpu_percent(document: dict) -> float:
    cpu, before = document.get("cpu_stats") or {}, document.get("precpu_stats") or {}
    cpu_delta = cpu.get("cpu_usage", {}).get("total_usage", 0) - before.get("cpu_usage", {}).get("total_usage", 0)
    system_delta = cpu.get("system_cpu_usage", 0) - before.get("system_cpu_usage", 0)
    online = cpu.get("online_cpus") or len(cpu.get("cpu_usage", {}).get("percpu_usage") or ())
    if system_delta > 0 and cpu_delta > 0:
        return cpu_delta / system_delta * online * 100.0
    return 0.0


def memory_usage(document: dict) -> int:
    """Usage without the inactive page cache (v1 total_inactive_file, v2 inactive_file)."""
    memory = document.get("memory_stats") or {}
    usage, stats = memory.get("usage", 0), memory.get("stats") or {}
    if "total_inactive_file" in stats and stats["total_inactive_file"] < usage:
        return usage - stats["total_inactive_file"]
    if stats.get("inactive_file", 0) < usage:
        return usage - stats.get("inactive_file", 0)
    return usage


def memory_percent(document: dict) -> float:
    limit = (document.get("memory_stats") or {}).get("limit", 0)
    return memory_usage(document) / limit * 100.0 if limit else 0.0


def block_io(document: dict) -> tuple[int, int]:
    read = write = 0
    for entry in (document.get("blkio_stats") or {}).get("io_service_bytes_recursive") or ():
        op = (entry.get("op") or " ")[0]
        if op in "rR":
            read += entry.get("value", 0)
        elif op in "wW":
            write += entry.get("value", 0)
    return read, write


def network_io(document: dict) -> tuple[int, int]:
    received = sent = 0
    for counters in (document.get("networks") or {}).values():
        received += counters.get("rx_bytes", 0)
        sent += counters.get("tx_bytes", 0)
    return received, sent
