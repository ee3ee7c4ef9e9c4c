"""The parts of exec, top and stats that are pure functions of text and
files: cgroup v2 statistics on a fake tree (this host has no v2
controllers), v1 blkio entries, docker's stats arithmetic and units, ps
output filtering, the exec environment, env files, and the exec fast
path's container lookup held to ContainerStore.lookup's answers."""

import os

import pytest

from hakobune.cli.processes import bytes_size, read_env_files, stats_row
from hakobune.engine import proctable, stats
from hakobune.engine.containers import ContainerStore
from hakobune.engine.execution import ExecOptions, exec_env, exec_failure, find_record
from hakobune.errors import InvalidArgument, NotFound


def _write(directory, name, text):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)


# --- cgroup v2 on a fake tree ---------------------------------------------------------

@pytest.fixture
def v2_tree(tmp_path):
    d = str(tmp_path)
    _write(d, "cgroup.controllers", "cpu io memory pids\n")
    _write(d, "memory.current", "52428800\n")
    _write(d, "memory.max", "max\n")
    _write(d, "memory.stat", "anon 41943040\nfile 10485760\ninactive_file 2097152\nactive_file 8388608\n")
    _write(d, "cpu.stat", "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n"
                          "nr_periods 10\nnr_throttled 2\nthrottled_usec 3000\n")
    _write(d, "io.stat", "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n"
                         "253:1 rbytes=100 wbytes=0 rios=3 wios=0 dbytes=0 dios=0\n")
    _write(d, "pids.current", "3\n")
    _write(d, "pids.max", "max\n")
    return d


def test_v2_reading(v2_tree):
    record = {"Id": "a" * 64, "Name": "/web"}
    document = stats.reading(record, os.getpid(), {"unified": v2_tree})
    assert document["memory_stats"]["usage"] == 52428800
    assert document["memory_stats"]["stats"]["inactive_file"] == 2097152
    assert document["memory_stats"]["limit"] == stats.host_memory()  # "max": the host's memory
    usage = document["cpu_stats"]["cpu_usage"]
    assert (usage["total_usage"], usage["usage_in_usermode"], usage["usage_in_kernelmode"]) == \
        (1500000000, 1000000000, 500000000)
    assert document["cpu_stats"]["throttling_data"] == {"periods": 10, "throttled_periods": 2,
                                                        "throttled_time": 3000000}
    assert document["pids_stats"] == {"current": 3}
    entries = document["blkio_stats"]["io_service_bytes_recursive"]
    assert {"major": 8, "minor": 0, "op": "read", "value": 4096} in entries
    assert {"major": 8, "minor": 0, "op": "write", "value": 8192} in entries
    assert stats.block_io(document) == (4196, 8192)
    assert document["blkio_stats"]["io_serviced_recursive"][0] == {"major": 8, "minor": 0, "op": "read", "value": 1}
    assert stats.memory_usage(document) == 52428800 - 2097152
    assert (document["name"], document["id"], document["preread"]) == ("/web", "a" * 64, stats.ZERO_TIME)


def test_v2_limits(v2_tree):
    _write(v2_tree, "memory.max", "134217728\n")
    _write(v2_tree, "pids.max", "100\n")
    document = stats.reading({"Id": "b" * 64}, os.getpid(), {"unified": v2_tree})
    assert document["memory_stats"]["limit"] == 134217728
    assert document["pids_stats"] == {"current": 3, "limit": 100}
    assert round(stats.memory_percent(document), 2) == round((52428800 - 2097152) / 134217728 * 100, 2)


def test_v1_blkio_throttle_entries(tmp_path):
    d = str(tmp_path)
    _write(d, "blkio.throttle.io_service_bytes_recursive",
           "8:0 Read 1024\n8:0 Write 2048\n8:0 Sync 0\n8:0 Async 3072\n8:0 Discard 0\n8:0 Total 3072\nTotal 3072\n")
    _write(d, "blkio.throttle.io_serviced_recursive", "8:0 Read 1\n8:0 Write 2\nTotal 3\n")
    blkio = stats.v1_blkio(d)
    assert blkio["io_service_bytes_recursive"][:2] == [{"major": 8, "minor": 0, "op": "Read", "value": 1024},
                                                        {"major": 8, "minor": 0, "op": "Write", "value": 2048}]
    assert len(blkio["io_service_bytes_recursive"]) == 6 and blkio["sectors_recursive"] == []
    assert stats.block_io({"blkio_stats": blkio}) == (1024, 2048)


def test_v1_reading_on_a_fake_tree(tmp_path):
    """cgroup v1 as on this host (the recording's numbers): an unlimited
    memory cgroup reads as the host's memory."""
    dirs = {}
    for controller in ("memory", "cpuacct", "cpu", "pids", "blkio"):
        dirs[controller] = str(tmp_path / controller)
        os.makedirs(dirs[controller])
    _write(dirs["memory"], "memory.usage_in_bytes", "516096\n")
    _write(dirs["memory"], "memory.max_usage_in_bytes", "3817472\n")
    _write(dirs["memory"], "memory.limit_in_bytes", "9223372036854771712\n")
    _write(dirs["memory"], "memory.stat", "cache 57344\ntotal_inactive_file 32768\n")
    _write(dirs["cpuacct"], "cpuacct.usage", "93840990\n")
    _write(dirs["cpuacct"], "cpuacct.usage_percpu", "52037760 41803230 \n")
    _write(dirs["cpuacct"], "cpuacct.usage_sys", "40000000\n")
    _write(dirs["cpuacct"], "cpuacct.usage_user", "50000000\n")
    _write(dirs["cpu"], "cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n")
    _write(dirs["pids"], "pids.current", "2\n")
    _write(dirs["pids"], "pids.max", "max\n")
    document = stats.reading({"Id": "d" * 64, "Name": "/apirec-sleeper"}, os.getpid(), dirs)
    assert document["memory_stats"] == {"usage": 516096, "max_usage": 3817472, "limit": stats.host_memory(),
                                        "stats": {"cache": 57344, "total_inactive_file": 32768}}
    assert document["cpu_stats"]["cpu_usage"] == {"total_usage": 93840990, "percpu_usage": [52037760, 41803230],
                                                  "usage_in_kernelmode": 40000000, "usage_in_usermode": 50000000}
    assert document["pids_stats"] == {"current": 2}
    assert document["blkio_stats"]["io_service_bytes_recursive"] == []
    assert stats.memory_usage(document) == 516096 - 32768


# --- docker's arithmetic and units (the recording docker-stats-no-stream) ----------------------

RECORDED = {
    "read": "2026-11-28T20:21:46.768439423Z", "preread": "2026-11-28T20:21:45.764791664Z",
    "pids_stats": {"current": 2}, "blkio_stats": {"io_service_bytes_recursive": []},
    "cpu_stats": {"cpu_usage": {"total_usage": 93840990, "percpu_usage": [52037760, 41803230]},
                  "system_cpu_usage": 2392630000000, "online_cpus": 2},
    "precpu_stats": {"cpu_usage": {"total_usage": 93840990}, "system_cpu_usage": 2390680000000, "online_cpus": 2},
    "memory_stats": {"usage": 516096, "stats": {"total_inactive_file": 32768}, "limit": 25276514304},
    "name": "/apirec-sleeper", "id": "181d7d57ac151fd710c5c3fa73a1205117f6c463ce11f2be9e17c84c64677b6b",
    "networks": {"eth0": {"rx_bytes": 1048, "tx_bytes": 0}},
}


def test_stats_row_of_the_recording():
    row = stats_row(RECORDED, "apirec-sleeper", trunc=True)
    assert row == {"Container": "apirec-sleeper", "ID": "181d7d57ac15", "Name": "apirec-sleeper",
                   "CPUPerc": "0.00%", "MemUsage": "472KiB / 23.54GiB", "MemPerc": "0.00%",
                   "NetIO": "1.05kB / 0B", "BlockIO": "0B / 0B", "PIDs": "2"}


def test_cpu_percent():
    document = {"cpu_stats": {"cpu_usage": {"total_usage": 1_500_000_000}, "system_cpu_usage": 4_000_000_000,
                              "online_cpus": 2},
                "precpu_stats": {"cpu_usage": {"total_usage": 500_000_000}, "system_cpu_usage": 2_000_000_000}}
    assert stats.cpu_percent(document) == 100.0
    document["cpu_stats"]["online_cpus"] = 0
    document["cpu_stats"]["cpu_usage"]["percpu_usage"] = [1, 2, 3, 4]
    assert stats.cpu_percent(document) == 200.0


@pytest.mark.parametrize("size,text", [(0, "0B"), (1023, "1023B"), (1024, "1KiB"), (483328, "472KiB"),
                                       (1.5 * 1024**2, "1.5MiB"), (25276514304, "23.54GiB")])
def test_bytes_size(size, text):
    assert bytes_size(size) == text


def test_stopped_container_reads_as_zeros():
    row = stats_row(stats.empty_reading({"Id": "c" * 64, "Name": "/idle"}), "idle", trunc=True)
    assert [row[k] for k in ("CPUPerc", "MemUsage", "MemPerc", "NetIO", "BlockIO", "PIDs")] == \
        ["0.00%", "0B / 0B", "0.00%", "0B / 0B", "0B / 0B", "0"]


def test_networks_leave_out_loopback(tmp_path):
    os.makedirs(tmp_path / "42" / "net")
    (tmp_path / "42" / "net" / "dev").write_text(
        "Inter-|   Receive                                                |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
        "    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0\n"
        "  eth0:    1048      14    0    0    0     0          0         0        0       0    0    0    0     0       0          0\n")
    nets = stats.networks(42, proc=str(tmp_path))
    assert nets == {"eth0": {"rx_bytes": 1048, "rx_packets": 14, "rx_errors": 0, "rx_dropped": 0,
                             "tx_bytes": 0, "tx_packets": 0, "tx_errors": 0, "tx_dropped": 0}}


# --- top ------------------------------------------------------------------------------------------

def test_parse_ps_output_keeps_the_containers_rows_and_threads():
    output = ("  PID TTY      STAT   TIME COMMAND\n"
              "    1 ?        Ss     0:01 /sbin/init splash\n"
              "  200 ?        S      0:00 sleep 300\n"
              "    - -        S      0:00 -\n"
              "  300 pts/0    R+     0:00 ps m\n"
              "    - -        R+     0:00 -\n")
    table = proctable.parse_ps_output(output, {200})
    assert table["Titles"] == ["PID", "TTY", "STAT", "TIME", "COMMAND"]
    assert table["Processes"] == [["200", "?", "S", "0:00", "sleep 300"], ["-", "-", "S", "0:00", "-"]]


def test_ps_args_that_hide_the_pid_are_refused():
    proctable.check_ps_args("-o pid,comm")
    proctable.check_ps_args("-o pid=PID")
    with pytest.raises(InvalidArgument, match='specifying "user=PID" is not allowed'):
        proctable.check_ps_args("-o user=PID")


def test_ps_ef_row_of_ourselves():
    table = proctable.ps_ef([os.getpid()])
    assert table["Titles"] == proctable.PS_EF_TITLES
    (row,) = table["Processes"]
    assert row[1] == str(os.getpid()) and row[2] == str(os.getppid())
    assert "pytest" in row[7] or "python" in row[7]


# --- exec --------------------------------------------------------------------------------------------

def test_exec_env_is_dockers():
    record = {"Config": {"Env": ["PATH=/bin", "HOSTNAME=abc", "A=1", "B=2"]}}
    options = ExecOptions(["env"], env=["B=3", "C=4", "A"], tty=True)
    assert exec_env(record, [], options) == ["PATH=/bin", "HOSTNAME=abc", "B=3", "TERM=xterm", "C=4"]


def test_exec_failures_as_docker_words_them():
    missing = exec_failure(InvalidArgument('exec: "nope": executable file not found in $PATH'), "nope")
    assert missing.status == 127 and missing.message == (
        'OCI runtime exec failed: exec failed: unable to start container process: '
        'exec: "nope": executable file not found in $PATH: unknown')
    denied = exec_failure(OSError(13, "exec /etc/passwd: Permission denied"), "/etc/passwd")
    assert denied.status == 126 and 'exec: "/etc/passwd": permission denied: unknown' in denied.message


def test_read_env_files(tmp_path, monkeypatch):
    monkeypatch.setenv("FROM_HOST", "h")
    monkeypatch.delenv("UNSET_HERE", raising=False)
    path = tmp_path / "env"
    path.write_text("# comment\n\n  A=1\nB=x=y\nFROM_HOST\nUNSET_HERE\nEMPTY=\n")
    assert read_env_files([str(path)]) == ["A=1", "B=x=y", "FROM_HOST=h", "UNSET_HERE", "EMPTY="]


def test_find_record_agrees_with_the_container_store(tmp_path):
    root = str(tmp_path)
    store = ContainerStore(root)
    first = store.add({"Config": {}}, "web")
    second = store.add({"Config": {}}, "db")
    for text in (first["Id"], "web", "/db", first["Id"][:10], second["Id"][:10]):
        assert find_record(root, text)["Id"] == store.lookup(text)["Id"]
    shared = os.path.commonprefix([first["Id"], second["Id"]])
    for text in ("nosuch", "", shared if shared else None):
        if text is None:
            continue
        with pytest.raises((NotFound, InvalidArgument)) as ours:
            find_record(root, text)
        with pytest.raises((NotFound, InvalidArgument)) as theirs:
            store.lookup(text)
        assert (type(ours.value), str(ours.value)) == (type(theirs.value), str(theirs.value))
