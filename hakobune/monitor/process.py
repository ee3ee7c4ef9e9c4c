"""The monitor process: one per container, for the container's whole life.

Started by `launcher.start_monitor` as `python -I -S -c ...` with the state
directory as its argument and a report pipe as fd 3.  It forks once more (the
launcher reaps the intermediate), becomes a child subreaper, and then:
create + start through the runtime, report "started" (or the error) on fd 3,
and loop: container output → json-file log and attached clients, control
socket requests, reaping, restarts with Docker's backoff.  It exits when the
container has stopped for good.

Memory: the import set is the C modules `_json`, `_socket`, `_signal`,
`select`, `time`, plus `ctypes` (through `_sys`, for prctl); no `socket`,
`signal`, `json`, `subprocess` (they pull in enum, re, selectors, threading).
A monitor forked from the zygote also has the runtime's library (imported
there, shared): hakobune's own runtime runs in forks of the monitor
(`inprocess.py`); a monitor started on its own leaves those imports to the
forks, so that its own pages stay as few.
"""

import _signal
import _socket
import os
import select
import sys
import time

from hakobune import _fastjson
from hakobune.monitor import spec as Sp
from hakobune.monitor.logfile import LogWriter

_READ_SIZE = 65536
_CLIENT_BUFFER_LIMIT = 4 << 20


_PTY_DRAIN_SECONDS = 0.5  # at most, after the container's exit, for its pty's last output


def _readable_soon(fd: int, timeout: float) -> bool:
    """Whether `fd` becomes readable (or hung up) within `timeout` seconds."""
    if timeout <= 0:
        return False
    waiter = select.poll()
    waiter.register(fd, select.POLLIN)
    return bool(waiter.poll(int(timeout * 1000) + 1))


# Reported by `status` when loaded: the modules the monitor must not need.
_WATCHED_MODULES = frozenset(("socket", "json", "re", "enum", "subprocess", "threading", "signal", "selectors"))


class MonitorError(Exception):
    pass


def _nonblocking(fd: int) -> int:
    os.set_blocking(fd, False)
    return fd


def _close(fd) -> None:
    if fd is not None and fd >= 0:
        try:
            os.close(fd)
        except OSError:
            pass


class NoLog:
    """Docker's `none` logging driver: output goes to attached clients only."""

    def write(self, stream: str, data: bytes) -> None:
        pass

    def flush(self) -> None:
        pass


class Client:
    """A connection on the control socket: a request line, then replies; an
    attached client keeps receiving output frames."""

    def __init__(self, fd: int):
        self.fd = fd
        self.inbuf = b""
        self.outbuf = b""
        self.attached = False
        self.close_after_flush = False

    def send(self, message: dict) -> None:
        self.outbuf += (_fastjson.dumps(message) + "\n").encode()


class Monitor:
    def __init__(self, spec: Sp.MonitorSpec):
        self.spec = spec
        self.policy = spec.restart
        self.log = LogWriter(spec.log_path, spec.log_max_size, spec.log_max_file) if spec.log_path else NoLog()
        self.state = {
            "id": spec.container_id, "monitor_pid": os.getpid(),
            "monitor_start_time": Sp.process_start_time(os.getpid()),
            "status": "created", "pid": 0, "restart_count": 0, "stopped_by_user": False,
            "restart_policy": str(self.policy), "started_at": None, "finished_at": None,
            "exit_code": None, "history": [], "restart_delays": [],
        }
        self.outputs = {}  # fd -> stream name
        self.stdin_fd = None
        self.clients = {}  # fd -> Client
        self.stop_waiters = []
        self.kill_deadline = None
        self.restart_at = None
        self.delay = 0.0
        self.running = False
        self.done = False
        self.poll = select.poll()
        self.wake_r, self.wake_w = os.pipe()
        _nonblocking(self.wake_r)
        _nonblocking(self.wake_w)
        _signal.signal(_signal.SIGCHLD, lambda *_: None)
        _signal.signal(_signal.SIGHUP, _signal.SIG_IGN)
        _signal.signal(_signal.SIGPIPE, _signal.SIG_IGN)
        _signal.set_wakeup_fd(self.wake_w)
        self.poll.register(self.wake_r, select.POLLIN)
        self.control = self._listen(spec.path(Sp.CONTROL_SOCKET), 16)
        _nonblocking(self.control.fileno())
        self.poll.register(self.control.fileno(), select.POLLIN)
        self.in_process = _own_runtime(spec.runtime)
        self.health = None
        if spec.health:
            from hakobune.monitor.health import HealthChecker

            self.health = HealthChecker(spec, self.state, in_process=self.in_process)

    # -- state ---------------------------------------------------------------
    def save(self) -> None:
        Sp.write_atomically(self.spec.path(Sp.STATE_FILE), _fastjson.dumps(self.state))

    @staticmethod
    def _listen(path: str, backlog: int):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
        sock.bind(path)
        os.chmod(path, 0o600)
        sock.listen(backlog)
        return sock

    # -- the runtime -----------------------------------------------------------
    def _runtime(self, args: list, stdio=None, last: bool = False) -> tuple[int, str]:
        """Run the runtime to completion; returns (exit status, stderr).
        hakobune's own runtime runs in a fork of this process (`inprocess`),
        or, for the `last` call of a monitor about to exit (whose pages no
        longer matter), in this very process: no fork to wait for."""
        if self.in_process and last:
            from hakobune.monitor import inprocess

            return inprocess.call_here(self.spec.runtime_root, args)
        if self.in_process:
            return self._runtime_in_process(args, stdio)
        devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        err_path = self.spec.path("runtime.err")
        err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        stdin, stdout, stderr = stdio or (devnull, devnull, err)
        argv = [self.spec.runtime, "--root", self.spec.runtime_root, *args]
        try:
            pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[
                (os.POSIX_SPAWN_DUP2, stdin, 0), (os.POSIX_SPAWN_DUP2, stdout, 1),
                (os.POSIX_SPAWN_DUP2, err if stderr is None else stderr, 2)])
        except OSError as e:
            raise MonitorError(f"cannot run the runtime {argv[0]}: {e.strerror}") from None
        finally:
            os.close(devnull)
            os.close(err)
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
        with open(err_path, "rb") as f:
            message = f.read().decode(errors="replace").strip()
        return os.waitstatus_to_exitcode(status), message

    def _runtime_in_process(self, args: list, stdio) -> tuple[int, str]:
        from hakobune.monitor import inprocess

        if stdio is None or stdio[2] is not None:
            return inprocess.call(self.spec.runtime_root, args, stdio)
        devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        try:
            return inprocess.call(self.spec.runtime_root, args, (stdio[0], stdio[1], devnull))
        finally:
            os.close(devnull)

    def _check_runtime(self, verb: str, args: list, stdio=None) -> None:
        code, message = self._runtime(args, stdio)
        if code != 0:
            raise MonitorError(f"runtime {verb} failed (exit status {code}): {message or 'no message'}")

    def launch(self) -> None:
        """create + start the container with fresh stdio."""
        spec = self.spec
        console = None
        ours, theirs = [], []
        devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        theirs.append(devnull)
        pid_file = spec.path(Sp.PID_FILE)
        # hakobune's own runtime creates and starts in one fork of the monitor (`inprocess`)
        together = self.in_process
        args = ["create-start" if together else "create", "--bundle", spec.bundle, "--pid-file", pid_file]
        try:
            if spec.tty:
                console = self._listen(spec.path(Sp.CONSOLE_SOCKET), 1)
                args += ["--console-socket", spec.path(Sp.CONSOLE_SOCKET)]
                stdio = (devnull, devnull, None)
            else:
                out_r, out_w = os.pipe()
                err_r, err_w = os.pipe()
                ours += [out_r, err_r]
                theirs += [out_w, err_w]
                stdin = devnull
                if spec.stdin_open:
                    stdin, in_w = os.pipe()
                    ours.append(in_w)
                    theirs.append(stdin)
                stdio = (stdin, out_w, err_w)
            args.append(spec.container_id)
            code, message = self._runtime(args, stdio)
            if together and code == inprocess_start_failed():
                self._runtime(["delete", "--force", spec.container_id])
                raise MonitorError(f"runtime start failed (exit status 1): {message or 'no message'}")
            if code != 0:
                if not spec.tty:  # the runtime's stderr is the container's
                    os.set_blocking(err_r, False)
                    try:
                        message = (message + os.read(err_r, 65536).decode(errors="replace")).strip()
                    except BlockingIOError:
                        pass
                raise MonitorError(f"runtime create failed (exit status {code}): {message or 'no message'}")
            for fd in theirs:
                os.close(fd)
            theirs = []
            if spec.tty:
                master = self._receive_master(console)
                ours.append(master)
                self.outputs = {_nonblocking(master): "stdout"}
                self.stdin_fd = master if spec.stdin_open else None
            else:
                self.outputs = {_nonblocking(out_r): "stdout", _nonblocking(err_r): "stderr"}
                self.stdin_fd = in_w if spec.stdin_open else None
            with open(pid_file) as f:
                pid = int(f.read().strip())
            started = time.time()  # the program starts during `runtime start` (just done, if together)
            if not together:
                try:
                    self._check_runtime("start", ["start", spec.container_id])
                except BaseException:
                    self._runtime(["delete", "--force", spec.container_id])
                    raise
        except BaseException:
            for fd in ours + theirs:
                _close(fd)
            self.outputs = {}
            self.stdin_fd = None
            raise
        finally:
            if console is not None:
                console.close()
                try:
                    os.unlink(spec.path(Sp.CONSOLE_SOCKET))
                except FileNotFoundError:
                    pass
        for fd in self.outputs:
            self.poll.register(fd, select.POLLIN)
        self.running = True
        self.state.update(status="running", pid=pid, started_at=started, exit_code=None)
        if self.health is not None:
            self.health.container_started()
        self.save()

    @staticmethod
    def _receive_master(console) -> int:
        console.settimeout(10)
        connection, _ = console._accept()
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM, 0, connection)
        try:
            sock.settimeout(10)
            size = _socket.CMSG_SPACE(4)
            _, ancillary, _, _ = sock.recvmsg(1024, size)
            for level, kind, data in ancillary:
                if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                    fd = int.from_bytes(data[:4], sys.byteorder)
                    os.set_inheritable(fd, False)
                    return fd
        finally:
            sock.close()
        raise MonitorError("console socket: the runtime sent no pty master")

    # -- the loop ------------------------------------------------------------
    def run(self) -> None:
        while not self.done:
            timeout = None
            health_due = self.health.deadline() if self.health is not None else None
            deadline = min((t for t in (self.kill_deadline, self.restart_at, health_due) if t is not None),
                           default=None)
            if deadline is not None:
                timeout = max(0, int((deadline - time.monotonic()) * 1000) + 1)
            for fd, events in self.poll.poll(timeout):
                if fd == self.wake_r:
                    self._drain_wakeups()
                elif fd == self.control.fileno():
                    self._accept()
                elif fd in self.outputs:
                    self._read_output(fd)
                elif fd in self.clients:
                    self._client_event(self.clients[fd], events)
                elif self.health is not None and fd == self.health.probe_fd:
                    self.health.read_output(self.poll)
            self._reap()
            now = time.monotonic()
            if self.health is not None and self.running:
                self.health.tick(now, self.poll)
            if self.kill_deadline is not None and now >= self.kill_deadline:
                self.kill_deadline = None
                self._signal_container("KILL")
            if self.restart_at is not None and now >= self.restart_at:
                self.restart_at = None
                self._restart()
        self._shutdown()

    def _drain_wakeups(self) -> None:
        try:
            while os.read(self.wake_r, 256):
                pass
        except BlockingIOError:
            pass

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if self.running and pid == self.state["pid"]:
                self._exited(status)
            elif self.health is not None and self.health.reaped(pid, status, self.poll):
                self.save()

    # -- output --------------------------------------------------------------
    def _read_output(self, fd: int) -> bool:
        try:
            data = os.read(fd, _READ_SIZE)
        except BlockingIOError:
            return False
        except OSError:  # EIO: the pty's other side is gone
            data = b""
        stream = self.outputs[fd]
        if not data:
            self._close_output(fd)
            return False
        self.log.write(stream, data)
        if self.spec.tty:
            self.log.flush()  # a terminal's output is no lines: a prompt must reach the log (and `run -it`) at once
        frame = {"stream": stream, "data": data.decode("utf-8", "surrogateescape")}
        for client in list(self.clients.values()):
            if client.attached:
                client.send(frame)
                self._flush(client)
        return True

    def _close_output(self, fd: int) -> None:
        self.poll.unregister(fd)
        del self.outputs[fd]
        if fd != self.stdin_fd:
            os.close(fd)

    def _drain_outputs(self) -> None:
        """Read what the exited container left in its pipes or pty.  A pty
        may hold it back a moment: the kernel moves a terminal's output to
        the master's side from a work queue, so right after the last writer
        exits a read can find nothing yet (EAGAIN) although the output is
        on its way; the end of a pty is EIO, once all of it was read.  So a
        pty is read until EIO (or _PTY_DRAIN_SECONDS without news: the
        slave may be held by a process outside the container's PID
        namespace); a pipe until it is empty."""
        for fd in list(self.outputs):
            patience = time.monotonic() + (_PTY_DRAIN_SECONDS if self.spec.tty else 0.0)
            while fd in self.outputs:
                if self._read_output(fd):
                    continue
                if fd not in self.outputs or not _readable_soon(fd, patience - time.monotonic()):
                    break
        for fd in list(self.outputs):
            self._close_output(fd)
        self.log.flush()
        if self.stdin_fd is not None:
            _close(self.stdin_fd)
            self.stdin_fd = None

    # -- exit and restart -------------------------------------------------------
    def _exited(self, status: int) -> None:
        self.running = False
        if self.health is not None:
            self.health.container_stopped()
        code = os.waitstatus_to_exitcode(status)
        if code < 0:
            code = 128 - code
        finished_ns = time.time_ns()
        self._drain_outputs()
        self.kill_deadline = None
        started = self.state["started_at"] or 0
        self.state["error"] = None
        self._finish_run(code, finished_ns, finished_ns / 1e9 - started)

    def _finish_run(self, code: int, finished_ns: int, ran: float) -> None:
        """Record a run's end, tell whoever waits, and apply the policy."""
        state = self.state
        state.update(status="exited", exit_code=code, finished_at=finished_ns / 1e9)
        state["history"] = (state["history"] + [{"started_at": state["started_at"], "finished_at": finished_ns / 1e9,
                                                  "exit_code": code}])[-20:]
        Sp.write_atomically(self.spec.path(Sp.EXIT_FILE), _fastjson.dumps({
            "exit_code": code, "finished_at": Sp.rfc3339nano(finished_ns), "finished_at_unix": finished_ns / 1e9,
            "restart_count": state["restart_count"], "stopped_by_user": state["stopped_by_user"],
            "error": state.get("error")}))
        restart = self.policy.should_restart(code, state["restart_count"], state["stopped_by_user"])
        self._runtime(["delete", "--force", self.spec.container_id], last=not restart)
        for client in list(self.clients.values()):
            if client.attached:
                client.send({"exit": code})
                client.close_after_flush = True
                self._flush(client)
        for client in self.stop_waiters:
            client.send({"ok": True, "exit_code": code})
            client.close_after_flush = True
            self._flush(client)
        self.stop_waiters = []
        if restart:
            if ran >= Sp.BACKOFF_RESET_AFTER or not self.delay:
                self.delay = Sp.BACKOFF_FIRST
            else:
                self.delay = min(self.delay * 2, Sp.BACKOFF_MAX)
            state["status"] = "restarting"
            state["restart_delays"] = (state["restart_delays"] + [self.delay])[-20:]
            self.restart_at = time.monotonic() + self.delay
            self.save()
        else:
            self.save()
            self.done = True

    def _restart(self) -> None:
        self.state["restart_count"] += 1
        try:
            self.launch()
        except Exception as e:  # noqa: BLE001 - any failure is a failed run, never the monitor's end
            # A restart the runtime refuses counts as a run that failed at
            # once (exit code 128, as Docker records a failed start); the
            # policy decides whether to try again, with the backoff.
            sys.stderr.write(f"monitor {self.spec.container_id}: restart failed: {e}\n")
            sys.stderr.flush()
            self.state["error"] = str(e)
            self.state["started_at"] = time.time()
            self._finish_run(128, time.time_ns(), 0.0)

    def _signal_container(self, name: str) -> None:
        if not self.running:
            return
        code, _ = self._runtime(["kill", self.spec.container_id, name])
        if code != 0:
            try:
                os.kill(self.state["pid"], getattr(_signal, "SIG" + name))
            except (ProcessLookupError, AttributeError):
                pass

    # -- control socket --------------------------------------------------------
    def _accept(self) -> None:
        while True:
            try:
                fd, _ = self.control._accept()
            except (BlockingIOError, InterruptedError):
                return
            os.set_inheritable(fd, False)
            _nonblocking(fd)
            self.clients[fd] = Client(fd)
            self.poll.register(fd, select.POLLIN)

    def _client_event(self, client: Client, events: int) -> None:
        if events & select.POLLOUT:
            self._flush(client)
        if client.fd not in self.clients or not events & (select.POLLIN | select.POLLHUP | select.POLLERR):
            return
        try:
            data = os.read(client.fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(client)
            return
        client.inbuf += data
        while b"\n" in client.inbuf and client.fd in self.clients:
            line, client.inbuf = client.inbuf.split(b"\n", 1)
            try:
                message = _fastjson.loads(line)
                if not isinstance(message, dict):
                    raise ValueError("a request is a JSON object")
                self._handle(client, message)
            except (ValueError, TypeError, KeyError) as e:
                client.send({"ok": False, "error": f"bad request: {e}"})
                client.close_after_flush = True
            self._flush(client)

    def _handle(self, client: Client, message: dict) -> None:
        if client.attached:
            if "stdin" in message and self.stdin_fd is not None:
                self._write_stdin(message["stdin"].encode("utf-8", "surrogateescape"))
            elif message.get("close_stdin") and self.stdin_fd is not None and not self.spec.tty:
                _close(self.stdin_fd)
                self.stdin_fd = None
            elif "resize" in message and self.spec.tty and self.outputs:
                import fcntl
                import termios

                rows, cols = message["resize"]
                fcntl.ioctl(next(iter(self.outputs)), termios.TIOCSWINSZ,
                            int(rows).to_bytes(2, sys.byteorder) + int(cols).to_bytes(2, sys.byteorder) + bytes(4))
            return
        command = message.get("cmd")
        if command == "status":
            modules = sorted(m for m in sys.modules if m.startswith("hakobune") or m in _WATCHED_MODULES)
            client.send({"ok": True, **self.state, "modules": modules})
            client.close_after_flush = True
        elif command == "update":
            self._update(client, message)
        elif command == "stop":
            self._stop(client, float(message.get("timeout", 10)), str(message.get("signal", "TERM")))
        elif command == "attach":
            if not self.running:
                client.send({"ok": False, "error": f"container {self.spec.container_id} is not running"})
                client.close_after_flush = True
                return
            client.attached = True
            client.send({"ok": True, "tty": self.spec.tty, "stdin": self.stdin_fd is not None})
        else:
            client.send({"ok": False, "error": f"unknown command {command!r}"})
            client.close_after_flush = True

    def _update(self, client: Client, message: dict) -> None:
        """Take a new restart policy (`docker update --restart`)."""
        if "restart" in message:
            try:
                self.policy = Sp.RestartPolicy.parse(str(message["restart"]))
            except ValueError as e:
                client.send({"ok": False, "error": str(e)})
                client.close_after_flush = True
                return
            self.state["restart_policy"] = str(self.policy)
            self.save()
        client.send({"ok": True, "restart_policy": str(self.policy)})
        client.close_after_flush = True

    def _stop(self, client: Client, timeout: float, signal_name: str) -> None:
        self.state["stopped_by_user"] = True
        self.save()
        if self.running:
            self.stop_waiters.append(client)
            name = signal_name.upper().removeprefix("SIG")
            self._signal_container(name)
            self.kill_deadline = time.monotonic() + max(0.0, timeout)
        else:
            if self.restart_at is not None:
                self.restart_at = None
                self.state["status"] = "exited"
                self.save()
                self.done = True
            client.send({"ok": True, "exit_code": self.state["exit_code"]})
            client.close_after_flush = True

    def _write_stdin(self, data: bytes) -> None:
        # Blocking write: stdin is small, interactive input.
        try:
            os.set_blocking(self.stdin_fd, True)
            os.write(self.stdin_fd, data)
        except OSError:
            pass
        finally:
            if self.stdin_fd is not None:
                try:
                    os.set_blocking(self.stdin_fd, False)
                except OSError:
                    pass

    def _flush(self, client: Client) -> None:
        if client.fd not in self.clients:
            return
        while client.outbuf:
            try:
                written = os.write(client.fd, client.outbuf)
            except BlockingIOError:
                break
            except OSError:
                self._drop(client)
                return
            client.outbuf = client.outbuf[written:]
        if client.outbuf:
            if len(client.outbuf) > _CLIENT_BUFFER_LIMIT:
                self._drop(client)  # a client that does not read is cut off, never waited for
                return
            self.poll.modify(client.fd, select.POLLIN | select.POLLOUT)
        else:
            self.poll.modify(client.fd, select.POLLIN)
            if client.close_after_flush:
                self._drop(client)

    def _drop(self, client: Client) -> None:
        if self.clients.pop(client.fd, None) is None:
            return
        if client in self.stop_waiters:
            self.stop_waiters.remove(client)
        self.poll.unregister(client.fd)
        os.close(client.fd)

    def _shutdown(self) -> None:
        for client in list(self.clients.values()):
            try:
                os.set_blocking(client.fd, True)
                if client.outbuf:
                    os.write(client.fd, client.outbuf)
            except OSError:
                pass
            self._drop(client)
        self.control.close()
        try:
            os.unlink(self.spec.path(Sp.CONTROL_SOCKET))
        except FileNotFoundError:
            pass


def inprocess_start_failed() -> int:
    from hakobune.monitor import inprocess

    return inprocess.START_FAILED


def _own_runtime(runtime: str) -> bool:
    from hakobune.monitor import inprocess

    return inprocess.is_own_runtime(runtime)


def main(state_dir: str) -> None:
    """Entry point of the launched interpreter; fd 3 is the report pipe."""
    report = 3
    os.set_inheritable(report, False)
    if os.fork():
        os._exit(0)  # the launcher reaps this intermediate; the monitor is orphaned
    os.umask(0o022)
    os.chdir("/")
    monitor = None
    try:
        from hakobune import _sys as S

        S.prctl(S.PR_SET_CHILD_SUBREAPER, 1)
        spec = Sp.MonitorSpec.from_dict(Sp.read_json(os.path.join(state_dir, Sp.SPEC_FILE)))
        monitor = Monitor(spec)
        monitor.save()
        monitor.launch()
    except BaseException as e:
        message = str(e) if isinstance(e, MonitorError) else f"monitor: {type(e).__name__}: {e}"
        if monitor is not None:
            monitor.state.update(status="failed", error=message)
            monitor.save()
            monitor._shutdown()
        os.write(report, (_fastjson.dumps({"ok": False, "error": message}) + "\n").encode())
        os._exit(1)
    os.write(report, (_fastjson.dumps({"ok": True, "pid": monitor.state["pid"], "monitor_pid": os.getpid(),
                                       "monitor_start_time": monitor.state["monitor_start_time"]}) + "\n").encode())
    os.close(report)
    try:
        monitor.run()
    except BaseException as e:
        sys.stderr.write(f"monitor {spec.container_id}: {type(e).__name__}: {e}\n")
        raise
