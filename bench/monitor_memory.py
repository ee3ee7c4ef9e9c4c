"""Memory and start latency of per-container monitors (hakobune.monitor).

    .venv/bin/python bench/monitor_memory.py [--count N]

Starts N busybox containers running `sleep`, each under its own monitor, and
prints per monitor: VmRSS, RssAnon and PSS (from /proc/PID/smaps_rollup; PSS
shares the interpreter's pages between the monitors), the time start_monitor
took (create + start through hakobune-runtime), and the RSS once one monitor
has logged 20 MB of output.  A bare `python -I -S -c pass` is measured for
scale.  Needs root.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from hakobune.monitor import MonitorSpec, start_monitor
from hakobune.oci.defaults import default_spec
from hakobune.testing import busybox


def memory(pid: int) -> dict:
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                values[key] = int(rest.split()[0])
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                values["Pss"] = int(line.split()[1])
    return values


def bare_interpreter_rss() -> int:
    code = "print(open('/proc/self/status').read().split('VmRSS:')[1].split()[0])"
    return int(subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True).stdout)


def main(argv: list[str]) -> None:
    count = int(argv[argv.index("--count") + 1]) if "--count" in argv else 10
    base = tempfile.mkdtemp(prefix="hakobune-bench-mon-", dir="/run")
    runtime_root = os.path.join(base, "runtime")
    handles = []
    try:
        rootfs = busybox.build_rootfs(os.path.join(base, "rootfs"))
        latencies = []
        for i in range(count + 1):
            bundle = os.path.join(base, f"bundle{i}")
            os.makedirs(bundle)
            os.symlink(rootfs, os.path.join(bundle, "rootfs"))
            args = ["sleep", "1000"] if i < count else ["sh", "-c", "yes 0123456789012345678901234567890123456789 "
                                                                     "| head -c 20000000; sleep 1000"]
            busybox.write_config(bundle, default_spec(args=args))
            spec = MonitorSpec(f"bench{i}", bundle, os.path.join(base, "state", str(i)),
                               os.path.join(base, "logs", f"{i}.json"), runtime_root=runtime_root)
            started = time.perf_counter()
            handles.append(start_monitor(spec))
            latencies.append((time.perf_counter() - started) * 1000)
        time.sleep(0.5)
        rows = [memory(h.monitor_pid) for h in handles[:count]]
        print(f"bare python -I -S:           VmRSS {bare_interpreter_rss() / 1024:5.1f} MB")
        for key in ("VmRSS", "RssAnon", "RssFile", "Pss"):
            values = [row[key] / 1024 for row in rows]
            print(f"monitor (idle, n={count:<3})     {key:<8} median {statistics.median(values):5.1f} MB"
                  f"   max {max(values):5.1f} MB")
        print(f"start_monitor latency:       median {statistics.median(latencies):6.1f} ms"
              f"   max {max(latencies):6.1f} ms")
        log = os.path.join(base, "logs", f"{count}.json")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and sum(1 for _ in open(log)) < 20_000_000 // 41 - 1:
            time.sleep(0.2)
        busy = memory(handles[count].monitor_pid)
        print(f"monitor after logging 20 MB: VmRSS {busy['VmRSS'] / 1024:5.1f} MB   "
              f"log file {os.path.getsize(log) / 1e6:.1f} MB")
    finally:
        for handle in handles:
            try:
                handle.stop(timeout=0)
            except Exception:
                if handle.alive():
                    os.kill(handle.monitor_pid, 9)
        for i in range(count + 1):
            subprocess.run([os.path.join(os.path.dirname(sys.executable), "hakobune-runtime"), "--root",
                            runtime_root, "delete", "--force", f"bench{i}"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
