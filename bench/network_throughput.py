"""Throughput through hakobune's networks: a published port (the host
downloads --megabytes from a busybox httpd in a container, through
127.0.0.1 and the DNAT rule), and container to container over a user bridge
(busybox wget from that httpd by name), median of --runs each.  (busybox's
small nc stops after its first read, so HTTP carries the bytes.)

    .venv/bin/python bench/network_throughput.py [--megabytes 1000] [--runs 3]

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
from network_run_latency import HAKOBUNE, busybox_tar, run  # noqa: E402 - the same store setup

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
        # the size check proves the bytes moved; the timer includes the client container's start
        run(cli, "run", "--rm", "--network", network, "busybox", "sh", "-c",
            "until wget -q --spider http://c2c-web/big 2>/dev/null; do sleep 0.05; done")
        start = time.perf_counter()
        proc = subprocess.run(cli + ["run", "--rm", "--network", network, "busybox", "sh", "-c",
                                     "wget -qO- http://c2c-web/big | wc -c"], capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if proc.stdout.strip() != str(megabytes * CHUNK):
            raise SystemExit(f"container to container: got {proc.stdout.strip()!r} bytes: {proc.stderr.strip()}")
        return elapsed
    finally:
        subprocess.run(cli + ["rm", "-f", "c2c-web"], capture_output=True)


def docker_available() -> bool:
    if not shutil.which("docker"):
        return False
    probe = subprocess.run(["docker", "image", "inspect", "busybox"], capture_output=True)
    return probe.returncode == 0


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

    base = tempfile.mkdtemp(prefix="hk-netput-", dir="/tmp")
    cli = [HAKOBUNE, "--root", os.path.join(base, "root"), "--runroot", os.path.join(base, "run")]
    try:
        subprocess.run(cli + ["import", "-c", 'CMD ["sh"]', busybox_tar(base), "busybox:latest"], check=True,
                       capture_output=True)
        subprocess.run(cli + ["network", "create", "putnet"], check=True, capture_output=True)
        report("hakobune: host -> published port", args.megabytes,
               [published_port(cli, args.megabytes) for _ in range(args.runs)])
        report("hakobune: container -> container (bridge)", args.megabytes,
               [container_to_container(cli, "putnet", args.megabytes) for _ in range(args.runs)])
        if docker_available():
            subprocess.run(["docker", "network", "create", "hk-putnet"], capture_output=True)
            try:
                report("docker: host -> published port", args.megabytes,
                       [published_port(["docker"], args.megabytes) for _ in range(args.runs)])
                report("docker: container -> container (bridge)", args.megabytes,
                       [container_to_container(["docker"], "hk-putnet", args.megabytes) for _ in range(args.runs)])
            finally:
                subprocess.run(["docker", "network", "rm", "hk-putnet"], capture_output=True)
        else:
            print("docker: skipped (no daemon answering, or no busybox image)")
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
