"""Pull and push progress on a terminal, drawn as the docker CLI draws its
JSON message stream: one line per layer, rewritten in place.

A layer's line is found by its position among the layers seen since the
last message without an id (which is printed as a plain line and starts a
new group).  The cursor rests below the last layer line; a message for a
layer moves up to its line, clears it, writes ``<id>: <status> <progress>``
and a carriage return, and moves back down.  Byte counts (messages that are
`events.Bytes`) are shown as docker does: a 50-column bar when the terminal
is wider than 110 columns, then ``current/total`` in decimal units."""

import threading

BAR = 50


def human_size(size: float) -> str:
    """Sizes as docker prints them (go-units HumanSize): 4 significant digits, decimal units."""
    units = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
    index = 0
    while size >= 1000 and index < len(units) - 1:
        size /= 1000
        index += 1
    return f"{size:.4g}{units[index]}"


def progress_text(current: int, total: int, width: int) -> str:
    """The progress part of a line: ``[===>   ]  12.3MB/45.6MB``."""
    if current <= 0 and total <= 0:
        return ""
    if total <= 0:
        return f"{human_size(current):>8}"
    filled = min(int(current / total * 100) // 2, BAR)
    bar = f"[{'=' * filled}>{' ' * (BAR - filled)}] " if width > 110 else ""
    numbers = f"{human_size(current):>8}/{human_size(total)}"
    if current > total:
        numbers = f"{human_size(current):>8}"
    return bar + numbers


class Terminal:
    """A `progress(status, id)` callable drawing on the terminal `out` of
    `width` columns (from any thread)."""

    def __init__(self, out, width: int = 80):
        self.out = out
        self.width = width
        self.lines: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, status: str, ident: str | None = None) -> None:
        with self.lock:
            self.out.write(self._render(status, ident))
            self.out.flush()

    def _render(self, status: str, ident: str | None) -> str:
        if ident is None:
            self.lines = {}
            return f"{status}\n"
        text = ""
        line = self.lines.get(ident)
        if line is None:
            line = self.lines[ident] = len(self.lines)
            text += "\n"
        up = len(self.lines) - line
        current, total = getattr(status, "current", 0), getattr(status, "total", 0)
        text += f"\x1b[{up}A\x1b[2K\r{ident}: {status} {progress_text(current, total, self.width)}\r\x1b[{up}B"
        return text


def for_stdout(stdout, quiet: bool):
    """A Terminal when `stdout` is a terminal and output is wanted, else None."""
    if quiet:
        return None
    try:
        if not stdout.isatty():
            return None
        import os
        width = os.get_terminal_size(stdout.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return None
    return Terminal(stdout, width)
