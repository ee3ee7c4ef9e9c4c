"""Memory per idle container with a bridge and a published port, hakobune
against Docker: --count busybox containers running `sleep`, each on the
default bridge with one published port (-p 127.0.0.1::80).

    .venv/bin/python bench/network_memory.py [--count 10]
    DOCKER_HOST=unix:///run/hkref/docker.sock .venv/bin/python bench/network_memory.py

Two figures per container:
- processes: the PSS (/proc/PID/smaps_rollup) of what exists for the
  container on the host, besides its own process: hakobune's monitor;
  Docker's containerd-shim and its docker-proxy processes (one per
  published port and address family);
- system: how much MemTotal - MemAvailable grew, divided by --count
  (includes the kernel's part: namespaces, veths, conntrack, cgroups; noisy
  on a shared machine).
Docker's come from the daemon at DOCKER_HOST (or the default socket) when
one answers and has a busybox image; skipped otherwise.  A private store in
a temporary directory; every container (both engines), the store's bridges,
table, zygote and directory are removed at the end, also on SIGTERM/Ctrl-C.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from network_run_latency import HAKOBUNE, busybox_tar, docker_available, docker_cli, run  # noqa: E402

PREFIX = "hk-netmem-"


def used_kib() -> int:
    values = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, _, rest = line.partition(":")
            values[key] = int(rest.split()[0])
    return values["MemTotal"] - values["MemAvailable"]


def pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rpartition(")")[2].split()[1])


def proxies_for(address: str) -> list[int]:
    """docker-proxy processes forwarding to `address`."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                words = f.read().split(b"\0")
        except OSError:
            continue
        if words and words[0].endswith(b"docker-proxy") and address.encode() in words:
            pids.append(int(entry))
    return pids


def inspect(cli: list[str], name: str, template: str) -> str:
    return subprocess.run(cli + ["inspect", "-f", template, name], capture_output=True, text=True).stdout.strip()


def measure(cli: list[str], count: int, label: str) -> None:
    settle()
    before = used_kib()
    names = [f"{PREFIX}{label}-{i}" for i in range(count)]
    for name in names:
        run(cli, "run", "-d", "--name", name, "-p", "127.0.0.1::80", "busybox", "sleep", "3600")
    settle()
    system = (used_kib() - before) / count
    helpers = []
    for name in names:
        pid = int(inspect(cli, name, "{{.State.Pid}}"))
        total = pss_kib(parent_of(pid))  # the monitor / the containerd shim
        total += sum(pss_kib(p) for p in proxies_for(inspect(cli, name, "{{.NetworkSettings.IPAddress}}")))
        helpers.append(total)
    print(f"{label:9s} per container: processes {sum(helpers) / count / 1024:6.2f} MiB PSS   "
          f"system {system / 1024:6.2f} MiB   ({count} containers)", flush=True)


def settle() -> None:
    subprocess.run(["sync"])
    time.sleep(2)


def remove_all(cli: list[str]) -> None:
    listing = subprocess.run(cli + ["ps", "-aq", "--filter", f"name={PREFIX}"], capture_output=True, text=True)
    for container_id in listing.stdout.split():
        subprocess.run(cli + ["rm", "-f", container_id], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(1))  # a kill still cleans up (finally below)
    base = tempfile.mkdtemp(prefix="hk-netmem-", dir="/tmp")
    cli = [HAKOBUNE, "--root", os.path.join(base, "root"), "--runroot", os.path.join(base, "run")]
    docker = docker_cli()
    with_docker = docker_available(docker)
    try:
        subprocess.run(cli + ["import", "-c", 'CMD ["sh"]', busybox_tar(base), "busybox:latest"], check=True,
                       capture_output=True)
        run(cli, "run", "--rm", "busybox", "true")  # the bridge, table and zygote exist from here on
        measure(cli, args.count, "hakobune")
        remove_all(cli)
        if with_docker:
            measure(docker, args.count, "docker")
        else:
            print("docker: skipped (no daemon answering, or no busybox image)")
    finally:
        from hakobune.engine.netsetup import teardown_store
        from hakobune.monitor.launcher import stop_zygotes

        remove_all(cli)
        if with_docker:
            remove_all(docker)
        teardown_store(os.path.join(base, "root"), os.path.join(base, "run"))
        stop_zygotes(os.path.join(base, "run"))
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
