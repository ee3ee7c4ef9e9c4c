"""/containers/{id}/exec and /exec/{id}/...: Docker's two-step exec.

Create keeps the exec's config under a new id in this server process (the
exec instances live as long as the server, as in dockerd they live as long
as their container's daemon); start runs it in a process of its own
(hakobune.api.exec_runner: the engine's exec wants a main thread and its
own stdio) and relays its output on the hijacked connection: multiplexed
frames without a TTY, the pty's raw bytes with one; the client's stream
goes to the program's stdin, its half-close closing that stdin.  The exit
code is recorded before the connection closes, so the client's
`GET /exec/{id}/json` that follows reads it.
"""

from __future__ import annotations

import fcntl
import json
import os
import struct
import subprocess
import sys
import termios
import threading
import time

from hakobune.api import http as H
from hakobune.errors import Conflict, InvalidArgument, NotFound, SystemFailure

STDOUT, STDERR = 1, 2
_KEEP_FINISHED = 600  # seconds a finished exec stays inspectable
_FIRST_RESIZE_WAIT = 0.25
_execs: dict[str, dict] = {}
_lock = threading.Lock()


def register(router) -> None:
    router.add("POST", "/containers/{id}/exec", create)
    router.add("POST", "/exec/{id}/start", start)
    router.add("POST", "/exec/{id}/resize", resize)
    router.add("GET", "/exec/{id}/json", inspect)


# --- the exec instances ---------------------------------------------------------------

def _forget_old() -> None:
    now = time.monotonic()
    for exec_id, entry in list(_execs.items()):
        if entry["finished_at"] and now - entry["finished_at"] > _KEEP_FINISHED:
            del _execs[exec_id]


def _lookup(exec_id: str) -> dict:
    with _lock:
        entry = _execs.get(exec_id)
    if entry is None:
        raise NotFound(f"No such exec instance: {exec_id}")
    return entry


def live_ids(container_id: str) -> list[str]:
    """The container's exec instances that are created or running (Docker's
    ExecIDs: a finished exec leaves the container's list but stays
    inspectable), oldest first."""
    with _lock:
        return [exec_id for exec_id, entry in _execs.items()
                if entry["container"] == container_id and not entry["finished_at"] and not entry.get("detached")]


def create(engine, request):
    config = request.json({}) or {}
    if not isinstance(config, dict):
        raise InvalidArgument("the exec config must be a JSON object")
    command = config.get("Cmd")
    if isinstance(command, str):
        command = [command]
    if not command:
        raise InvalidArgument("No exec command specified")
    inspected = engine.container_inspect(request.params["id"])
    container_id, state = inspected["Id"], inspected["State"]
    if state.get("Paused"):
        raise Conflict(f"Container {container_id} is paused, unpause the container before exec")
    if state.get("Restarting"):
        raise Conflict(f"Container {container_id} is restarting, wait until the container is running")
    if not state.get("Running"):
        raise Conflict(f"Container {container_id} is not running")
    exec_id = os.urandom(32).hex()
    entry = {"id": exec_id, "container": container_id, "config": config, "cmd": [str(c) for c in command],
             "running": False, "started": False, "exit_code": None, "pid": 0, "master": -1, "size": None,
             "sized": threading.Event(), "finished_at": None}
    with _lock:
        _forget_old()
        _execs[exec_id] = entry
    return H.json_response({"Id": exec_id}, 201)


def inspect(engine, request):
    entry = _lookup(request.params["id"])
    config = entry["config"]
    process = {"tty": bool(config.get("Tty")), "entrypoint": entry["cmd"][0], "arguments": entry["cmd"][1:],
               "privileged": bool(config.get("Privileged"))}
    if config.get("User"):
        process["user"] = config["User"]
    return H.json_response({
        "ID": entry["id"], "Running": entry["running"], "ExitCode": entry["exit_code"], "ProcessConfig": process,
        "OpenStdin": bool(config.get("AttachStdin")), "OpenStderr": bool(config.get("AttachStderr")),
        "OpenStdout": bool(config.get("AttachStdout")), "CanRemove": False, "ContainerID": entry["container"],
        "DetachKeys": config.get("DetachKeys") or "", "Pid": entry["pid"]})


def resize(engine, request):
    entry = _lookup(request.params["id"])
    height, width = request.integer("h", 0), request.integer("w", 0)
    if entry["finished_at"]:
        raise SystemFailure("cannot resize a stopped container: unknown")
    entry["size"] = (height, width)
    entry["sized"].set()
    if entry["master"] >= 0:
        _size_terminal(entry["master"], height, width)
    return H.Response(200)


def _size_terminal(master: int, height: int, width: int) -> None:
    try:
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
    except OSError:
        pass


# --- start ---------------------------------------------------------------------------------

def _runner_spec(engine, entry: dict, tty: bool, detach: bool) -> dict:
    config = entry["config"]
    env = config.get("Env") or []
    return {"root": engine.root, "runroot": engine.runroot, "container": entry["container"], "cmd": entry["cmd"],
            "env": list(env), "workdir": config.get("WorkingDir") or None, "user": config.get("User") or None,
            "privileged": bool(config.get("Privileged")), "tty": tty,
            "interactive": bool(config.get("AttachStdin")) and not detach, "detach": detach,
            "console_size": list(entry["size"]) if entry["size"] else None}


def _runner_argv(spec: dict) -> list[str]:
    return [sys.executable, "-m", "hakobune.api.exec_runner", json.dumps(spec)]


def _claim(entry: dict) -> None:
    with _lock:
        if entry["started"]:
            raise Conflict(f"Error: Exec command {entry['id']} is already running")
        entry["started"] = True
        entry["running"] = True


def _finish(entry: dict, code: int) -> None:
    entry["exit_code"] = code
    entry["running"] = False
    entry["finished_at"] = time.monotonic()


def start(engine, request):
    entry = _lookup(request.params["id"])
    body = request.json({}) or {}
    if not isinstance(body, dict):
        raise InvalidArgument("the exec start body must be a JSON object")
    config = entry["config"]
    tty = bool(body.get("Tty", config.get("Tty")) or config.get("Tty"))
    size = body.get("ConsoleSize") or config.get("ConsoleSize")
    if size and len(size) == 2 and all(size):
        entry["size"] = (int(size[0]), int(size[1]))
    state = engine.container_inspect(entry["container"])["State"]
    if not state.get("Running"):
        raise Conflict(f"Container {entry['container']} is not running")
    _claim(entry)
    if body.get("Detach"):
        return _start_detached(engine, entry, tty)
    content_type = "application/vnd.docker.raw-stream" if tty else "application/vnd.docker.multiplexed-stream"
    if tty:
        return H.Hijack(lambda sock, rfile: _run_with_terminal(engine, entry, sock, rfile), content_type)
    return H.Hijack(lambda sock, rfile: _run_with_pipes(engine, entry, sock, rfile), content_type)


def _start_detached(engine, entry: dict, tty: bool):
    import tempfile

    spec = _runner_spec(engine, entry, tty, detach=True)
    # the runner's errors in a file, not a pipe: the detached process may keep
    # the runner's stderr open for as long as it runs
    with tempfile.TemporaryFile() as errors:
        result = subprocess.run(_runner_argv(spec), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=errors)
        errors.seek(0)
        message = errors.read().decode(errors="replace").strip()
    if result.returncode != 0:
        _finish(entry, result.returncode)
        raise SystemFailure(message or "exec failed")
    entry["running"] = False  # nobody waits for a detached exec: its end is not known here
    entry["detached"] = True
    return H.Response(200)


class _Sender:
    """Writes to the hijacked socket from several threads, one frame at a time."""

    def __init__(self, sock, framed: bool):
        self.sock = sock
        self.framed = framed
        self.lock = threading.Lock()
        self.broken = False

    def send(self, stream: int, data: bytes) -> None:
        if self.broken or not data:
            return
        if self.framed:
            data = struct.pack(">BxxxI", stream, len(data)) + data
        with self.lock:
            try:
                self.sock.sendall(data)
            except OSError:
                self.broken = True


def _read_client(rfile) -> bytes:
    try:
        return rfile.read1(65536) if hasattr(rfile, "read1") else rfile.read(65536)
    except (OSError, ValueError):
        return b""


def _forward_to_pipe(rfile, pipe) -> None:
    """The client's bytes to the program's stdin; the client's half-close closes it."""
    try:
        while data := _read_client(rfile):
            pipe.write(data)
            pipe.flush()
    except (OSError, ValueError):
        pass
    finally:
        try:
            pipe.close()
        except OSError:
            pass


def _copy_pipe(pipe, sender: _Sender, stream: int) -> None:
    try:
        while data := pipe.read1(65536):
            sender.send(stream, data)
    except (OSError, ValueError):
        pass


def _run_with_pipes(engine, entry: dict, sock, rfile) -> None:
    config = entry["config"]
    spec = _runner_spec(engine, entry, tty=False, detach=False)
    stdin = subprocess.PIPE if config.get("AttachStdin") else subprocess.DEVNULL
    stdout = subprocess.PIPE if config.get("AttachStdout", True) else subprocess.DEVNULL
    runner = subprocess.Popen(_runner_argv(spec), stdin=stdin, stdout=stdout, stderr=subprocess.PIPE)
    threading.Thread(target=_note_program_pid, args=(entry, runner), daemon=True).start()
    sender = _Sender(sock, framed=True)
    if runner.stdin is not None:
        threading.Thread(target=_forward_to_pipe, args=(rfile, runner.stdin), daemon=True).start()
    copiers = [threading.Thread(target=_copy_pipe, args=(runner.stderr, sender, STDERR), daemon=True)]
    if runner.stdout is not None:
        copiers.append(threading.Thread(target=_copy_pipe, args=(runner.stdout, sender, STDOUT), daemon=True))
    for copier in copiers:
        copier.start()
    for copier in copiers:
        copier.join()
    _finish(entry, runner.wait())
    _close_socket(sock)


def _note_program_pid(entry: dict, runner, attempts: int = 200) -> None:
    """The exec's Pid is the program's (the runner's child in the
    container's PID namespace), as dockerd reports it, not the runner's."""
    for _ in range(attempts):
        if runner.poll() is not None:
            return
        pid = program_pid(runner.pid)
        if pid:
            entry["pid"] = pid
            return
        time.sleep(0.01)


def program_pid(runner_pid: int) -> int:
    """The child of `runner_pid` that lives in another PID namespace, or 0."""
    try:
        own = os.readlink(f"/proc/{runner_pid}/ns/pid")
        with open(f"/proc/{runner_pid}/task/{runner_pid}/children") as f:
            children = [int(pid) for pid in f.read().split()]
    except (OSError, ValueError):
        return 0
    for child in children:
        try:
            if os.readlink(f"/proc/{child}/ns/pid") != own:
                return child
        except OSError:
            continue
    return 0


def _run_with_terminal(engine, entry: dict, sock, rfile) -> None:
    import socket

    if entry["size"] is None:
        # before API 1.42 the client sends its size by a resize right after
        # the 101: the pty is sized before the program starts if it comes soon
        entry["sized"].wait(_FIRST_RESIZE_WAIT)
    spec = _runner_spec(engine, entry, tty=True, detach=False)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    spec["master_channel"] = theirs.fileno()  # the runner sends the pty's master on it
    runner = subprocess.Popen(_runner_argv(spec), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, pass_fds=(theirs.fileno(),))
    theirs.close()
    sender = _Sender(sock, framed=False)
    master = _receive_master(ours, entry)
    ours.close()
    if master < 0:
        errors = runner.stderr.read()
        sender.send(STDOUT, errors)
        _finish(entry, runner.wait())
        _close_socket(sock)
        return
    entry["master"] = master
    if entry["size"]:
        _size_terminal(master, *entry["size"])
    if entry["config"].get("AttachStdin"):
        threading.Thread(target=_forward_to_terminal, args=(rfile, master), daemon=True).start()
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b""
        if not data:
            break
        sender.send(STDOUT, data)
    runner.stderr.close()
    code = runner.wait()
    entry["master"] = -1
    os.close(master)
    _finish(entry, code)
    _close_socket(sock)


def _receive_master(channel, entry: dict) -> int:
    import socket

    channel.settimeout(60)
    try:
        message, fds, _, _ = socket.recv_fds(channel, 64, 1)
    except OSError:
        return -1
    if not fds:
        return -1
    try:
        entry["pid"] = int(message or b"0")
    except ValueError:
        pass
    return fds[0]


def _forward_to_terminal(rfile, master: int) -> None:
    while data := _read_client(rfile):
        try:
            while data:
                data = data[os.write(master, data):]
        except OSError:
            return


def _close_socket(sock) -> None:
    try:
        sock.shutdown(1)  # our side only: the server reads what is left before closing
    except OSError:
        pass
