"""A stopped container's cleanup (unmount, volumes, network) is done once
per end, by whichever command sees the end first; later listings skip it
through the `released` hint in the container's directory.  These tests
check that the hint never hides a later end: after `start` again, and
after restarts by the monitor (its restart policy), the next listing
still unmounts the container's root."""

import json
import os
import time

import pytest

from cli_store import hk, store  # noqa: F401 - fixtures

pytestmark = pytest.mark.root


def _mounted(container_id: str) -> bool:
    with open("/proc/self/mountinfo") as f:
        return any(container_id in line for line in f)


def _inspect(hk, name):  # noqa: F811
    return json.loads(hk.ok("inspect", name))[0]


def _wait_exited(hk, name, restarts=0, timeout=20):  # noqa: F811
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = _inspect(hk, name)
        if info["State"]["Status"] == "exited" and info["RestartCount"] >= restarts:
            return info
        time.sleep(0.05)
    raise AssertionError(f"{name} did not exit: {info['State']}")


def test_a_second_end_after_start_is_cleaned_up_too(hk):  # noqa: F811
    hk.ok("run", "--name", "again", "--network", "none", "busybox", "true")
    container_id = _inspect(hk, "again")["Id"]
    hk.ok("ps", "-a")
    assert not _mounted(container_id)
    assert os.path.exists(os.path.join(hk.root, "containers", container_id, "released"))
    hk.ok("start", "again")
    assert not os.path.exists(os.path.join(hk.root, "containers", container_id, "released"))
    _wait_exited(hk, "again")
    hk.ok("ps", "-a")
    assert not _mounted(container_id)
    hk.ok("rm", "again")


def test_ends_after_restarts_by_the_monitor_are_cleaned_up(hk):  # noqa: F811
    hk.ok("run", "-d", "--name", "flaky", "--network", "none", "--restart", "on-failure:2", "busybox",
          "sh", "-c", "sleep 0.2; exit 3")
    container_id = _inspect(hk, "flaky")["Id"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # list all along, so that listings see the ends between restarts
        hk.ok("ps", "-a")
        info = _inspect(hk, "flaky")
        if info["State"]["Status"] == "exited" and info["RestartCount"] == 2:
            break
        time.sleep(0.02)
    assert info["RestartCount"] == 2 and info["State"]["ExitCode"] == 3
    hk.ok("ps", "-a")
    assert not _mounted(container_id)
    hk.ok("rm", "flaky")
