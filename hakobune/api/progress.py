"""Docker's JSON message streams (pull, push, load, import): an engine call
that reports `progress(status, id)` runs in a thread while its messages are
sent as they come; an error ends the stream with `{"errorDetail": ...,
"error": ...}` as Docker's does (the status is 200 by then).

    Stream(200, json_lines(run_with_progress(lambda progress: engine.pull(ref, progress=progress))))
"""

from __future__ import annotations

import queue
import threading

from hakobune.errors import HakobuneError

_END = object()


def message(status: str, ident: str | None = None) -> dict:
    """One progress message in Docker's shape; byte counts (the registry's
    `Bytes` statuses) become progressDetail and a progress bar."""
    if ident is None and ": " in status and not status.startswith(("Digest: ", "Status: ")):
        head, _, rest = status.partition(": ")
        if rest.startswith("Pulling from "):  # "latest: Pulling from library/busybox"
            return {"status": rest, "id": head}
    document = {"status": str(status)}
    current = getattr(status, "current", None)
    if current is not None:
        total = getattr(status, "total", 0) or 0
        document["progressDetail"] = {"current": current, "total": total} if total else {"current": current}
        document["progress"] = _bar(current, total)
    elif ident is not None:
        document["progressDetail"] = {}
    if ident is not None:
        document["id"] = ident
    return document


def _human(size: float) -> str:
    """go-units' HumanSize, as the daemon's progress strings use it: "1.5MB"."""
    units = ("B", "kB", "MB", "GB", "TB", "PB")
    index = 0
    while size >= 1000 and index < len(units) - 1:
        size /= 1000
        index += 1
    return f"{size:.4g}{units[index]}"


def _bar(current: int, total: int) -> str:
    human_bytes = _human
    if not total:
        return human_bytes(current)
    width = 50
    filled = min(width, int(width * current / total))
    arrow = "=" * max(filled - 1, 0) + (">" if filled else "")
    return f"[{arrow.ljust(width)}] {human_bytes(current)}/{human_bytes(total)}"


def run_with_progress(work, final=None):
    """Yield the messages of `work(progress)` as dicts, then `final(result)`'s
    messages if given; an error becomes Docker's error message."""
    messages: queue.Queue = queue.Queue()
    outcome = {}

    def progress(status, ident=None):
        messages.put(message(status, ident))

    def target():
        try:
            outcome["result"] = work(progress)
        except HakobuneError as e:
            outcome["error"] = e.message
        except Exception as e:  # noqa: BLE001 - reported in the stream
            outcome["error"] = f"{type(e).__name__}: {e}"
        finally:
            messages.put(_END)

    threading.Thread(target=target, daemon=True).start()
    while (item := messages.get()) is not _END:
        yield item
    if "error" in outcome:
        yield {"errorDetail": {"message": outcome["error"]}, "error": outcome["error"]}
    elif final is not None:
        yield from final(outcome.get("result"))
