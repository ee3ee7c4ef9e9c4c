"""Docker's JSON message streams (pull, push, load, import): an engine call
that reports `progress(status, id)` runs in a thread while its messages are
sent as they come; an error ends the stream with `{"errorDetail": ...,
"error": ...}` as Docker's does (the status is 200 by then).

    Stream(200, json_lines(run_with_progress(lambda progress: engine.pull(ref, progress=progress))))
"""

from __future__ import annotations

import queue
import threading

from hakobune.errors import HakobuneError, SystemFailure, Unauthorized

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
    run = _ProgressRun(work)
    yield from run.messages(final)


def progress_answer(work, decorate=None):
    """The answer to a pull: dockerd answers an error that comes before any
    progress as a plain error response with its status (a pull of a missing
    tag is a 404 `{"message"}`; refused credentials a 500, not a 401, which
    would make the docker CLI ask for a login), a later one inside the 200
    stream.  `decorate(messages)` may add to the stream."""
    from hakobune.api import http as H

    run = _ProgressRun(work)
    first = run.next_message()
    if first is _END:
        error = run.outcome.get("exception")
        if isinstance(error, Unauthorized):
            raise SystemFailure(error.message)
        if error is not None:
            raise error
    messages = run.messages(None, first)
    return H.Stream(200, H.json_lines(decorate(messages) if decorate else messages))


class _ProgressRun:
    """`work(progress)` in a thread, its messages on a queue."""

    def __init__(self, work):
        self.queue: queue.Queue = queue.Queue()
        self.outcome: dict = {}
        self.work = work
        threading.Thread(target=self._target, daemon=True).start()

    def _progress(self, status, ident=None) -> None:
        self.queue.put(message(status, ident))

    def _target(self) -> None:
        try:
            self.outcome["result"] = self.work(self._progress)
        except HakobuneError as e:
            self.outcome["error"] = e.message
            self.outcome["exception"] = e
        except Exception as e:  # noqa: BLE001 - reported in the stream
            self.outcome["error"] = f"{type(e).__name__}: {e}"
            self.outcome["exception"] = SystemFailure(self.outcome["error"])
        finally:
            self.queue.put(_END)

    def next_message(self):
        return self.queue.get()

    def messages(self, final=None, first=None):
        item = first if first is not None else self.queue.get()
        while item is not _END:
            yield item
            item = self.queue.get()
        if "error" in self.outcome:
            error = self.outcome["error"]
            yield {"errorDetail": {"message": error}, "error": error}
        elif final is not None:
            yield from final(self.outcome.get("result"))
