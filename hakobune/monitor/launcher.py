"""The caller's side: start a monitor, talk to it over its control socket,
read what it recorded."""

import _socket  # the zygote's request needs no more; `socket` (enums, selectors) is imported to attach
import os
import select
import sys
import time

from hakobune import _fastjson
from hakobune.errors import Conflict, NotFound, SystemFailure
from hakobune.monitor import spec as Sp

# The directory that holds the `hakobune` package: the monitor runs with
# -I -S (no site, no environment), so it is put on sys.path by hand.
_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_ENTRY = "import sys; sys.path.insert(0, sys.argv[1]); from hakobune.monitor.process import main; main(sys.argv[2])"

_ACTIVE = ("created", "running", "restarting")


def start_monitor(spec: Sp.MonitorSpec, timeout: float = 60) -> "MonitorHandle":
    """Start a monitor for spec's container; returns once the container is
    started.  A failure (a bad bundle, a runtime error) raises SystemFailure
    with the runtime's message."""
    os.makedirs(spec.state_dir, mode=0o700, exist_ok=True)
    try:
        previous = read_state(spec.state_dir)
    except NotFound:
        previous = None
    if previous is not None and previous["monitor_alive"]:
        raise Conflict(f"container {spec.container_id} already has a monitor (pid {previous['monitor_pid']})")
    for name in (Sp.EXIT_FILE, Sp.STATE_FILE):
        try:
            os.unlink(spec.path(name))
        except FileNotFoundError:
            pass
    Sp.write_atomically(spec.path(Sp.SPEC_FILE), _fastjson.dumps(spec.to_dict()))
    report_r, report_w = os.pipe()
    devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    log = os.open(spec.path(Sp.MONITOR_LOG), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    intermediate = None
    try:
        if not _fork_from_zygote(spec.state_dir, (devnull, log, log, report_w)):
            argv = [sys.executable, "-I", "-S", "-c", _ENTRY, _PACKAGE_PARENT, spec.state_dir]
            intermediate = os.posix_spawn(sys.executable, argv, os.environ, setsid=True, file_actions=[
                (os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, log, 1), (os.POSIX_SPAWN_DUP2, log, 2),
                (os.POSIX_SPAWN_DUP2, report_w, 3)])
    except OSError as e:
        os.close(report_r)
        raise SystemFailure(f"cannot start a monitor with {sys.executable}: {e.strerror}") from None
    finally:
        os.close(report_w)
        os.close(devnull)
        os.close(log)
    try:
        if intermediate is not None:
            os.waitpid(intermediate, 0)
        line = _read_line(report_r, timeout)
    finally:
        os.close(report_r)
    if not line:
        raise SystemFailure(f"monitor for {spec.container_id} exited before it reported: "
                            f"{_tail(spec.path(Sp.MONITOR_LOG)) or 'no message'}")
    report = _fastjson.loads(line)
    if not report.get("ok"):
        raise SystemFailure(f"cannot start container {spec.container_id}: {report.get('error')}")
    return MonitorHandle(spec.state_dir, spec.container_id, report["monitor_pid"], report["monitor_start_time"],
                         report["pid"])


# --- the monitors' common parent (hakobune.monitor.zygote) ------------------------------

ZYGOTE_NAME = "hk-zygote"  # its /proc/PID/comm (forked monitors keep its command line)
_ZYGOTE_ENTRY = ("import sys; sys.path.insert(0, sys.argv[1]); from hakobune.monitor.zygote import main; "
                 "main(sys.argv[2])")
_CODE = ("monitor/process.py", "monitor/spec.py", "monitor/zygote.py", "monitor/health.py", "monitor/logfile.py",
         "monitor/inprocess.py", "_fastjson.py", "_sys/__init__.py", "errors.py", "oci/runtime_config.py",
         # hakobune's own runtime, which monitors run in forks of themselves (monitor.inprocess)
         *(f"runtime/{name}.py" for name in ("cli", "container", "init", "process", "rootfs", "state", "channel",
                                              "mounts", "paths", "seccomp_cache", "console", "hooks")),
         *(f"runtime/cgroups/{name}.py" for name in ("__init__", "base", "fs", "layout", "v1", "v2", "v1_resources",
                                                      "v2_resources", "devices", "devices_bpf", "bpf", "stats",
                                                      "resources")))


def zygote_socket(state_dir: str) -> str:
    """The zygote's socket beside the monitors' state directories, named
    after the code it would run (sizes and mtimes of the monitor's modules)."""
    import zlib

    package = os.path.join(_PACKAGE_PARENT, "hakobune")
    stamp = [sys.executable]
    for name in _CODE:
        try:
            st = os.stat(os.path.join(package, name))
            stamp.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
        except FileNotFoundError:
            pass
    key = format(zlib.crc32("|".join(stamp).encode()), "08x")
    return os.path.join(os.path.dirname(os.path.abspath(state_dir)), f".zygote-{key}.sock")


def _fork_from_zygote(state_dir: str, fds) -> bool:
    """Ask the zygote (started if needed) to fork the monitor; False when
    it cannot be used, so that the caller starts one of its own."""
    path = zygote_socket(state_dir)
    request = (_fastjson.dumps({"state_dir": state_dir, "env": dict(os.environ)}) + "\n").encode()
    for attempt in range(2):
        connection = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            connection.settimeout(10)
            connection.connect(path)
            connection.sendmsg([request], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, _fd_bytes(fds))])
            return True
        except (FileNotFoundError, ConnectionRefusedError):
            if attempt or not _start_zygote(path):
                return False
        except OSError:
            return False
        finally:
            connection.close()
    return False


def _fd_bytes(fds) -> bytes:
    return b"".join(fd.to_bytes(4, sys.byteorder) for fd in fds)


def _start_zygote(path: str, timeout: float = 10) -> bool:
    """Start a zygote for `path` (a stale socket is replaced); True once it accepts."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    ready_r, ready_w = os.pipe()
    devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    try:
        argv = [sys.executable, "-I", "-S", "-c", _ZYGOTE_ENTRY, _PACKAGE_PARENT, path]
        intermediate = os.posix_spawn(sys.executable, argv, {}, setsid=True, file_actions=[
            (os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1),
            (os.POSIX_SPAWN_DUP2, devnull, 2), (os.POSIX_SPAWN_DUP2, ready_w, 3)])
    except OSError:
        os.close(ready_r)
        return False
    finally:
        os.close(ready_w)
        os.close(devnull)
    try:
        os.waitpid(intermediate, 0)
        poller = select.poll()
        poller.register(ready_r, select.POLLIN)
        poller.poll(int(timeout * 1000))  # closed by the zygote once it accepts (or dies)
    finally:
        os.close(ready_r)
    return os.path.exists(path)


def zygote_pids(under: str = "/") -> list[int]:
    """The zygotes whose socket is below the directory `under`."""
    marker = b"hakobune.monitor.zygote"
    prefix = os.path.join(os.path.abspath(under), "").encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if len(argv) > 1 and any(marker in part for part in argv) and argv[-2].startswith(prefix) \
                and _comm(entry) == ZYGOTE_NAME:
            found.append(int(entry))
    return found


def _comm(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def stop_zygotes(under: str) -> None:
    """End the zygotes of the runroot `under` (its monitors keep running)."""
    import signal

    for pid in zygote_pids(under):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def _read_line(fd: int, timeout: float) -> bytes:
    deadline = time.monotonic() + timeout
    data = b""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            raise SystemFailure("timed out waiting for the monitor to start the container")
        if not poller.poll(int(left * 1000) + 1):
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0]


def _tail(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return f.read()[-2000:].decode(errors="replace").strip()
    except FileNotFoundError:
        return ""


def read_state(state_dir: str) -> dict:
    """The monitor's state file, with `monitor_alive` and `monitor_lost`
    derived: a monitor is lost when the state says the container is active
    but no process with the monitor's pid and start time exists (killed, or
    the pid reused).  A lost monitor's container may still run; its exit
    code can never be learned (only its parent or subreaper could reap it)."""
    state = _read_state_file(state_dir)
    alive = _monitor_alive(state)
    if not alive and state.get("status") in _ACTIVE:
        # the monitor may have written its last state and exited between the
        # read and the check: read again, now that nothing writes it any more
        state = _read_state_file(state_dir)
        alive = _monitor_alive(state)
    state["monitor_alive"] = alive
    state["monitor_lost"] = state.get("status") in _ACTIVE and not alive
    return state


def _read_state_file(state_dir: str) -> dict:
    state = Sp.read_json(os.path.join(state_dir, Sp.STATE_FILE))
    if state is None:
        raise NotFound(f"no monitor state in {state_dir}")
    return state


def _monitor_alive(state: dict) -> bool:
    return (state.get("monitor_start_time") is not None
            and Sp.process_start_time(state["monitor_pid"]) == state["monitor_start_time"])


class Attachment:
    """An attached control connection: output frames in, stdin out."""

    def __init__(self, sock: "socket.socket", hello: dict):  # noqa: F821
        self.sock = sock
        self.reader = sock.makefile("rb")
        self.tty = hello.get("tty", False)
        self.stdin = hello.get("stdin", False)

    def frames(self):
        """Yields {"stream", "data"} frames, then {"exit": code}."""
        for line in self.reader:
            yield _fastjson.loads(line)

    def _send(self, message: dict) -> None:
        self.sock.sendall((_fastjson.dumps(message) + "\n").encode())

    def write(self, data: str) -> None:
        self._send({"stdin": data})

    def close_stdin(self) -> None:
        self._send({"close_stdin": True})

    def resize(self, rows: int, cols: int) -> None:
        self._send({"resize": [rows, cols]})

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


class MonitorHandle:
    def __init__(self, state_dir: str, container_id: str, monitor_pid: int, monitor_start_time: int,
                 container_pid: int):
        self.state_dir = state_dir
        self.container_id = container_id
        self.monitor_pid = monitor_pid
        self.monitor_start_time = monitor_start_time
        self.container_pid = container_pid

    @classmethod
    def open(cls, state_dir: str) -> "MonitorHandle":
        state = read_state(state_dir)
        return cls(state_dir, state["id"], state["monitor_pid"], state["monitor_start_time"], state["pid"])

    @property
    def control_socket(self) -> str:
        return os.path.join(self.state_dir, Sp.CONTROL_SOCKET)

    def alive(self) -> bool:
        return Sp.process_start_time(self.monitor_pid) == self.monitor_start_time

    def state(self) -> dict:
        return read_state(self.state_dir)

    def exit_record(self) -> dict | None:
        return Sp.read_json(os.path.join(self.state_dir, Sp.EXIT_FILE))

    def _connect(self, timeout: float | None) -> "socket.socket":  # noqa: F821
        import socket

        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(self.control_socket)
        except OSError as e:
            sock.close()
            raise SystemFailure(f"monitor of {self.container_id} does not answer: {e.strerror}") from None
        return sock

    def request(self, message: dict, timeout: float | None = 30) -> dict:
        with self._connect(timeout) as sock:
            sock.sendall((_fastjson.dumps(message) + "\n").encode())
            with sock.makefile("rb") as reader:
                line = reader.readline()
        if not line:
            raise SystemFailure(f"monitor of {self.container_id} closed the connection")
        reply = _fastjson.loads(line)
        if not reply.get("ok"):
            raise SystemFailure(reply.get("error", "monitor refused the request"))
        return reply

    def status(self) -> dict:
        return self.request({"cmd": "status"})

    def stop(self, timeout: float = 10, signal: str = "TERM") -> dict:
        """Mark the container stopped by the user (no restart), signal it,
        SIGKILL it after `timeout` seconds; returns once it has exited."""
        return self.request({"cmd": "stop", "timeout": timeout, "signal": signal}, timeout=timeout + 30)

    def attach(self, timeout: float | None = None) -> Attachment:
        sock = self._connect(timeout)
        sock.sendall(b'{"cmd":"attach"}\n')
        hello = b""
        while not hello.endswith(b"\n"):
            byte = sock.recv(1)
            if not byte:
                sock.close()
                raise SystemFailure(f"monitor of {self.container_id} closed the connection")
            hello += byte
        reply = _fastjson.loads(hello)
        if not reply.get("ok"):
            sock.close()
            raise SystemFailure(reply.get("error", "attach refused"))
        return Attachment(sock, reply)

    def wait(self, timeout: float = 60) -> dict:
        """Wait until the monitor is done (the container stopped for good) or
        lost; returns the state."""
        deadline = time.monotonic() + timeout
        while True:
            state = read_state(self.state_dir)
            if not state["monitor_alive"]:
                return state
            if time.monotonic() > deadline:
                raise SystemFailure(f"timed out waiting for container {self.container_id}")
            time.sleep(0.02)
