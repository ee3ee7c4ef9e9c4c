"""Throughput through hakobune's networks: a published port (the host
downloads --megabytes from a busybox httpd in a container, through
127.0.0.1 and the DNAT rule), and container to container over a user bridge
(busybox wget from that httpd by name, timed inside the client container),
median of --runs each, the engines interleaved run by run.  (busybox's
small nc stops after its first read, so HTTP carries the bytes.)

    .venv/bin/python bench/network_throughput.py [--megabytes 1000] [--runs 3]
    DOCKER_HOST=unix:///run/hkref/docker.sock .venv/bin/python bench/network_throughput.py

Docker's figures come from the same transfers with `docker run` where a
Docker daemon answers (DOCKER_HOST or the default socket) and has a
busybox image; skipped otherwise.  A private store in a temporary directory;
its containers, network, bridges, nftables table, zygote and directory are
removed at the end.
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from network_run_latency import HAKOBUNE, busybox_tar, docker_available, docker_cli, run  # noqa: E402

CHUNK = 1 << 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(port: int, timeout: float = 60) -> float:
    """Seconds to download /big from 127.0.0.1:port (retrying until it answers)."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            response = urllib.request.urlopen(f"http://127.0.0.1:{port}/big", timeout=30)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    with response:
        start = time.perf_counter()
        while response.read(CHUNK):
            pass
        return time.perf_counter() - start


def start_server(cli: list[str], name: str, megabytes: int, *flags: str) -> None:
    """A busybox httpd serving a --megabytes file from the container's tmpfs."""
    run(cli, "run", "-d", "--name", name, "--tmpfs", "/www:size=2g", *flags, "busybox", "sh", "-c",
        f"dd if=/dev/zero of=/www/big bs=1M count={megabytes} 2>/dev/null && exec httpd -f -p 80 -h /www")


def published_port(cli: list[str], megabytes: int) -> float:
    port = free_port()
    name = f"web{port}"
    start_server(cli, name, megabytes, "-p", f"127.0.0.1:{port}:80")
    try:
        return fetch(port)
    finally:
        subprocess.run(cli + ["rm", "-f", name], capture_output=True)


def container_to_container(cli: list[str], network: str, megabytes: int) -> float:
    start_server(cli, "c2c-web", megabytes, "--network", network)
    try:
        # the size check proves the bytes moved; the client times the transfer alone, from
        # /proc/uptime (10 ms steps) before and after, so that neither engine's container
        # start counts
        run(cli, "run", "--rm", "--network", network, "busybox", "sh", "-c",
            "until wget -q --spider http://c2c-web/big 2>/dev/null; do sleep 0.05; done")
        script = ("a=$(cut -d' ' -f1 /proc/uptime); n=$(wget -qO- http://c2c-web/big | wc -c); "
                  "b=$(cut -d' ' -f1 /proc/uptime); echo $n $a $b")
        proc = subprocess.run(cli + ["run", "--rm", "--network", network, "busybox", "sh", "-c", script],
                              capture_output=True, text=True)
        fields = proc.stdout.split()
        if len(fields) != 3 or fields[0] != str(megabytes * CHUNK):
            raise SystemExit(f"container to container: got {proc.stdout.strip()!r}: {proc.stderr.strip()}")
        return float(fields[2]) - float(fields[1])
    finally:
        subprocess.run(cli + ["rm", "-f", "c2c-web"], capture_output=True)


def report(label: str, megabytes: int, seconds: list[float]) -> None:
    median = statistics.median(seconds)
    print(f"{label:42s} {megabytes / median:8.0f} MiB/s  (median of {len(seconds)}: {median:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    import signal
    import tempfile

    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(1))  # a kill still cleans up (finally below)
    docker = docker_cli()

    base = tempfile.mkdtemp(prefix="hk-netput-", dir="/tmp")
    cli = [HAKOBUNE, "--root", os.path.join(base, "root"), "--runroot", os.path.join(base, "run")]
    try:
        subprocess.run(cli + ["import", "-c", 'CMD ["sh"]', busybox_tar(base), "busybox:latest"], check=True,
                       capture_output=True)
        subprocess.run(cli + ["network", "create", "putnet"], check=True, capture_output=True)
        engines = {"hakobune": (cli, "putnet")}
        if docker_available(docker):
            subprocess.run(docker + ["network", "create", "hk-putnet"], capture_output=True)
            engines["docker"] = (docker, "hk-putnet")
        else:
            print("docker: skipped (no daemon answering, or no busybox image)")
        try:
            # engines interleaved run by run, so that the machine's drift (other work, the page
            # cache) hits both alike
            published = {name: [] for name in engines}
            bridged = {name: [] for name in engines}
            for _ in range(args.runs):
                for name, (command, network) in engines.items():
                    published[name].append(published_port(command, args.megabytes))
                    bridged[name].append(container_to_container(command, network, args.megabytes))
            for name in engines:
                report(f"{name}: host -> published port", args.megabytes, published[name])
            for name in engines:
                report(f"{name}: container -> container (bridge)", args.megabytes, bridged[name])
        finally:
            if "docker" in engines:
                subprocess.run(docker + ["network", "rm", "hk-putnet"], capture_output=True)
    finally:
        from hakobune.engine.netsetup import teardown_store
        from hakobune.monitor.launcher import stop_zygotes

        for container_id in subprocess.run(cli + ["ps", "-aq"], capture_output=True, text=True).stdout.split():
            subprocess.run(cli + ["rm", "-f", container_id], capture_output=True)
        subprocess.run(cli + ["network", "rm", "putnet"], capture_output=True)
        teardown_store(os.path.join(base, "root"), os.path.join(base, "run"))
        stop_zygotes(os.path.join(base, "run"))
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
