"""Go's time.ParseDuration for HEALTHCHECK's intervals ("30s", "1m30s", "1.5h")."""

from hakobune.build.errors import BuildError

_UNITS = {"ns": 1, "us": 1_000, "\u00b5s": 1_000, "\u03bcs": 1_000, "ms": 1_000_000,
          "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}


def parse_go_duration_ns(text: str) -> int:
    """The duration in nanoseconds; BuildError as Go words it when malformed."""
    invalid = BuildError(f'time: invalid duration "{text}"')
    rest = text
    sign = 1
    if rest[:1] in ("-", "+"):
        sign = -1 if rest[0] == "-" else 1
        rest = rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise invalid
    total = 0
    while rest:
        number_end = 0
        while number_end < len(rest) and rest[number_end] in "0123456789.":
            number_end += 1
        number = rest[:number_end]
        if not number or number == "." or number.count(".") > 1:
            raise invalid
        rest = rest[number_end:]
        unit_end = 0
        while unit_end < len(rest) and rest[unit_end] not in "0123456789.":
            unit_end += 1
        unit = rest[:unit_end]
        if not unit:
            raise BuildError(f'time: missing unit in duration "{text}"')
        if unit not in _UNITS:
            raise BuildError(f'time: unknown unit "{unit}" in duration "{text}"')
        rest = rest[unit_end:]
        whole, _, fraction = number.partition(".")
        scale = _UNITS[unit]
        total += int(whole or "0") * scale
        if fraction:
            total += int(fraction) * scale // 10 ** len(fraction)
    if total > 2**63 - 1:
        raise invalid
    return sign * total


def parse_go_duration(text: str) -> float:
    """The duration in seconds."""
    return parse_go_duration_ns(text) / 1e9
