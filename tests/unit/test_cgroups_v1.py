"""cgroup v1 manager and the layout code on fake trees and mountinfo samples.

The fake host has one directory per hierarchy, like this project's hybrid
test machine (cpu and cpuacct apart, name=systemd, a controller-less
cgroup2 at "unified").  `writes` records every (file, value) written, in
order; `kernel_memory_rules` makes the fake refuse what the kernel refuses.
"""

import errno
import os

import pytest

from hakobune.errors import Conflict, InvalidArgument, SystemFailure
from hakobune.runtime.cgroups import V1Manager, detect_layout, fs, load_manager, open_manager
from hakobune.runtime.cgroups.layout import container_path, parse_proc_cgroup, path_in_hierarchy

HYBRID_MOUNTINFO = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
HIERARCHIES = ("cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd", "unified")

LEGACY_MOUNTINFO = """\
25 18 0:21 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:22 / /sys/fs/cgroup/systemd rw shared:10 - cgroup cgroup rw,xattr,name=systemd
29 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw shared:13 - cgroup cgroup rw,cpu,cpuacct
30 25 0:26 / /sys/fs/cgroup/net_cls,net_prio rw shared:14 - cgroup cgroup rw,net_cls,net_prio
31 25 0:27 /docker/abc /sys/fs/cgroup/memory rw shared:15 - cgroup cgroup rw,memory
32 25 0:27 / /mnt/memory\\040again rw shared:15 - cgroup cgroup rw,memory
"""

LEAF_FILES = {
    "cgroup.procs": "", "cpu.shares": "1024", "cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "-1",
    "cpu.cfs_burst_us": "0", "cpu.rt_period_us": "1000000", "cpu.rt_runtime_us": "0", "cpu.idle": "0",
    "cpuset.cpus": "", "cpuset.mems": "", "memory.limit_in_bytes": "9223372036854771712",
    "memory.memsw.limit_in_bytes": "9223372036854771712", "memory.soft_limit_in_bytes": "9223372036854771712",
    "memory.swappiness": "60", "memory.oom_control": "oom_kill_disable 0", "devices.allow": "",
    "devices.deny": "", "freezer.state": "THAWED", "pids.max": "max", "blkio.weight": "500",
    "blkio.throttle.read_bps_device": "", "blkio.throttle.write_iops_device": "",
}
MiB = 1 << 20
UNLIMITED = 9223372036854771712


@pytest.fixture
def host(tmp_path):
    base = tmp_path / "cgroup"
    for name in HIERARCHIES:
        (base / name).mkdir(parents=True)
    (base / "cpuset/cpuset.cpus").write_text("0-3\n")
    (base / "cpuset/cpuset.mems").write_text("0\n")
    return base


def mounts(host, names=HIERARCHIES):
    return {("name=systemd" if n == "systemd" else n): str(host / n) for n in names if n != "unified"}


def fake_cgroup(host, path="/hakobune/c1", names=HIERARCHIES, files=None, omit=()):
    for name in names:
        directory = host / name / path.strip("/")
        directory.mkdir(parents=True, exist_ok=True)
        for file, content in {**LEAF_FILES, **(files or {})}.items():
            if file not in omit:
                (directory / file).write_text(content)


def manager(host, path="/hakobune/c1", files=None, omit=(), names=HIERARCHIES):
    fake_cgroup(host, path, names, files, omit)
    return V1Manager(mounts(host, names), path, str(host / "unified") if "unified" in names else None)


@pytest.fixture
def writes(monkeypatch, host):
    recorded = []
    real_write = fs.write

    def recording_write(path, value):
        recorded.append((os.path.relpath(path, host), value))
        real_write(path, value)

    monkeypatch.setattr(fs, "write", recording_write)
    return recorded


@pytest.fixture
def kernel_memory_rules(monkeypatch, writes):
    """Refuse, like the kernel, any write leaving memory.limit above memory+swap."""
    recording_write = fs.write

    def checked_write(path, value):
        directory, name = os.path.split(path)
        if name in ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes"):
            files = {n: int(open(os.path.join(directory, n)).read()) for n in
                     ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes")}
            files[name] = int(value)
            files = {n: UNLIMITED if v == -1 else v for n, v in files.items()}
            if files["memory.limit_in_bytes"] > files["memory.memsw.limit_in_bytes"]:
                raise fs.write_failure(path, value, OSError(errno.EINVAL, "")) from OSError(errno.EINVAL, "")
        recording_write(path, value)

    monkeypatch.setattr(fs, "write", checked_write)
    return writes


# --- layout ---------------------------------------------------------------------------

def test_detect_layout_hybrid():
    layout = detect_layout(HYBRID_MOUNTINFO)
    assert layout["mode"] == "hybrid"
    assert layout["unified"] == "/sys/fs/cgroup/unified"
    assert layout["v1"] == {"cpu": "/sys/fs/cgroup/cpu", "cpuacct": "/sys/fs/cgroup/cpuacct",
                            "cpuset": "/sys/fs/cgroup/cpuset", "memory": "/sys/fs/cgroup/memory",
                            "devices": "/sys/fs/cgroup/devices", "freezer": "/sys/fs/cgroup/freezer",
                            "blkio": "/sys/fs/cgroup/blkio", "pids": "/sys/fs/cgroup/pids",
                            "name=systemd": "/sys/fs/cgroup/systemd"}


def test_detect_layout_legacy_with_co_mounts_roots_and_escapes():
    layout = detect_layout(LEGACY_MOUNTINFO)
    assert layout["mode"] == "legacy" and layout["unified"] is None
    assert layout["v1"]["cpu"] == layout["v1"]["cpuacct"] == "/sys/fs/cgroup/cpu,cpuacct"
    assert layout["v1"]["net_prio"] == "/sys/fs/cgroup/net_cls,net_prio"
    assert layout["v1"]["memory"] == "/sys/fs/cgroup/memory"  # the first mount wins
    assert layout["v1_roots"]["memory"] == "/docker/abc"
    assert "xattr" not in layout["v1"]
    assert detect_layout("1 0 0:1 / /a\\040b rw - cgroup x rw,pids")["v1"] == {"pids": "/a b"}


def test_detect_layout_named_hierarchy_only_is_unified_and_nothing_is_none():
    only_systemd = HYBRID_MOUNTINFO.splitlines()[9:]
    assert detect_layout("\n".join(only_systemd))["mode"] == "unified"
    assert detect_layout("")["mode"] == "none"


def test_parse_proc_cgroup():
    assert parse_proc_cgroup("4:memory:/a/b\n2:cpu,cpuacct:/\n1:name=systemd:/s\n0::/u\n") == {
        "memory": "/a/b", "cpu": "/", "cpuacct": "/", "name=systemd": "/s", "unified": "/u"}


@pytest.mark.parametrize("given, expected", [
    (None, "/hakobune/abc"),
    ("/a/../../b//c/", "/b/c"),
    ("rel/x", "rel/x"),
    ("system.slice:docker:abc", "/system.slice/docker-abc.scope"),
    (":hakobune:abc", "/system.slice/hakobune-abc.scope"),
    ("user-1000.slice:app:x", "/user.slice/user-1000.slice/app-x.scope"),
    ("machine.slice::abc", "/machine.slice/abc.scope"),
    ("a.slice::b.slice", "/a.slice/b.slice"),
    ("-.slice:p:n", "/p-n.scope"),
])
def test_container_path(given, expected):
    assert container_path(given, "abc") == expected


@pytest.mark.parametrize("bad", ["notaslice:p:n", "a--b.slice:p:n", "a.slice:p:", "a.slice:p/q:n"])
def test_bad_systemd_paths(bad):
    with pytest.raises(InvalidArgument):
        container_path(bad, "abc")


def test_path_in_hierarchy():
    assert path_in_hierarchy("/abs", "/own", "/") == "/abs"
    assert path_in_hierarchy("c1", "/process_api/x", "/") == "/process_api/x/c1"
    assert path_in_hierarchy("c1", "/docker/abc/sub", "/docker/abc") == "/sub/c1"
    assert path_in_hierarchy("../../../c1", "/a", "/") == "/c1"


def write_proc(tmp_path, mountinfo, proc_cgroup):
    (tmp_path / "proc/self").mkdir(parents=True)
    (tmp_path / "proc/self/mountinfo").write_text(mountinfo)
    (tmp_path / "proc/self/cgroup").write_text(proc_cgroup)


def test_open_manager_on_fake_hybrid_host_with_relative_path(tmp_path):
    write_proc(tmp_path, HYBRID_MOUNTINFO, "4:memory:/process_api/x\n1:cpu:/\n9:name=systemd:/\n0::/\n")
    m = open_manager("c1", "abc", mountinfo_root=str(tmp_path))
    base = f"{tmp_path}/sys/fs/cgroup"
    assert isinstance(m, V1Manager) and m.removable_parents == 0
    assert m.paths["memory"] == f"{base}/memory/process_api/x/c1"
    assert m.paths["cpu"] == f"{base}/cpu/c1"
    assert m.paths["name=systemd"] == f"{base}/systemd/c1"
    assert m.paths["unified"] == f"{base}/unified/c1"
    assert len(m.paths) == 10


def test_open_manager_on_fake_legacy_host(tmp_path):
    write_proc(tmp_path, LEGACY_MOUNTINFO, "")
    m = open_manager(None, "abc", mountinfo_root=str(tmp_path))
    base = f"{tmp_path}/sys/fs/cgroup"
    assert m.removable_parents == 1 and "unified" not in m.paths
    assert sorted(m.mount_sources()) == [("cpu,cpuacct", f"{base}/cpu,cpuacct/hakobune/abc"),
                                         ("memory", f"{base}/memory/hakobune/abc"),
                                         ("net_cls,net_prio", f"{base}/net_cls,net_prio/hakobune/abc"),
                                         ("systemd", f"{base}/systemd/hakobune/abc")]
    assert sorted(m.mount_symlinks()) == [("cpu", "cpu,cpuacct"), ("cpuacct", "cpu,cpuacct"),
                                          ("net_cls", "net_cls,net_prio"), ("net_prio", "net_cls,net_prio")]


def test_describe_round_trips(host):
    m = V1Manager(mounts(host), {**{n: "/a" for n in mounts(host)}, "unified": "/b"}, str(host / "unified"),
                  removable_parents=1)
    again = load_manager(m.describe())
    assert again.paths == m.paths and again.removable_parents == 1


# --- create, add, destroy --------------------------------------------------------------

def test_create_makes_every_hierarchy_and_fills_cpuset_from_the_parents(host, writes):
    (host / "cpuset/hakobune").mkdir()
    (host / "cpuset/hakobune/cpuset.cpus").write_text("1-2\n")
    (host / "cpuset/hakobune/cpuset.mems").write_text("\n")
    fake_cgroup(host, "/hakobune/c1", names=["cpuset"])
    V1Manager(mounts(host), "/hakobune/c1", str(host / "unified")).create()
    assert all((host / name / "hakobune/c1").is_dir() for name in HIERARCHIES)
    assert writes == [("cpuset/hakobune/cpuset.mems", "0"), ("cpuset/hakobune/c1/cpuset.cpus", "1-2"),
                      ("cpuset/hakobune/c1/cpuset.mems", "0")]


def test_add_writes_each_hierarchy_once_including_systemd_and_unified(host, writes):
    manager(host).add(99)
    assert sorted(writes) == sorted((f"{name}/hakobune/c1/cgroup.procs", "99") for name in HIERARCHIES)


def test_co_mounted_controllers_share_one_directory(host, writes):
    (host / "cpu,cpuacct").mkdir()
    m = V1Manager({"cpu": str(host / "cpu,cpuacct"), "cpuacct": str(host / "cpu,cpuacct")}, "/c1")
    m.create()
    (host / "cpu,cpuacct/c1/cgroup.procs").write_text("")
    m.add(5)
    assert writes == [("cpu,cpuacct/c1/cgroup.procs", "5")]
    assert sorted(m.mount_sources()) == [("cpu,cpuacct", f"{host}/cpu,cpuacct/c1")]


NO_CPUSET = tuple(name for name in HIERARCHIES if name != "cpuset")  # a fake cpuset needs files


def test_destroy_removes_every_hierarchy_and_the_empty_default_parent(host):
    m = V1Manager(mounts(host, NO_CPUSET), "/hakobune/c1", str(host / "unified"), removable_parents=1)
    m.create()
    (host / "memory/hakobune/c2").mkdir()
    m.destroy()
    assert [name for name in NO_CPUSET if (host / name / "hakobune").exists()] == ["memory"]
    assert os.listdir(host / "memory/hakobune") == ["c2"]


def test_destroy_refuses_a_cgroup_with_processes(host):
    m = manager(host, names=["pids"], files={"cgroup.procs": "123\n"})
    with pytest.raises(Conflict, match=r"still has processes \[123\]"):
        m.destroy(timeout=0.05)


def test_rootless_skips_hierarchies_it_may_not_create(host, monkeypatch):
    real_make_dirs = fs.make_dirs

    def denied_for_memory(path):
        if "/memory/" in path:
            raise SystemFailure("denied") from PermissionError(errno.EACCES, "denied")
        real_make_dirs(path)

    monkeypatch.setattr(fs, "make_dirs", denied_for_memory)
    m = V1Manager(mounts(host, NO_CPUSET), "/c1", rootless=True)
    m.create()
    assert "memory" not in m.paths and "pids" in m.paths
    with pytest.raises(SystemFailure, match="rootless"):
        m.apply({"memory": {"limit": MiB}})
    with pytest.raises(SystemFailure):
        V1Manager(mounts(host, NO_CPUSET), "/c2").create()


# --- memory ------------------------------------------------------------------------------

def applied(host, writes, resources, files=None, omit=()):
    manager(host, files=files, omit=omit).apply(resources)
    return [(name.split("/")[-1], value) for name, value in writes]


def test_raising_memory_writes_memsw_first(host, kernel_memory_rules):
    files = {"memory.limit_in_bytes": str(100 * MiB), "memory.memsw.limit_in_bytes": str(100 * MiB)}
    assert applied(host, kernel_memory_rules, {"memory": {"limit": 200 * MiB, "swap": 400 * MiB}}, files) == [
        ("memory.memsw.limit_in_bytes", str(400 * MiB)), ("memory.limit_in_bytes", str(200 * MiB))]


def test_lowering_memory_writes_the_limit_first(host, kernel_memory_rules):
    files = {"memory.limit_in_bytes": str(400 * MiB), "memory.memsw.limit_in_bytes": str(800 * MiB)}
    assert applied(host, kernel_memory_rules, {"memory": {"limit": 100 * MiB, "swap": 200 * MiB}}, files) == [
        ("memory.limit_in_bytes", str(100 * MiB)), ("memory.memsw.limit_in_bytes", str(200 * MiB))]


def test_unlimited_memory_lifts_memsw_first(host, kernel_memory_rules):
    files = {"memory.limit_in_bytes": str(100 * MiB), "memory.memsw.limit_in_bytes": str(100 * MiB)}
    assert applied(host, kernel_memory_rules, {"memory": {"limit": -1}}, files) == [
        ("memory.memsw.limit_in_bytes", "-1"), ("memory.limit_in_bytes", "-1")]


def test_limit_above_current_memsw_without_swap_is_explained(host, kernel_memory_rules):
    files = {"memory.limit_in_bytes": str(100 * MiB), "memory.memsw.limit_in_bytes": str(100 * MiB)}
    with pytest.raises(InvalidArgument, match="set linux.resources.memory.swap as well"):
        manager(host, files=files).update({"memory": {"limit": 200 * MiB}})


def test_swap_without_swap_accounting(host, writes):
    omit = ("memory.memsw.limit_in_bytes",)
    assert applied(host, writes, {"memory": {"limit": MiB, "swap": MiB}}, omit=omit) == [
        ("memory.limit_in_bytes", str(MiB))]
    with pytest.raises(SystemFailure, match="memory.memsw.limit_in_bytes does not exist"):
        manager(host, omit=omit).apply({"memory": {"limit": MiB, "swap": 2 * MiB}})


def test_reservation_swappiness_and_oom_killer(host, writes):
    assert applied(host, writes, {"memory": {"reservation": MiB, "swappiness": 0, "disableOOMKiller": True,
                                             "kernel": 5, "kernelTCP": 5}}) == [
        ("memory.soft_limit_in_bytes", str(MiB)), ("memory.swappiness", "0"), ("memory.oom_control", "1")]


@pytest.mark.parametrize("memory", [{"swappiness": 101}, {"limit": -2}, {"limit": "1G"},
                                    {"limit": 2 * MiB, "swap": MiB}])
def test_bad_memory_values(host, writes, memory):
    with pytest.raises(InvalidArgument):
        manager(host).apply({"memory": memory})
    assert writes == []


# --- cpu, cpuset, pids ----------------------------------------------------------------------

def test_cpu_files(host, writes):
    assert applied(host, writes, {"cpu": {"shares": 512, "quota": 50000, "period": 200000, "burst": 1000,
                                          "idle": 0, "cpus": "0-1", "mems": "0"}}) == [
        ("cpu.shares", "512"), ("cpu.cfs_period_us", "200000"), ("cpu.cfs_quota_us", "50000"),
        ("cpu.cfs_burst_us", "1000"), ("cpu.idle", "0"), ("cpuset.cpus", "0-1"), ("cpuset.mems", "0")]


@pytest.mark.parametrize("quota", [-1, 0, -5])
def test_cpu_quota_unlimited(host, writes, quota):
    assert applied(host, writes, {"cpu": {"quota": quota}}) == [("cpu.cfs_quota_us", "-1")]


def test_realtime_period_and_runtime_order(host, writes):
    assert applied(host, writes, {"cpu": {"realtimePeriod": 500000, "realtimeRuntime": 400000}}) == [
        ("cpu.rt_period_us", "500000"), ("cpu.rt_runtime_us", "400000")]
    writes.clear()
    files = {"cpu.rt_runtime_us": "900000"}
    assert applied(host, writes, {"cpu": {"realtimePeriod": 500000, "realtimeRuntime": 400000}}, files) == [
        ("cpu.rt_runtime_us", "400000"), ("cpu.rt_period_us", "500000")]


def test_negative_shares_are_invalid(host, writes):
    with pytest.raises(InvalidArgument, match="shares"):
        manager(host).apply({"cpu": {"shares": -1}})


@pytest.mark.parametrize("limit, expected", [(10, "10"), (0, "max"), (-1, "max")])
def test_pids_max(host, writes, limit, expected):
    assert applied(host, writes, {"pids": {"limit": limit}}) == [("pids.max", expected)]


def test_kernel_refusal_names_file_and_value(host, writes):
    fake_cgroup(host, "/x", names=["pids"], omit=("pids.max",))
    (host / "pids/x/pids.max").mkdir()
    with pytest.raises(SystemFailure) as failure:
        V1Manager(mounts(host, ["pids"]), "/x").apply({"pids": {"limit": 10}})
    assert str(failure.value) == f"cgroup: writing '10' to {host}/pids/x/pids.max: Is a directory"


# --- devices, blkio, hugetlb, unified ---------------------------------------------------

def test_device_rules_start_from_deny_all_in_order(host, writes):
    result = applied(host, writes, {"devices": [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "wr"},
        {"allow": True, "type": "c", "major": 136, "minor": -1},
        {"allow": True, "type": "a", "major": 10, "minor": 200, "access": "m"},
        {"allow": False, "type": "b", "major": 8, "minor": None, "access": "w"},
        {"allow": True}]})
    assert result == [("devices.deny", "a"), ("devices.deny", "a"), ("devices.allow", "c 1:3 rw"),
                      ("devices.allow", "c 136:* rwm"), ("devices.allow", "b 10:200 m"),
                      ("devices.allow", "c 10:200 m"), ("devices.deny", "b 8:* w"), ("devices.allow", "a")]


def test_empty_device_list_denies_everything_and_absent_list_changes_nothing(host, writes):
    assert applied(host, writes, {"devices": []}) == [("devices.deny", "a")]
    writes.clear()
    assert applied(host, writes, {"pids": {"limit": 1}}) == [("pids.max", "1")]


def test_hybrid_without_v1_devices_uses_the_cgroup2_device_filter(host, writes, monkeypatch):
    from hakobune.runtime.cgroups import devices_bpf

    installed = []
    monkeypatch.setattr(devices_bpf, "install", lambda directory, rules: installed.append((directory, rules)))
    names = ("pids", "unified")
    manager(host, names=names).apply({"devices": [{"allow": True, "type": "c", "major": 1, "minor": 3}]})
    assert writes == [] and [d for d, _ in installed] == [f"{host}/unified/hakobune/c1"]
    manager(host, "/legacy", names=("pids", "devices")).apply({"devices": []})
    assert writes == [("devices/legacy/devices.deny", "a")] and len(installed) == 1


def test_blkio_weight_and_throttles(host, writes):
    assert applied(host, writes, {"blockIO": {
        "weight": 300, "weightDevice": [{"major": 8, "minor": 0, "weight": 200}],
        "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1024}],
        "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 0}]}}) == [
        ("blkio.weight", "300"), ("blkio.throttle.read_bps_device", "8:0 1024"),
        ("blkio.throttle.write_iops_device", "8:0 0")]


def test_blkio_weight_falls_back_to_bfq(host, writes):
    result = applied(host, writes, {"blockIO": {"weight": 300}}, files={"blkio.bfq.weight": "100"},
                     omit=("blkio.weight",))
    assert result == [("blkio.bfq.weight", "300")]


def test_blkio_is_skipped_silently_when_absent(host, writes):
    assert applied(host, writes, {"blockIO": {"weight": 300}}, omit=("blkio.weight",)) == []
    m = manager(host, "/y", names=["pids"])
    m.apply({"blockIO": {"weight": 300, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1}]}})


def test_blkio_weight_out_of_range(host, writes):
    with pytest.raises(InvalidArgument):
        manager(host).apply({"blockIO": {"weight": 5}})


def test_hugetlb_without_the_controller_is_an_error(host, writes):
    with pytest.raises(SystemFailure, match="hugetlb controller is not available"):
        manager(host).apply({"hugepageLimits": [{"pageSize": "2MB", "limit": MiB}]})


def test_unified_values_go_to_the_hybrid_cgroup2_dir(host, writes):
    fake_cgroup(host, "/hakobune/c1", names=["unified"], files={"cgroup.freeze": "0"})
    assert applied(host, writes, {"unified": {"cgroup.freeze": "0"}}) == [("cgroup.freeze", "0")]
    assert writes == [("unified/hakobune/c1/cgroup.freeze", "0")]
    with pytest.raises(InvalidArgument, match="cgroup v2"):
        manager(host, "/z", names=["pids"]).apply({"unified": {"pids.max": "3"}})


# --- freezer, pids, stats --------------------------------------------------------------------

def test_freeze_retries_while_freezing_then_thaws(host, monkeypatch):
    m = manager(host)
    state_file = host / "freezer/hakobune/c1/freezer.state"
    asked = []

    def slow_kernel(path, value):
        asked.append(value)
        state_file.write_text("FREEZING" if asked.count("FROZEN") < 3 and value == "FROZEN" else value)

    monkeypatch.setattr(fs, "write", slow_kernel)
    m.freeze()
    assert m.state() == "frozen" and asked.count("FROZEN") == 3
    m.thaw()
    assert m.state() == "thawed"


def test_freeze_that_never_completes_is_undone(host, monkeypatch):
    m = manager(host)
    state_file = host / "freezer/hakobune/c1/freezer.state"
    monkeypatch.setattr(fs, "write", lambda path, value: state_file.write_text(
        "FREEZING" if value == "FROZEN" else value))
    with pytest.raises(SystemFailure, match="did not reach FROZEN"):
        m.freeze(timeout=0.05)
    assert state_file.read_text() == "THAWED"


def test_no_freezer(host):
    m = manager(host, names=["pids"])
    assert m.state() == "thawed"
    with pytest.raises(SystemFailure, match="freezer"):
        m.freeze()


def test_pids_are_read_recursively(host):
    m = manager(host, files={"cgroup.procs": "1\n2\n"})
    fake_cgroup(host, "/hakobune/c1/sub", names=["pids"], files={"cgroup.procs": "3\n"})
    assert sorted(m.pids()) == [1, 2, 3]


def test_stats(host):
    files = {"cpuacct.usage": "900", "cpuacct.usage_percpu": "400 500", "cpuacct.usage_sys": "100",
             "cpuacct.usage_user": "800", "cpu.stat": "nr_periods 3\nnr_throttled 1\nthrottled_time 77\n",
             "memory.usage_in_bytes": "4096", "memory.limit_in_bytes": "8192", "memory.max_usage_in_bytes": "5000",
             "memory.failcnt": "2", "memory.stat": "cache 10\nrss 20\n", "pids.current": "4", "pids.max": "9"}
    data = manager(host, files=files).stats()
    assert data["cpu"]["usage"]["total"] == 900 and data["cpu"]["usage"]["percpu"] == [400, 500]
    assert data["cpu"]["usage"]["kernel"] == 100 and data["cpu"]["usage"]["user"] == 800
    assert data["cpu"]["throttling"] == {"periods": 3, "throttledPeriods": 1, "throttledTime": 77}
    assert data["memory"]["usage"] == {"usage": 4096, "limit": 8192, "max": 5000, "failcnt": 2}
    assert data["memory"]["cache"] == 10 and data["memory"]["raw"] == {"cache": 10, "rss": 20}
    assert data["pids"] == {"current": 4, "limit": 9}
