"""The remote forms of the handlers that follow a container or print what
only the server knows: `run` and `start -a` as the docker CLI does them
(attach, wait for the next exit, start, relay the streams, exit with the
container's status), `attach`, `logs`, `ps` (from /containers/json),
`exec` (RemoteExec), `version` (Client and Server sections), `build`
(the context's tar to the classic builder's /build).  The CLI's
handlers call these when their engine is a RemoteEngine; the formatting
helpers are the handlers' own."""

import os
import sys
import threading
import time

from hakobune.client import http
from hakobune.client.connection import path_of
from hakobune.errors import HakobuneError, SystemFailure


# --- relaying a hijacked stream -------------------------------------------------------------

class Session:
    """A hijacked attach or exec stream: output relayed to our stdout and
    stderr (raw with a tty, demultiplexed without), our stdin pumped into
    it (EOF half-closes; with a tty the detach keys end the session)."""

    def __init__(self, hijacked: http.Hijacked, tty: bool):
        self.hijacked = hijacked
        self.tty = tty
        self.detached = False

    def pump_stdin(self, proxy=None) -> None:
        def pump():
            try:
                while True:
                    data = os.read(0, 65536)
                    if not data:
                        self.hijacked.close_write()
                        return
                    if proxy is not None:
                        data, escaped = proxy.feed(data)
                        if data:
                            self.hijacked.send(data)
                        if escaped:
                            self.detached = True
                            import socket

                            self.hijacked.sock.shutdown(socket.SHUT_RDWR)
                            return
                        continue
                    self.hijacked.send(data)
            except OSError:
                return

        threading.Thread(target=pump, daemon=True).start()

    def relay(self) -> None:
        """Until the server ends the stream (or we detach)."""
        try:
            if self.tty:
                for piece in self.hijacked.pieces():
                    _write_all(1, piece)
                return
            relay_frames(self.hijacked.pieces())
        except (OSError, http.ProtocolError):
            if not self.detached:
                raise
        finally:
            self.hijacked.close()


def relay_frames(pieces) -> None:
    """Multiplexed frames to stdout (1) and stderr (2); a system error frame (3) raised."""
    for stream, payload in http.iter_frames(pieces):
        if stream == http.STDERR:
            _write_all(2, payload)
        elif stream == http.SYSTEM_ERROR:
            raise SystemFailure(payload.decode("utf-8", "replace").strip())
        else:
            _write_all(1, payload)


def _write_all(fd: int, data: bytes) -> None:
    sys.stdout.flush()
    while data:
        written = os.write(fd, data)
        data = data[written:]


class RawTerminal:
    """Our terminal in raw mode for the duration (when stdin is one and `wanted`)."""

    def __init__(self, wanted: bool):
        self.saved = None
        if wanted and os.isatty(0):
            import termios
            import tty

            self.saved = termios.tcgetattr(0)
            tty.setraw(0, termios.TCSANOW)

    def restore(self) -> None:
        if self.saved is not None:
            import termios

            termios.tcsetattr(0, termios.TCSADRAIN, self.saved)
            self.saved = None


def _resize(engine, path: str) -> None:
    from hakobune.cli.processes import _terminal_size

    size = _terminal_size()
    if size:
        try:
            engine.client.request("POST", path, {"h": str(size[0]), "w": str(size[1])}).read()
        except HakobuneError:
            pass


class SignalProxy:
    """docker's sig-proxy: SIGINT, SIGTERM (and more for attach) sent to the container."""

    def __init__(self, engine, container_id: str, names=("SIGINT", "SIGTERM")):
        import _signal

        self.previous = {}
        for name in names:
            number = getattr(_signal, name)

            def forward(signum, frame, name=name):
                threading.Thread(target=_quiet_kill, args=(engine, container_id, name[3:]), daemon=True).start()

            self.previous[number] = _signal.signal(number, forward)

    def restore(self) -> None:
        import _signal

        for number, handler in self.previous.items():
            _signal.signal(number, handler)


def _quiet_kill(engine, container_id: str, signal_name: str) -> None:
    try:
        engine.kill_container(container_id, signal_name)
    except HakobuneError:
        pass


# --- run, start -a, attach --------------------------------------------------------------------

class Waiter:
    """POST /containers/{id}/wait sent now (its head read: the server is
    watching), its answer read later: the exit code."""

    def __init__(self, engine, container_id: str, condition: str):
        self.response = engine.client.request("POST", path_of("/containers/{}/wait", container_id),
                                              {"condition": condition})

    def code(self) -> int:
        try:
            answer = self.response.json() or {}
        except (OSError, http.ProtocolError, ValueError):
            return 125
        error = (answer.get("Error") or {}).get("Message")
        if error:
            sys.stderr.write(f"Error: {error}\n")
        return int(answer.get("StatusCode", 125))

    def close(self) -> None:
        self.response.close()


def _attach(engine, container_id: str, stdin: bool) -> http.Hijacked:
    query = {"stream": "1", "stdout": "1", "stderr": "1", "stdin": "1" if stdin else None}
    return engine.client.hijack(path_of("/containers/{}/attach", container_id), query)


def follow_container(engine, container_id: str, tty: bool, interactive: bool, detach_keys: str, start,
                     auto_remove: bool = False) -> int:
    """Attach, wait for the next exit, `start()`, relay until the stream
    ends; the container's exit status (0 when detached by the keys)."""
    from hakobune.cli.containers import EscapeProxy, detach_key_bytes

    keys = None
    if tty and interactive:
        try:
            keys = detach_key_bytes(detach_keys)
        except ValueError:
            from hakobune.client.errors import ClientError

            raise ClientError(f"Error response from daemon: Invalid detach keys ({detach_keys}) provided", 1) \
                from None
    hijacked = _attach(engine, container_id, interactive)
    session = Session(hijacked, tty)
    try:
        waiter = Waiter(engine, container_id, "removed" if auto_remove else "next-exit")
    except BaseException:
        hijacked.close()
        raise
    terminal = None
    proxy = None
    try:
        start()
        if tty and interactive:
            terminal = RawTerminal(True)
            _resize(engine, path_of("/containers/{}/resize", container_id))
        if interactive:
            session.pump_stdin(EscapeProxy(keys) if keys else None)
        if not tty:
            proxy = SignalProxy(engine, container_id)
        session.relay()
    except BaseException:
        waiter.close()
        hijacked.close()
        raise
    finally:
        if terminal is not None:
            terminal.restore()
        if proxy is not None:
            proxy.restore()
    if session.detached:
        waiter.close()
        return 0
    return waiter.code()


def run(inv, engine) -> int:
    """docker run against the API: create (pulling a missing image), then
    detached: start and print the id; else follow_container."""
    from hakobune.cli.containers import _create_pulling, _run_error, _start_error_text
    from hakobune.engine.containers import start_failure_status

    o = inv.opts
    try:
        record = _create_pulling(inv, detach=o.detach)
    except HakobuneError as e:
        raise _run_error(inv, e, 125) from None
    container_id = record["Id"]

    def start():
        try:
            engine.start_container(container_id)
        except HakobuneError as e:
            if o.rm:  # a container that never ran is not removed by its exit
                try:
                    engine.remove_container(container_id, force=True)
                except HakobuneError:
                    pass
            # by the message, whatever the status (dockerd answers 400 for a missing program)
            status = start_failure_status(str(e))
            raise _run_error(inv, _start_error_text(e) if isinstance(e, SystemFailure) else e, status) from None

    if o.detach:
        start()
        sys.stdout.write(container_id + "\n")
        return 0
    return follow_container(engine, container_id, bool(o.tty), bool(o.interactive),
                            getattr(o, "detach_keys", "") or "", start, auto_remove=bool(o.rm))


def start_attached(inv, engine) -> int:
    """start -a [-i] of one container."""
    from hakobune.cli.containers import _start_error_text
    from hakobune.client.errors import ClientError
    from hakobune.engine.containers import start_failure_status

    if len(inv.args) > 1:
        raise ClientError("you cannot start and attach multiple containers at once", 1)
    info = engine.container_inspect(inv.args[0])
    container_id = info["Id"]
    config = info.get("Config") or {}
    interactive = bool(getattr(inv.opts, "interactive", False)) and bool(config.get("OpenStdin"))

    def start():
        try:
            engine.start_container(container_id)
        except HakobuneError as e:
            raise ClientError(f"{_start_error_text(e)}\nError: failed to start containers: {inv.args[0]}",
                              start_failure_status(str(e))) from None

    auto_remove = bool((info.get("HostConfig") or {}).get("AutoRemove"))
    return follow_container(engine, container_id, bool(config.get("Tty")), interactive,
                            getattr(inv.opts, "detach_keys", "") or "", start, auto_remove=auto_remove)


def attach(inv, engine) -> int:
    from hakobune.cli.containers import EscapeProxy, _PROXIED_SIGNALS, attach_checks
    from hakobune.client.errors import ClientError

    o = inv.opts
    info = engine.container_inspect(inv.args[0])
    keys, tty, use_stdin = attach_checks(info, o)
    container_id = info["Id"]
    session = Session(_attach(engine, container_id, use_stdin), tty)
    terminal = RawTerminal(tty and use_stdin)
    proxy = SignalProxy(engine, container_id, _PROXIED_SIGNALS) if (o.sig_proxy and not tty) else None
    try:
        if tty and use_stdin:
            _resize(engine, path_of("/containers/{}/resize", container_id))
        if use_stdin:
            session.pump_stdin(EscapeProxy(keys) if tty else None)
        session.relay()
    finally:
        terminal.restore()
        if proxy is not None:
            proxy.restore()
    if session.detached:
        raise ClientError("read escape sequence", 1)
    try:
        return engine.wait_container(container_id)
    except HakobuneError:
        return 0


# --- logs --------------------------------------------------------------------------------------

def logs(inv, engine) -> int:
    from hakobune.client.engine import api_time

    o = inv.opts
    info = engine.container_inspect(inv.args[0])
    query = {"stdout": "1", "stderr": "1", "follow": "1" if o.follow else None, "tail": o.tail or "all",
             "timestamps": "1" if o.timestamps else None, "details": "1" if o.details else None,
             "since": api_time(o.since), "until": api_time(o.until)}
    response = engine.client.request("GET", path_of("/containers/{}/logs", info["Id"]), query)
    try:
        if (info.get("Config") or {}).get("Tty"):
            for piece in response.pieces():
                _write_all(1, piece)
        else:
            relay_frames(response.pieces())
    finally:
        response.close()
    return 0


# --- ps ----------------------------------------------------------------------------------------

def ps(inv, engine) -> int:
    from hakobune.cli.containers import PS_HEADERS, PS_TABLE
    from hakobune.cli.images import filters_of, render, write

    o = inv.opts
    limit = 1 if o.latest else (o.last if o.last and o.last > 0 else 0)
    fmt = o.format or "table"
    table = PS_TABLE + ("\t{{.Size}}" if o.size else "")
    if fmt == "table":
        fmt = "{{.ID}}" if o.quiet else table
    elif o.quiet:
        fmt = "{{.ID}}"
    sized = (o.size or ".Size" in fmt) and fmt != "{{.ID}}"
    summaries = engine.container_summaries(all=o.all, filters=filters_of(o.filter), limit=limit, size=sized)
    rows = [summary_row(s, not o.no_trunc) for s in summaries]
    write(render(fmt, rows, PS_HEADERS, table))
    return 0


def summary_row(s: dict, trunc: bool) -> dict:
    """docker's containerContext over an API summary."""
    from hakobune.cli.containers import _go_quote
    from hakobune.cli.images import ellipsis, go_time_string, human_duration, human_size

    command = s.get("Command") or ""
    if trunc:
        command = ellipsis(command, 20)
    image = s.get("Image") or ""
    if trunc:
        if image.startswith("sha256:"):
            image = image[7:19]
        image = image.split("@", 1)[0] or image
    names = [n[1:] if n.startswith("/") else n for n in s.get("Names") or ()]
    if trunc:
        names = [n for n in names if "/" not in n][:1]
    created = s.get("Created") or 0
    mounts = []
    for mount in s.get("Mounts") or ():
        name = mount.get("Name") or mount.get("Source") or ""
        mounts.append(ellipsis(name, 15) if trunc else name)
    size = ""
    if "SizeRw" in s or "SizeRootFs" in s:
        size = human_size(s.get("SizeRw") or 0, 3)
        if (s.get("SizeRootFs") or 0) > 0:
            size += f" (virtual {human_size(s['SizeRootFs'], 3)})"
    networks = sorted(((s.get("NetworkSettings") or {}).get("Networks") or {}))
    return {"ID": s["Id"][:12] if trunc else s["Id"], "Image": image, "Command": _go_quote(command),
            "RunningFor": human_duration(time.time() - created) + " ago", "CreatedAt": go_time_string(int(created)),
            "Status": s.get("Status") or "", "Ports": ports_text(s.get("Ports") or ()),
            "Names": ",".join(names), "State": s.get("State") or "",
            "Labels": ",".join(f"{k}={v}" for k, v in (s.get("Labels") or {}).items()),
            "Mounts": ",".join(mounts), "Networks": ",".join(networks), "Size": size,
            "LocalVolumes": str(sum(1 for m in s.get("Mounts") or () if m.get("Driver") == "local"))}


def ports_text(ports) -> str:
    """ps's PORTS from a summary's Ports list (as docker's DisplayablePorts)."""
    from hakobune.engine.netsetup import ports_text as text_of

    by_key: dict = {}
    for port in ports:
        key = f"{port.get('PrivatePort')}/{port.get('Type') or 'tcp'}"
        bindings = by_key.setdefault(key, None)
        if port.get("PublicPort"):
            by_key[key] = (bindings or []) + [{"HostIp": port.get("IP") or "0.0.0.0",
                                               "HostPort": str(port["PublicPort"])}]
    return text_of(by_key)


# --- exec ----------------------------------------------------------------------------------------

class RemoteExec:
    """An exec instance on the server: `wait()` starts it attached, relays
    its streams (our terminal raw with -it) and gives its exit code."""

    remote = True

    def __init__(self, engine, exec_id: str, tty: bool, interactive: bool):
        self.engine = engine
        self.exec_id = exec_id
        self.tty = tty
        self.interactive = interactive

    @classmethod
    def create(cls, engine, name: str, command: list, *, env, workdir, user, privileged, tty, interactive,
               detach, console_size):
        body = {"User": user or "", "Privileged": privileged, "Tty": tty, "AttachStdin": interactive and not detach,
                "AttachStdout": not detach, "AttachStderr": not detach, "Detach": detach, "DetachKeys": "",
                "Env": env or None, "WorkingDir": workdir or "", "Cmd": command}
        if console_size:
            body["ConsoleSize"] = list(console_size)
        exec_id = engine.client.call("POST", path_of("/containers/{}/exec", name), body=body)["Id"]
        process = cls(engine, exec_id, tty, interactive)
        if detach:
            engine.client.request("POST", path_of("/exec/{}/start", exec_id),
                                  body={"Detach": True, "Tty": tty}).read()
        return process

    def wait(self) -> int:
        hijacked = self.engine.client.hijack(path_of("/exec/{}/start", self.exec_id),
                                             body={"Detach": False, "Tty": self.tty})
        session = Session(hijacked, self.tty)
        terminal = RawTerminal(self.tty and self.interactive)
        try:
            if self.tty:
                _resize(self.engine, path_of("/exec/{}/resize", self.exec_id))
            if self.interactive:
                session.pump_stdin()
            else:
                hijacked.close_write()
            session.relay()
        finally:
            terminal.restore()
        return self.exit_code()

    def exit_code(self) -> int:
        for _ in range(200):
            answer = self.engine.client.call("GET", path_of("/exec/{}/json", self.exec_id))
            if not answer.get("Running") and answer.get("ExitCode") is not None:
                return int(answer["ExitCode"])
            time.sleep(0.01)
        return 125


# --- version -------------------------------------------------------------------------------------

def _line(key: str, value) -> str:
    """A `key: value` line of docker's version table (tabwriter, min width 20, padding 1)."""
    cell = key + ":"
    return (cell.ljust(19) if len(cell) < 19 else cell) + " " + f"{value}"


def _ansic(text: str) -> str:
    """Go's RFC 3339 time as time.ANSIC ("Thu May  7 21:09:36 2026"); unchanged if not one."""
    import datetime
    import re

    try:
        stamp = datetime.datetime.fromisoformat(re.sub(r"\.\d+", "", text, count=1).replace("Z", "+00:00"))
    except ValueError:
        return text
    return stamp.strftime("%a %b ") + f"{stamp.day:>2}" + stamp.strftime(" %H:%M:%S %Y")


def version(inv, engine) -> int:
    from hakobune.cli.images import write
    from hakobune.cli.system import version_info
    from hakobune.client.errors import ClientError

    info = version_info()
    client = info["Client"]
    client["Context"] = engine.endpoint.context
    error = None
    try:
        client["ApiVersion"] = engine.client.version
        server = engine.server_version()
    except (ClientError, HakobuneError) as e:
        error, server = e, None
    info["Server"] = server
    if inv.opts.format:
        from hakobune.cli.template.table import render_rows

        write(render_rows(inv.opts.format, [info]))
    else:
        api_version = client["ApiVersion"]
        if api_version != client["DefaultAPIVersion"]:
            api_version += f" (downgraded from {client['DefaultAPIVersion']})"
        lines = ["Client:", _line(" Version", client["Version"]), _line(" API version", api_version),
                 _line(" Go version", client["GoVersion"]), _line(" OS/Arch", f"{client['Os']}/{client['Arch']}"),
                 _line(" Context", client["Context"])]
        if server is not None:
            lines += [""] + server_lines(server)
        write("\n".join(lines) + "\n")
    if error is not None:
        raise error
    return 0


def server_lines(server: dict) -> list[str]:
    """docker version's Server section: the Engine component, then the others' details."""
    name = (server.get("Platform") or {}).get("Name") or ""
    lines = ["Server:" + (f" {name}" if name else "")]
    components = server.get("Components") or [
        {"Name": "Engine", "Version": server.get("Version", ""),
         "Details": {"ApiVersion": server.get("ApiVersion", ""), "MinAPIVersion": server.get("MinAPIVersion", ""),
                     "GoVersion": server.get("GoVersion", ""), "GitCommit": server.get("GitCommit", ""),
                     "BuildTime": server.get("BuildTime", ""), "Os": server.get("Os", ""),
                     "Arch": server.get("Arch", ""), "Experimental": str(server.get("Experimental", False)).lower()}}]
    for component in components:
        details = component.get("Details") or {}
        lines.append(f" {component.get('Name', '')}:")
        if component.get("Name") == "Engine":
            lines += [_line("  Version", component.get("Version", "")),
                      _line("  API version", f"{details.get('ApiVersion', '')} "
                            f"(minimum version {details.get('MinAPIVersion', '')})"),
                      _line("  Go version", details.get("GoVersion", "")),
                      _line("  Git commit", details.get("GitCommit", "")),
                      _line("  Built", _ansic(details.get("BuildTime", ""))),
                      _line("  OS/Arch", f"{details.get('Os', '')}/{details.get('Arch', '')}"),
                      _line("  Experimental", details.get("Experimental", ""))]
        else:
            lines.append(_line("  Version", component.get("Version", "")))
            lines += [_line(f"  {key}", details[key]) for key in sorted(details)]
    return lines


# --- build (the classic builder's /build, as `DOCKER_BUILDKIT=0 docker build`) -------------------

def build(inv, engine) -> int:
    """Send the context (.dockerignore applied) as a tar to /build and print
    the builder's stream; the image id on success (`-q`, --iidfile)."""
    import tempfile

    from hakobune.cli.build import _context
    from hakobune.cli.images import human_size

    o = inv.opts
    with tempfile.TemporaryDirectory(prefix="hakobune-build-") as scratch:
        context_dir, dockerfile_text, dockerfile_name, dockerfile_path = _context(inv.args[0], o.file, scratch)
        spool, dockerfile = _context_tar(context_dir, dockerfile_text, dockerfile_path, scratch)
        with spool:
            size = spool.tell()
            spool.seek(0)
            if not o.quiet:
                sys.stdout.write(f"Sending build context to Docker daemon  {human_size(size):>7}\n\n")
                sys.stdout.flush()
            response = engine.client.request("POST", "/build?" + _build_query(o, dockerfile), body=spool,
                                             headers={"Content-Type": "application/x-tar"})
            return _relay_build(response, o)


def _context_tar(context_dir: str, dockerfile_text: str, dockerfile_path: str | None, scratch: str):
    """(the spooled tar, the Dockerfile's name in it): a Dockerfile from
    outside the context (or stdin) goes in under a name of its own."""
    import io
    import tarfile
    import tempfile

    from hakobune.build.ignore import files_to_send, load_patterns

    patterns = load_patterns(context_dir, dockerfile_path)
    inside = dockerfile_path and os.path.commonpath([context_dir, os.path.abspath(dockerfile_path)]) == context_dir
    dockerfile = os.path.relpath(dockerfile_path, context_dir) if inside else ".dockerfile.hakobune"
    spool = tempfile.TemporaryFile(dir=scratch)
    with tarfile.open(fileobj=spool, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for relative, entry in files_to_send(context_dir, patterns, dockerfile):
            tar.add(entry.path, arcname=relative, recursive=False)
        if not inside:
            data = dockerfile_text.encode()
            info = tarfile.TarInfo(dockerfile)
            info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return spool, dockerfile


def _build_query(o, dockerfile: str) -> str:
    import json
    from urllib.parse import urlencode

    from hakobune.cli.build import _pairs

    pairs = [("t", tag) for tag in o.tag or ()] + [("dockerfile", dockerfile), ("rm", "1")]
    for name, value in (("buildargs", _pairs(o.build_arg, True)), ("labels", _pairs(o.label, False))):
        if value:
            pairs.append((name, json.dumps(value)))
    if o.cache_from:
        pairs.append(("cachefrom", json.dumps(list(o.cache_from))))
    for name, value in (("target", o.target), ("networkmode", o.network), ("platform", o.platform)):
        if value:
            pairs.append((name, value))
    for name, value in (("nocache", o.no_cache), ("pull", o.pull), ("q", o.quiet)):
        if value:
            pairs.append((name, "1"))
    return urlencode(pairs)


def _relay_build(response, o) -> int:
    image_id = ""
    try:
        for message in http.iter_json_messages(response.pieces()):
            error = message.get("errorDetail") or ({"message": message["error"]} if message.get("error") else None)
            if error:
                sys.stdout.flush()
                sys.stderr.write(f"{error.get('message', '')}\n")
                return int(error.get("code") or 1)
            if message.get("aux", {}).get("ID"):
                image_id = message["aux"]["ID"]
            text = message.get("stream")
            if text and not o.quiet:
                sys.stdout.write(text)
                sys.stdout.flush()
            elif text and o.quiet and text.strip().startswith("sha256:"):
                image_id = image_id or text.strip()
    finally:
        response.close()
    from hakobune.cli.build import report_image_id

    return report_image_id(o, image_id)
