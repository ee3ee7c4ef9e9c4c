"""OCI `linux.resources` as cgroup v1 file writes.

Owns the plan: which controller's files get which values, and in what
order where the kernel checks one file against another (memory limit
against memory+swap limit, real-time runtime against period).  Also the
v1 spellings: -1 for unlimited memory and quota, "max" for pids, device
rules as devices.allow/deny lines.  Planning only reads; v1.V1Manager writes.
"""

import os

from hakobune.errors import InvalidArgument, SystemFailure
from hakobune.runtime.cgroups import fs
from hakobune.runtime.cgroups import resources as R
from hakobune.runtime.cgroups.devices import requested_rules, v1_writes
from hakobune.runtime.cgroups.layout import UNIFIED

MEMSW = "memory.memsw.limit_in_bytes"
LIMIT = "memory.limit_in_bytes"
_THROTTLES = (("throttleReadBpsDevice", "blkio.throttle.read_bps_device"),
              ("throttleWriteBpsDevice", "blkio.throttle.write_bps_device"),
              ("throttleReadIOPSDevice", "blkio.throttle.read_iops_device"),
              ("throttleWriteIOPSDevice", "blkio.throttle.write_iops_device"))


def plan(dirs: dict[str, str], resources: dict, live: bool) -> list[tuple[str, str, str, bool]]:
    """(controller, file, value, optional) writes for `resources`, in order.

    Only block I/O writes are optional (skipped where blkio or the file is absent).
    """
    if not isinstance(resources, dict):
        raise InvalidArgument("linux.resources must be an object")
    required = _memory(dirs.get("memory"), R.section(resources, "memory"), live)
    required += _cpu(dirs.get("cpu"), R.section(resources, "cpu"))
    required += _pids(R.section(resources, "pids"))
    required += [("hugetlb", f"hugetlb.{size}.limit_in_bytes", str(limit))
                 for size, limit in R.hugepage_limits(resources)]
    required += [("rdma", "rdma.max", line) for line in R.rdma_lines(resources)]
    required += _devices(dirs, resources)
    required += _unified(dirs, resources)
    best_effort = _blkio(dirs.get("blkio"), R.section(resources, "blockIO"))
    return [(c, f, v, False) for c, f, v in required] + [(c, f, v, True) for c, f, v in best_effort]


# --- memory -------------------------------------------------------------------

def _memory(directory: str | None, memory: dict, live: bool) -> list[tuple[str, str, str]]:
    limit, swap = R.memory_limits(memory)
    reservation = R.byte_limit(memory, "reservation")
    swappiness = R.swappiness(memory)
    if directory is not None:
        swap = _swap_for_host(directory, limit, swap)
        if live and memory.get("checkBeforeUpdate"):
            _check_not_below_usage(directory, limit)
    writes = [("memory", name, str(value)) for name, value in _limit_order(directory, limit, swap)]
    if reservation is not None:
        writes.append(("memory", "memory.soft_limit_in_bytes", str(reservation)))
    if swappiness is not None:
        writes.append(("memory", "memory.swappiness", str(swappiness)))
    if memory.get("disableOOMKiller") is not None:
        writes.append(("memory", "memory.oom_control", "1" if memory["disableOOMKiller"] else "0"))
    return writes


def _swap_for_host(directory: str, limit: int | None, swap: int | None) -> int | None:
    """The memory+swap limit to write, given whether the kernel accounts swap."""
    if not os.path.exists(os.path.join(directory, MEMSW)):
        if swap is None or swap == R.UNLIMITED or swap == limit:
            return None  # nothing to say without swap accounting
        raise SystemFailure(f"cgroup: cannot limit memory+swap to {swap}: {directory}/{MEMSW} does not exist",
                            "the kernel does not account swap (boot with swapaccount=1), "
                            "or leave linux.resources.memory.swap unset")
    if swap is None and limit == R.UNLIMITED:
        return R.UNLIMITED  # memory+swap may never be below the memory limit
    if swap is None and limit is not None:
        current = fs.read_int(os.path.join(directory, MEMSW), 0)
        if current < limit:
            raise InvalidArgument(f"linux.resources.memory.limit {limit} is above the current memory+swap "
                                  f"limit {current}; set linux.resources.memory.swap as well")
    return swap


def _limit_order(directory: str | None, limit: int | None, swap: int | None) -> list[tuple[str, int]]:
    """The limit and memory+swap writes, ordered so memory <= memory+swap always holds.

    Raising memory+swap first is safe when its new value is not below the
    current memory limit; otherwise the memory limit goes first.
    """
    if swap is None:
        return [] if limit is None else [(LIMIT, limit)]
    if limit is None:
        return [(MEMSW, swap)]
    current_limit = fs.read_int(os.path.join(directory, LIMIT), 0) if directory else 0
    if swap == R.UNLIMITED or swap >= current_limit:
        return [(MEMSW, swap), (LIMIT, limit)]
    return [(LIMIT, limit), (MEMSW, swap)]


def _check_not_below_usage(directory: str, limit: int | None) -> None:
    if limit is None or limit == R.UNLIMITED:
        return
    usage = fs.read_int(os.path.join(directory, "memory.usage_in_bytes"), 0)
    if usage > limit:
        raise InvalidArgument(f"memory limit {limit} is below the current usage {usage}")


# --- cpu, cpuset, pids ----------------------------------------------------------

def _cpu(directory: str | None, cpu: dict) -> list[tuple[str, str, str]]:
    writes = []
    shares = R.shares(cpu)
    if shares is not None:
        writes.append(("cpu", "cpu.shares", str(shares)))
    period = R.positive(cpu, "period", "cpu")
    if period is not None:
        writes.append(("cpu", "cpu.cfs_period_us", str(period)))
    quota = R.cpu_quota(cpu)
    if quota is not None:
        writes.append(("cpu", "cpu.cfs_quota_us", str(quota)))
    burst = R.integer(cpu, "burst", "cpu", minimum=0)
    if burst is not None:
        writes.append(("cpu", "cpu.cfs_burst_us", str(burst)))
    writes += [("cpu", name, str(value)) for name, value in _realtime(directory, cpu)]
    idle = R.integer(cpu, "idle", "cpu", minimum=0)
    if idle is not None:
        writes.append(("cpu", "cpu.idle", str(idle)))
    for key, name in (("cpus", "cpuset.cpus"), ("mems", "cpuset.mems")):
        value = R.cpuset(cpu, key)
        if value is not None:
            writes.append(("cpuset", name, value))
    return writes


def _realtime(directory: str | None, cpu: dict) -> list[tuple[str, int]]:
    """rt period and runtime, ordered so runtime <= period always holds."""
    period = R.positive(cpu, "realtimePeriod", "cpu")
    runtime = R.integer(cpu, "realtimeRuntime", "cpu", minimum=R.UNLIMITED)
    writes = []
    if period is not None:
        writes.append(("cpu.rt_period_us", period))
    if runtime is not None:
        writes.append(("cpu.rt_runtime_us", runtime))
    if len(writes) == 2 and directory:
        current_runtime = fs.read_int(os.path.join(directory, "cpu.rt_runtime_us"), 0)
        if current_runtime > period:
            writes.reverse()
    return writes


def _pids(pids: dict) -> list[tuple[str, str, str]]:
    value = R.pids_max(pids)
    return [] if value is None else [("pids", "pids.max", value)]


# --- devices, unified, blkio ----------------------------------------------------

def _devices(dirs: dict[str, str], resources: dict) -> list[tuple[str, str, str]]:
    rules = requested_rules(resources)
    if rules is None or uses_device_filter(dirs):
        return []
    return [("devices", name, line) for name, line in v1_writes(rules)]


def uses_device_filter(dirs: dict[str, str]) -> bool:
    """Without a v1 devices hierarchy, a hybrid host filters on its cgroup2 one."""
    return "devices" not in dirs and UNIFIED in dirs


def _unified(dirs: dict[str, str], resources: dict) -> list[tuple[str, str, str]]:
    items = R.unified_items(resources)
    if items and UNIFIED not in dirs:
        raise InvalidArgument("linux.resources.unified needs a cgroup v2 hierarchy, and this host has none")
    return [(UNIFIED, key, value) for key, value in items]


def _blkio(directory: str | None, block_io: dict) -> list[tuple[str, str, str]]:
    prefix = "blkio.bfq." if directory and _bfq_only(directory) else "blkio."
    writes = []
    weight = R.blkio_weight(block_io, "weight")
    if weight is not None:
        writes.append(("blkio", prefix + "weight", str(weight)))
    leaf = R.blkio_weight(block_io, "leafWeight")
    if leaf is not None:
        writes.append(("blkio", "blkio.leaf_weight", str(leaf)))
    for entry in R.entries(block_io, "weightDevice"):
        device = R.device_number(entry, "blockIO.weightDevice")
        for key, name in (("weight", prefix + "weight_device"), ("leafWeight", "blkio.leaf_weight_device")):
            value = R.blkio_weight(entry, key, "blockIO.weightDevice")
            if value is not None:
                writes.append(("blkio", name, f"{device} {value}"))
    for key, name in _THROTTLES:
        for entry in R.entries(block_io, key):
            device = R.device_number(entry, f"blockIO.{key}")
            rate = R.integer(entry, "rate", f"blockIO.{key}", minimum=0)
            writes.append(("blkio", name, f"{device} {rate or 0}"))
    return writes


def _bfq_only(directory: str) -> bool:
    """CFQ is gone from current kernels; BFQ has its own weight files."""
    return (not os.path.exists(os.path.join(directory, "blkio.weight"))
            and os.path.exists(os.path.join(directory, "blkio.bfq.weight")))
