"""The monitors' common parent (hakobune.monitor.zygote): monitors are
forked from one warm interpreter and share its pages; the zygote is never
needed for a container to live, and a dead or stale one is replaced."""

import os
import signal
import time

import pytest

from hakobune.monitor import launcher
from test_monitor import Monitors  # noqa: F401 - the driver and its cleanup

pytestmark = pytest.mark.root


@pytest.fixture
def monitors(runtime):
    driver = Monitors(runtime)
    yield driver
    driver.cleanup()


def shared_dirty_kb(pid: int) -> int:
    """Anonymous pages written before a fork and still shared with the parent."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Shared_Dirty:"))


def test_monitors_are_forked_from_one_zygote_that_they_outlive(monitors, make_bundle):
    first = monitors.start(make_bundle(["sleep", "100"]), "z1")
    (zygote,) = launcher.zygote_pids(monitors.base)
    second = monitors.start(make_bundle(["sleep", "100"]), "z2")
    assert launcher.zygote_pids(monitors.base) == [zygote]
    for handle in (first, second):
        with open(f"/proc/{handle.monitor_pid}/cmdline", "rb") as f:
            assert b"hakobune.monitor.zygote" in f.read()
    os.kill(zygote, signal.SIGKILL)  # leaves its socket behind
    time.sleep(0.1)
    assert first.status()["status"] == "running" and second.status()["status"] == "running"
    third = monitors.start(make_bundle(["sleep", "100"]), "z3")  # a new zygote replaces the stale socket
    (replacement,) = launcher.zygote_pids(monitors.base)
    assert replacement != zygote and third.status()["status"] == "running"
    for handle in (first, second, third):
        handle.stop(timeout=0.2)


def test_forked_monitors_share_pages(monitors, make_bundle):
    """Structure, not a figure (bench/monitor_memory.py measures): a forked
    monitor shares the zygote's heap pages, an interpreter of its own
    shares none."""
    handles = [monitors.start(make_bundle(["sleep", "100"]), f"s{i}") for i in range(3)]
    for handle in handles:
        assert shared_dirty_kb(handle.monitor_pid) > 500
        handle.stop(timeout=0.2)


def test_without_a_usable_zygote_the_monitor_starts_on_its_own(monitors, make_bundle, monkeypatch):
    monkeypatch.setattr(launcher, "_start_zygote", lambda path, timeout=10: False)
    handle = monitors.start(make_bundle(["sleep", "100"]), "own")
    with open(f"/proc/{handle.monitor_pid}/cmdline", "rb") as f:
        assert b"hakobune.monitor.process" in f.read()
    assert launcher.zygote_pids(monitors.base) == []
    assert shared_dirty_kb(handle.monitor_pid) < 500  # nothing to share with
    handle.stop(timeout=0.2)
