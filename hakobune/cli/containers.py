"""The container commands: run, create, start, ps, logs, stop, rm and
container inspect (and their `container ...` forms).

A foreground `run` (and `start -a`) follows the container's json-file log
from its start until the monitor has recorded the exit, writing stdout and
stderr entries to the CLI's own stdout and stderr, and exits with the
container's status.  Following the log rather than attaching means no output
is lost however quickly the container exits.  `-i` forwards the CLI's stdin
through the monitor (EOF closes the container's stdin); `-t` gives the
container a pty (the monitor holds its master; the log has what it wrote)
and, with `-i` on a terminal, puts the CLI's terminal in raw mode and sends
its size once.  Not there yet: resizes after the start, the detach keys.
"""

import os
import sys
import time

from hakobune.cli.images import engine_of, ellipsis, human_duration, render, write

PS_TABLE = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
PS_HEADERS = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "RunningFor": "CREATED",
              "CreatedAt": "CREATED AT", "Status": "STATUS", "Ports": "PORTS", "Names": "NAMES",
              "State": "STATE", "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS",
              "Size": "SIZE", "LocalVolumes": "LOCAL VOLUMES"}


def _cli_error(message: str, status: int):
    from hakobune.cli.main import CLIError

    return CLIError(message, status)


def _run_error(inv, error, status: int):
    """docker run's form of an error: "docker: <error>", then the usage hint."""
    from hakobune.errors import HakobuneError

    text = str(error)
    if isinstance(error, HakobuneError):
        text = f"Error response from daemon: {error}"
    return _cli_error(f"hakobune: {text}\nRun '{inv.command_path} --help' for more information", status)


def _start_error_text(error) -> str:
    """The runtime's reason out of the monitor's report, in docker's shape."""
    message = str(error)
    marker = "runtime create failed"
    if marker in message:
        reason = message.split("): ", 1)[-1] if "): " in message else message
        reason = reason.removeprefix("hakobune-runtime: ")
        return ("Error response from daemon: OCI runtime create failed: unable to start container process: "
                f"{reason}: unknown")
    return f"Error response from daemon: {message}"


def _create(inv, detach: bool):
    from hakobune.cli.runopts import body_of

    body = body_of(inv.opts, inv.args[0], list(inv.args[1:]), detach=detach)
    return engine_of(inv).create_container(body, name=inv.opts.name or None)


# --- run, create, start --------------------------------------------------------------

def run(inv):
    from hakobune.engine.containers import start_failure_status
    from hakobune.errors import HakobuneError

    o = inv.opts
    detach = o.detach
    engine = engine_of(inv)
    try:
        record = _create(inv, detach=detach)
    except HakobuneError as e:
        raise _run_error(inv, e, 125) from None
    container_id = record["Id"]
    offset = engine.log_size(container_id)
    try:
        engine.start_container(container_id)
    except HakobuneError as e:
        if o.rm:
            _quietly(engine.remove_container, container_id, True)
        from hakobune.errors import SystemFailure

        status = start_failure_status(str(e)) if isinstance(e, SystemFailure) else 125
        raise _run_error(inv, _start_error_text(e) if isinstance(e, SystemFailure) else e, status) from None
    if detach:
        write(container_id + "\n")
        return 0
    if not o.interactive:
        return _follow_to_exit(engine, container_id, offset, remove=o.rm)
    raw = o.tty and os.isatty(0)
    saved = None
    if raw:
        import termios
        import tty

        saved = termios.tcgetattr(0)
        tty.setraw(0)
    try:
        _pump_stdin(engine, container_id, resize=raw)
        return _follow_to_exit(engine, container_id, offset, remove=o.rm)
    finally:
        if saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)


def _pump_stdin(engine, container_id: str, resize: bool = False) -> None:
    """`run -i`: the CLI's stdin to the container's, through the monitor
    (attached); EOF closes the container's stdin.  The output still comes
    from the log, so the attachment's frames are only drained."""
    import threading

    from hakobune.errors import SystemFailure

    try:
        attachment = engine.attach_container(container_id, timeout=10)
    except SystemFailure:
        return  # the container has exited already
    attachment.sock.settimeout(None)
    if resize:
        try:
            size = os.get_terminal_size(0)
            attachment.resize(size.lines, size.columns)
        except OSError:
            pass

    def pump():
        try:
            while True:
                data = os.read(0, 65536)
                if not data:
                    attachment.close_stdin()
                    return
                attachment.write(data.decode("utf-8", "surrogateescape"))
        except OSError:
            return

    def drain():
        try:
            for _ in attachment.frames():
                pass
        except (OSError, ValueError):
            return

    threading.Thread(target=pump, daemon=True).start()
    threading.Thread(target=drain, daemon=True).start()


def create(inv):
    from hakobune.errors import HakobuneError

    try:
        record = _create(inv, detach=False)
    except HakobuneError as e:
        raise _run_error(inv, e, 125) from None
    write(record["Id"] + "\n")
    return 0


def start(inv):
    from hakobune.errors import HakobuneError

    engine = engine_of(inv)
    if inv.opts.attach:
        if len(inv.args) > 1:
            raise _cli_error("you cannot start and attach multiple containers at once", 1)
        container_id = engine.container_id(inv.args[0])
        offset = engine.log_size(container_id)
        try:
            _, started = engine.start_container(container_id)
        except HakobuneError as e:
            from hakobune.engine.containers import start_failure_status

            raise _cli_error(f"{_start_error_text(e)}\n"
                             f"Error: failed to start containers: {inv.args[0]}",
                             start_failure_status(str(e))) from None
        return _follow_to_exit(engine, container_id, offset if started else engine.log_size(container_id))
    failed = []
    for name in inv.args:
        try:
            engine.start_container(name)
            write(name + "\n")
        except HakobuneError as e:
            sys.stderr.write(f"{_start_error_text(e)}\n")
            failed.append(name)
    if failed:
        raise _cli_error(f"Error: failed to start containers: {', '.join(failed)}", 1)
    return 0


def _emit(entries) -> int:
    offset = None
    for entry, offset in entries:
        stream = sys.stderr if entry.get("stream") == "stderr" else sys.stdout
        stream.write(entry.get("log", ""))
    sys.stdout.flush()
    sys.stderr.flush()
    return offset


def _follow_to_exit(engine, container_id: str, offset: int, remove: bool = False) -> int:
    """Relay the container's log until its monitor is done; its exit status."""
    import signal

    # docker's sig-proxy: SIGINT and SIGTERM go to the container; the CLI
    # keeps following until it exits.
    pending = []
    previous = {sig: signal.signal(sig, lambda number, frame: pending.append(number))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    delay = 0.005
    try:
        while True:
            while pending:
                engine.signal_container(container_id, signal.Signals(pending.pop(0)).name[3:])
            state = engine.monitor_state(container_id)
            done = not state["monitor_alive"]
            moved = _emit(engine.read_log(container_id, offset))
            if moved is not None:
                offset = moved
                delay = 0.005
            if done:
                break
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    code = state.get("exit_code")
    if state.get("monitor_lost") or code is None:
        code = 125
    _quietly(engine.finish_foreground, container_id, remove)
    return code


def _quietly(function, *args):
    from hakobune.errors import HakobuneError

    try:
        function(*args)
    except HakobuneError:
        pass


# --- stop, rm -------------------------------------------------------------------------

def stop(inv):
    engine = engine_of(inv)
    timeout = inv.opts.time if inv.opts.changed("time") else None
    return _each_container(inv.args, lambda name: engine.stop_container(name, timeout))


def rm(inv):
    engine = engine_of(inv)
    return _each_container(inv.args, lambda name: engine.remove_container(name, force=inv.opts.force))


def _each_container(names, action) -> int:
    """Act on each named container, printing its name, as docker does; the
    failures are reported together at the end."""
    from hakobune.errors import HakobuneError

    errors = []
    for name in names:
        try:
            action(name)
            write(name + "\n")
        except HakobuneError as e:
            errors.append(f"Error response from daemon: {e}")
    if errors:
        raise _cli_error("\n".join(errors), 1)
    return 0


# --- ps, logs, inspect -----------------------------------------------------------------

def status_text(state: dict) -> str:
    from hakobune.engine.containers import unix_time_of

    now = time.time()
    status = state["Status"]
    if status == "running":
        return "Up " + human_duration(now - unix_time_of(state["StartedAt"]))
    if status == "restarting":
        return f"Restarting ({state['ExitCode']}) {human_duration(now - unix_time_of(state['FinishedAt']))} ago"
    if status == "exited":
        finished = unix_time_of(state["FinishedAt"])
        if not finished:
            return f"Exited ({state['ExitCode']})"
        return f"Exited ({state['ExitCode']}) {human_duration(now - finished)} ago"
    return status.capitalize()


def _ps_row(record: dict, state: dict, trunc: bool) -> dict:
    from hakobune.cli.images import go_time_string
    from hakobune.engine.containers import unix_time_of

    command = " ".join([record["Path"], *record["Args"]])
    if trunc:
        command = ellipsis(command, 20)
    created = unix_time_of(record["Created"])
    image = record["Config"].get("Image") or record["Image"]
    if trunc and image.startswith("sha256:"):
        image = image[7:19]
    return {"ID": record["Id"][:12] if trunc else record["Id"], "Image": image,
            "Command": _go_quote(command), "RunningFor": human_duration(time.time() - created) + " ago",
            "CreatedAt": go_time_string(int(created)), "Status": status_text(state), "Ports": "",
            "Names": record["Name"].lstrip("/"), "State": state["Status"],
            "Labels": ",".join(f"{k}={v}" for k, v in (record["Config"].get("Labels") or {}).items()),
            "Mounts": "", "Networks": "none", "Size": "", "LocalVolumes": "0"}


def _go_quote(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7f:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def ps(inv):
    o = inv.opts
    pairs = engine_of(inv).containers(all=o.all)
    fmt = o.format or "table"
    if fmt == "table":
        fmt = "{{.ID}}" if o.quiet else PS_TABLE
    elif o.quiet:
        fmt = "{{.ID}}"
    rows = [_ps_row(record, state, not o.no_trunc) for record, state in pairs]
    write(render(fmt, rows, PS_HEADERS, PS_TABLE))
    return 0


def logs(inv):
    engine = engine_of(inv)
    container_id = engine.container_id(inv.args[0])
    offset = _emit(engine.read_log(container_id)) or 0
    if not inv.opts.follow:
        return 0
    while True:
        running = engine.container_running(container_id)
        moved = _emit(engine.read_log(container_id, offset))
        if moved is not None:
            offset = moved
        if not running:
            return 0
        time.sleep(0.05)


def container_inspect(inv):
    from hakobune.cli.images import _inspect
    from hakobune.errors import HakobuneError

    engine = engine_of(inv)
    results = []
    for name in inv.args:
        try:
            results.append((engine.container_inspect(name), None))
        except HakobuneError as e:
            results.append((None, f"Error response from daemon: {e}"))
    return _inspect(results, inv.opts.format)
