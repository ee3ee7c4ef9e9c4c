"""OCI `linux.resources` values: validation and the v1/v2 unit conversions.

Owns what a resource value means, not where it is written: the type checks
(InvalidArgument for a bad value), the "0 means unset, -1 means unlimited"
conventions, and the formulas that turn v1-style numbers into v2 ones
(shares -> cpu.weight, blkio weight -> io.weight, memory+swap -> swap alone).
"""

from hakobune.errors import InvalidArgument

UNLIMITED = -1
MAX_SHARES = 262144
MIN_SHARES = 2


def section(resources: dict, key: str) -> dict:
    """A dict-valued section of the resources (empty when absent or null)."""
    value = resources.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidArgument(f"linux.resources.{key} must be an object")
    return value


def entries(resources: dict, key: str) -> list:
    """A list-valued section of the resources (empty when absent or null)."""
    value = resources.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidArgument(f"linux.resources.{key} must be a list")
    return value


def integer(values: dict, key: str, where: str, minimum: int | None = None) -> int | None:
    """values[key] as an int, None when absent; InvalidArgument when not an int."""
    value = values.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"linux.resources.{where}.{key} must be an integer, not {value!r}")
    if minimum is not None and value < minimum:
        raise InvalidArgument(f"linux.resources.{where}.{key} must be at least {minimum}, not {value}")
    return value


def byte_limit(values: dict, key: str) -> int | None:
    """A memory amount: None when unset (absent or 0), -1 for unlimited."""
    value = integer(values, key, "memory", minimum=UNLIMITED)
    if value == 0:
        return None
    return value


def memory_limits(memory: dict) -> tuple[int | None, int | None]:
    """(limit, memory+swap) after checking that the pair makes sense."""
    limit = byte_limit(memory, "limit")
    swap = byte_limit(memory, "swap")
    if limit is not None and swap is not None and swap != UNLIMITED:
        if limit == UNLIMITED or swap < limit:
            raise InvalidArgument(
                f"linux.resources.memory.swap ({swap}) is memory+swap and cannot be below "
                f"memory.limit ({limit})")
    return limit, swap


def v2_swap_max(limit: int | None, swap: int) -> str:
    """memory.swap.max (swap alone) from OCI swap (memory+swap) and the limit."""
    if swap == UNLIMITED:
        return "max"
    if limit is None or limit == UNLIMITED:
        raise InvalidArgument("linux.resources.memory.swap needs a memory.limit to be set")
    if swap < limit:
        raise InvalidArgument(f"linux.resources.memory.swap ({swap}) is below memory.limit ({limit})")
    return str(swap - limit)


def v2_bytes(value: int) -> str:
    return "max" if value == UNLIMITED else str(value)


def swappiness(memory: dict) -> int | None:
    value = integer(memory, "swappiness", "memory")
    if value is not None and not 0 <= value <= 100:
        raise InvalidArgument(f"linux.resources.memory.swappiness must be within 0..100, not {value}")
    return value


def shares(cpu: dict) -> int | None:
    """cpu.shares, None when unset (0); clamped to the kernel's 2..262144."""
    value = integer(cpu, "shares", "cpu", minimum=0)
    if not value:
        return None
    return min(max(value, MIN_SHARES), MAX_SHARES)


def shares_to_weight(value: int) -> int:
    """cgroup v1 cpu.shares (2..262144) to v2 cpu.weight (1..10000)."""
    return 1 + ((value - MIN_SHARES) * 9999) // (MAX_SHARES - MIN_SHARES)


def cpu_quota(cpu: dict) -> int | None:
    """The CFS quota in µs, -1 for unlimited (any value <= 0), None when absent."""
    value = integer(cpu, "quota", "cpu")
    if value is None:
        return None
    return value if value > 0 else UNLIMITED


def positive(values: dict, key: str, where: str) -> int | None:
    """A count where 0 means unset: None for absent or 0."""
    value = integer(values, key, where, minimum=0)
    return value or None


def pids_max(pids: dict) -> str | None:
    """pids.max: "max" for a limit <= 0 (unlimited per OCI), None when absent."""
    value = integer(pids, "limit", "pids")
    if value is None:
        return None
    return str(value) if value > 0 else "max"


def blkio_weight(values: dict, key: str, where: str = "blockIO") -> int | None:
    """A blkio weight (10..1000, 0 means unset)."""
    value = integer(values, key, where, minimum=0)
    if not value:
        return None
    if not 10 <= value <= 1000:
        raise InvalidArgument(f"linux.resources.{where}.{key} must be within 10..1000, not {value}")
    return value


def blkio_to_io_weight(value: int) -> int:
    """blkio weight (10..1000) to v2 io.weight (1..10000)."""
    return 1 + ((value - 10) * 9999) // 990


def device_number(entry: dict, where: str) -> str:
    major = integer(entry, "major", where, minimum=0)
    minor = integer(entry, "minor", where, minimum=0)
    if major is None or minor is None:
        raise InvalidArgument(f"linux.resources.{where} entries need a major and a minor")
    return f"{major}:{minor}"


def hugepage_limits(resources: dict) -> list[tuple[str, int]]:
    """[(page size as in file names, e.g. "2MB", limit in bytes)]."""
    result = []
    for entry in entries(resources, "hugepageLimits"):
        size = entry.get("pageSize")
        if not isinstance(size, str) or not size or "/" in size or "." in size:
            raise InvalidArgument(f"linux.resources.hugepageLimits: bad pageSize {size!r}")
        limit = integer(entry, "limit", "hugepageLimits", minimum=0)
        if limit is None:
            raise InvalidArgument(f"linux.resources.hugepageLimits[{size}] needs a limit")
        result.append((size, limit))
    return result


def rdma_lines(resources: dict) -> list[str]:
    """rdma.max lines: "<device> hca_handle=N hca_object=M"."""
    lines = []
    for device, limits in section(resources, "rdma").items():
        if not isinstance(limits, dict) or not device or " " in device or "/" in device:
            raise InvalidArgument(f"linux.resources.rdma: bad entry for {device!r}")
        handles = integer(limits, "hcaHandles", "rdma", minimum=0)
        objects = integer(limits, "hcaObjects", "rdma", minimum=0)
        words = [device]
        if handles is not None:
            words.append(f"hca_handle={handles}")
        if objects is not None:
            words.append(f"hca_object={objects}")
        if len(words) > 1:
            lines.append(" ".join(words))
    return lines


def unified_items(resources: dict) -> list[tuple[str, str]]:
    """The raw cgroup2 writes of linux.resources.unified, names checked."""
    result = []
    for key, value in section(resources, "unified").items():
        if not key or "/" in key or key.startswith("."):
            raise InvalidArgument(f"linux.resources.unified: {key!r} is not a cgroup file name")
        if not isinstance(value, str):
            raise InvalidArgument(f"linux.resources.unified.{key} must be a string")
        result.append((key, value))
    return result


def cpuset(cpu: dict, key: str) -> str | None:
    value = cpu.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not all(c.isdigit() or c in ",-" for c in value.replace(" ", "")):
        raise InvalidArgument(f"linux.resources.cpu.{key} must be a list like '0-3,5', not {value!r}")
    return value.replace(" ", "")
