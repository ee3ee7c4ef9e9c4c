"""The container commands: run, create, start, stop, restart, kill, pause,
unpause, wait, rename, attach, rm, ps, logs, container prune and container
inspect (and their `container ...` forms).

A foreground `run` (and `start -a`) follows the container's json-file log
from its start until the monitor has recorded the exit, writing stdout and
stderr entries to the CLI's own stdout and stderr, and exits with the
container's status.  Following the log rather than attaching means no output
is lost however quickly the container exits; an attached control connection
only wakes the follower when the monitor has news (`_ExitWaker`).  `-i`
forwards the CLI's stdin through the monitor (EOF closes the container's
stdin); `-t` gives the container a pty (the monitor holds its master; the log
has what it wrote) and, with `-i` on a terminal, puts the CLI's terminal in
raw mode and sends its size once; the detach keys (Ctrl-P Ctrl-Q by default)
leave the container running.  Because the log holds whole lines, a prompt
without a newline shows only once the line ends.  `attach` relays the
monitor's live frames instead.  `run` and `create` pull a missing image
(--pull missing), always (--pull always) or never.  Not there yet: resizes
after the start.
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


def attach_checks(info: dict, o) -> tuple[bytes, bool, bool]:
    """attach's refusals, as docker makes them before it attaches anything,
    for the container `info` inspects: (detach keys, tty, stdin attached)."""
    state = info["State"]
    if state["Paused"]:
        raise _cli_error("You cannot attach to a paused container, unpause it first", 1)
    if state["Restarting"]:
        raise _cli_error("You cannot attach to a restarting container, wait until it is running", 1)
    if not state["Running"]:
        raise _cli_error("You cannot attach to a stopped container, start it first", 1)
    try:
        keys = detach_key_bytes(o.detach_keys)
    except ValueError:
        raise _cli_error(f"Error response from daemon: Invalid detach keys ({o.detach_keys}) provided", 1) \
            from None
    tty = bool(info["Config"].get("Tty"))
    use_stdin = not o.no_stdin and bool(info["Config"].get("OpenStdin"))
    if tty and use_stdin and not os.isatty(0):
        raise _cli_error("the input device is not a TTY", 1)
    return keys, tty, use_stdin


def _cli_error(message: str, status: int):
    from hakobune.cli.main import CLIError

    return CLIError(message, status)


def _run_error(inv, error, status: int):
    """docker run's form of an error: "docker: <error>", then the usage hint."""
    from hakobune.errors import HakobuneError

    text = str(error)
    if isinstance(error, HakobuneError) and not getattr(error, "client_side", False):
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
    from hakobune.createbody.runopts import body_of

    body = body_of(inv.opts, inv.args[0], list(inv.args[1:]), detach=detach)
    return engine_of(inv).create_container(body, name=inv.opts.name or None)


# --- run, create, start --------------------------------------------------------------

PULL_POLICIES = ("always", "missing", "never")


def _create_pulling(inv, detach: bool):
    """`_create`, pulling the image first with --pull always, or when it is
    missing (--pull missing, the default), as docker run and create do:
    "Unable to find image 'X' locally" and the pull's progress on stderr."""
    from hakobune.errors import NotFound

    policy = getattr(inv.opts, "pull", None) or "missing"
    if policy not in PULL_POLICIES:
        raise _cli_error(f'hakobune: invalid pull option: \'{policy}\': must be one of "always", "missing" or '
                         f'"never"\nRun \'{inv.command_path} --help\' for more information', 125)
    if policy == "always":
        _pull_for_run(inv)
        return _create(inv, detach=detach)
    try:
        return _create(inv, detach=detach)
    except NotFound as e:
        if policy == "never" or not str(e).startswith("No such image"):
            raise
    from hakobune.oci.reference import parse_pull_target

    try:
        familiar = parse_pull_target(inv.args[0]).familiar
    except Exception:  # noqa: BLE001 - the create's own error says it better
        familiar = inv.args[0]
    sys.stderr.write(f"Unable to find image '{familiar}' locally\n")
    sys.stderr.flush()
    _pull_for_run(inv)
    return _create(inv, detach=detach)


def _pull_for_run(inv) -> None:
    from hakobune.cli.progress import for_stdout

    quiet = bool(getattr(inv.opts, "quiet", False))
    progress = for_stdout(sys.stderr, quiet) or _StderrLines(quiet)
    engine_of(inv).pull(inv.args[0], platform=getattr(inv.opts, "platform", None) or None, progress=progress)


class _StderrLines:
    """Pull progress as docker run prints it when stderr is no terminal: a line per message."""

    def __init__(self, quiet: bool):
        self.quiet = quiet

    def __call__(self, status: str, ident: str | None = None) -> None:
        if self.quiet or status in ("Downloading", "Extracting"):
            return
        sys.stderr.write(f"{ident}: {status}\n" if ident else f"{status}\n")
        sys.stderr.flush()


def run(inv):
    from hakobune.engine.containers import start_failure_status
    from hakobune.errors import HakobuneError

    o = inv.opts
    detach = o.detach
    if o.tty and o.interactive and not detach and not os.isatty(0):
        raise _cli_error("the input device is not a TTY", 1)  # docker checks before it creates anything
    engine = engine_of(inv)
    if getattr(engine, "remote", False):  # a server's API (hakobune.client)
        from hakobune.cli import remote as commands

        return commands.run(inv, engine)
    try:
        record = _create_pulling(inv, detach=detach)
    except HakobuneError as e:
        raise _run_error(inv, e, 125) from None
    container_id = record["Id"]
    if not detach:
        engine.note_attach(record)
    offset = engine.log_size(container_id)
    try:
        engine.start_container(container_id)
    except HakobuneError as e:
        if o.rm:
            _quietly(engine.remove_container, container_id, True)
        from hakobune.errors import SystemFailure

        status = start_failure_status(str(e))  # by the message, whatever its kind, as the docker CLI does
        raise _run_error(inv, _start_error_text(e) if isinstance(e, SystemFailure) else e, status) from None
    if detach:
        write(container_id + "\n")
        return 0
    if not o.interactive:
        return _follow_to_exit(engine, container_id, offset, remove=o.rm)
    return _follow_interactively(engine, container_id, offset, bool(o.tty), getattr(o, "detach_keys", "") or "",
                                 remove=o.rm)


def _follow_interactively(engine, container_id: str, offset: int, tty: bool, detach_keys: str,
                          remove: bool = False) -> int:
    """`start -a -i`: stdin forwarded (raw terminal with a tty, and the
    detach keys), the log followed to the exit."""
    try:
        keys = detach_key_bytes(detach_keys) if tty else None
    except ValueError:
        raise _cli_error(f"Error response from daemon: Invalid detach keys ({detach_keys}) provided", 1) \
            from None
    raw = tty and os.isatty(0)
    saved = None
    if raw:
        import termios
        import tty as tty_module

        saved = termios.tcgetattr(0)
        tty_module.setraw(0)
    try:
        detached = []
        _pump_stdin(engine, container_id, resize=raw, detach_keys=keys, detached=detached)
        return _follow_to_exit(engine, container_id, offset, remove=remove, detached=detached)
    finally:
        if saved is not None:
            import termios

            termios.tcsetattr(0, termios.TCSADRAIN, saved)


DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"


def detach_key_bytes(text: str) -> bytes:
    """docker's --detach-keys: comma-separated "a"-"z" style letters or
    "ctrl-<value>" (<value> a letter or one of @ [ \\ ] ^ _)."""
    text = text or DEFAULT_DETACH_KEYS
    out = bytearray()
    for key in text.split(","):
        low = key.lower() if key.lower().startswith("ctrl-") else key
        if len(key) == 1:
            out.append(ord(key))
        elif low.startswith("ctrl-") and len(low) == 6:
            c = low[5]
            if "a" <= c <= "z":
                out.append(ord(c) - ord("a") + 1)
            elif c in "@[\\]^_":
                out.append({"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}[c])
            else:
                raise ValueError(f"Unknown character: '{key}'")
        else:
            raise ValueError(f"Unknown character: '{key}'")
    return bytes(out)


class EscapeProxy:
    """docker's term.EscapeProxy: passes input through until the detach
    keys arrive in a row; a partial match is passed on once it breaks."""

    def __init__(self, keys: bytes):
        self.keys = keys
        self.matched = 0

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(bytes to forward, whether the sequence is complete)."""
        out = bytearray()
        for byte in data:
            if byte == self.keys[self.matched]:
                self.matched += 1
                if self.matched == len(self.keys):
                    self.matched = 0
                    return bytes(out), True
                continue
            if self.matched:
                out += self.keys[:self.matched]
                self.matched = 0
                if byte == self.keys[0]:
                    self.matched = 1
                    continue
            out.append(byte)
        return bytes(out), False


def _pump_stdin(engine, container_id: str, resize: bool = False, detach_keys: bytes | None = None,
                detached: list | None = None) -> None:
    """`run -i`: the CLI's stdin to the container's, through the monitor
    (attached); EOF closes the container's stdin.  The output still comes
    from the log, so the attachment's frames are only drained.  With a tty,
    the detach keys end the forwarding and add True to `detached`."""
    import threading

    from hakobune.errors import SystemFailure

    try:
        attachment = engine.attach_container(container_id, timeout=10)
    except (SystemFailure, OSError):
        return  # the container has exited already (its monitor is going or gone)
    attachment.sock.settimeout(None)
    if resize:
        try:
            size = os.get_terminal_size(0)
            attachment.resize(size.lines, size.columns)
        except OSError:
            pass
    _start_stdin_pump(attachment, EscapeProxy(detach_keys) if detach_keys else None,
                      detached if detached is not None else [])

    def drain():
        try:
            for _ in attachment.frames():
                pass
        except (OSError, ValueError):
            return

    threading.Thread(target=drain, daemon=True).start()


def create(inv):
    from hakobune.errors import HakobuneError

    try:
        record = _create_pulling(inv, detach=False)
    except HakobuneError as e:
        raise _run_error(inv, e, 125) from None
    write(record["Id"] + "\n")
    return 0


def start(inv):
    from hakobune.errors import HakobuneError

    engine = engine_of(inv)
    interactive = bool(getattr(inv.opts, "interactive", False))
    if inv.opts.attach or interactive:
        if getattr(engine, "remote", False):  # a server's API (hakobune.client)
            from hakobune.cli import remote as commands

            return commands.start_attached(inv, engine)
        if len(inv.args) > 1:
            raise _cli_error("you cannot start and attach multiple containers at once", 1)
        container_id = engine.container_id(inv.args[0])
        offset = engine.log_size(container_id)
        record = engine.lifecycle.store.read(container_id)
        engine.note_attach(record)
        try:
            _, started = engine.start_container(container_id)
        except HakobuneError as e:
            from hakobune.engine.containers import start_failure_status

            raise _cli_error(f"{_start_error_text(e)}\n"
                             f"Error: failed to start containers: {inv.args[0]}",
                             start_failure_status(str(e))) from None
        if not started:
            offset = engine.log_size(container_id)
        if not interactive:
            return _follow_to_exit(engine, container_id, offset)
        return _follow_interactively(engine, container_id, offset, bool(record["Config"].get("Tty")),
                                     getattr(inv.opts, "detach_keys", "") or "")
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


def _follow_to_exit(engine, container_id: str, offset: int, remove: bool = False, detached=()) -> int:
    """Relay the container's log until its monitor is done; its exit status.
    A non-empty `detached` (filled by the stdin pump on the detach keys)
    ends it at once with status 0, leaving the container running."""
    import _signal  # not `signal`: its enums cost every foreground run

    # docker's sig-proxy: SIGINT and SIGTERM go to the container; the CLI
    # keeps following until it exits.
    pending = []
    names = {_signal.SIGINT: "INT", _signal.SIGTERM: "TERM"}
    previous = {sig: _signal.signal(sig, lambda number, frame: pending.append(number)) for sig in names}
    delay = 0.005
    waker = _ExitWaker(engine, container_id)
    monitor_exit = None  # a pidfd of the monitor, once it reported the exit: readable when it is gone
    try:
        while True:
            while pending:
                engine.signal_container(container_id, names[pending.pop(0)])
            state = engine.monitor_state(container_id)
            done = not state["monitor_alive"]
            moved = _emit(engine.read_log(container_id, offset))
            if moved is not None:
                offset = moved
                delay = 0.005
            if done:
                break
            if detached:
                return 0
            if monitor_exit is None:  # the monitor's end wakes every wait below, not a sleep's end
                try:
                    monitor_exit = os.pidfd_open(state["monitor_pid"])
                except (OSError, KeyError, TypeError, AttributeError):
                    monitor_exit = -1
            if waker.ending and monitor_exit >= 0:
                import select

                select.select([monitor_exit], [], [], 0.05)
            else:
                waker.wait(delay, monitor_exit)
            delay = min(delay * 2, 0.05)
    finally:
        if monitor_exit is not None and monitor_exit >= 0:
            os.close(monitor_exit)
        waker.close()
        for sig, handler in previous.items():
            _signal.signal(sig, handler)
    code = state.get("exit_code")
    if state.get("monitor_lost") or code is None:
        code = 125
    _quietly(engine.finish_foreground, container_id, remove)
    return code


class _ExitWaker:
    """Wakes the log follower as soon as the monitor has news: an attached
    control connection becomes readable on output and on the exit, so the
    follower need not sleep through its polling delay.  The output itself
    still comes from the log (no line is lost however early it was written);
    the frames are only read away.  Without a connection (the container
    exited already), plain sleeps."""

    def __init__(self, engine, container_id: str):
        self.sock = None
        self.ending = 0.0
        try:
            attachment = engine.attach_container(container_id, timeout=2)
        except Exception:  # noqa: BLE001 - exited already, or no monitor: poll
            return
        self.attachment = attachment
        self.sock = attachment.sock
        self.sock.setblocking(False)

    def wait(self, timeout: float, monitor_exit: int = -1) -> None:
        """Until the monitor has news, `timeout` passed, or `monitor_exit`
        (a pidfd of the monitor, or -1) says the monitor is gone."""
        import select

        if self.ending and time.monotonic() - self.ending > 1.0:
            self.ending = 0.0  # no end after all (a client cut off for reading slowly): plain polling
            self.close()
        ends = [monitor_exit] if monitor_exit >= 0 else []
        if self.ending or self.sock is None:
            select.select(ends, [], [], 0.002 if self.ending else timeout)
            return
        readable, _, _ = select.select([self.sock, *ends], [], [], timeout)
        if not readable or self.sock not in readable:
            return
        try:
            data = self.sock.recv(262144)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data or b'"exit"' in data:
            self.ending = time.monotonic()  # the monitor is recording the exit: poll its state closely

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None


def _quietly(function, *args):
    from hakobune.errors import HakobuneError

    try:
        function(*args)
    except HakobuneError:
        pass


# --- stop, rm -------------------------------------------------------------------------

def _timeout_of(opts):
    """-t/--timeout (or the deprecated --time); None when not given: the container's StopTimeout."""
    if opts.changed("timeout"):
        return opts.timeout
    if opts.changed("time"):
        return opts.time
    return None


def stop(inv):
    engine = engine_of(inv)
    timeout = _timeout_of(inv.opts)
    signal = inv.opts.signal or None
    return _each_container(inv.args, lambda name: engine.stop_container(name, timeout, signal))


def kill(inv):
    engine = engine_of(inv)
    signal = inv.opts.signal or "KILL"
    return _each_container(inv.args, lambda name: engine.kill_container(name, signal))


def pause(inv):
    engine = engine_of(inv)
    return _each_container(inv.args, engine.pause_container)


def unpause(inv):
    engine = engine_of(inv)
    return _each_container(inv.args, engine.unpause_container)


def restart(inv):
    engine = engine_of(inv)
    timeout = _timeout_of(inv.opts)
    signal = inv.opts.signal or None
    return _each_container(inv.args, lambda name: engine.restart_container(name, timeout, signal))


def wait(inv):
    """Print each container's exit code once it has stopped, in order."""
    from hakobune.errors import HakobuneError

    engine = engine_of(inv)
    errors = []
    for name in inv.args:
        try:
            code = engine.wait_container(name)
            write(f"{code}\n")
        except HakobuneError as e:
            errors.append(f"Error response from daemon: {e}")
    if errors:
        raise _cli_error("\n".join(errors), 1)
    return 0


def rename(inv):
    from hakobune.errors import HakobuneError

    old, new = inv.args[0].strip(), inv.args[1].strip()
    if not old or not new:
        raise _cli_error("Error: Neither old nor new names may be empty", 1)
    try:
        engine_of(inv).rename_container(old, new)
    except HakobuneError as e:
        raise _cli_error(f"Error response from daemon: {e}\nError: failed to rename container named {old}", 1) \
            from None
    return 0


def _confirm(warning: str) -> bool:
    write(warning + "\nAre you sure you want to continue? [y/N] ")
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def prune(inv):
    from hakobune.cli.images import filters_of, human_size

    o = inv.opts
    if not o.force and not _confirm("WARNING! This will remove all stopped containers."):
        return 0
    report = engine_of(inv).prune_containers(filters_of(o.filter))
    write(prune_text("Deleted Containers:", report.get("ContainersDeleted"))
          + f"Total reclaimed space: {human_size(report.get('SpaceReclaimed', 0))}\n")
    return 0


def prune_text(title: str, items) -> str:
    if not items:
        return ""
    return title + "\n" + "".join(f"{item}\n" for item in items) + "\n"


# --- attach -----------------------------------------------------------------------------

_PROXIED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")


def attach(inv):
    """docker attach: the container's live output, stdin forwarded (unless
    --no-stdin), signals proxied (without a tty, unless --sig-proxy=false);
    on a tty, the detach keys leave it running ("read escape sequence",
    status 1, as docker)."""
    o = inv.opts
    engine = engine_of(inv)
    if getattr(engine, "remote", False):  # a server's API (hakobune.client)
        from hakobune.cli import remote as commands

        return commands.attach(inv, engine)
    info = engine.container_inspect(inv.args[0])
    keys, tty, use_stdin = attach_checks(info, o)
    container_id = info["Id"]
    from hakobune.errors import SystemFailure

    try:
        attachment = engine.attach_container(container_id, timeout=10)
    except SystemFailure:
        raise _cli_error("You cannot attach to a stopped container, start it first", 1) from None
    engine.note_attach(engine.lifecycle.store.read(container_id))
    attachment.sock.settimeout(None)
    saved = None
    if tty and use_stdin and os.isatty(0):
        import termios
        import tty as tty_module

        saved = termios.tcgetattr(0)
        tty_module.setraw(0)
        try:
            size = os.get_terminal_size(0)
            attachment.resize(size.lines, size.columns)
        except OSError:
            pass
    previous = _proxy_signals(engine, container_id) if (o.sig_proxy and not tty) else {}
    detached = []
    try:
        if use_stdin:
            _start_stdin_pump(attachment, EscapeProxy(keys) if tty else None, detached)
        code = _relay_frames(attachment, detached)
    finally:
        if saved is not None:
            import termios

            termios.tcsetattr(0, termios.TCSADRAIN, saved)
        for sig, handler in previous.items():
            import signal

            signal.signal(sig, handler)
    if detached:
        raise _cli_error("read escape sequence", 1)
    if code is None:
        code = _exit_code_after(engine, container_id)
    return code


def _proxy_signals(engine, container_id: str) -> dict:
    import signal

    previous = {}

    def forward(number, frame):
        try:
            engine.signal_container(container_id, signal.Signals(number).name[3:])
        except Exception:  # noqa: BLE001 - the container may be gone
            pass

    for name in _PROXIED_SIGNALS:
        number = getattr(signal, name)
        previous[number] = signal.signal(number, forward)
    return previous


def _start_stdin_pump(attachment, proxy, detached: list) -> None:
    import threading

    def pump():
        try:
            while True:
                data = os.read(0, 65536)
                if not data:
                    attachment.close_stdin()
                    return
                if proxy is not None:
                    data, escaped = proxy.feed(data)
                    if data:
                        attachment.write(data.decode("utf-8", "surrogateescape"))
                    if escaped:
                        detached.append(True)
                        import socket

                        attachment.sock.shutdown(socket.SHUT_RDWR)
                        return
                    continue
                attachment.write(data.decode("utf-8", "surrogateescape"))
        except OSError:
            return

    threading.Thread(target=pump, daemon=True).start()


def _relay_frames(attachment, detached: list):
    """Write output frames to stdout/stderr until the exit frame (its code)
    or the connection ends (None)."""
    try:
        for frame in attachment.frames():
            if "exit" in frame:
                return frame["exit"]
            data = frame.get("data", "").encode("utf-8", "surrogateescape")
            stream = sys.stderr if frame.get("stream") == "stderr" else sys.stdout
            stream.buffer.write(data)
            stream.buffer.flush()
            if detached:
                return None
    except (OSError, ValueError):
        return None
    return None


def _exit_code_after(engine, container_id: str) -> int:
    from hakobune.errors import HakobuneError

    try:
        return engine.wait_container(container_id)
    except HakobuneError:
        return 0


def rm(inv):
    engine = engine_of(inv)
    return _each_container(inv.args, lambda name: engine.remove_container(name, force=inv.opts.force,
                                                                          volumes=inv.opts.volumes))


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

def _ps_row(record: dict, state: dict, trunc: bool) -> dict:
    from hakobune.engine.summary import list_command, status_text
    from hakobune.cli.images import go_time_string
    from hakobune.engine.containers import unix_time_of

    command = list_command(record["Path"], record["Args"])
    if trunc:
        command = ellipsis(command, 20)
    created = unix_time_of(record["Created"])
    image = record["Config"].get("Image") or record["Image"]
    if trunc and image.startswith("sha256:"):
        image = image[7:19]
    return {"ID": record["Id"][:12] if trunc else record["Id"], "Image": image,
            "Command": _go_quote(command), "RunningFor": human_duration(time.time() - created) + " ago",
            "CreatedAt": go_time_string(int(created)), "Status": status_text(state), "Ports": "",  # the daemon's text
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
    from hakobune.cli.images import filters_of, human_size
    from hakobune.engine import netsetup  # networks (issue 6)

    o = inv.opts
    limit = 1 if o.latest else (o.last if o.last and o.last > 0 else 0)
    engine = engine_of(inv)
    if getattr(engine, "remote", False):  # a server's API (hakobune.client)
        from hakobune.cli import remote as commands

        return commands.ps(inv, engine)
    pairs = engine.containers(all=o.all, filters=filters_of(o.filter), limit=limit)
    fmt = o.format or "table"
    table = PS_TABLE + ("\t{{.Size}}" if o.size else "")
    if fmt == "table":
        fmt = "{{.ID}}" if o.quiet else table
    elif o.quiet:
        fmt = "{{.ID}}"
    sized = o.size or ".Size" in fmt
    rows = []
    for record, state in pairs:
        row = _ps_row(record, state, not o.no_trunc)
        row.update(netsetup.ps_columns(engine.root, engine.runroot, record, state))  # networks (issue 6)
        if sized and fmt != "{{.ID}}":
            size_rw, size_root = engine.container_sizes(record)
            row["Size"] = f"{human_size(size_rw, 3)} (virtual {human_size(size_root, 3)})"
        rows.append(row)
    write(render(fmt, rows, PS_HEADERS, table))
    return 0


# --- logs ---------------------------------------------------------------------------------

class _LogPrinter:
    """Writes log entries as docker logs does, with --timestamps, --details,
    --since and --until applied."""

    def __init__(self, opts):
        from hakobune.engine.engine import _time_bound_ns

        self.timestamps = opts.timestamps
        self.details = opts.details
        self.since = _time_bound_ns(opts.since) if opts.since else None
        self.until = _time_bound_ns(opts.until) if opts.until else None
        self.past_until = False

    def emit(self, pairs):
        offset = None
        for entry, offset in pairs:
            self.write_entry(entry)
        sys.stdout.flush()
        sys.stderr.flush()
        return offset

    def write_entry(self, entry: dict) -> None:
        from hakobune.engine.logstream import entry_time_ns, fixed_stamp

        stamp = entry_time_ns(entry) if (self.since or self.until or self.timestamps) else 0
        if self.since is not None and stamp < self.since:
            return
        if self.until is not None and stamp > self.until:
            self.past_until = True
            return
        line = entry.get("log", "")
        if self.details:
            attrs = entry.get("attrs") or {}
            line = ",".join(f"{k}={v}" for k, v in sorted(attrs.items())) + " " + line
        if self.timestamps:
            line = fixed_stamp(stamp) + " " + line
        stream = sys.stderr if entry.get("stream") == "stderr" else sys.stdout
        stream.write(line)


def _tail_count(text: str) -> int | None:
    """--tail: "all" (None) or a number of lines (negative: all)."""
    if text in ("", "all"):
        return None
    try:
        count = int(text)
    except ValueError:
        raise _cli_error(f'Error response from daemon: invalid value for "tail": "{text}"', 1) from None
    return None if count < 0 else count


def logs(inv):
    o = inv.opts
    engine = engine_of(inv)
    if getattr(engine, "remote", False):  # a server's API (hakobune.client)
        from hakobune.cli import remote as commands

        return commands.logs(inv, engine)
    container_id = engine.container_id(inv.args[0])
    printer = _LogPrinter(o)
    tail = _tail_count(o.tail)
    if tail is None:
        offset = printer.emit(engine.read_log(container_id)) or 0
    else:
        pairs = list(engine.read_log(container_id))
        offset = pairs[-1][1] if pairs else 0
        printer.emit(pairs[len(pairs) - tail:] if tail else [])
    if not o.follow:
        return 0
    while not printer.past_until:
        running = engine.container_running(container_id)
        moved = printer.emit(engine.read_log(container_id, offset))
        if moved is not None:
            offset = moved
        if not running:
            return 0
        if printer.until is not None and time.time_ns() > printer.until:
            return 0
        time.sleep(0.05)
    return 0


def container_inspect(inv):
    from hakobune.cli.images import inspect_each

    engine = engine_of(inv)
    return inspect_each(inv.args, lambda name: engine.container_inspect(name, size=inv.opts.size),
                        inv.opts.format)
