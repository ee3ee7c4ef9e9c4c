"""What `run --rm` skips or defers for speed, each still correct: a --rm
container's record is written without fsync, and one that a crash cut
short is discarded by the next command; removal moves the container aside
at once and unlinks its files in a detached child; the CLI ends without the
interpreter's finalization yet with its output flushed and its exit
status; the early cgroup warm-up thread stops."""

import os
import subprocess
import time

import pytest

from cli_store import HAKOBUNE, hk, store  # noqa: F401 - fixtures

pytestmark = pytest.mark.root


def record_path(hk, container_id: str) -> str:
    return os.path.join(hk.root, "containers", container_id, "config.json")


def wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_a_cut_short_rm_record_is_discarded_by_the_next_command(hk):
    container_id = hk.ok("create", "--rm", "--name", "doomed", "busybox", "true").strip()
    kept = hk.ok("create", "--name", "kept", "busybox", "true").strip()
    with open(record_path(hk, container_id), "w") as f:
        f.write('{"Id": "')  # what a host crash may leave of a record written without fsync
    assert hk.ok("ps", "-a", "--format", "{{.Names}}").split() == ["kept"]
    assert wait_until(lambda: not os.path.exists(os.path.join(hk.root, "containers", container_id)))
    proc = hk.run("rm", container_id)
    assert proc.returncode == 1 and f"No such container: {container_id}" in proc.stderr
    # the name is free again; the other container is untouched
    hk.ok("create", "--name", "doomed", "busybox", "true")
    assert hk.ok("inspect", "-f", "{{.Name}}", kept).strip() == "/kept"


def test_records_stay_private(hk):
    volatile = hk.ok("create", "--rm", "-e", "SECRET=1", "busybox", "true").strip()
    durable = hk.ok("create", "-e", "SECRET=1", "busybox", "true").strip()
    for container_id in (volatile, durable):
        assert os.stat(record_path(hk, container_id)).st_mode & 0o777 == 0o600


def test_removal_finishes_in_the_background(hk):
    container_id = hk.ok("create", "busybox", "true").strip()
    directory = os.path.join(hk.root, "containers", container_id)
    for index in range(50):
        with open(os.path.join(directory, "upper", f"file{index}"), "w") as f:
            f.write("x")
    hk.ok("rm", container_id)
    assert not os.path.exists(directory)  # gone from the store at once
    containers = os.path.join(hk.root, "containers")
    assert wait_until(lambda: not [n for n in os.listdir(containers) if container_id in n])


def test_run_rm_output_and_status_survive_the_fast_exit(hk):
    proc = hk.run("run", "--rm", "--network", "none", "busybox", "sh", "-c",
                  "i=0; while [ $i -lt 2000 ]; do echo line$i; i=$((i+1)); done; echo err >&2; exit 7")
    assert proc.returncode == 7
    assert proc.stdout.splitlines()[-1] == "line1999" and len(proc.stdout.splitlines()) == 2000
    assert proc.stderr == "err\n"


def test_output_to_a_closed_pipe_is_not_a_crash(hk):
    reader = subprocess.Popen([HAKOBUNE, "--root", hk.root, "--runroot", hk.runroot, "images"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader.stdout.close()
    _, err = reader.communicate(timeout=30)
    assert b"Traceback" not in err


def test_the_cgroup_warmup_thread_stops():
    from hakobune.runtime import cgroup_warmup

    cgroup_warmup.begin()
    assert cgroup_warmup._running
    cgroup_warmup.end()
    assert wait_until(lambda: not cgroup_warmup._running, 2)
    cgroup_warmup.begin()
    assert wait_until(lambda: not cgroup_warmup._running, cgroup_warmup.KEEP_WARM_SECONDS + 2)


def test_a_removal_left_by_a_killed_remover_is_finished_by_the_next_listing(hk):
    import fcntl

    containers = os.path.join(hk.root, "containers")
    busy = os.path.join(containers, ".removing-" + "a" * 64)
    dead = os.path.join(containers, ".removing-" + "b" * 64)
    for directory in (busy, dead):
        os.makedirs(os.path.join(directory, "upper", "etc"))
    held = os.open(busy, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a live remover holds it
        hk.ok("ps", "-a")
        assert not os.path.exists(dead)  # its remover died: finished here
        assert os.path.exists(busy)  # left to its remover
    finally:
        os.close(held)
    hk.ok("ps", "-a")
    assert not os.path.exists(busy)
