"""OCI `linux.resources` as cgroup v2 file writes.

Owns the plan: which unified-hierarchy files get which values, in what order,
for a given resources object, with the v2 conversions (memory.swap.max is
swap alone, cpu.weight from shares, cpu.max as "quota period", io.weight
from the blkio weight).  Devices are no files on v2: V2Manager hands the
rules to devices_bpf.  Planning only reads; v2.V2Manager writes.
"""

import os

from hakobune.errors import InvalidArgument, SystemFailure
from hakobune.runtime.cgroups import fs
from hakobune.runtime.cgroups import resources as R
from hakobune.runtime.cgroups.layout import UNIFIED

DEFAULT_PERIOD = 100000
_THROTTLES = (("throttleReadBpsDevice", "rbps"), ("throttleWriteBpsDevice", "wbps"),
              ("throttleReadIOPSDevice", "riops"), ("throttleWriteIOPSDevice", "wiops"))


def plan(directory: str, resources: dict, live: bool) -> list[tuple[str, str, str, bool]]:
    """(UNIFIED, file, value, optional) writes for `resources`, in order."""
    if not isinstance(resources, dict):
        raise InvalidArgument("linux.resources must be an object")
    limits = _memory(directory, R.section(resources, "memory"), live)
    limits += _cpu(directory, R.section(resources, "cpu"))
    limits += _pids(R.section(resources, "pids"))
    best_effort = _io(directory, R.section(resources, "blockIO"))
    extra = [(f"hugetlb.{size}.max", str(limit)) for size, limit in R.hugepage_limits(resources)]
    extra += [("rdma.max", line) for line in R.rdma_lines(resources)]
    extra += R.unified_items(resources)  # last: raw values override the rest
    return ([(UNIFIED, name, value, False) for name, value in limits]
            + [(UNIFIED, name, value, True) for name, value in best_effort]
            + [(UNIFIED, name, value, False) for name, value in extra])


def _memory(directory: str, memory: dict, live: bool) -> list[tuple[str, str]]:
    limit, swap = R.memory_limits(memory)
    reservation = R.byte_limit(memory, "reservation")
    R.swappiness(memory)  # checked; v2 has no per-cgroup swappiness
    if live and memory.get("checkBeforeUpdate"):
        _check_not_below_usage(os.path.join(directory, "memory.current"), limit)
    writes = []
    if limit is not None:
        writes.append(("memory.max", R.v2_bytes(limit)))
    if swap is not None:
        writes += _swap(directory, limit, swap)
    if reservation is not None:
        writes.append(("memory.low", R.v2_bytes(reservation)))
    return writes


def _swap(directory: str, limit: int | None, swap: int) -> list[tuple[str, str]]:
    if limit is None:
        limit = _current_memory_max(directory)
    value = R.v2_swap_max(limit, swap)
    path = os.path.join(directory, "memory.swap.max")
    if os.path.exists(path):
        return [("memory.swap.max", value)]
    if value in ("0", "max"):
        return []  # no swap accounting: nothing to limit
    raise SystemFailure(f"cgroup: cannot limit swap to {value} bytes: {path} does not exist",
                        "the kernel does not account swap; leave linux.resources.memory.swap unset")


def _current_memory_max(directory: str) -> int:
    text = fs.read_optional(os.path.join(directory, "memory.max"))
    if text is None or text == "max":
        return R.UNLIMITED
    return int(text)


def _check_not_below_usage(current_path: str, limit: int | None) -> None:
    if limit is None or limit == R.UNLIMITED:
        return
    usage = fs.read_int(current_path, 0)
    if usage > limit:
        raise InvalidArgument(f"memory limit {limit} is below the current usage {usage}")


def _cpu(directory: str, cpu: dict) -> list[tuple[str, str]]:
    writes = []
    shares = R.shares(cpu)
    if shares is not None:
        writes.append(("cpu.weight", str(R.shares_to_weight(shares))))
    writes += _cpu_max(directory, cpu)
    burst = R.integer(cpu, "burst", "cpu", minimum=0)
    if burst is not None:
        writes.append(("cpu.max.burst", str(burst)))
    idle = R.integer(cpu, "idle", "cpu", minimum=0)
    if idle is not None:
        writes.append(("cpu.idle", str(idle)))
    if R.integer(cpu, "realtimeRuntime", "cpu") or R.integer(cpu, "realtimePeriod", "cpu"):
        raise InvalidArgument("linux.resources.cpu.realtimeRuntime/realtimePeriod need cgroup v1")
    for key, name in (("cpus", "cpuset.cpus"), ("mems", "cpuset.mems")):
        value = R.cpuset(cpu, key)
        if value is not None:
            writes.append((name, value))
    return writes


def _cpu_max(directory: str, cpu: dict) -> list[tuple[str, str]]:
    """cpu.max "quota period": what is not given is kept from the file."""
    quota = R.cpu_quota(cpu)
    period = R.positive(cpu, "period", "cpu")
    if quota is None and period is None:
        return []
    current = (fs.read_optional(os.path.join(directory, "cpu.max")) or "").split()
    if quota is None:
        quota_text = current[0] if current else "max"
    else:
        quota_text = "max" if quota == R.UNLIMITED else str(quota)
    if period is None:
        period = int(current[1]) if len(current) == 2 else DEFAULT_PERIOD
    return [("cpu.max", f"{quota_text} {period}")]


def _pids(pids: dict) -> list[tuple[str, str]]:
    value = R.pids_max(pids)
    return [] if value is None else [("pids.max", value)]


def _io(directory: str, block_io: dict) -> list[tuple[str, str]]:
    """Block I/O is best-effort: these writes are skipped where the file is absent."""
    bfq = os.path.exists(os.path.join(directory, "io.bfq.weight"))
    writes = []
    weight = R.blkio_weight(block_io, "weight")
    if weight is not None:
        default = R.blkio_to_io_weight(weight)
        writes.append(("io.bfq.weight", str(weight)) if bfq else ("io.weight", f"default {default}"))
    for entry in R.entries(block_io, "weightDevice"):
        device = R.device_number(entry, "blockIO.weightDevice")
        weight = R.blkio_weight(entry, "weight", "blockIO.weightDevice")
        if weight is not None:
            writes.append(("io.bfq.weight", f"{device} {weight}") if bfq
                          else ("io.weight", f"{device} {R.blkio_to_io_weight(weight)}"))
    for key, word in _THROTTLES:
        for entry in R.entries(block_io, key):
            device = R.device_number(entry, f"blockIO.{key}")
            rate = R.integer(entry, "rate", f"blockIO.{key}", minimum=0)
            writes.append(("io.max", f"{device} {word}={rate or 'max'}"))
    return writes
