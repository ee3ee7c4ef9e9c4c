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


def pss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/smaps_rollup") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Pss:"))


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
    handles = [monitors.start(make_bundle(["sleep", "100"]), f"s{i}") for i in range(6)]
    (zygote,) = launcher.zygote_pids(monitors.base)
    total = pss_kb(zygote) + sum(pss_kb(h.monitor_pid) for h in handles)
    # a monitor started as its own interpreter costs about 3.5 MB of PSS
    assert total / len(handles) < 3000, f"{total / len(handles):.0f} kB PSS per monitor"
    for handle in handles:
        handle.stop(timeout=0.2)


def test_without_a_usable_zygote_the_monitor_starts_on_its_own(monitors, make_bundle, monkeypatch):
    monkeypatch.setattr(launcher, "_start_zygote", lambda path, timeout=10: False)
    handle = monitors.start(make_bundle(["sleep", "100"]), "own")
    with open(f"/proc/{handle.monitor_pid}/cmdline", "rb") as f:
        assert b"hakobune.monitor.process" in f.read()
    assert launcher.zygote_pids(monitors.base) == []
    handle.stop(timeout=0.2)
