"""Times as Docker shows them: RFC 3339 with nanoseconds (Go's RFC3339Nano,
trailing zeros of the fraction dropped) and Unix seconds.

Go's zero time ("0001-01-01T00:00:00Z", Unix -62135596800) stands for
"never" wherever Docker prints one (LastTagTime of an image never tagged, the
Created of a history entry without a date).
"""

import time

ZERO_TIME = "0001-01-01T00:00:00Z"
ZERO_UNIX = -62135596800


def format_ns(nanoseconds: int) -> str:
    """RFC3339Nano in UTC: ``2026-11-28T20:04:13.694520683Z``."""
    seconds, fraction = divmod(nanoseconds, 1_000_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    digits = f"{fraction:09d}".rstrip("0")
    return f"{text}.{digits}Z" if digits else f"{text}Z"


def now() -> str:
    return format_ns(time.time_ns())


def unix_seconds(text: str | None) -> int:
    """Whole Unix seconds of an RFC 3339 time; Go's zero time's for none or garbage."""
    if not text:
        return ZERO_UNIX
    from datetime import datetime, timezone  # here: its import costs every CLI start

    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return ZERO_UNIX
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() // 1)
