"""A container's resource usage, read from cgroup v1 or v2 files.

Owns the shape of the statistics: the "data" object of `runc events
--stats` (cpu.usage / cpu.throttling in nanoseconds, memory.usage / swap /
kernel entries with usage, limit, max and failcnt, memory.raw from
memory.stat, pids.current / pids.limit).  A section is present only when
its controller is.  Swap is reported as memory+swap on both versions, as
v1 counts it.  An unlimited value reads as 2**64-1 on v2 and as the
kernel's own number on v1; a pids limit of "max" reads as 0.
"""

import os

from hakobune.runtime.cgroups import fs

UNLIMITED_V2 = 2**64 - 1


def v1_stats(dirs: dict[str, str]) -> dict:
    """Statistics from v1 hierarchies ({controller: directory})."""
    data = {}
    if "cpuacct" in dirs or "cpu" in dirs:
        data["cpu"] = _v1_cpu(dirs.get("cpuacct"), dirs.get("cpu"))
    if "memory" in dirs:
        data["memory"] = _v1_memory(dirs["memory"])
    if "pids" in dirs:
        data["pids"] = _pids(dirs["pids"])
    return data


def _v1_cpu(cpuacct: str | None, cpu: str | None) -> dict:
    usage = {}
    if cpuacct:
        usage = {
            "total": _int(cpuacct, "cpuacct.usage"),
            "percpu": _ints(cpuacct, "cpuacct.usage_percpu"),
            "percpu_kernel": _ints(cpuacct, "cpuacct.usage_percpu_sys"),
            "percpu_user": _ints(cpuacct, "cpuacct.usage_percpu_user"),
            "kernel": _int(cpuacct, "cpuacct.usage_sys"),
            "user": _int(cpuacct, "cpuacct.usage_user"),
        }
    throttling = {}
    if cpu:
        stat = fs.read_keyed(os.path.join(cpu, "cpu.stat"))
        throttling = {"periods": stat.get("nr_periods", 0), "throttledPeriods": stat.get("nr_throttled", 0),
                      "throttledTime": stat.get("throttled_time", 0)}
    return {"usage": usage, "throttling": throttling}


def _v1_memory(directory: str) -> dict:
    raw = fs.read_keyed(os.path.join(directory, "memory.stat"))
    return {
        "cache": raw.get("cache", 0),
        "usage": _v1_memory_entry(directory, "memory"),
        "swap": _v1_memory_entry(directory, "memory.memsw"),
        "kernel": _v1_memory_entry(directory, "memory.kmem"),
        "raw": raw,
    }


def _v1_memory_entry(directory: str, prefix: str) -> dict:
    return {
        "usage": _int(directory, f"{prefix}.usage_in_bytes"),
        "limit": _int(directory, f"{prefix}.limit_in_bytes"),
        "max": _int(directory, f"{prefix}.max_usage_in_bytes"),
        "failcnt": _int(directory, f"{prefix}.failcnt"),
    }


def v2_stats(directory: str) -> dict:
    """Statistics from one cgroup2 directory."""
    data = {}
    if os.path.exists(os.path.join(directory, "cpu.stat")):
        data["cpu"] = _v2_cpu(directory)
    if os.path.exists(os.path.join(directory, "memory.current")):
        data["memory"] = _v2_memory(directory)
    if os.path.exists(os.path.join(directory, "pids.current")):
        data["pids"] = _pids(directory)
    return data


def _v2_cpu(directory: str) -> dict:
    stat = fs.read_keyed(os.path.join(directory, "cpu.stat"))
    return {
        "usage": {"total": stat.get("usage_usec", 0) * 1000, "kernel": stat.get("system_usec", 0) * 1000,
                  "user": stat.get("user_usec", 0) * 1000},
        "throttling": {"periods": stat.get("nr_periods", 0), "throttledPeriods": stat.get("nr_throttled", 0),
                       "throttledTime": stat.get("throttled_usec", 0) * 1000},
    }


def _v2_memory(directory: str) -> dict:
    raw = fs.read_keyed(os.path.join(directory, "memory.stat"))
    events = fs.read_keyed(os.path.join(directory, "memory.events"))
    usage = _int(directory, "memory.current")
    limit = fs.read_int(os.path.join(directory, "memory.max"), UNLIMITED_V2)
    swap_usage = _int(directory, "memory.swap.current")
    swap_limit = fs.read_int(os.path.join(directory, "memory.swap.max"), UNLIMITED_V2)
    return {
        "cache": raw.get("file", 0),
        "usage": {"usage": usage, "limit": limit, "max": _int(directory, "memory.peak"),
                  "failcnt": events.get("max", 0)},
        "swap": {"usage": usage + swap_usage, "limit": _sum_limits(limit, swap_limit),
                 "max": 0, "failcnt": 0},
        "raw": raw,
    }


def _sum_limits(memory_limit: int, swap_limit: int) -> int:
    if UNLIMITED_V2 in (memory_limit, swap_limit):
        return UNLIMITED_V2
    return memory_limit + swap_limit


def _pids(directory: str) -> dict:
    limit = fs.read_optional(os.path.join(directory, "pids.max"))
    return {"current": _int(directory, "pids.current"),
            "limit": 0 if limit in (None, "", "max") else int(limit)}


def _int(directory: str, name: str) -> int:
    return fs.read_int(os.path.join(directory, name), 0)


def _ints(directory: str, name: str) -> list[int]:
    return [int(word) for word in (fs.read_optional(os.path.join(directory, name)) or "").split()]
