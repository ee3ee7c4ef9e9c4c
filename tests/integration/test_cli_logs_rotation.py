"""json-file logs rotate (by default and with --log-opt max-size/max-file);
`logs` reads across the rotated files in order; `--log-driver none` keeps
no log."""

import glob
import json
import os
import time

import pytest

from cli_store import hk, store  # noqa: F401 - fixtures

pytestmark = pytest.mark.root

LINES = 400


def wait_exited(hk, container_id, timeout=20.0):
    deadline = time.monotonic() + timeout
    while hk.ok("inspect", "-f", "{{.State.Status}}", container_id).strip() != "exited":
        assert time.monotonic() < deadline
        time.sleep(0.05)


def log_files(hk, container_id):
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(hk.root, "containers", container_id, "*.log*")))


def test_rotation_keeps_max_file_files_and_logs_reads_them_in_order(hk):
    script = f"i=0; while [ $i -lt {LINES} ]; do echo line $i; i=$((i+1)); sleep 0.001; done"
    container_id = hk.ok("run", "-d", "--log-opt", "max-size=4k", "--log-opt", "max-file=3", "busybox",
                         "sh", "-c", script).strip()
    wait_exited(hk, container_id)
    log = f"{container_id}-json.log"
    assert log_files(hk, container_id) == [log, log + ".1", log + ".2", log + ".base"]
    for name in (log + ".1", log + ".2"):
        path = os.path.join(hk.root, "containers", container_id, name)
        assert 4000 <= os.path.getsize(path) < 4000 + 200
        with open(path) as f:
            for line in f:
                entry = json.loads(line)
                assert set(entry) == {"log", "stream", "time"} and entry["stream"] == "stdout"
    lines = hk.ok("logs", container_id).splitlines()
    assert lines[-1] == f"line {LINES - 1}"
    first = int(lines[0].split()[1])
    assert lines == [f"line {n}" for n in range(first, LINES)]  # the newest files, in order, nothing repeated
    assert first > 0  # the oldest were rotated away


def test_default_rotation_and_logs_of_a_small_log(hk):
    container_id = hk.ok("run", "-d", "busybox", "sh", "-c", "echo one; echo two >&2").strip()
    wait_exited(hk, container_id)
    assert hk.ok("logs", container_id) == "one\n"
    assert hk.run("logs", container_id).stderr == "two\n"
    base = os.path.join(hk.root, "containers", container_id, f"{container_id}-json.log.base")
    assert os.path.exists(base)  # the default json-file log rotates (20 MB x 5)


def test_follow_across_rotation_neither_loses_nor_repeats(hk):
    script = ("i=0; while [ $i -lt 300 ]; do echo line $i; i=$((i+1)); "
              "if [ $((i % 20)) = 0 ]; then sleep 0.05; fi; done")
    proc = hk.run("run", "--log-opt", "max-size=2k", "--log-opt", "max-file=5", "busybox", "sh", "-c", script)
    assert proc.returncode == 0
    assert proc.stdout.splitlines() == [f"line {n}" for n in range(300)]


def test_max_file_one_truncates(hk):
    container_id = hk.ok("run", "-d", "--log-opt", "max-size=1k", "busybox", "sh", "-c",
                         "i=0; while [ $i -lt 200 ]; do echo line $i; i=$((i+1)); done").strip()
    wait_exited(hk, container_id)
    log = f"{container_id}-json.log"
    assert log_files(hk, container_id) == [log, log + ".base"]
    lines = hk.ok("logs", container_id).splitlines()
    assert lines and lines[-1] == "line 199" and len(lines) < 200


def test_log_driver_none(hk):
    container_id = hk.ok("run", "-d", "--log-driver", "none", "busybox", "echo", "hi").strip()
    wait_exited(hk, container_id)
    assert log_files(hk, container_id) == []
    proc = hk.run("logs", container_id)
    assert proc.returncode == 1
    assert proc.stderr == "Error response from daemon: configured logging driver does not support reading\n"
    proc = hk.run("run", "--log-driver", "none", "--log-opt", "max-size=1m", "busybox", "true")
    assert proc.returncode == 125 and "invalid logging opts for driver none" in proc.stderr
