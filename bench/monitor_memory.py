"""Memory per idle container: hakobune's monitors against docker's
containerd-shims, side by side.

    [DOCKER_HOST=unix:///run/hkref/docker.sock] .venv/bin/python bench/monitor_memory.py \\
        [--count 20] [--network none|default] [--log-test]

hakobune: N `run -d busybox sleep 1000` on a temporary store; per container
the PSS and RSS (/proc/PID/smaps_rollup) of its monitor, and the PSS of
everything hakobune keeps running for those containers (the monitors and
their common parent, the zygote; with the default network also whatever
helper the store runs, e.g. a DNS server) divided by N.  docker (when
DOCKER_HOST names a daemon with a local busybox image): the same N
containers; per container the PSS and RSS of its containerd-shim, and the
growth of dockerd's and containerd's PSS divided by N.  PSS shares each
page among the processes that map it, so the sums are what the containers
cost the system.  A bare `python -I -S -c pass` is shown for scale.

--log-test also starts one monitor directly and has it log 20 MB, showing
that its RSS stays flat (the json-file log streams to disk).

DOCKER_HOST (and the other DOCKER_* variables) reach docker only, never
hakobune's commands; every container is removed at the end, also on SIGTERM.
Needs root.
"""

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


def memory(pid: int) -> dict:
    """VmRSS, RssAnon, RssFile and Pss of a process, in kB (0 when it is gone)."""
    values = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0, "Pss": 0}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in values:
                    values[key] = int(rest.split()[0])
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    values["Pss"] = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return values


def processes_naming(text: str) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    found.append(int(name))
        except OSError:
            continue
    return found


def bare_interpreter() -> dict:
    code = "import time; print(open('/proc/self/status').read().split('VmRSS:')[1].split()[0]); time.sleep(5)"
    proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", code], stdout=subprocess.PIPE, text=True)
    proc.stdout.readline()
    try:
        for _ in range(50):  # until /proc shows the settled interpreter
            values = memory(proc.pid)
            if values["Pss"]:
                return values
            time.sleep(0.02)
        return values
    finally:
        proc.kill()
        proc.wait()


def mb(kb: float) -> str:
    return f"{kb / 1024:5.2f} MB"


# --- hakobune ---------------------------------------------------------------------------

def monitor_pid(work: str, container_id: str) -> int:
    import json

    with open(os.path.join(work, "run", "containers", container_id[:32], "state.json")) as f:
        return json.load(f)["monitor_pid"]


def measure_hakobune(work: str, base: list[str], count: int, network: list[str]) -> dict:
    env = hakobune_env()
    ids = [subprocess.run([*base, "run", "-d", *network, "busybox", "sleep", "1000"], check=True,
                          capture_output=True, text=True, env=env).stdout.strip() for _ in range(count)]
    time.sleep(1.0)
    monitors = [memory(monitor_pid(work, container_id)) for container_id in ids]
    everything = [memory(pid) for pid in processes_naming(work)]  # zygote, monitors, helpers of this store
    return {"per_pss": statistics.median(m["Pss"] for m in monitors),
            "per_rss": statistics.median(m["VmRSS"] for m in monitors),
            "total_pss": sum(m["Pss"] for m in everything) / count, "processes": len(everything)}


# --- docker -----------------------------------------------------------------------------

def docker_usable() -> str | None:
    if not shutil.which("docker"):
        return "not installed"
    if not os.environ.get("DOCKER_HOST"):
        return "DOCKER_HOST names no reference daemon"
    if subprocess.run(["docker", "image", "inspect", "busybox"], capture_output=True).returncode != 0:
        return "no daemon answers or no local busybox image"
    return None


def daemon_pids() -> list[int]:
    """dockerd and containerd of the daemon DOCKER_HOST names (by its socket on their command lines)."""
    socket = os.environ["DOCKER_HOST"].removeprefix("unix://")
    dockerd = processes_naming(socket)
    found = list(dockerd)
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{name}/comm") as f:
                    comm = f.read().strip()
            except (OSError, ValueError):
                continue
            if ppid in dockerd and comm == "containerd":
                found.append(int(name))
    return found


def measure_docker(count: int, network: list[str], created: list[str]) -> dict:
    daemons = daemon_pids()
    before = sum(memory(pid)["Pss"] for pid in daemons)
    for _ in range(count):
        created.append(subprocess.run(["docker", "run", "-d", *network, "busybox", "sleep", "1000"], check=True,
                                      capture_output=True, text=True).stdout.strip())
    time.sleep(1.0)
    shims = []
    for container_id in created:
        pids = [pid for pid in processes_naming(container_id) if _comm(pid).startswith("containerd-shim")]
        shims += [memory(pid) for pid in pids]
    after = sum(memory(pid)["Pss"] for pid in daemons)
    return {"per_pss": statistics.median(s["Pss"] for s in shims) if shims else 0,
            "per_rss": statistics.median(s["VmRSS"] for s in shims) if shims else 0,
            "total_pss": (sum(s["Pss"] for s in shims) + max(0, after - before)) / count,
            "daemons_growth": max(0, after - before) / count, "processes": len(shims)}


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


# --- one monitor logging 20 MB ------------------------------------------------------------

def log_test(work: str) -> None:
    from hakobune.monitor import MonitorSpec, start_monitor
    from hakobune.oci.defaults import default_spec
    from hakobune.testing import busybox

    runtime_root = os.path.join(work, "log-runtime")
    bundle = os.path.join(work, "log-bundle")
    os.makedirs(bundle)
    os.symlink(os.path.join(work, "rootfs"), os.path.join(bundle, "rootfs"))
    busybox.write_config(bundle, default_spec(args=["sh", "-c", "yes 0123456789012345678901234567890123456789 "
                                                                "| head -c 20000000; sleep 1000"]))
    log = os.path.join(work, "log-test.json")
    handle = start_monitor(MonitorSpec("logtest", bundle, os.path.join(work, "log-state"), log,
                                       runtime_root=runtime_root))
    try:
        idle = memory(handle.monitor_pid)["VmRSS"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and sum(1 for _ in open(log)) < 20_000_000 // 41 - 1:
            time.sleep(0.2)
        busy = memory(handle.monitor_pid)["VmRSS"]
        print(f"one monitor logging 20 MB:    VmRSS {mb(idle)} idle, {mb(busy)} after "
              f"(log file {os.path.getsize(log) / 1e6:.1f} MB)")
    finally:
        try:
            handle.stop(timeout=0)
        except Exception:  # noqa: BLE001 - killed below
            if handle.alive():
                os.kill(handle.monitor_pid, signal.SIGKILL)
        subprocess.run([os.path.join(os.path.dirname(sys.executable), "hakobune-runtime"), "--root", runtime_root,
                        "delete", "--force", "logtest"], capture_output=True)


def stop_helpers(work: str) -> None:
    try:
        from hakobune.engine.netsetup import teardown_store

        teardown_store(os.path.join(work, "root"), os.path.join(work, "run"))
    except Exception as e:  # noqa: BLE001 - report, and go on cleaning
        print(f"(network teardown failed: {e})")
    try:
        from hakobune.monitor.launcher import stop_zygotes

        stop_zygotes(os.path.join(work, "run"))
    except Exception:  # noqa: BLE001 - the scan below still ends it
        pass
    for pid in processes_naming(work):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def main(argv: list[str]) -> None:
    count = int(argv[argv.index("--count") + 1]) if "--count" in argv else 20
    default_network = "--network" in argv and argv[argv.index("--network") + 1] == "default"
    network = [] if default_network else ["--network", "none"]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on SIGTERM as on Ctrl-C
    work = tempfile.mkdtemp(prefix="hakobune-bench-mem-", dir="/run")
    base = [HAKOBUNE, "--root", os.path.join(work, "root"), "--runroot", os.path.join(work, "run")]
    docker_ids: list[str] = []
    try:
        base = make_store(work)
        label = "default network" if default_network else "--network none"
        bare = bare_interpreter()
        print(f"{count} idle containers (`run -d {' '.join(network) + ' ' if network else ''}busybox sleep`), "
              f"{label}; medians per container\n")
        print(f"bare python -I -S (scale):    PSS {mb(bare['Pss'])}   RSS {mb(bare['VmRSS'])}")
        ours = measure_hakobune(work, base, count, network)
        print(f"hakobune monitor:             PSS {mb(ours['per_pss'])}   RSS {mb(ours['per_rss'])}")
        print(f"hakobune, all its processes:  PSS {mb(ours['total_pss'])} per container "
              f"({ours['processes']} processes)")
        reason = docker_usable()
        if reason:
            print(f"docker: skipped ({reason})")
        else:
            theirs = measure_docker(count, network, docker_ids)
            print(f"docker containerd-shim:       PSS {mb(theirs['per_pss'])}   RSS {mb(theirs['per_rss'])}")
            print(f"docker, shims + daemons' growth: PSS {mb(theirs['total_pss'])} per container "
                  f"(dockerd + containerd grew {mb(theirs['daemons_growth'])} per container)")
            if theirs["total_pss"]:
                print(f"\nhakobune/docker: PSS {ours['total_pss'] / theirs['total_pss']:.2f} (whole cost), "
                      f"RSS {ours['per_rss'] / theirs['per_rss']:.2f} (monitor against shim)")
        if "--log-test" in argv:
            log_test(work)
    finally:
        if docker_ids:
            subprocess.run(["docker", "rm", "-f", *docker_ids], capture_output=True)
        env = hakobune_env()
        ids = subprocess.run([*base, "ps", "-aq"], capture_output=True, text=True, env=env).stdout.split()
        if ids:
            subprocess.run([*base, "rm", "-f", *ids], capture_output=True, env=env)
        stop_helpers(work)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
