"""Many CLI processes on one store at once, and CLIs killed midway: the
state stays consistent (every listed container exists, none is listed
twice, nothing of a removed container is left: mounts, cgroups, monitors,
runtime state), and the next command repairs what a killed one left."""

import glob
import json
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from cli_store import HAKOBUNE, cgroups_of, hk, store  # noqa: F401 - fixtures

pytestmark = pytest.mark.root


def _consistent(hk) -> list[str]:
    """The listed ids, after checking that each exists and none is listed twice."""
    listed = hk.ok("ps", "-aq", "--no-trunc").split()
    assert len(listed) == len(set(listed)), listed
    on_disk = {os.path.basename(os.path.dirname(p))
               for p in glob.glob(os.path.join(hk.root, "containers", "*", "config.json"))}
    assert set(listed) == on_disk
    for container_id in listed:
        info = json.loads(hk.ok("inspect", container_id))[0]
        assert info["Id"] == container_id
    return listed


def _nothing_left_of(hk, container_id: str) -> None:
    assert cgroups_of(container_id) == []
    assert not os.path.exists(os.path.join(hk.root, "containers", container_id))
    # a removed container's files are unlinked by a detached `rm` (engine/containers.py remove_tree_soon)
    deadline = time.monotonic() + 10
    while glob.glob(os.path.join(hk.root, "containers", ".removing-*")) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert glob.glob(os.path.join(hk.root, "containers", ".removing-*")) == []
    assert not any(container_id in m for m in hk.mounts())
    assert not os.path.exists(os.path.join(hk.runroot, "containers", container_id[:32]))
    assert not os.path.exists(os.path.join(hk.runroot, "runtime", container_id))


def test_fifty_parallel_runs_with_rm_racing_start(hk):
    with ThreadPoolExecutor(max_workers=8) as pool:
        runs = list(pool.map(lambda i: hk.run("run", "-d", "--name", f"par{i}", "busybox", "sleep", "100"),
                             range(50)))
    assert [r.returncode for r in runs] == [0] * 50, [r.stderr for r in runs if r.returncode]
    ids = [r.stdout.strip() for r in runs]
    assert len(set(ids)) == 50
    assert sorted(_consistent(hk)) == sorted(ids)
    assert len(hk.ok("ps", "-q").split()) == 50

    # stop half, then race `start` against `rm -f` on them
    victims = ids[:16]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda c: hk.ok("stop", "-t", "0", c), victims))

    with ThreadPoolExecutor(max_workers=8) as pool:
        starts = [pool.submit(hk.run, "start", c) for c in victims]
        removals = [pool.submit(hk.run, "rm", "-f", c) for c in victims]
        results = [f.result() for f in starts + removals]
    for proc in results:
        assert proc.returncode == 0 or "No such container" in proc.stderr, proc.stderr
    listed = _consistent(hk)
    assert set(listed) == set(ids[16:])
    for container_id in victims:
        _nothing_left_of(hk, container_id)

    with ThreadPoolExecutor(max_workers=8) as pool:
        removed = list(pool.map(lambda c: hk.run("rm", "-f", c), ids[16:]))
    assert [r.returncode for r in removed] == [0] * 34
    assert _consistent(hk) == []
    for container_id in ids:
        _nothing_left_of(hk, container_id)


def _kill_after(args, delay: float, hk) -> int:
    proc = subprocess.Popen([HAKOBUNE, "--root", hk.root, "--runroot", hk.runroot, *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    return proc.wait()


@pytest.mark.parametrize("delay", [0.02, 0.06, 0.1, 0.15, 0.2, 0.25, 0.3])
def test_rm_killed_midway_is_repaired_by_the_next_command(hk, delay):
    container_id = hk.ok("run", "-d", "busybox", "sleep", "100").strip()
    _kill_after(["rm", "-f", container_id], delay, hk)
    # the next command either finishes the removal or finds it done
    proc = hk.run("rm", "-f", container_id)
    assert proc.returncode == 0 or proc.stderr == f"Error response from daemon: No such container: {container_id}\n"
    assert _consistent(hk) == []
    _nothing_left_of(hk, container_id)


@pytest.mark.parametrize("delay", [0.03, 0.08, 0.15])
def test_run_killed_midway_leaves_a_usable_state(hk, delay):
    _kill_after(["run", "-d", "--name", "half", "busybox", "sleep", "100"], delay, hk)
    time.sleep(0.2)
    listed = _consistent(hk)
    if listed:  # created (maybe started): it can be used and removed
        state = json.loads(hk.ok("inspect", "half"))[0]["State"]
        assert state["Status"] in ("created", "running"), state
        hk.ok("rm", "-f", "half")
        _nothing_left_of(hk, listed[0])
    assert hk.ok("ps", "-aq") == ""
    hk.ok("run", "--rm", "--name", "half", "busybox", "true")  # the name is free again
