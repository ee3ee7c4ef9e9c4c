"""`build --progress=tty`: a live display of the build, as BuildKit's.

`TTYDisplay` reads the classic builder's stream (what `Builder` writes:
``Step 2/5 : RUN make``, `` ---> Using cache``, the steps' output, `` ---> id``)
and keeps a screen of it on a terminal: a header (``[+] Building 3.2s (4/6)``),
a line per step (`` => [2/5] RUN make   1.4s``, ``CACHED`` for a cache hit),
and under the running step its last lines of output (`` => => # ...``),
redrawn in place with ANSI cursor movements ten times a second (a
background thread keeps the running step's time going).  `close` draws the
summary that stays: every step with its time, ``FINISHED`` (or the failed
step ``ERROR`` with its last lines of output, as BuildKit shows them).

Reading the stream, not the builder's internals, keeps the builder single:
the plain output, the API's stream and this display come from one source.
"""

from __future__ import annotations

import threading
import time

LOG_LINES = 6  # lines of a running step's output shown under it
ERROR_LINES = 10  # lines of a failed step's output in the final summary
REFRESH_SECONDS = 0.1


def _printable(line: str) -> str:
    """A line of a step's output as one line of the display: what a carriage
    return would leave of it (progress bars), control characters shown as ^X."""
    line = line.rstrip("\r").rsplit("\r", 1)[-1]
    return "".join(ch if ch >= " " or ch == "\t" else "^" + chr(ord(ch) + 64) for ch in line).expandtabs(8)


class _Step:
    __slots__ = ("label", "text", "started", "ended", "cached", "output", "partial")

    def __init__(self, label: str, text: str, started: float):
        self.label = label
        self.text = text
        self.started = started
        self.ended: float | None = None
        self.cached = False
        self.output: list[str] = []
        self.partial = ""

    def elapsed(self, now: float) -> float:
        return (self.ended if self.ended is not None else now) - self.started


class TTYDisplay:
    """The live display on `out` (a text stream on a terminal `width` wide)."""

    def __init__(self, out, width: int = 80, clock=time.monotonic):
        self.out = out
        self.width = max(width, 40)
        self.clock = clock
        self.started = clock()
        self.steps: list[_Step] = []
        self.total = 0
        self.finished_lines: list[str] = []
        self.drawn = 0  # lines of the last frame, to move up over
        self.lock = threading.Lock()
        self.buffer = ""
        self.closed = False
        self.ticker = threading.Thread(target=self._tick, name="build-progress", daemon=True)
        self.ticker.start()

    # --- input: the classic builder's stream -------------------------------------------

    def feed(self, text: str) -> None:
        with self.lock:
            self.buffer += text
            while "\n" in self.buffer:
                line, self.buffer = self.buffer.split("\n", 1)
                self._line(line)
            self._draw()

    def _line(self, line: str) -> None:
        now = self.clock()
        if line.startswith("Step ") and " : " in line:
            self._end_running(now)
            numbers, _, text = line[5:].partition(" : ")
            current, _, total = numbers.partition("/")
            self.total = int(total) if total.isdigit() else self.total
            self.steps.append(_Step(f"[{current}/{total}]", text, now))
            return
        step = self.steps[-1] if self.steps else None
        if line == " ---> Using cache" and step is not None:
            step.cached = True
        elif line.startswith("Successfully built "):
            self._end_running(now)
            self.finished_lines.append("writing image " + line.split()[-1])
        elif line.startswith("Successfully tagged "):
            self.finished_lines.append("naming to " + line.split()[-1])
        elif line.startswith((" ---> ", "Removing intermediate container ", "Sending build context")) or not line:
            return
        elif step is not None and step.ended is None:
            step.output.append(_printable(line))
            del step.output[:-ERROR_LINES]

    def _end_running(self, now: float) -> None:
        for step in self.steps:
            if step.ended is None:
                step.ended = now

    # --- output: frames --------------------------------------------------------------------

    def _tick(self) -> None:
        while True:
            time.sleep(REFRESH_SECONDS)
            with self.lock:
                if self.closed:
                    return
                self._draw()

    def _frame(self, final: bool, failed: bool) -> list[str]:
        now = self.clock()
        done = sum(1 for step in self.steps if step.ended is not None)
        if final and not failed:
            done = len(self.steps)
        state = " FINISHED" if final and not failed else ""
        lines = [f"[+] Building {now - self.started:.1f}s ({done}/{max(self.total, len(self.steps))}){state}"]
        for step in self.steps:
            running = step.ended is None
            error = final and failed and step is self.steps[-1]
            prefix = "ERROR " if error else "CACHED " if step.cached else ""
            lines.append(self._timed(f" => {prefix}{step.label} {step.text}", step.elapsed(now)))
            if running and not final and step.output:
                lines.extend(self._fit(f" => => # {text}") for text in step.output[-LOG_LINES:])
        return lines

    def _timed(self, text: str, seconds: float) -> str:
        timing = f"{seconds:.1f}s"
        room = self.width - len(timing) - 3  # the last column left free: no pending wrap
        text = text if len(text) <= room else text[:room - 3] + "..."
        return f"{text:<{room}}  {timing}"

    def _fit(self, text: str) -> str:
        return text if len(text) <= self.width - 1 else text[:self.width - 1]

    def _draw(self, final: bool = False, failed: bool = False) -> None:
        lines = self._frame(final, failed)
        moves = f"\x1b[{self.drawn}A" if self.drawn else ""
        body = "".join(f"\r{line}\x1b[K\n" for line in lines)
        extra = self.drawn - len(lines)
        clear = "\x1b[K\n" * extra + (f"\x1b[{extra}A" if extra > 0 else "")  # blank what the last frame had below
        self.out.write(moves + body + clear)
        self.out.flush()
        self.drawn = len(lines)

    def close(self, failed: bool = False) -> None:
        """The final summary; with `failed`, the last step is the one that failed
        and its last lines of output follow, framed as BuildKit frames them."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
            if self.buffer:
                self._line(self.buffer)
                self.buffer = ""
            now = self.clock()
            if not failed:
                self._end_running(now)
            elif self.steps and self.steps[-1].ended is None:
                self.steps[-1].ended = now
            self._draw(final=True, failed=failed)
            if failed and self.steps:
                step = self.steps[-1]
                tail = "".join(f"{self._fit(line)}\n" for line in step.output[-ERROR_LINES:])
                self.out.write(f"------\n > {step.label} {step.text}:\n{tail}------\n")
            elif self.finished_lines:
                self.out.write(" => exporting to image\n" + "".join(f" => => {line}\n" for line in self.finished_lines))
            self.out.flush()
