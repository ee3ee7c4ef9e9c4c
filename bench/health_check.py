"""The cost of one health check: `--health-cmd true` every 200 ms in an idle
busybox container, hakobune's monitor running the check through its own
runtime's library in a fork of itself (the default) against the same check
as a `hakobune-runtime exec` process (HAKOBUNE_RUNTIME_IN_MONITOR=0, as
every check ran before), and docker's when DOCKER_HOST names a daemon with a
local busybox image.

    [DOCKER_HOST=unix:///run/hkref/docker.sock] .venv/bin/python bench/health_check.py [--seconds S]

Per check: the wall time from the probe's start to its end (the health
log's Start and End, medians) and, for hakobune, the CPU time it cost (the
monitor's own and its reaped children's, over the run, per check).
Everything runs against a temporary store removed at the end (also on
SIGTERM or Ctrl-C); the docker container is removed too.  DOCKER_HOST is
passed to docker only, never to hakobune.
"""

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import hakobune_env, make_store  # noqa: E402

HAKOBUNE = os.path.join(os.path.dirname(sys.executable), "hakobune")
INTERVAL = "200ms"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def parse_time(text: str) -> float:
    """RFC 3339 with nanoseconds (UTC "Z" or an offset) → seconds since the epoch."""
    import calendar

    date, _, rest = text.partition("T")
    offset = 0
    for sign in ("+", "-"):
        if sign in rest:
            rest, _, zone = rest.partition(sign)
            hours, _, minutes = zone.partition(":")
            offset = (int(hours) * 3600 + int(minutes or 0) * 60) * (1 if sign == "+" else -1)
    rest = rest.rstrip("Z")
    clock, _, fraction = rest.partition(".")
    whole = calendar.timegm(time.strptime(f"{date}T{clock}", "%Y-%m-%dT%H:%M:%S"))
    return whole + float(f"0.{fraction or 0}") - offset


def cpu_seconds(pid: int) -> float:
    """A process's CPU time with that of its reaped children."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / CLOCK_TICKS


def collect(read_log, seconds: float) -> list[tuple[float, float, int]]:
    """Distinct health log entries seen over `seconds`: (start, end, exit code)."""
    seen = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for entry in read_log():
            seen[entry["Start"]] = (parse_time(entry["Start"]), parse_time(entry["End"]), entry["ExitCode"])
        time.sleep(0.05)
    return sorted(seen.values())


def measure_hakobune(base: list[str], work: str, seconds: float, env: dict) -> tuple[float, float, int]:
    container_id = subprocess.run([*base, "run", "-d", "--network", "none", "--health-cmd", "true",
                                   "--health-interval", INTERVAL, "busybox", "sleep", "600"], check=True,
                                  capture_output=True, text=True, env=env).stdout.strip()
    state_path = os.path.join(work, "run", "containers", container_id[:32], "state.json")
    try:
        with open(state_path) as f:
            monitor_pid = json.load(f)["monitor_pid"]

        def read_log():
            try:
                with open(state_path) as f:
                    return (json.load(f).get("health") or {}).get("Log") or []
            except (OSError, ValueError):
                return []

        time.sleep(0.5)
        cpu_before = cpu_seconds(monitor_pid)
        entries = collect(read_log, seconds)
        cpu_after = cpu_seconds(monitor_pid)
    finally:
        subprocess.run([*base, "rm", "-f", container_id], stdout=subprocess.DEVNULL, env=hakobune_env())
    checks = [entry for entry in entries if entry[2] == 0]
    wall = statistics.median((end - start) * 1000 for start, end, _ in checks)
    return wall, (cpu_after - cpu_before) * 1000 / max(1, len(entries)), len(checks)


def measure_docker(seconds: float) -> tuple[float, int] | None:
    docker = shutil.which("docker")
    if not docker or not os.environ.get("DOCKER_HOST"):
        print("(docker: DOCKER_HOST not set: skipped)")
        return None
    if subprocess.run([docker, "image", "inspect", "busybox"], capture_output=True).returncode != 0:
        print("(docker: no daemon or no local busybox image: skipped)")
        return None
    container_id = subprocess.run([docker, "run", "-d", "--network", "none", "--health-cmd", "true",
                                   "--health-interval", INTERVAL, "busybox", "sleep", "600"], check=True,
                                  capture_output=True, text=True).stdout.strip()
    try:
        def read_log():
            out = subprocess.run([docker, "inspect", "-f", "{{json .State.Health.Log}}", container_id],
                                 capture_output=True, text=True).stdout
            try:
                return json.loads(out) or []
            except ValueError:
                return []

        time.sleep(0.5)
        entries = collect(read_log, seconds)
    finally:
        subprocess.run([docker, "rm", "-f", container_id], capture_output=True)
    checks = [entry for entry in entries if entry[2] == 0]
    return statistics.median((end - start) * 1000 for start, end, _ in checks), len(checks)


def stop_helpers(work: str) -> None:
    """End the store's monitor zygote (by pid, only processes naming this store)."""
    try:
        from hakobune.monitor.launcher import stop_zygotes

        stop_zygotes(os.path.join(work, "run"))
    except Exception:  # noqa: BLE001 - the /proc scan below still ends it
        pass
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                if work.encode() in f.read():
                    os.kill(int(name), signal.SIGTERM)
        except OSError:
            continue


def main() -> None:
    seconds = float(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 8.0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on SIGTERM as on Ctrl-C
    work = tempfile.mkdtemp(prefix="hakobune-bench-health-")
    base = [HAKOBUNE, "--root", os.path.join(work, "root"), "--runroot", os.path.join(work, "run")]
    try:
        base = make_store(work)
        print(f"`--health-cmd true --health-interval {INTERVAL}`, {seconds:g} s each (medians per check)\n")
        for name, env in (("hakobune (exec in a fork of the monitor)", hakobune_env()),
                          ("hakobune (hakobune-runtime exec process)",
                           hakobune_env(HAKOBUNE_RUNTIME_IN_MONITOR="0"))):
            wall, cpu, count = measure_hakobune(base, work, seconds, env)
            print(f"{name:<44} {wall:6.1f} ms wall  {cpu:6.1f} ms CPU   ({count} checks)")
        docker = measure_docker(seconds)
        if docker is not None:
            print(f"{'docker':<44} {docker[0]:6.1f} ms wall   ({docker[1]} checks)")
    finally:
        subprocess.run([*base, "container", "prune", "-f"], capture_output=True, env=hakobune_env())
        stop_helpers(work)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
