"""`hakobune top` and `hakobune stats` of the real binary on real busybox
containers: top's rows are the container's cgroup's processes in `ps -ef`'s
columns (compared with the host's own ps when it is installed), with ps
options through the host's ps; stats's numbers are the cgroup's own counters
(memory from a tmpfs file the container writes, pids.current), in docker's
table, --format and live forms."""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from cli_store import HAKOBUNE, hk, store  # noqa: F401 - fixtures

pytestmark = pytest.mark.root

TOP_TITLES = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
STATS_HEADER = ("CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   BLOCK I/O   PIDS")


def _sleeper(hk, name="sleeper"):
    return hk.ok("run", "-d", "--name", name, "busybox", "sleep", "300").strip()


def _cgroup_file(container_id: str, controller: str, name: str) -> str:
    found = glob.glob(f"/sys/fs/cgroup/{controller}/hakobune/{container_id}/{name}") + \
        glob.glob(f"/sys/fs/cgroup/hakobune/{container_id}/{name}")
    assert found, (controller, name)
    with open(found[0]) as f:
        return f.read()


def _container_pids(container_id: str) -> list[int]:
    return sorted(int(p) for p in _cgroup_file(container_id, "pids", "cgroup.procs").split())


def _wait_for_pids(container_id: str, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(_container_pids(container_id)) != count:
        assert time.monotonic() < deadline
        time.sleep(0.05)


# --- top -------------------------------------------------------------------------------

def test_top_lists_the_containers_processes(hk):
    """docker-top: ps -ef's columns, tabwriter 20/1/3, host pids, exec'd processes included."""
    container_id = _sleeper(hk)
    hk.ok("exec", "-d", "sleeper", "sleep", "200")
    _wait_for_pids(container_id, 2)
    lines = hk.ok("top", "sleeper").splitlines()
    assert lines[0] == "".join(title.ljust(20) for title in TOP_TITLES[:-1]) + "CMD"
    rows = [line.split(None, 7) for line in lines[1:]]
    assert [int(row[1]) for row in rows] == _container_pids(container_id)
    assert sorted(row[7] for row in rows) == ["sleep 200", "sleep 300"]
    assert all(row[0] == "root" and row[5] == "?" and re.fullmatch(r"\d\d:\d\d:\d\d", row[6]) for row in rows)
    init_pid = hk.ok("inspect", "-f", "{{.State.Pid}}", "sleeper").strip()
    assert init_pid in [row[1] for row in rows]
    assert hk.ok("container", "top", "sleeper").splitlines()[0] == lines[0]


@pytest.mark.skipif(shutil.which("ps") is None, reason="no host ps to compare with")
def test_top_matches_host_ps(hk):
    container_id = _sleeper(hk)
    ours = {line.split(None, 7)[1]: line.split(None, 7) for line in hk.ok("top", "sleeper").splitlines()[1:]}
    theirs = {}
    for line in subprocess.run(["ps", "-ef"], capture_output=True, text=True).stdout.splitlines()[1:]:
        fields = line.split(None, 7)
        if int(fields[1]) in _container_pids(container_id):
            theirs[fields[1]] = fields
    assert ours.keys() == theirs.keys()
    for pid, row in ours.items():
        # C (recent CPU) and TIME may tick between the two reads
        assert [row[i] for i in (0, 1, 2, 4, 5, 7)] == [theirs[pid][i] for i in (0, 1, 2, 4, 5, 7)]


@pytest.mark.skipif(shutil.which("ps") is None, reason="ps options need the host's ps")
def test_top_with_ps_options(hk):
    """docker-top-args: `top C -o pid,comm` runs the host's ps and keeps the container's rows."""
    container_id = _sleeper(hk)
    lines = hk.ok("top", "sleeper", "-o", "pid,comm").splitlines()
    assert lines[0] == "PID                 COMMAND"
    assert [line.split() for line in lines[1:]] == [[str(pid), "sleep"] for pid in _container_pids(container_id)]
    aux = hk.ok("top", "sleeper", "aux").splitlines()
    assert aux[0].split()[:2] == ["USER", "PID"] and len(aux) == 2 and aux[1].split()[-2:] == ["sleep", "300"]


def test_top_refuses_hiding_the_pid_column(hk):
    _sleeper(hk)
    proc = hk.run("top", "sleeper", "-o", "user=PID")
    assert proc.returncode == 1 and 'specifying "user=PID" is not allowed' in proc.stderr


def test_top_not_running_and_missing(hk):
    container_id = hk.ok("create", "--name", "idle", "busybox", "true").strip()
    proc = hk.run("top", "idle")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == f"Error response from daemon: Container {container_id} is not running\n"
    proc = hk.run("top", "nosuch")
    assert (proc.returncode, proc.stderr) == (1, "Error response from daemon: No such container: nosuch\n")


# --- stats -----------------------------------------------------------------------------------

def _mib(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)([KMGT]?i?B)", text).groups()
    return float(number) * {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4}[unit] / 1024**2


def test_stats_no_stream_counts_the_cgroups_memory_and_pids(hk):
    """docker-stats-no-stream: docker's header and formatting; a 40 MiB tmpfs file counts as usage."""
    container_id = _sleeper(hk)
    hk.ok("exec", "sleeper", "dd", "if=/dev/zero", "of=/dev/shm/fill", "bs=1M", "count=40")
    hk.ok("exec", "-d", "sleeper", "sleep", "200")
    _wait_for_pids(container_id, 2)
    started = time.monotonic()
    lines = hk.ok("stats", "--no-stream").splitlines()
    assert 0.9 < time.monotonic() - started < 10  # two readings a second apart, for CPU %
    assert lines[0].split("   ")[0] == "CONTAINER ID"
    assert re.fullmatch(r"CONTAINER ID +NAME +CPU % +MEM USAGE / LIMIT +MEM % +NET I/O +BLOCK I/O +PIDS", lines[0])
    assert len(lines) == 2
    fields = re.split(r"\s{2,}", lines[1])
    assert fields[0] == container_id[:12] and fields[1] == "sleeper"
    assert re.fullmatch(r"\d+\.\d\d%", fields[2]) and re.fullmatch(r"\d+\.\d\d%", fields[4])
    used, _, limit = fields[3].partition(" / ")
    assert 40 <= _mib(used) < 60
    usage = int(_cgroup_file(container_id, "memory", "memory.usage_in_bytes"))
    assert abs(_mib(used) - usage / 1024**2) < 5
    with open("/proc/meminfo") as f:
        total = int(f.readline().split()[1]) * 1024
    limit_bytes = min(int(_cgroup_file(container_id, "memory", "memory.limit_in_bytes")), total)
    assert abs(_mib(limit) - limit_bytes / 1024**2) / (limit_bytes / 1024**2) < 0.01
    assert re.fullmatch(r"[\d.]+[kMG]?B / [\d.]+[kMG]?B", fields[5]) and fields[6] == "0B / 0B"
    assert fields[7] == _cgroup_file(container_id, "pids", "pids.current").strip() == "2"


def test_stats_cpu_percent_of_a_busy_process(hk):
    _sleeper(hk)
    hk.ok("exec", "-d", "sleeper", "sh", "-c", "while :; do :; done")
    percent = float(hk.ok("stats", "--no-stream", "--format", "{{.CPUPerc}}", "sleeper").strip().rstrip("%"))
    assert 30 < percent <= 100 * (os.cpu_count() or 1) + 5


def test_stats_format_json_and_no_trunc(hk):
    container_id = _sleeper(hk)
    out = hk.ok("stats", "--no-stream", "--no-trunc", "--format", "{{.ID}} {{.Container}} {{.Name}} {{.PIDs}}",
                "sleeper")
    assert out == f"{container_id} sleeper sleeper 1\n"
    row = json.loads(hk.ok("stats", "--no-stream", "--format", "json", container_id[:8]))
    assert sorted(row) == ["BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name", "NetIO", "PIDs"]
    assert (row["Container"], row["ID"], row["Name"], row["PIDs"]) == (container_id[:8], container_id[:12],
                                                                      "sleeper", "1")
    table = hk.ok("container", "stats", "--no-stream", "--format", "table {{.Name}}\t{{.PIDs}}", "sleeper")
    assert table == "NAME      PIDS\nsleeper   1\n"


def test_stats_all_shows_stopped_containers_as_zeros(hk):
    container_id = hk.ok("create", "--name", "idle", "busybox", "true").strip()
    assert hk.ok("stats", "--no-stream") == STATS_HEADER + "\n"  # running ones only: none
    lines = hk.ok("stats", "--no-stream", "-a").splitlines()
    assert re.split(r"\s{2,}", lines[1]) == [container_id[:12], "idle", "0.00%", "0B / 0B", "0.00%", "0B / 0B",
                                              "0B / 0B", "0"]


def test_stats_missing_container(hk):
    proc = hk.run("stats", "--no-stream", "nosuch")
    assert (proc.returncode, proc.stdout, proc.stderr) == (1, "", "Error response from daemon: No such container: nosuch\n")


def test_stats_live_redraws_every_second(hk):
    _sleeper(hk)
    process = subprocess.Popen([HAKOBUNE, "--root", hk.root, "--runroot", hk.runroot, "stats", "sleeper"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(2.5)
    finally:
        process.terminate()
        out, err = process.communicate(timeout=10)
    text = out.decode()
    assert text.startswith("\033[2J\033[H")
    frames = text.split("\033[H")[1:]
    assert len(frames) >= 2
    for frame in frames:
        lines = frame.split("\n")
        assert lines[0].startswith("CONTAINER ID") and lines[0].endswith("PIDS\033[K")
        assert lines[1].split()[1] == "sleeper" and lines[1].endswith("\033[K")


def test_engine_stats_document_matches_the_cgroup(hk):
    """The engine's stats JSON (the API's shape) against the cgroup's own files."""
    container_id = _sleeper(hk)
    code = ("import json, sys; from hakobune.engine.engine import Engine; "
            "e = Engine(sys.argv[1], sys.argv[2]); first = e.container_stats(sys.argv[3]); "
            "print(json.dumps(e.container_stats(sys.argv[3], first)))")
    document = json.loads(subprocess.run([sys.executable, "-c", code, hk.root, hk.runroot, "sleeper"],
                                         capture_output=True, text=True, check=True).stdout)
    for key in ("read", "preread", "pids_stats", "blkio_stats", "num_procs", "storage_stats", "cpu_stats",
                "precpu_stats", "memory_stats", "name", "id"):
        assert key in document
    assert document["id"] == container_id and document["name"] == "/sleeper"
    assert document["pids_stats"]["current"] == int(_cgroup_file(container_id, "pids", "pids.current"))
    cpu = document["cpu_stats"]
    assert cpu["cpu_usage"]["total_usage"] <= int(_cgroup_file(container_id, "cpuacct", "cpuacct.usage"))
    assert cpu["online_cpus"] == os.cpu_count() and cpu["system_cpu_usage"] > 0
    assert document["precpu_stats"]["system_cpu_usage"] <= cpu["system_cpu_usage"]
    memory = document["memory_stats"]
    assert "total_inactive_file" in memory["stats"] and memory["limit"] > 0
    assert abs(memory["usage"] - int(_cgroup_file(container_id, "memory", "memory.usage_in_bytes"))) < 4 << 20
    assert set(document["blkio_stats"]) >= {"io_service_bytes_recursive", "io_serviced_recursive"}
