"""cgroup v2 manager on a fake unified tree: the exact files and values written.

The fake tree is a temporary directory of plain files shaped like cgroup2;
`writes` records every (file, value) the manager writes, in order.  The
device filter's program is run by a small BPF interpreter here and checked
against a plain reference model of the OCI rules.
"""

import itertools
import os
import random
import struct
import subprocess
import sys

import pytest

from hakobune.errors import Conflict, InvalidArgument, SystemFailure
from hakobune.runtime.cgroups import V2Manager, detect_layout, fs, load_manager, open_manager
from hakobune.runtime.cgroups import devices_bpf
from hakobune.runtime.cgroups.devices import parse_rules

CONTROLLERS = "cpuset cpu io memory hugetlb pids rdma misc"
LEAF_FILES = {
    "cgroup.controllers": CONTROLLERS, "cgroup.subtree_control": "", "cgroup.procs": "",
    "cgroup.freeze": "0", "cgroup.events": "populated 0\nfrozen 0\n",
    "memory.max": "max", "memory.low": "0", "memory.swap.max": "max", "cpu.weight": "100",
    "cpu.max": "max 100000", "cpu.max.burst": "0", "cpu.idle": "0", "cpuset.cpus": "", "cpuset.mems": "",
    "pids.max": "max", "io.weight": "default 100", "io.max": "", "hugetlb.2MB.max": "max", "rdma.max": "",
}


@pytest.fixture
def root(tmp_path):
    base = tmp_path / "cgroup"
    base.mkdir()
    (base / "cgroup.controllers").write_text(CONTROLLERS + "\n")
    (base / "cgroup.subtree_control").write_text("")
    return base


@pytest.fixture
def writes(monkeypatch, root):
    recorded = []
    real_write = fs.write

    def recording_write(path, value):
        recorded.append((os.path.relpath(path, root), value))
        real_write(path, value)

    monkeypatch.setattr(fs, "write", recording_write)
    return recorded


def fake_cgroup(root, path="/hakobune/c1", files=None, omit=()):
    directory = root / path.strip("/")
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in {**LEAF_FILES, **(files or {})}.items():
        if name not in omit:
            (directory / name).write_text(content)
    return directory


def manager(root, path="/hakobune/c1", **files):
    fake_cgroup(root, path, files)
    return V2Manager(str(root), path)


def applied(root, writes, resources, **files):
    manager(root, **files).apply(resources)
    return [(name.split("/")[-1], value) for name, value in writes]


# --- layout and construction --------------------------------------------------

PURE_V2_MOUNTINFO = """\
22 28 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
25 23 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
28 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
"""


def test_detect_layout_pure_v2():
    layout = detect_layout(PURE_V2_MOUNTINFO)
    assert layout == {"mode": "unified", "unified": "/sys/fs/cgroup", "unified_root": "/",
                      "v1": {}, "v1_roots": {}}


def test_open_manager_on_fake_pure_v2_host(tmp_path):
    (tmp_path / "proc/self").mkdir(parents=True)
    (tmp_path / "proc/self/mountinfo").write_text(PURE_V2_MOUNTINFO)
    (tmp_path / "proc/self/cgroup").write_text("0::/user.slice/session-1.scope\n")
    default = open_manager(None, "abc", mountinfo_root=str(tmp_path))
    assert isinstance(default, V2Manager)
    assert default.paths == {"unified": f"{tmp_path}/sys/fs/cgroup/hakobune/abc"}
    assert default.removable_parents == 1
    relative = open_manager("sub/c", "abc", mountinfo_root=str(tmp_path))
    assert relative.dir == f"{tmp_path}/sys/fs/cgroup/user.slice/session-1.scope/sub/c"
    systemd = open_manager("machine.slice:hakobune:abc", "abc", mountinfo_root=str(tmp_path))
    assert systemd.path == "/machine.slice/hakobune-abc.scope"
    assert systemd.removable_parents == 0


def test_root_cgroup_is_refused(root):
    with pytest.raises(InvalidArgument):
        V2Manager(str(root), "/")


def test_describe_round_trips(root):
    original = V2Manager(str(root), "/a/b", removable_parents=1)
    again = load_manager(original.describe())
    assert (again.dir, again.removable_parents, again.version) == (original.dir, 1, 2)


def test_mount_sources_is_the_whole_cgroup2_fs(root):
    assert V2Manager(str(root), "/a/b").mount_sources() == [("", f"{root}/a/b")]


# --- create / add / destroy ---------------------------------------------------

def test_create_enables_offered_controllers_down_to_the_parent(root, writes):
    fake_cgroup(root, "/hakobune", {"cgroup.controllers": "cpu memory pids"})
    V2Manager(str(root), "/hakobune/c1").create()
    assert writes == [("cgroup.subtree_control", "+" + c) for c in CONTROLLERS.split()] + [
        ("hakobune/cgroup.subtree_control", "+cpu"), ("hakobune/cgroup.subtree_control", "+memory"),
        ("hakobune/cgroup.subtree_control", "+pids")]
    assert (root / "hakobune/c1").is_dir()


def test_create_skips_enabled_controllers_and_tolerates_refusals(root, writes, monkeypatch):
    (root / "cgroup.subtree_control").write_text("cpu memory\n")
    real_write = fs.write

    def refusing_io(path, value):
        if value == "+io":
            raise SystemFailure("refused")
        real_write(path, value)

    monkeypatch.setattr(fs, "write", refusing_io)
    V2Manager(str(root), "/c1").create()
    assert "+cpu" not in (root / "cgroup.subtree_control").read_text()
    assert (root / "c1").is_dir()


def test_add_writes_cgroup_procs(root, writes):
    manager(root).add(4242)
    assert writes == [("hakobune/c1/cgroup.procs", "4242")]


def test_destroy_removes_the_leaf_and_the_default_parent_when_empty(root):
    m = V2Manager(str(root), "/hakobune/c1", removable_parents=1)
    m.create()
    m.destroy()
    assert not (root / "hakobune").exists()
    assert root.exists()


def test_destroy_keeps_a_parent_shared_with_another_container(root):
    (root / "hakobune/c2").mkdir(parents=True)
    m = V2Manager(str(root), "/hakobune/c1", removable_parents=1)
    m.create()
    m.destroy()
    assert sorted(os.listdir(root / "hakobune")) == ["c2"]


def test_destroy_refuses_a_cgroup_with_processes(root):
    m = manager(root, **{"cgroup.procs": "77\n"})
    with pytest.raises(Conflict, match=r"still has processes \[77\]"):
        m.destroy(timeout=0.05)


def test_destroy_of_a_missing_cgroup_is_a_no_op(root):
    V2Manager(str(root), "/nothing/here").destroy()


# --- memory -----------------------------------------------------------------------

MiB = 1 << 20


def test_memory_limit_swap_and_reservation(root, writes):
    assert applied(root, writes, {"memory": {"limit": 256 * MiB, "swap": 512 * MiB, "reservation": 128 * MiB}}) == [
        ("memory.max", str(256 * MiB)), ("memory.swap.max", str(256 * MiB)), ("memory.low", str(128 * MiB))]


@pytest.mark.parametrize("limit, swap, swap_max", [
    (100 * MiB, 100 * MiB, "0"),       # memory+swap == memory: no swap at all
    (100 * MiB, -1, "max"),            # unlimited swap
    (100 * MiB, 150 * MiB, str(50 * MiB)),
])
def test_swap_max_is_swap_alone(root, writes, limit, swap, swap_max):
    assert ("memory.swap.max", swap_max) in applied(root, writes, {"memory": {"limit": limit, "swap": swap}})


def test_unlimited_memory(root, writes):
    assert applied(root, writes, {"memory": {"limit": -1, "swap": -1}}) == [
        ("memory.max", "max"), ("memory.swap.max", "max")]


def test_swap_alone_uses_the_current_memory_max(root, writes):
    result = applied(root, writes, {"memory": {"swap": 300 * MiB}}, **{"memory.max": str(200 * MiB)})
    assert result == [("memory.swap.max", str(100 * MiB))]


def test_swap_alone_without_any_limit_is_invalid(root, writes):
    with pytest.raises(InvalidArgument, match="needs a memory.limit"):
        manager(root).apply({"memory": {"swap": 300 * MiB}})


def test_swap_below_limit_is_invalid(root, writes):
    with pytest.raises(InvalidArgument, match="memory\\+swap"):
        manager(root).apply({"memory": {"limit": 200 * MiB, "swap": 100 * MiB}})
    assert writes == []


def test_swap_without_swap_accounting(root, writes):
    fake_cgroup(root, "/hakobune/c1", omit=("memory.swap.max",))
    m = V2Manager(str(root), "/hakobune/c1")
    m.apply({"memory": {"limit": 100 * MiB, "swap": 100 * MiB}})
    assert writes == [("hakobune/c1/memory.max", str(100 * MiB))]
    with pytest.raises(SystemFailure, match="memory.swap.max does not exist"):
        m.apply({"memory": {"limit": 100 * MiB, "swap": 200 * MiB}})


def test_check_before_update_refuses_a_limit_below_usage(root, writes):
    m = manager(root, **{"memory.current": str(64 * MiB)})
    with pytest.raises(InvalidArgument, match="below the current usage"):
        m.update({"memory": {"limit": 32 * MiB, "checkBeforeUpdate": True}})
    m.update({"memory": {"limit": 32 * MiB}})
    assert writes == [("hakobune/c1/memory.max", str(32 * MiB))]


# --- cpu, cpuset, pids ---------------------------------------------------------

@pytest.mark.parametrize("shares, weight", [(2, "1"), (512, "20"), (1024, "39"), (262144, "10000"),
                                            (1, "1"), (10**6, "10000")])
def test_cpu_weight_from_shares(root, writes, shares, weight):
    assert applied(root, writes, {"cpu": {"shares": shares}}) == [("cpu.weight", weight)]


def test_negative_shares_are_invalid(root, writes):
    with pytest.raises(InvalidArgument, match="shares"):
        manager(root).apply({"cpu": {"shares": -5}})


@pytest.mark.parametrize("cpu, current, expected", [
    ({"quota": 50000, "period": 100000}, "max 100000", "50000 100000"),
    ({"quota": -1, "period": 100000}, "20000 100000", "max 100000"),
    ({"quota": 0, "period": 200000}, "20000 100000", "max 200000"),
    ({"period": 50000}, "30000 100000", "30000 50000"),
    ({"quota": 25000}, "max 250000", "25000 250000"),
])
def test_cpu_max(root, writes, cpu, current, expected):
    assert applied(root, writes, {"cpu": cpu}, **{"cpu.max": current}) == [("cpu.max", expected)]


def test_cpu_burst_idle_and_cpuset(root, writes):
    result = applied(root, writes, {"cpu": {"burst": 1000, "idle": 1, "cpus": "0-1", "mems": "0"}})
    assert result == [("cpu.max.burst", "1000"), ("cpu.idle", "1"), ("cpuset.cpus", "0-1"), ("cpuset.mems", "0")]


def test_realtime_is_refused_on_v2(root, writes):
    with pytest.raises(InvalidArgument, match="realtime"):
        manager(root).apply({"cpu": {"realtimeRuntime": 1000}})


@pytest.mark.parametrize("limit, expected", [(100, "100"), (-1, "max"), (0, "max")])
def test_pids_max(root, writes, limit, expected):
    assert applied(root, writes, {"pids": {"limit": limit}}) == [("pids.max", expected)]


# --- io, hugetlb, rdma, unified ----------------------------------------------------

def test_io_weight_is_converted_and_throttles_go_to_io_max(root, writes):
    result = applied(root, writes, {"blockIO": {
        "weight": 500, "weightDevice": [{"major": 8, "minor": 0, "weight": 1000}],
        "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
        "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 0}]}})
    assert result == [("io.weight", "default 4950"), ("io.weight", "8:0 10000"),
                      ("io.max", "8:0 rbps=1048576"), ("io.max", "8:16 wiops=max")]


def test_io_weight_prefers_bfq(root, writes):
    assert applied(root, writes, {"blockIO": {"weight": 500}}, **{"io.bfq.weight": "default 100"}) == [
        ("io.bfq.weight", "500")]


def test_io_is_skipped_silently_without_the_io_controller(root, writes):
    fake_cgroup(root, "/hakobune/c1", omit=("io.weight", "io.max"))
    V2Manager(str(root), "/hakobune/c1").apply({"blockIO": {"weight": 500}})
    assert writes == []


def test_hugetlb_rdma_and_unified_raw_values_last(root, writes):
    result = applied(root, writes, {
        "unified": {"memory.high": "1G"}, "pids": {"limit": 5},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4 * MiB}],
        "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}}}, **{"memory.high": "max"})
    assert result == [("pids.max", "5"), ("hugetlb.2MB.max", str(4 * MiB)),
                      ("rdma.max", "mlx5_1 hca_handle=3 hca_object=10000"), ("memory.high", "1G")]


def test_missing_controller_file_is_an_error_with_the_path(root, writes):
    fake_cgroup(root, "/hakobune/c1", omit=("hugetlb.2MB.max",))
    with pytest.raises(SystemFailure) as failure:
        V2Manager(str(root), "/hakobune/c1").apply({"hugepageLimits": [{"pageSize": "2MB", "limit": 0}]})
    assert str(failure.value) == (f"cgroup: writing '0' to {root}/hakobune/c1/hugetlb.2MB.max: "
                                  "No such file or directory")


def test_unified_key_must_be_a_plain_file_name(root, writes):
    with pytest.raises(InvalidArgument):
        manager(root).apply({"unified": {"../../etc/passwd": "x"}})


def test_kernel_refusal_names_file_and_value(root, writes):
    fake_cgroup(root, "/hakobune/c1", omit=("pids.max",))
    (root / "hakobune/c1/pids.max").mkdir()
    with pytest.raises(SystemFailure, match=r"^cgroup: writing '10' to .*/hakobune/c1/pids.max: Is a directory$"):
        V2Manager(str(root), "/hakobune/c1").apply({"pids": {"limit": 10}})


def test_nothing_is_written_when_any_value_is_bad(root, writes):
    with pytest.raises(InvalidArgument):
        manager(root).apply({"memory": {"limit": 100 * MiB}, "pids": {"limit": "many"}})
    assert writes == []


def test_ignored_sections(root, writes):
    assert applied(root, writes, {"memory": {"kernel": 1, "kernelTCP": 1, "swappiness": 10,
                                             "disableOOMKiller": True}, "network": {"classID": 1}}) == []


def test_devices_are_installed_as_a_bpf_program(root, writes, monkeypatch):
    installed = []
    monkeypatch.setattr(devices_bpf, "install", lambda directory, rules: installed.append((directory, rules)))
    m = manager(root)
    m.apply({"pids": {"limit": 3}})
    assert installed == []
    m.apply({"devices": [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "major": 1,
                                                             "minor": 3, "access": "rw"}]})
    [(directory, rules)] = installed
    assert directory == f"{root}/hakobune/c1"
    assert [(r.allow, r.type, r.major, r.minor, r.access) for r in rules] == [
        (False, "a", None, None, "rwm"), (True, "c", 1, 3, "rw")]


def test_rootless_goes_on_without_the_device_filter_when_bpf_is_denied(root, monkeypatch):
    def denied(directory, rules):
        raise SystemFailure("cgroup: loading the device filter") from PermissionError(1, "denied")

    monkeypatch.setattr(devices_bpf, "install", denied)
    fake_cgroup(root)
    V2Manager(str(root), "/hakobune/c1", rootless=True).apply({"devices": []})
    with pytest.raises(SystemFailure, match="device filter"):
        V2Manager(str(root), "/hakobune/c1").apply({"devices": []})


# --- freezer, pids, stats --------------------------------------------------------

def test_freeze_waits_for_frozen_and_thaw(root, writes, monkeypatch):
    m = manager(root)
    events = root / "hakobune/c1/cgroup.events"
    events.write_text("populated 1\nfrozen 1\n")
    m.freeze()
    assert m.state() == "frozen"
    events.write_text("populated 1\nfrozen 0\n")
    m.thaw()
    assert m.state() == "thawed"
    assert writes == [("hakobune/c1/cgroup.freeze", "1"), ("hakobune/c1/cgroup.freeze", "0")]


def test_freeze_that_never_completes_is_undone(root, writes):
    m = manager(root)
    with pytest.raises(SystemFailure, match="did not freeze"):
        m.freeze(timeout=0.05)
    assert writes[-1] == ("hakobune/c1/cgroup.freeze", "0")


def test_pids_are_collected_recursively(root):
    m = manager(root, **{"cgroup.procs": "10\n11\n"})
    fake_cgroup(root, "/hakobune/c1/nested", {"cgroup.procs": "12\n"})
    assert sorted(m.pids()) == [10, 11, 12]


def test_stats(root):
    m = manager(root, **{
        "memory.current": "1000", "memory.max": "4096", "memory.peak": "2000",
        "memory.stat": "anon 600\nfile 400\n", "memory.events": "low 0\nhigh 0\nmax 3\noom 1\n",
        "memory.swap.current": "50", "memory.swap.max": "max",
        "cpu.stat": "usage_usec 7\nuser_usec 5\nsystem_usec 2\nnr_periods 4\nnr_throttled 1\nthrottled_usec 9\n",
        "pids.current": "3", "pids.max": "max"})
    assert m.stats() == {
        "cpu": {"usage": {"total": 7000, "kernel": 2000, "user": 5000},
                "throttling": {"periods": 4, "throttledPeriods": 1, "throttledTime": 9000}},
        "memory": {"cache": 400, "usage": {"usage": 1000, "limit": 4096, "max": 2000, "failcnt": 3},
                   "swap": {"usage": 1050, "limit": 2**64 - 1, "max": 0, "failcnt": 0},
                   "raw": {"anon": 600, "file": 400}},
        "pids": {"current": 3, "limit": 0},
    }


# --- the device filter program ---------------------------------------------------

def run_program(code: bytes, dev_type: int, major: int, minor: int, access: int) -> int:
    """Execute the few BPF instructions devices_bpf emits."""
    context = [(access << 16) | dev_type, major, minor]
    insns = [struct.unpack("<BBhi", code[i:i + 8]) for i in range(0, len(code), 8)]
    regs, pc = [0] * 11, 0
    while True:
        opcode, registers, off, imm = insns[pc]
        dst, src = registers & 0xF, registers >> 4
        pc += 1
        if opcode == 0x61:
            regs[dst] = context[off // 4]
        elif opcode == 0xBF:
            regs[dst] = regs[src]
        elif opcode == 0xB7:
            regs[dst] = imm
        elif opcode == 0x57:
            regs[dst] &= imm
        elif opcode == 0x77:
            regs[dst] >>= imm
        elif opcode == 0x15:
            pc += off if regs[dst] == imm else 0
        elif opcode == 0x55:
            pc += off if regs[dst] != imm else 0
        elif opcode == 0x95:
            return regs[0]
        else:
            raise AssertionError(f"unexpected opcode {opcode:#x}")


BITS = {"m": 1, "r": 2, "w": 4}
TYPES = {"b": 1, "c": 2}


def reference(rules, dev_type, major, minor, access):
    """OCI semantics: default deny; for each access bit, the last matching rule decides."""
    for letter, bit in BITS.items():
        if not access & bit:
            continue
        allowed = False
        for rule in rules:
            if (rule.type in ("a", dev_type) and rule.major in (None, major) and rule.minor in (None, minor)
                    and letter in rule.access):
                allowed = rule.allow
        if not allowed:
            return 0
    return 1


def check_program(raw_rules):
    rules = parse_rules(raw_rules)
    code = devices_bpf.assemble(rules)
    for dev_type, major, minor, access in itertools.product("bc", (1, 5, 136), (0, 3, 5), range(1, 8)):
        got = run_program(code, TYPES[dev_type], major, minor, access)
        assert got == reference(rules, dev_type, major, minor, access), (raw_rules, dev_type, major, minor, access)


def test_program_denies_everything_without_rules():
    check_program([])
    assert run_program(devices_bpf.assemble([]), 2, 1, 3, 2) == 0


def test_program_docker_like_rules():
    check_program([{"allow": False, "access": "rwm"},
                   {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
                   {"allow": True, "type": "c", "major": 136, "access": "rwm"},
                   {"allow": True, "type": "c", "major": 5, "minor": 0, "access": "r"},
                   {"allow": True, "type": "c", "access": "m"}])


def test_program_last_matching_rule_wins_per_access():
    check_program([{"allow": True, "access": "rwm"}, {"allow": False, "type": "c", "major": 1, "minor": 5}])
    check_program([{"allow": True}, {"allow": False, "type": "c", "major": 1, "access": "w"}])
    check_program([{"allow": True, "type": "c", "major": 1, "access": "r"},
                   {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "w"}])


def test_program_ending_with_a_catch_all_has_no_unreachable_code():
    code = devices_bpf.assemble(parse_rules([{"allow": False, "type": "b"}, {"allow": True}]))
    assert len(code) == 8 * 8  # prologue (6) + "allow; exit"
    check_program([{"allow": False, "type": "b"}, {"allow": True}])


def test_program_random_rule_lists():
    rng = random.Random(1234)
    for _ in range(200):
        rules = [{"allow": rng.random() < 0.6, "type": rng.choice("abc"),
                  "major": rng.choice([None, -1, 1, 5]), "minor": rng.choice([None, 3, 5]),
                  "access": "".join(c for c in "rwm" if rng.random() < 0.6) or None}
                 for _ in range(rng.randrange(0, 6))]
        check_program(rules)


def test_bad_device_rules_are_invalid():
    for raw in ({"allow": "yes"}, {"allow": True, "type": "x"}, {"allow": True, "access": "rwx"},
                {"allow": True, "major": -2}):
        with pytest.raises(InvalidArgument):
            parse_rules([raw])


def test_importing_the_package_loads_only_its_own_modules():
    script = ("import sys; before = set(sys.modules); import hakobune.runtime.cgroups; "
              "print(' '.join(sorted(set(sys.modules) - before)))")
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    # builtin C modules (errno, posix...) cost nothing to import
    assert [name for name in loaded if not name.startswith("hakobune") and name not in sys.builtin_module_names] == []
    assert "hakobune.runtime.cgroups.devices_bpf" not in loaded
