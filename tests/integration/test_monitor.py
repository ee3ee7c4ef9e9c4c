"""Per-container monitors (hakobune.monitor) driving hakobune-runtime with
busybox bundles: logs, exit records, restart policies, the control socket,
and what survives the death of the launcher or of the monitor."""

import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from hakobune.errors import Conflict, SystemFailure
from hakobune.monitor import MonitorSpec, RestartPolicy, read_state, start_monitor
from hakobune.monitor.spec import process_start_time, rfc3339nano

pytestmark = pytest.mark.root

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Monitors:
    """Starts monitors in a private runroot and runtime root; `cleanup` kills
    what is left (monitors by pid + start time, containers through the
    runtime) and removes every directory, whatever the test did."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.base = tempfile.mkdtemp(prefix="hakobune-test-mon-", dir="/run")
        self.handles = []
        self.ids = set()

    def spec(self, bundle, container_id, **options) -> MonitorSpec:
        bundle.save()
        self.ids.add(container_id)
        return MonitorSpec(container_id, bundle.path, os.path.join(self.base, "state", container_id),
                           os.path.join(self.base, "logs", container_id + ".json"),
                           runtime=self.runtime.binary, runtime_root=self.runtime.root, **options)

    def start(self, bundle, container_id="c1", **options):
        handle = start_monitor(self.spec(bundle, container_id, **options))
        self.handles.append(handle)
        return handle

    def adopt(self, state_dir):
        from hakobune.monitor import MonitorHandle

        handle = MonitorHandle.open(state_dir)
        self.handles.append(handle)
        return handle

    def log(self, container_id="c1") -> list[dict]:
        with open(os.path.join(self.base, "logs", container_id + ".json")) as f:
            return [json.loads(line) for line in f]

    def cleanup(self):
        for handle in self.handles:
            if handle.alive():
                os.kill(handle.monitor_pid, signal.SIGKILL)
        for container_id in self.ids:
            self.runtime("delete", "--force", container_id, check=False)
        from hakobune.monitor.launcher import stop_zygotes

        stop_zygotes(self.base)
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def monitors(runtime):
    driver = Monitors(runtime)
    yield driver
    driver.cleanup()


def runtime_status(runtime, container_id):
    result = runtime("state", container_id, check=False)
    return json.loads(result.stdout)["status"] if result.returncode == 0 else None


def wait_until(predicate, timeout=10, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")


def parse_time(text):
    # RFC3339Nano with up to 9 fraction digits; datetime takes 6.
    whole, _, fraction = text.rstrip("Z").partition(".")
    value = datetime.datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return value.timestamp() + (float("0." + fraction) if fraction else 0)


def test_output_lands_in_the_json_file_log_and_the_exit_is_recorded(monitors, make_bundle):
    bundle = make_bundle(["sh", "-c", "echo out1; echo err1 >&2; echo out2; sleep 0.5; printf tail; exit 3"])
    before = time.time()
    handle = monitors.start(bundle)
    # The launcher has returned while the container still runs.
    assert runtime_status(monitors.runtime, "c1") == "running"
    assert handle.status()["status"] == "running"
    state = handle.wait(20)
    assert state["status"] == "exited" and state["exit_code"] == 3 and not state["monitor_lost"]
    entries = monitors.log()
    assert [(e["log"], e["stream"]) for e in entries if e["stream"] == "stdout"] == [
        ("out1\n", "stdout"), ("out2\n", "stdout"), ("tail", "stdout")]
    assert [e["log"] for e in entries if e["stream"] == "stderr"] == ["err1\n"]
    for entry in entries:
        assert set(entry) == {"log", "stream", "time"}
        assert before <= parse_time(entry["time"]) <= time.time()
    record = handle.exit_record()
    assert record["exit_code"] == 3
    finished = parse_time(record["finished_at"])
    assert abs(finished - record["finished_at_unix"]) < 1e-3
    assert state["started_at"] + 0.49 <= finished <= time.time()
    # The monitor deleted the container and removed its control socket.
    assert monitors.runtime("list", "-q").stdout.split() == []
    assert not os.path.exists(handle.control_socket)


def test_on_failure_restarts_exactly_max_times_with_growing_delays(monitors, make_bundle):
    handle = monitors.start(make_bundle(["sh", "-c", "echo run; exit 1"]), restart="on-failure:2")
    state = handle.wait(30)
    assert state["status"] == "exited" and state["exit_code"] == 1
    assert state["restart_count"] == 2
    assert state["restart_delays"] == [0.1, 0.2]
    history = state["history"]
    assert len(history) == 3 and all(run["exit_code"] == 1 for run in history)
    gaps = [history[i + 1]["started_at"] - history[i]["finished_at"] for i in range(2)]
    assert gaps[0] >= 0.1 and gaps[1] >= 0.2
    assert gaps[1] > gaps[0]
    assert [e["log"] for e in monitors.log()] == ["run\n"] * 3
    assert handle.exit_record()["restart_count"] == 2


def test_a_failed_restart_counts_as_a_failed_run(monitors, make_bundle):
    bundle = make_bundle(["sh", "-c", "sleep 0.3; exit 1"])
    handle = monitors.start(bundle, restart="on-failure:2")
    bundle.config["root"]["path"] = "gone"
    bundle.save()  # every restart's create now fails
    state = handle.wait(30)
    assert state["restart_count"] == 2 and state["exit_code"] == 128
    assert [run["exit_code"] for run in state["history"]] == [1, 128, 128]
    assert "rootfs" in state["error"] and "rootfs" in handle.exit_record()["error"]
    assert state["restart_delays"] == [0.1, 0.2]


def test_on_failure_does_not_restart_a_success(monitors, make_bundle):
    handle = monitors.start(make_bundle(["true"]), restart="on-failure")
    state = handle.wait(20)
    assert state["exit_code"] == 0 and state["restart_count"] == 0


def test_always_then_stop_stays_stopped(monitors, make_bundle):
    # busybox sleep as PID 1 ignores SIGTERM: the stop escalates to SIGKILL.
    handle = monitors.start(make_bundle(["sleep", "100"]), restart="always")
    reply = handle.stop(timeout=0.5)
    assert reply["exit_code"] == 128 + signal.SIGKILL
    state = handle.wait(20)
    assert state["status"] == "exited" and state["stopped_by_user"]
    assert state["restart_count"] == 0 and len(state["history"]) == 1
    time.sleep(0.3)
    assert runtime_status(monitors.runtime, "c1") is None
    assert monitors.runtime("list", "-q").stdout.split() == []


def test_stop_during_the_restart_backoff(monitors, make_bundle):
    handle = monitors.start(make_bundle(["sh", "-c", "exit 2"]), restart="always")
    wait_until(lambda: handle.state()["restart_count"] >= 3, what=lambda: f"a few restarts: {handle.state()}")
    reply = handle.stop(timeout=1)
    state = handle.wait(20)
    assert state["stopped_by_user"] and state["status"] == "exited" and reply["ok"]
    count = state["restart_count"]
    time.sleep(0.5)
    assert read_state(handle.state_dir)["restart_count"] == count


def test_the_monitor_survives_its_launcher(monitors, make_bundle, tmp_path):
    spec = monitors.spec(make_bundle(["sleep", "100"]), "survivor")
    script = (f"import sys, json; sys.path.insert(0, {REPO!r})\n"
              "from hakobune.monitor import MonitorSpec, start_monitor\n"
              f"h = start_monitor(MonitorSpec.from_dict(json.loads({json.dumps(json.dumps(spec.to_dict()))})))\n"
              "print(h.monitor_pid)\n")
    launcher = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert launcher.returncode == 0, launcher.stderr
    handle = monitors.adopt(spec.state_dir)
    assert handle.monitor_pid == int(launcher.stdout)
    assert handle.alive()
    assert runtime_status(monitors.runtime, "survivor") == "running"
    assert handle.status()["status"] == "running"
    assert handle.stop(timeout=0.2)["exit_code"] == 137


def test_a_killed_monitor_leaves_the_container_running_and_is_reported_lost(monitors, make_bundle):
    handle = monitors.start(make_bundle(["sleep", "100"]), "orphan")
    os.kill(handle.monitor_pid, signal.SIGKILL)
    wait_until(lambda: not handle.alive(), what="the monitor to die")
    state = read_state(handle.state_dir)
    assert state["monitor_lost"] and not state["monitor_alive"] and state["status"] == "running"
    assert runtime_status(monitors.runtime, "orphan") == "running"
    assert process_start_time(handle.container_pid) is not None
    with pytest.raises(SystemFailure):
        handle.status()


def test_a_failed_create_reaches_the_caller(monitors, make_bundle):
    bundle = make_bundle(["true"])
    bundle.config["root"]["path"] = "missing-rootfs"
    with pytest.raises(SystemFailure, match="rootfs"):
        monitors.start(bundle, "broken")
    state = read_state(os.path.join(monitors.base, "state", "broken"))
    assert state["status"] == "failed" and not state["monitor_lost"]
    assert monitors.runtime("list", "-q").stdout.split() == []


def test_attach_streams_output_and_forwards_stdin(monitors, make_bundle):
    handle = monitors.start(make_bundle(["sh", "-c", "echo ready; read line; echo got $line; echo bye >&2"]),
                            stdin_open=True)
    attachment = handle.attach(timeout=10)
    assert attachment.stdin and not attachment.tty
    attachment.write("hello\n")
    seen = []
    for frame in attachment.frames():
        seen.append(frame)
        if "exit" in frame:
            break
    attachment.close()
    # Frames are chunks of output as read: "ready" may come with "got hello" or before the attach.
    stdout = "".join(f["data"] for f in seen if f.get("stream") == "stdout")
    assert stdout.endswith("got hello\n")
    assert "".join(f["data"] for f in seen if f.get("stream") == "stderr") == "bye\n"
    assert seen[-1] == {"exit": 0}
    assert [e["log"] for e in monitors.log()] == ["ready\n", "got hello\n", "bye\n"]


def test_closing_stdin_ends_a_reader_and_a_second_monitor_is_refused(monitors, make_bundle):
    handle = monitors.start(make_bundle(["cat"]), "reader", stdin_open=True)
    with pytest.raises(Conflict):
        monitors.start(make_bundle(["true"]), "reader")
    attachment = handle.attach(timeout=10)
    attachment.write("line one\n")
    attachment.close_stdin()
    frames = list(attachment.frames())
    attachment.close()
    assert frames[-1] == {"exit": 0}
    assert handle.wait(20)["exit_code"] == 0
    assert [e["log"] for e in monitors.log("reader")] == ["line one\n"]


def test_a_tty_container_through_the_console_socket(monitors, make_bundle):
    bundle = make_bundle(["sh", "-c", "read line; echo tty=$(tty) got=$line; exit 4"])
    bundle.config["process"]["terminal"] = True
    handle = monitors.start(bundle, tty=True, stdin_open=True)
    attachment = handle.attach(timeout=10)
    assert attachment.tty
    attachment.resize(40, 100)
    attachment.write("abc\n")
    output = ""
    for frame in attachment.frames():
        if "exit" in frame:
            assert frame["exit"] == 4
            break
        output += frame["data"]
    attachment.close()
    assert "tty=/dev/pts/0 got=abc" in output
    assert handle.wait(20)["exit_code"] == 4
    logged = monitors.log()
    assert all(e["stream"] == "stdout" for e in logged)
    assert "tty=/dev/pts/0 got=abc\r\n" in [e["log"] for e in logged][-1]


def test_the_monitor_stays_small(monitors, make_bundle):
    handle = monitors.start(make_bundle(["sleep", "100"]))
    with open(f"/proc/{handle.monitor_pid}/status") as f:
        rss_kb = int(next(line for line in f if line.startswith("VmRSS:")).split()[1])
    with open(f"/proc/{handle.monitor_pid}/cmdline", "rb") as f:
        assert b"-S" in f.read().split(b"\0")
    status = handle.status()
    assert status["status"] == "running"
    assert rss_kb < 15 * 1024, f"monitor RSS {rss_kb} kB"
    # hakobune's own runtime runs in the monitor (monitor.inprocess): its
    # library and the OCI config loader, nothing of the engine or the CLI
    own = {m for m in status["modules"] if m.startswith(("hakobune.runtime.", "hakobune.oci."))}
    assert set(status["modules"]) - own <= {"hakobune", "hakobune._fastjson", "hakobune._sys", "hakobune._files",
                                            "hakobune.errors",
                                            "hakobune.runtime", "hakobune.oci", "hakobune.monitor",
                                            "hakobune.monitor.spec", "hakobune.monitor.process",
                                            "hakobune.monitor.logfile", "hakobune.monitor.health",
                                            "hakobune.monitor.inprocess", "hakobune.monitor.zygote"}
    # (the runtime's exec is there, for health checks run in forks of the monitor)
    assert not own & {"hakobune.runtime.seccomp", "hakobune.runtime.hooks"}
    for name in ("socket", "json", "re", "enum", "subprocess", "threading"):
        assert name not in status["modules"]
    handle.stop(timeout=0.2)


def test_restart_policy_parsing():
    assert str(RestartPolicy.parse("on-failure:3")) == "on-failure:3"
    assert RestartPolicy.parse("").name == "no"
    for bad in ("sometimes", "always:3", "on-failure:x"):
        with pytest.raises(ValueError):
            RestartPolicy.parse(bad)
    policy = RestartPolicy.parse("on-failure:1")
    assert policy.should_restart(1, 0, False) and not policy.should_restart(1, 1, False)
    assert not policy.should_restart(0, 0, False)
    assert not RestartPolicy.parse("always").should_restart(0, 5, True)
    assert RestartPolicy.parse("unless-stopped").should_restart(0, 5, False)


def test_rfc3339nano_matches_go():
    assert rfc3339nano(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z"
    assert rfc3339nano(1_700_000_000_123_450_000) == "2023-11-14T22:13:20.12345Z"


@pytest.mark.parametrize("tty", [False, True])
def test_any_runc_compatible_runtime_works(runc, make_bundle, tty):
    driver = Monitors(runc)
    try:
        bundle = make_bundle(["sh", "-c", "echo from-runc; exit 5"])
        bundle.config["process"]["terminal"] = tty
        handle = driver.start(bundle, "viarunc", tty=tty)
        state = handle.wait(20)
        assert state["exit_code"] == 5
        assert [e["log"] for e in driver.log("viarunc")] == ["from-runc\r\n" if tty else "from-runc\n"]
        assert runc("list", "-q").stdout.split() == []
    finally:
        driver.cleanup()
