"""A container's log as GET /containers/{id}/logs gives it: the json-file
entries narrowed by since/until/tail, optionally followed until the
container stops; shared by the API and the CLI.

    for entry in follow_log(engine, container_id, since_ns=..., tail=10, follow=True):
        entry["log"], entry["stream"], entry_time_ns(entry)
"""

from __future__ import annotations

import calendar
import time


def entry_time_ns(entry: dict) -> int:
    """A log entry's "time" (RFC 3339, up to 9 fraction digits, UTC) in Unix nanoseconds."""
    text = entry.get("time") or ""
    base, _, rest = text.partition(".")
    digits = "".join(c for c in rest if c.isdigit())
    base = base.rstrip("Z")
    try:
        seconds = calendar.timegm(time.strptime(base[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return 0
    return seconds * 1_000_000_000 + int((digits + "000000000")[:9] or 0)


def fixed_stamp(time_ns: int) -> str:
    """jsonmessage.RFC3339NanoFixed: nine fraction digits, always (logs -t)."""
    seconds, nanos = divmod(time_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"


def follow_log(engine, container_id: str, since_ns: int | None = None, until_ns: int | None = None,
               tail: int | None = None, follow: bool = False, stop=None, poll: float = 0.05):
    """The entries of the container's log, oldest first: the last `tail`
    (None: all), those in [since_ns, until_ns]; with `follow`, new ones as
    they come until the container is not running (or past until_ns, or
    `stop()`)."""
    pairs = list(engine.read_log(container_id))
    offset = pairs[-1][1] if pairs else 0
    if tail is not None:
        pairs = pairs[len(pairs) - tail:] if tail else []
    for entry, _ in pairs:
        verdict = _in_window(entry, since_ns, until_ns)
        if verdict is None:
            return
        if verdict:
            yield entry
    while follow:
        running = engine.container_running(container_id)
        for entry, offset in engine.read_log(container_id, offset):
            verdict = _in_window(entry, since_ns, until_ns)
            if verdict is None:
                return
            if verdict:
                yield entry
        if not running or (until_ns is not None and time.time_ns() > until_ns) or (stop and stop()):
            return
        time.sleep(poll)


def _in_window(entry: dict, since_ns, until_ns) -> bool | None:
    """True to show, False to skip, None once past `until_ns` (the end)."""
    if since_ns is None and until_ns is None:
        return True
    stamp = entry_time_ns(entry)
    if since_ns is not None and stamp < since_ns:
        return False
    if until_ns is not None and stamp > until_ns:
        return None
    return True
