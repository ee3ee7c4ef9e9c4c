"""The cgroup managers on the real kernel: limits that bite, filters that deny.

Each test makes cgroups named hakobune-test-<pid>-<random> and moves a small
Python child into them; the child waits for a line on stdin (sent once it
is inside), acts, and reports on stdout.  The v2 device filter and freezer
run on whatever cgroup2 hierarchy the host has (on a hybrid host, the
controller-less one at /sys/fs/cgroup/unified); memory, pids, cpu, devices
and freezer limits run on v1 hierarchies when the host has them.  The
`cgroups` fixture thaws, kills and removes everything, whatever happens.
"""

import os
import secrets
import signal
import subprocess
import sys
import time

import pytest

from hakobune.errors import Conflict
from hakobune.runtime.cgroups import V1Manager, V2Manager, detect_layout, open_manager
from hakobune.runtime.cgroups import bpf, devices_bpf

pytestmark = [pytest.mark.root, pytest.mark.skipif(os.geteuid() != 0, reason="needs root")]

LAYOUT = detect_layout(open("/proc/self/mountinfo").read())
V1_CONTROLLERS = LAYOUT["v1"]
needs_cgroup2 = pytest.mark.skipif(LAYOUT["unified"] is None, reason="no cgroup2 hierarchy")


def needs_v1(*controllers):
    missing = [c for c in controllers if c not in V1_CONTROLLERS]
    return pytest.mark.skipif(bool(missing), reason=f"no v1 {', '.join(missing)} hierarchy")


CHILD = r"""
import errno, os, sys
action, args = sys.argv[1], sys.argv[2:]
sys.stdin.readline()  # the parent says go once we are in the cgroup
if action == "open":
    for spec in args:
        path, mode = spec.split(":")
        try:
            os.close(os.open(path, {"r": os.O_RDONLY, "w": os.O_WRONLY, "rw": os.O_RDWR}[mode]))
            print(spec, "ok")
        except OSError as e:
            print(spec, errno.errorcode[e.errno])
elif action == "fork":
    try:
        pid = os.fork()
    except OSError as e:
        print(errno.errorcode[e.errno])
    else:
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        print("forked")
elif action == "alloc":
    block = b"x" * (int(args[0]) << 20)
    print("survived", len(block))
elif action == "spin":
    print("spinning", flush=True)
    while True:
        pass
elif action == "sleep":
    print("sleeping", flush=True)
    sys.stdin.readline()
"""


class Child:
    def __init__(self, action: str, *args: str):
        self.proc = subprocess.Popen([sys.executable, "-c", CHILD, action, *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.pid = self.proc.pid

    def go(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def result(self) -> tuple[int, list[str]]:
        out, _ = self.proc.communicate(timeout=30)
        return self.proc.returncode, out.splitlines()

    def first_line(self) -> str:
        return self.proc.stdout.readline().strip()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=30)


class Tracker:
    """Everything a test made, to undo in the fixture's teardown."""

    def __init__(self):
        self.prefix = f"hakobune-test-{os.getpid()}-{secrets.token_hex(3)}"
        self.managers = []
        self.children = []

    def name(self, suffix: str = "") -> str:
        return self.prefix + suffix

    def v1(self, suffix: str = ""):
        manager = open_manager(self.name(suffix), "unused")  # relative: under our own cgroups
        self.managers.append(manager)
        return manager

    def v2(self, suffix: str = ""):
        manager = V2Manager(LAYOUT["unified"], "/" + self.name(suffix))
        self.managers.append(manager)
        return manager

    def child(self, manager, action: str, *args: str) -> Child:
        child = Child(action, *args)
        self.children.append(child)
        manager.add(child.pid)
        child.go()
        return child

    def teardown(self) -> None:
        for manager in self.managers:
            try:
                manager.thaw(timeout=1)  # a v1-frozen process cannot even die
            except Exception:  # noqa: BLE001 - best-effort cleanup
                pass
        for child in self.children:
            child.stop()
        for manager in self.managers:
            try:
                manager.destroy()
            except Exception:  # noqa: BLE001 - the sweep below removes what is left
                pass
        _sweep(self.prefix)


def _sweep(prefix: str) -> None:
    """rmdir any cgroup whose path mentions `prefix`, deepest first."""
    roots = set(LAYOUT["v1"].values()) | ({LAYOUT["unified"]} if LAYOUT["unified"] else set())
    for root in roots:
        for directory, _subdirs, _files in os.walk(root, topdown=False):
            if prefix in directory:
                try:
                    os.rmdir(directory)
                except OSError:
                    pass


@pytest.fixture
def cgroups():
    tracker = Tracker()
    try:
        yield tracker
    finally:
        tracker.teardown()
    leftovers = [d for root in {*LAYOUT["v1"].values(), LAYOUT["unified"]} if root
                 for d, _s, _f in os.walk(root) if tracker.prefix in d]
    assert leftovers == []


def proc_state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def progresses(pid: int, seconds: float = 0.3) -> bool:
    before = cpu_ticks(pid)
    time.sleep(seconds)
    return cpu_ticks(pid) > before


ONLY_NULL = [{"allow": False, "access": "rwm"},
             {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
             {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "r"}]
PROBES = ("/dev/null:rw", "/dev/zero:r", "/dev/zero:w", "/dev/full:r")


# --- cgroup v2: device filter and freezer ----------------------------------------------

@needs_cgroup2
def test_v2_device_filter_allows_and_denies(cgroups):
    manager = cgroups.v2()
    manager.create()
    manager.apply({"devices": ONLY_NULL})
    code, lines = cgroups.child(manager, "open", *PROBES).result()
    assert code == 0
    assert lines == ["/dev/null:rw ok", "/dev/zero:r ok", "/dev/zero:w EPERM", "/dev/full:r EPERM"]


@needs_cgroup2
def test_v2_device_filter_update_replaces_only_our_program(cgroups):
    manager = cgroups.v2()
    manager.create()
    foreign_fd = _attach_allow_all(manager.dir)
    try:
        foreign = set(devices_bpf.attached_program_ids(manager.dir))
        manager.apply({"devices": ONLY_NULL})
        manager.update({"devices": [{"allow": True}, {"allow": False, "type": "c", "major": 1, "minor": 3}]})
        attached = set(devices_bpf.attached_program_ids(manager.dir))
    finally:
        os.close(foreign_fd)
    assert len(attached) == 2 and foreign < attached
    code, lines = cgroups.child(manager, "open", *PROBES).result()
    assert lines == ["/dev/null:rw EPERM", "/dev/zero:r ok", "/dev/zero:w ok", "/dev/full:r ok"]


def _attach_allow_all(directory: str) -> int:
    """Another owner's device program ("return 1"), attached next to ours."""
    allow_all = bytes.fromhex("b700000001000000" "9500000000000000")
    prog_fd = bpf.prog_load(bpf.BPF_PROG_TYPE_CGROUP_DEVICE, allow_all, "GPL", "someone_else",
                            bpf.BPF_CGROUP_DEVICE)
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        bpf.prog_attach(dir_fd, prog_fd, bpf.BPF_CGROUP_DEVICE, bpf.BPF_F_ALLOW_MULTI)
    except OSError:
        os.close(prog_fd)
        raise
    finally:
        os.close(dir_fd)
    return prog_fd


@needs_cgroup2
def test_v2_freeze_stops_a_spinning_child_and_thaw_resumes_it(cgroups):
    manager = cgroups.v2()
    manager.create()
    child = cgroups.child(manager, "spin")
    assert child.first_line() == "spinning"
    assert manager.state() == "thawed" and progresses(child.pid)
    manager.freeze()
    assert manager.state() == "frozen"
    assert "frozen 1" in open(os.path.join(manager.dir, "cgroup.events")).read()
    assert proc_state(child.pid) == "S" and not progresses(child.pid)
    manager.thaw()
    assert manager.state() == "thawed" and progresses(child.pid)
    assert manager.pids() == [child.pid]


@needs_cgroup2
def test_v2_pids_limit_when_the_controller_is_delegated(cgroups):
    manager = cgroups.v2()
    manager.create()
    if not os.path.exists(os.path.join(manager.dir, "pids.max")):
        pytest.skip("no pids controller in this cgroup2 hierarchy")
    manager.apply({"pids": {"limit": 1}})
    assert cgroups.child(manager, "fork").result() == (0, ["EAGAIN"])


# --- cgroup v1: limits ---------------------------------------------------------------------

@needs_v1("memory")
def test_v1_memory_limit_kills_a_child_that_allocates_beyond_it(cgroups):
    manager = cgroups.v1()
    manager.create()
    manager.apply({"memory": {"limit": 64 << 20, "swap": 64 << 20}})
    code, lines = cgroups.child(manager, "alloc", "256").result()
    assert code == -signal.SIGKILL and lines == []
    assert manager.stats()["memory"]["usage"]["max"] == 64 << 20  # it reached the limit...
    oom = open(os.path.join(manager.paths["memory"], "memory.oom_control")).read().split()
    assert oom[oom.index("oom_kill") + 1] == "1"  # ...and the cgroup's OOM killer took it


@needs_v1("memory")
def test_v1_memory_limits_can_go_up_and_down(cgroups):
    manager = cgroups.v1()
    manager.create()
    memory = manager.paths["memory"]
    for limit, swap in ((64, 128), (32, 32), (256, 512), (16, -1), (128, 128)):
        swap_bytes = -1 if swap == -1 else swap << 20
        manager.update({"memory": {"limit": limit << 20, "swap": swap_bytes}})
        assert open(os.path.join(memory, "memory.limit_in_bytes")).read().strip() == str(limit << 20)
    manager.update({"memory": {"limit": -1}})
    assert int(open(os.path.join(memory, "memory.limit_in_bytes")).read()) > 1 << 60
    code, lines = cgroups.child(manager, "alloc", "64").result()
    assert (code, lines) == (0, [f"survived {64 << 20}"])


@needs_v1("pids")
def test_v1_pids_limit_makes_fork_fail(cgroups):
    manager = cgroups.v1()
    manager.create()
    manager.apply({"pids": {"limit": 1}})
    assert cgroups.child(manager, "fork").result() == (0, ["EAGAIN"])
    manager.update({"pids": {"limit": -1}})
    assert open(os.path.join(manager.paths["pids"], "pids.max")).read().strip() == "max"
    assert cgroups.child(manager, "fork").result() == (0, ["forked"])


@needs_v1("cpu")
def test_v1_cpu_files(cgroups):
    manager = cgroups.v1()
    manager.create()
    manager.apply({"cpu": {"shares": 512, "quota": 50000, "period": 100000}})
    cpu = manager.paths["cpu"]

    def value(name):
        return open(os.path.join(cpu, name)).read().strip()

    assert (value("cpu.shares"), value("cpu.cfs_quota_us"), value("cpu.cfs_period_us")) == ("512", "50000", "100000")
    manager.update({"cpu": {"quota": -1, "period": 250000}})
    assert (value("cpu.cfs_quota_us"), value("cpu.cfs_period_us")) == ("-1", "250000")


@needs_v1("cpuset")
def test_v1_cpuset_is_populated_so_processes_can_join(cgroups):
    manager = cgroups.v1("-outer")
    nested = open_manager(cgroups.name("-outer") + "/inner", "unused")
    cgroups.managers.insert(0, nested)
    nested.create()
    for directory in (manager.paths["cpuset"], nested.paths["cpuset"]):
        assert open(os.path.join(directory, "cpuset.cpus")).read().strip() != ""
        assert open(os.path.join(directory, "cpuset.mems")).read().strip() != ""
    child = cgroups.child(nested, "sleep")
    assert child.first_line() == "sleeping"


@needs_v1("freezer")
def test_v1_freezer(cgroups):
    manager = cgroups.v1()
    manager.create()
    child = cgroups.child(manager, "spin")
    assert child.first_line() == "spinning"
    manager.freeze()
    state_file = os.path.join(manager.paths["freezer"], "freezer.state")
    assert open(state_file).read().strip() == "FROZEN" and manager.state() == "frozen"
    assert proc_state(child.pid) == "D" and not progresses(child.pid)
    manager.thaw()
    assert open(state_file).read().strip() == "THAWED" and manager.state() == "thawed"
    assert progresses(child.pid)


@needs_v1("devices")
def test_v1_devices_deny(cgroups):
    manager = cgroups.v1()
    manager.create()
    manager.apply({"devices": ONLY_NULL})
    listed = open(os.path.join(manager.paths["devices"], "devices.list")).read().split("\n")
    assert sorted(filter(None, listed)) == ["c 1:3 rwm", "c 1:5 r"]
    code, lines = cgroups.child(manager, "open", *PROBES).result()
    assert lines == ["/dev/null:rw ok", "/dev/zero:r ok", "/dev/zero:w EPERM", "/dev/full:r EPERM"]


@needs_v1("pids")
@pytest.mark.skipif(LAYOUT["mode"] != "hybrid", reason="not a hybrid host")
def test_hybrid_host_without_v1_devices_filters_on_cgroup2(cgroups):
    manager = V1Manager({"pids": V1_CONTROLLERS["pids"]}, "/" + cgroups.name(), LAYOUT["unified"])
    cgroups.managers.append(manager)
    manager.create()
    manager.apply({"devices": ONLY_NULL})
    code, lines = cgroups.child(manager, "open", *PROBES).result()
    assert lines == ["/dev/null:rw ok", "/dev/zero:r ok", "/dev/zero:w EPERM", "/dev/full:r EPERM"]


# --- lifecycle ------------------------------------------------------------------------------

@pytest.mark.skipif(LAYOUT["mode"] == "none", reason="no cgroups")
def test_lifecycle_with_a_relative_path(cgroups):
    manager = cgroups.v1()  # open_manager: V1Manager on v1/hybrid hosts, V2Manager on unified ones
    manager.create()
    for directory in manager.paths.values():
        assert os.path.isdir(directory) and cgroups.prefix in directory
    child = cgroups.child(manager, "sleep")
    assert child.first_line() == "sleeping"
    for directory in set(manager.paths.values()):
        assert str(child.pid) in open(os.path.join(directory, "cgroup.procs")).read().split()
    assert manager.pids() == [child.pid]
    assert manager.stats() is not None
    with pytest.raises(Conflict, match="still has processes"):
        manager.destroy(timeout=0.1)
    assert all(os.path.isdir(d) for d in manager.paths.values())
    child.stop()
    manager.destroy()
    assert not any(os.path.exists(d) for d in manager.paths.values())
