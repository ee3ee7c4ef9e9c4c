"""The OCI lifecycle through hakobune-runtime's command line, and bad input."""

import json
import os
import signal
import time

import pytest

pytestmark = pytest.mark.root


def create(runtime, bundle, container_id="c1", *extra, check=True):
    bundle.save()
    return runtime("create", "--bundle", bundle.path, *extra, container_id, check=check)


def wait_for_status(runtime, container_id, wanted, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = runtime.state(container_id)["status"]
        if status == wanted:
            return
        time.sleep(0.02)
    raise AssertionError(f"{container_id} never became {wanted}, last {status}")


def test_create_start_kill_delete(runtime, make_bundle, tmp_path):
    bundle = make_bundle(["sleep", "100"])
    pid_file = tmp_path / "pid"
    create(runtime, bundle, "c1", "--pid-file", str(pid_file))
    state = runtime.state("c1")
    assert state["status"] == "created"
    assert state["pid"] == int(pid_file.read_text())
    assert state["bundle"] == bundle.path
    runtime("start", "c1")
    assert runtime.state("c1")["status"] == "running"
    runtime("kill", "c1", "KILL")
    wait_for_status(runtime, "c1", "stopped")
    runtime("delete", "c1")
    assert runtime("state", "c1", check=False).returncode != 0


def test_listing(runtime, make_bundle):
    create(runtime, make_bundle(["sleep", "100"]), "listed")
    rows = json.loads(runtime("list", "--format", "json").stdout)
    assert [(r["id"], r["status"]) for r in rows] == [("listed", "created")]
    assert runtime("list", "-q").stdout.split() == ["listed"]


def test_pause_and_resume(runtime, make_bundle):
    create(runtime, make_bundle(["sleep", "100"]), "p1")
    runtime("start", "p1")
    runtime("pause", "p1")
    assert runtime.state("p1")["status"] == "paused"
    runtime("resume", "p1")
    assert runtime.state("p1")["status"] == "running"


def test_ps_lists_the_containers_processes(runtime, make_bundle):
    create(runtime, make_bundle(["sh", "-c", "sleep 100 & sleep 100 & wait"]), "ps1")
    runtime("start", "ps1")
    deadline = time.monotonic() + 5
    while len(json.loads(runtime("ps", "--format", "json", "ps1").stdout)) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    pids = json.loads(runtime("ps", "--format", "json", "ps1").stdout)
    assert runtime.state("ps1")["pid"] in pids and len(pids) == 3


def test_exec_joins_the_container(runtime, make_bundle):
    bundle = make_bundle(["sleep", "100"])
    bundle.config["hostname"] = "inside"
    create(runtime, bundle, "e1")
    runtime("start", "e1")
    result = runtime("exec", "e1", "sh", "-c", "hostname; cat /proc/1/cmdline | tr '\\0' ' '; exit 7", check=False)
    assert result.returncode == 7
    assert result.stdout.splitlines() == ["inside", "sleep 100 "]


def test_exec_with_a_process_file(runtime, make_bundle, tmp_path):
    create(runtime, make_bundle(["sleep", "100"]), "e2")
    runtime("start", "e2")
    process = {"args": ["id", "-u"], "cwd": "/", "user": {"uid": 65534, "gid": 65534}, "env": ["PATH=/bin:/usr/bin"]}
    path = tmp_path / "process.json"
    path.write_text(json.dumps(process))
    assert runtime("exec", "--process", str(path), "e2").stdout.strip() == "65534"


def test_exec_detached_writes_a_pid_file(runtime, make_bundle, tmp_path):
    create(runtime, make_bundle(["sleep", "100"]), "e3")
    runtime("start", "e3")
    pid_file = tmp_path / "exec.pid"
    runtime("exec", "--detach", "--pid-file", str(pid_file), "e3", "sleep", "50")
    pid = int(pid_file.read_text())
    assert os.readlink(f"/proc/{pid}/ns/pid") == os.readlink(f"/proc/{runtime.state('e3')['pid']}/ns/pid")


def test_exec_leaves_only_stdio_open(runtime, make_bundle, tmp_path):
    create(runtime, make_bundle(["sleep", "100"]), "fd1")
    runtime("start", "fd1")
    init = runtime.state("fd1")["pid"]
    assert sorted(os.listdir(f"/proc/{init}/fd")) == ["0", "1", "2"]
    pid_file = tmp_path / "exec.pid"
    runtime("exec", "-d", "--pid-file", str(pid_file), "fd1", "sleep", "50")
    assert sorted(os.listdir(f"/proc/{int(pid_file.read_text())}/fd")) == ["0", "1", "2"]


def test_preserved_fds_are_passed_on(runtime, make_bundle, tmp_path):
    extra = os.open(tmp_path, os.O_RDONLY)
    try:
        bundle = make_bundle(["ls", "/proc/self/fd"]).save()
        result = runtime("run", "--preserve-fds", "1", "--bundle", bundle.path, "pf", pass_fds=(extra,), check=False)
    finally:
        os.close(extra)
    assert result.returncode == 0, result.stderr
    assert "3" in result.stdout.split()


@pytest.mark.parametrize("setup, command, message", [
    ("running", ("start",), "not created"),
    ("stopped", ("kill", "KILL"), "not running"),
    ("created", ("delete",), "not stopped"),
    ("created", ("resume",), "not paused"),
])
def test_illegal_transitions_fail_and_change_nothing(runtime, make_bundle, setup, command, message):
    bundle = make_bundle(["sleep", "100"] if setup != "stopped" else ["true"])
    create(runtime, bundle, "t1")
    if setup in ("running", "stopped"):
        runtime("start", "t1")
    if setup == "stopped":
        wait_for_status(runtime, "t1", "stopped")
    before = runtime.state("t1")["status"]
    result = runtime(command[0], "t1", *command[1:], check=False)
    assert result.returncode != 0 and message in result.stderr
    assert runtime.state("t1")["status"] == before


def test_duplicate_id_is_refused(runtime, make_bundle):
    bundle = make_bundle(["sleep", "100"])
    create(runtime, bundle, "dup")
    result = create(runtime, bundle, "dup", check=False)
    assert result.returncode != 0 and "already exists" in result.stderr
    assert runtime.state("dup")["status"] == "created"


def test_delete_force_stops_a_running_container(runtime, make_bundle):
    create(runtime, make_bundle(["sleep", "100"]), "f1")
    runtime("start", "f1")
    pid = runtime.state("f1")["pid"]
    runtime("delete", "--force", "f1")
    assert runtime("list", "-q").stdout.strip() == ""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(") ")[1][0] == "Z":
                    break
        except FileNotFoundError:
            break
        time.sleep(0.02)
    else:
        raise AssertionError("init survived delete --force")


def test_run_forwards_signals(runtime, make_bundle):
    bundle = make_bundle(["sh", "-c", "trap 'exit 9' TERM; while true; do sleep 0.1; done"]).save()
    import subprocess

    proc = subprocess.Popen(runtime.command("run", "--bundle", bundle.path, "sig"))
    try:
        deadline = time.monotonic() + 5
        while runtime("state", "sig", check=False).returncode != 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 9
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("change, field", [
    (lambda c: c["process"].__setitem__("args", "sh"), "process.args"),
    (lambda c: c["process"].__setitem__("args", []), "process.args"),
    (lambda c: c.__setitem__("mounts", [{"destination": "relative"}]), "mounts[0].destination"),
    (lambda c: c["process"]["capabilities"]["bounding"].append("CAP_FLY"), "unknown capability"),
    (lambda c: c["linux"]["namespaces"].append({"type": "pid"}), "listed twice"),
    (lambda c: c["linux"]["namespaces"].append({"type": "bogus"}), "linux.namespaces[6].type"),
    (lambda c: c["process"]["user"].__setitem__("uid", "0"), "process.user.uid"),
    (lambda c: c.__setitem__("ociVersion", "2.0.0"), "ociVersion"),
])
def test_malformed_config_names_the_field_and_leaves_nothing(runtime, make_bundle, change, field):
    bundle = make_bundle(["true"])
    change(bundle.config)
    result = create(runtime, bundle, "bad", check=False)
    assert result.returncode != 0
    assert field in result.stderr
    assert not os.path.exists(os.path.join(runtime.root, "bad"))


def test_missing_rootfs_is_a_clear_error(runtime, make_bundle):
    bundle = make_bundle(["true"])
    bundle.config["root"]["path"] = "no-such-rootfs"
    result = create(runtime, bundle, "nr", check=False)
    assert result.returncode != 0 and "no-such-rootfs" in result.stderr
    assert not os.path.exists(os.path.join(runtime.root, "nr"))


def test_malformed_json_is_a_clear_error(runtime, make_bundle):
    bundle = make_bundle(["true"]).save()
    with open(os.path.join(bundle.path, "config.json"), "w") as f:
        f.write('{"ociVersion": "1.0.2", ')
    result = runtime("create", "--bundle", bundle.path, "js", check=False)
    assert result.returncode != 0 and "malformed JSON" in result.stderr


def test_json_log_for_callers_like_conmon(runtime, tmp_path):
    log = tmp_path / "log.json"
    result = runtime("--log", str(log), "--log-format", "json", "start", "ghost", check=False)
    assert result.returncode != 0
    entry = json.loads(log.read_text().splitlines()[-1])
    assert entry["level"] == "error" and "ghost" in entry["msg"]
