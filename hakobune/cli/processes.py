"""The process commands: exec, top, stats (and `container exec|top|stats`).

exec runs the program through the engine (in this very process for
hakobune's own runtime: see hakobune.engine.execution) and exits with its
status; Docker's runtime errors come out as docker prints them, with 126
(cannot be invoked) or 127 (not found).  Without -t the program writes
straight to our stdout and stderr and, with -i, reads our stdin.  With -t
it gets a pty: its output is relayed to our stdout; with -i our stdin goes
to it, our terminal in raw mode; our window size is given at the start and
on every SIGWINCH.  -d returns at once.

top prints docker's table (tabwriter 20/1/3); stats prints docker's columns
once (--no-stream: two readings a second apart, for CPU %) or redraws them
every second until interrupted.
"""

import os
import sys
import time

from hakobune.cli.images import engine_of, write

STATS_TABLE = ("table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t"
               "{{.BlockIO}}\t{{.PIDs}}")
STATS_HEADERS = {"Container": "CONTAINER", "ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %",
                 "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O",
                 "BlockIO": "BLOCK I/O", "PIDs": "PIDS"}


def _cli_error(message: str, status: int):
    from hakobune.cli.main import CLIError

    return CLIError(message, status)


# --- exec ----------------------------------------------------------------------------

def read_env_files(paths) -> list[str]:
    """docker's --env-file: KEY=VALUE lines; blank lines and # comments
    skipped; a bare KEY takes our value (or stays bare, which unsets it)."""
    entries = []
    for path in paths or ():
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError as e:
            raise _cli_error(f"open {path}: {e.strerror.lower() if e.strerror else e}", 125) from None
        for number, line in enumerate(lines, 1):
            text = line.lstrip()
            if not text or text.startswith("#"):
                continue
            key, eq, value = text.partition("=")
            if not key:
                raise _cli_error(f"invalid env file ({path}): variable without name on line {number}", 125)
            if any(c.isspace() for c in key):
                raise _cli_error(f"variable '{key}' contains whitespaces", 125)
            if eq:
                entries.append(f"{key}={value}")
            elif key in os.environ:
                entries.append(f"{key}={os.environ[key]}")
            else:
                entries.append(key)
    return entries


def _terminal_size() -> tuple[int, int] | None:
    for fd in (1, 0, 2):
        try:
            size = os.get_terminal_size(fd)
            return size.lines, size.columns
        except OSError:
            continue
    return None


def exec_(inv):
    from hakobune.engine.execution import ExecFailed

    o = inv.opts
    name, command = inv.args[0], list(inv.args[1:])
    if o.tty and o.interactive and not o.detach and not os.isatty(0):
        raise _cli_error("the input device is not a TTY", 1)
    env = read_env_files(o.env_file) + list(o.env or [])
    engine = engine_of(inv)
    if getattr(engine, "remote", False):  # a server's API (hakobune.client)
        from hakobune.cli.remote import RemoteExec

        def start(*args, **kwargs):
            return RemoteExec.create(engine, *args, **kwargs)
    else:
        start = engine.exec_container
    try:
        process = start(
            name, command, env=env, workdir=o.workdir or None, user=o.user or None,
            privileged=o.privileged, tty=o.tty, interactive=o.interactive, detach=o.detach,
            console_size=_terminal_size() if o.tty else None)
    except ExecFailed as e:
        raise _cli_error(e.message, e.status) from None
    if o.detach:
        return 0
    if not o.tty or getattr(process, "remote", False):  # a server's exec relays its own streams
        return process.wait()
    return _relay_terminal(process, o.interactive)


def _relay_terminal(process, interactive: bool) -> int:
    """Copy the pty's output to stdout (and stdin to it with -i) until the
    program is done; our terminal is raw meanwhile."""
    import signal

    master = process.master_fd
    saved = None
    if interactive and os.isatty(0):
        import termios
        import tty

        saved = termios.tcgetattr(0)
        tty.setraw(0, termios.TCSANOW)  # no flush: input typed ahead must reach the program
    resized = []
    forwarded = []
    handlers = {signal.SIGWINCH: signal.signal(signal.SIGWINCH, lambda *_: resized.append(1))}
    for number in (signal.SIGTERM, signal.SIGHUP):
        handlers[number] = signal.signal(number, lambda n, _frame: forwarded.append(n))
    try:
        status = _pump(process, master, interactive, resized, forwarded)
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
        if saved is not None:
            import termios

            termios.tcsetattr(0, termios.TCSADRAIN, saved)
        os.close(master)
    return status


def _pump(process, master: int, interactive: bool, resized: list, forwarded: list) -> int:
    import select

    reading_stdin = interactive
    while True:
        while forwarded:
            _signal_quietly(process.pid, forwarded.pop())
        if resized:
            resized.clear()
            size = _terminal_size()
            if size:
                from hakobune.engine.execution import size_terminal

                size_terminal(master, size)
        watched = [master] + ([0] if reading_stdin else [])
        try:
            ready, _, _ = select.select(watched, [], [], 0.25)
        except InterruptedError:
            continue
        if master in ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            if not data:
                return process.wait()
            _write_all(1, data)
        if 0 in ready:
            data = os.read(0, 65536)
            if data:
                _write_all(master, data)
            else:
                reading_stdin = False
        if not ready and _exited(process):
            _drain(master)
            return process.status


def _exited(process) -> bool:
    """The program is gone though something else holds the pty open."""
    try:
        pid, status = os.waitpid(process.pid, os.WNOHANG)
    except ChildProcessError:
        process.status = 255
        return True
    if pid == 0:
        return False
    process.status = os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    return True


def _drain(master: int) -> None:
    os.set_blocking(master, False)
    try:
        while True:
            data = os.read(master, 65536)
            if not data:
                return
            _write_all(1, data)
    except OSError:
        return


def _write_all(fd: int, data: bytes) -> None:
    while data:
        written = os.write(fd, data)
        data = data[written:]


def _signal_quietly(pid: int, number: int) -> None:
    try:
        os.kill(pid, number)
    except ProcessLookupError:
        pass


# --- top -------------------------------------------------------------------------------

def top(inv):
    from hakobune.cli.tabwriter import align

    result = engine_of(inv).top(inv.args[0], " ".join(inv.args[1:]) or None)
    lines = ["\t".join(result["Titles"])] + ["\t".join(row) for row in result["Processes"]]
    write(align("\n".join(lines) + "\n", 20, 1, 3, " ", 0))
    return 0


# --- stats -------------------------------------------------------------------------------

_BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def bytes_size(size: float) -> str:
    """go-units BytesSize: "472KiB", "23.54GiB"."""
    size = float(size)
    i = 0
    while size >= 1024.0 and i < len(_BINARY_UNITS) - 1:
        size /= 1024.0
        i += 1
    return f"{size:.4g}{_BINARY_UNITS[i]}"


def stats_row(document: dict, container: str, trunc: bool) -> dict:
    """docker's stats columns for one reading."""
    from hakobune.cli.images import human_size
    from hakobune.engine import stats

    memory = document.get("memory_stats") or {}
    received, sent = stats.network_io(document)
    read, written = stats.block_io(document)
    name = document.get("name") or ""
    return {"Container": container, "ID": document["id"][:12] if trunc else document["id"],
            "Name": name[1:] if len(name) > 1 else "--",
            "CPUPerc": f"{stats.cpu_percent(document):.2f}%",
            "MemUsage": f"{bytes_size(stats.memory_usage(document))} / {bytes_size(memory.get('limit', 0))}",
            "MemPerc": f"{stats.memory_percent(document):.2f}%",
            "NetIO": f"{human_size(received, 3)} / {human_size(sent, 3)}",
            "BlockIO": f"{human_size(read, 3)} / {human_size(written, 3)}",
            "PIDs": str((document.get("pids_stats") or {}).get("current", 0))}


def _watched(engine, names, all_containers: bool) -> list[tuple[str, str]]:
    """(what the Container column shows, the full id) of the containers to show."""
    if names:
        return [(name, engine.container_id(name)) for name in names]
    return [(record["Id"], record["Id"]) for record, _ in engine.containers(all=all_containers)]


def _readings(engine, watched, previous: dict) -> tuple[list, list]:
    from hakobune.errors import HakobuneError

    rows, errors = [], []
    for container, container_id in watched:
        try:
            document = engine.container_stats(container_id, previous.get(container_id))
        except HakobuneError as e:
            errors.append(f"Error response from daemon: {e}")
            continue
        previous[container_id] = document
        rows.append((container, document))
    return rows, errors


def stats(inv):
    from hakobune.cli.images import render
    from hakobune.errors import HakobuneError

    o = inv.opts
    engine = engine_of(inv)
    fmt = o.format or "table"
    if fmt == "table":
        fmt = STATS_TABLE
    trunc = not o.no_trunc
    previous: dict = {}
    try:
        watched = _watched(engine, inv.args, o.all)
    except HakobuneError as e:
        raise _cli_error(f"Error response from daemon: {e}", 1) from None
    if o.no_stream:
        rows, errors = _readings(engine, watched, previous)
        if any(not document["read"].startswith("0001-") for _, document in rows):
            time.sleep(1.0)  # the second reading: CPU % over the last second, as docker's
            rows, errors = _readings(engine, watched, previous)
        if errors:
            raise _cli_error("\n".join(errors), 1)
        write(render(fmt, [stats_row(d, c, trunc) for c, d in rows], STATS_HEADERS, STATS_TABLE))
        return 0
    return _stream_stats(engine, inv.args, o.all, fmt, trunc, previous, watched)


def _stream_stats(engine, names, all_containers: bool, fmt: str, trunc: bool, previous: dict, watched) -> int:
    """Redraw the table every second (cursor home, each line cleared to its
    end, the rest of the screen cleared) until interrupted."""
    from hakobune.cli.images import render

    sys.stdout.write("\033[2J")
    while True:
        rows, errors = _readings(engine, watched, previous)
        if errors and names and not rows:
            raise _cli_error("\n".join(errors), 1)
        text = render(fmt, [stats_row(d, c, trunc) for c, d in rows], STATS_HEADERS, STATS_TABLE)
        screen = "\033[H" + "".join(line + "\033[K\n" for line in text.rstrip("\n").split("\n")) + "\033[J"
        write(screen)
        time.sleep(1.0)
        if not names:
            watched = _watched(engine, names, all_containers)
