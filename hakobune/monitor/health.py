"""Health checks, run by the monitor as Docker's daemon runs them.

The probe is the container's own command, run inside it through the
runtime's exec (`exec --pid-file F <id> cmd...`): hakobune's own runtime
runs it in a fork of the monitor, through its library (`inprocess.spawn`,
sparing an interpreter's start per check); another runtime (runc, crun, a
path) as its command line.  CMD-SHELL through `/bin/sh -c`, CMD as given.
The first probe comes one interval after the start (the start interval,
if set, during the start period); a probe that outlives its timeout is
killed and counts as a failure (exit code -1).  Exit 0 is healthy and ends
the failing streak; any other failure lengthens it, except while the
container is still `starting` within its start period; `retries` failures
in a row make it unhealthy.  The state, in inspect's State.Health shape
({"Status", "FailingStreak", "Log": the last 5 {Start, End, ExitCode,
Output}}), lives in the monitor's state.json.

Forked or posix_spawn()ed, read through the monitor's poll loop and reaped
by its waitpid: no thread, no subprocess module.  A probe that outlives its
timeout is killed twice over: the program (whose pid the exec wrote to
health.pid) and the runtime's process.
"""

import os
import time

DEFAULT_INTERVAL = 30.0
DEFAULT_TIMEOUT = 30.0
DEFAULT_START_INTERVAL = 5.0
DEFAULT_RETRIES = 3
MAX_LOG_ENTRIES = 5
MAX_OUTPUT = 4096
PID_FILE = "health.pid"


def _now_text() -> str:
    from hakobune.monitor.spec import rfc3339nano

    return rfc3339nano(time.time_ns())


class HealthChecker:
    def __init__(self, spec, state: dict, in_process: bool = False):
        config = spec.health
        self.spec = spec
        self.in_process = in_process  # hakobune's own runtime: its exec runs in a fork of the monitor
        self.state = state  # the monitor's state dict; "health" is ours
        test = list(config["test"])
        self.argv = ["/bin/sh", "-c", test[1]] if test[0] == "CMD-SHELL" else test[1:]
        self.interval = config.get("interval") or DEFAULT_INTERVAL
        self.timeout = config.get("timeout") or DEFAULT_TIMEOUT
        self.start_period = config.get("start_period") or 0.0
        self.start_interval = config.get("start_interval") or DEFAULT_START_INTERVAL
        self.retries = config.get("retries") or DEFAULT_RETRIES
        self.started = 0.0  # monotonic time of the container's start
        self.next_at = None
        self.probe_pid = None
        self.probe_fd = None
        self.probe_deadline = None
        self.probe_start = ""
        self.output = b""
        self.timed_out = False
        self.discarded = False  # the probe was killed because the container stopped
        previous = state.get("health") or {}
        state["health"] = {"Status": "starting", "FailingStreak": 0, "Log": list(previous.get("Log") or [])}

    # -- scheduling ------------------------------------------------------------
    def container_started(self) -> None:
        self.started = time.monotonic()
        health = self.state["health"]
        health["Status"] = "starting"
        health["FailingStreak"] = 0
        self.next_at = self.started + self._interval(self.started)

    def container_stopped(self) -> None:
        self.next_at = None
        self.probe_deadline = None
        self.discarded = self.probe_pid is not None
        self._kill_probe()

    def _in_start_period(self, now: float) -> bool:
        return now - self.started < self.start_period

    def _interval(self, now: float) -> float:
        if self.start_period and self.state["health"]["Status"] == "starting" and self._in_start_period(now) \
                and self.spec.health.get("start_interval"):
            return self.start_interval
        return self.interval

    def deadline(self) -> float | None:
        times = [t for t in (self.next_at, self.probe_deadline) if t is not None]
        return min(times) if times else None

    def tick(self, now: float, poll) -> None:
        """Start a probe when one is due; kill one that outlived its timeout."""
        if self.probe_deadline is not None and now >= self.probe_deadline:
            self.timed_out = True
            self.probe_deadline = None
            self._kill_probe()
        if self.next_at is not None and now >= self.next_at and self.probe_pid is None:
            self.next_at = None
            self._spawn(poll)

    # -- a probe -----------------------------------------------------------------
    def _spawn(self, poll) -> None:
        import select

        spec = self.spec
        pid_file = spec.path(PID_FILE)
        try:
            os.unlink(pid_file)
        except FileNotFoundError:
            pass
        # no "--" before the command: runc takes everything after the id as the command
        args = ["exec", "--pid-file", pid_file, spec.container_id, *self.argv]
        read_fd, write_fd = os.pipe()
        devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        self.probe_start = _now_text()
        self.output = b""
        self.timed_out = False
        self.discarded = False
        try:
            self.probe_pid = self._start_exec(args, (devnull, write_fd, write_fd))
        except OSError as e:
            os.close(read_fd)
            self._record(-1, f"cannot run the runtime {spec.runtime}: {e.strerror}")
            return
        finally:
            os.close(write_fd)
            os.close(devnull)
        os.set_blocking(read_fd, False)
        self.probe_fd = read_fd
        poll.register(read_fd, select.POLLIN)
        self.probe_deadline = time.monotonic() + self.timeout

    def _start_exec(self, args: list, stdio: tuple) -> int:
        """The runtime's exec, started: the pid the monitor will reap."""
        if self.in_process:
            from hakobune.monitor import inprocess

            return inprocess.spawn(self.spec.runtime_root, args, stdio)
        argv = [self.spec.runtime, "--root", self.spec.runtime_root, *args]
        return os.posix_spawn(argv[0], argv, os.environ, file_actions=[
            (os.POSIX_SPAWN_DUP2, fd, target) for target, fd in enumerate(stdio)])

    def read_output(self, poll) -> None:
        try:
            data = os.read(self.probe_fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close_output(poll)
            return
        if len(self.output) < MAX_OUTPUT:
            self.output += data[:MAX_OUTPUT - len(self.output)]

    def _close_output(self, poll) -> None:
        if self.probe_fd is not None:
            poll.unregister(self.probe_fd)
            os.close(self.probe_fd)
            self.probe_fd = None

    def reaped(self, pid: int, status: int, poll) -> bool:
        """The monitor reaped `pid`: if it was our probe, record its result."""
        if pid != self.probe_pid:
            return False
        self.probe_pid = None
        self.probe_deadline = None
        while self.probe_fd is not None:
            try:
                data = os.read(self.probe_fd, 65536)
            except BlockingIOError:
                break
            except OSError:
                data = b""
            if not data:
                break
            self.output += data[:max(0, MAX_OUTPUT - len(self.output))]
        self._close_output(poll)
        if self.discarded:
            return True
        if self.timed_out:
            self._record(-1, f"Health check exceeded timeout ({_duration_text(self.timeout)})")
        else:
            code = os.waitstatus_to_exitcode(status)
            self._record(code if code >= 0 else 128 - code, self.output.decode("utf-8", "replace"))
        return True

    def _kill_probe(self) -> None:
        if self.probe_pid is None:
            return
        try:
            with open(self.spec.path(PID_FILE)) as f:
                os.kill(int(f.read().strip()), 9)
        except (OSError, ValueError):
            pass
        try:
            os.kill(self.probe_pid, 9)
        except ProcessLookupError:
            pass

    def _record(self, code: int, output: str) -> None:
        now = time.monotonic()
        health = self.state["health"]
        health["Log"] = (health["Log"] + [{"Start": self.probe_start, "End": _now_text(), "ExitCode": code,
                                           "Output": output}])[-MAX_LOG_ENTRIES:]
        if code == 0:
            health["FailingStreak"] = 0
            health["Status"] = "healthy"
        elif not (health["Status"] == "starting" and self._in_start_period(now)):
            health["FailingStreak"] += 1
            if health["FailingStreak"] >= self.retries:
                health["Status"] = "unhealthy"
        if self.started:
            self.next_at = now + self._interval(now)


def _duration_text(seconds: float) -> str:
    """Go's time.Duration text for whole and fractional seconds ("30s", "1.5s", "500ms")."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    if seconds < 60:
        return f"{seconds:g}s"
    minutes, rest = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    text = f"{hours}h" if hours else ""
    return text + f"{minutes}m{rest:g}s"
