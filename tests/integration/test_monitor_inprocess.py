"""hakobune's own runtime called by the monitor through its library, in a
fork of the monitor (hakobune.monitor.inprocess), instead of as
`hakobune-runtime` processes: the container is the same, and the monitor
comes out of each call as it went in (namespaces, cwd, descriptors, signal
state), still the container's parent, with only the zygote's modules."""

import os
import signal

import pytest

from hakobune.monitor import inprocess
from test_monitor import Monitors, runtime_status

pytestmark = pytest.mark.root

NAMESPACES = ("mnt", "pid", "net", "uts", "ipc", "cgroup", "user")


@pytest.fixture
def monitors(runtime):
    driver = Monitors(runtime)
    yield driver
    driver.cleanup()


def _namespaces(pid) -> dict:
    return {kind: os.readlink(f"/proc/{pid}/ns/{kind}") for kind in NAMESPACES}


def _status_fields(pid) -> dict:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def _fds(pid) -> list[str]:
    directory = f"/proc/{pid}/fd"
    return sorted(os.readlink(os.path.join(directory, name)) for name in os.listdir(directory))


def test_the_test_runtime_is_run_in_the_monitor(runtime):
    assert inprocess.is_own_runtime(runtime.binary)
    assert not inprocess.is_own_runtime("/usr/bin/runc")


def test_the_monitor_is_unchanged_by_create_and_start(monitors, make_bundle):
    handle = monitors.start(make_bundle(["sleep", "100"]))
    assert runtime_status(monitors.runtime, "c1") == "running"
    monitor = handle.monitor_pid
    # no hakobune-runtime ran: the command line leaves its stderr in runtime.err
    assert not os.path.exists(os.path.join(handle.state_dir, "runtime.err"))
    # the monitor stayed in the host's namespaces, at /, the container's parent
    assert _namespaces(monitor) == _namespaces(os.getpid())
    assert os.readlink(f"/proc/{monitor}/cwd") == "/"
    assert _status_fields(handle.container_pid)["PPid"] == str(monitor)
    # its signal state: nothing blocked; SIGCHLD caught (reaping), SIGHUP and SIGPIPE ignored
    fields = _status_fields(monitor)
    assert int(fields["SigBlk"], 16) == 0
    assert int(fields["SigCgt"], 16) & (1 << (signal.SIGCHLD - 1))
    ignored = int(fields["SigIgn"], 16)
    assert ignored & (1 << (signal.SIGHUP - 1)) and ignored & (1 << (signal.SIGPIPE - 1))
    # no descriptor of the container's or of the runtime's stayed open
    descriptors = _fds(monitor)
    assert not [d for d in descriptors if "exec.fifo" in d or "/dev/pts" in d], descriptors
    status = handle.status()
    assert not {"hakobune.runtime.seccomp", "hakobune.runtime.hooks"} & set(status["modules"])
    # the exit is reaped and recorded by the monitor, and the runtime's state deleted
    os.kill(handle.container_pid, signal.SIGKILL)
    state = handle.wait(20)
    assert state["status"] == "exited" and state["exit_code"] == 137 and not state["monitor_lost"]
    assert monitors.runtime("list", "-q").stdout.split() == []


def test_restarts_and_stop_through_the_library(monitors, make_bundle):
    handle = monitors.start(make_bundle(["sh", "-c", "exit 2"]), restart="on-failure:2")
    state = handle.wait(30)
    assert state["exit_code"] == 2 and state["restart_count"] == 2 and state["status"] == "exited"
    handle = monitors.start(make_bundle(["sh", "-c", "trap 'exit 7' TERM; sleep 100 & wait"]), "c2")
    reply = handle.stop(timeout=10)
    assert reply["exit_code"] == 7  # SIGTERM through the library's kill, trapped
    assert monitors.runtime("list", "-q").stdout.split() == []


def test_a_runtime_error_reads_as_the_command_lines(monitors, make_bundle):
    from hakobune.errors import SystemFailure

    with pytest.raises(SystemFailure) as failure:
        monitors.start(make_bundle(["/no/such/program"]), "bad")
    message = str(failure.value)
    assert "runtime create failed (exit status 1): hakobune-runtime: " in message, message
    assert "/no/such/program" in message
    assert monitors.runtime("list", "-q").stdout.split() == []


def test_the_command_line_is_still_used_when_asked(monitors, make_bundle, monkeypatch):
    monkeypatch.setenv("HAKOBUNE_RUNTIME_IN_MONITOR", "0")  # the monitor gets the caller's environment
    handle = monitors.start(make_bundle(["sh", "-c", "echo hi"]))
    state = handle.wait(20)
    assert state["exit_code"] == 0
    assert monitors.log()[0]["log"] == "hi\n"
    assert os.path.exists(os.path.join(handle.state_dir, "runtime.err"))  # the command line's stderr


def _children(pid) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(child) for child in f.read().split()]


def _cmdline(pid) -> bytes:
    """The process's command line; empty once it is gone."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


def _health(handle) -> dict:
    return handle.state().get("health") or {}


def test_a_health_check_runs_in_a_fork_of_the_monitor(monitors, make_bundle):
    from test_monitor import wait_until

    handle = monitors.start(make_bundle(["sleep", "100"]), health={
        "test": ["CMD-SHELL", "echo probe; echo err >&2; exit 3"], "interval": 0.2, "retries": 2})
    wait_until(lambda: _health(handle).get("Status") == "unhealthy", 20, lambda: _health(handle))
    entry = _health(handle)["Log"][-1]
    assert (entry["ExitCode"], entry["Output"]) == (3, "probe\nerr\n")
    assert not os.path.exists(os.path.join(handle.state_dir, "runtime.err"))


def test_a_health_check_that_outlives_its_timeout_is_killed(monitors, make_bundle):
    from test_monitor import wait_until

    handle = monitors.start(make_bundle(["sleep", "100"]), health={
        "test": ["CMD", "sleep", "50"], "interval": 0.2, "timeout": 1.5, "retries": 1})
    monitor = handle.monitor_pid
    probes = []

    def probe_running():
        probes[:] = [pid for pid in _children(monitor) if pid != handle.container_pid]
        return bool(probes)

    wait_until(probe_running, 10, "a probe")
    probe = probes[0]
    # the probe is a fork of the monitor (no hakobune-runtime process), holding only its stdio
    assert _cmdline(probe) == _cmdline(monitor)
    wait_until(lambda: len(os.listdir(f"/proc/{probe}/fd")) == 3, 5,
               lambda: sorted(os.readlink(f"/proc/{probe}/fd/{fd}") for fd in os.listdir(f"/proc/{probe}/fd")))
    sleeper = []

    def check_running():  # the runtime's exec forks it after the probe's descriptors are closed
        sleeper[:] = [pid for pid in _children(probe) if _cmdline(pid) == b"sleep\x0050\x00"]
        return bool(sleeper)

    wait_until(check_running, 5, lambda: [(pid, _cmdline(pid)) for pid in _children(probe)])
    assert len(sleeper) == 1
    wait_until(lambda: _health(handle).get("Status") == "unhealthy", 10, lambda: _health(handle))
    entry = _health(handle)["Log"][0]
    assert (entry["ExitCode"], entry["Output"]) == (-1, "Health check exceeded timeout (1.5s)")
    assert not os.path.exists(f"/proc/{sleeper[0]}") and not os.path.exists(f"/proc/{probe}")
    # the container lives on; a stop ends it with nothing left behind
    assert runtime_status(monitors.runtime, "c1") == "running"
    handle.stop(timeout=5)
    assert monitors.runtime("list", "-q").stdout.split() == []


def test_a_health_check_through_the_command_line_when_asked(monitors, make_bundle, monkeypatch):
    from test_monitor import wait_until

    monkeypatch.setenv("HAKOBUNE_RUNTIME_IN_MONITOR", "0")
    handle = monitors.start(make_bundle(["sleep", "100"]), health={
        "test": ["CMD", "sh", "-c", "echo ok"], "interval": 0.2, "retries": 1})
    wait_until(lambda: _health(handle).get("Status") == "healthy", 20, lambda: _health(handle))
    assert _health(handle)["Log"][-1]["Output"] == "ok\n"
