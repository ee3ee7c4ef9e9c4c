"""What networking adds to a container's start: `hakobune run --rm busybox
true` on the default bridge against `--network none` (and, optionally, a
user network with its DNS registration), median of --runs each, runs
interleaved so that the machine's drift hits every mode alike.

    .venv/bin/python bench/network_run_latency.py [--runs 20] [--user-network]
    DOCKER_HOST=unix:///run/hkref/docker.sock .venv/bin/python bench/network_run_latency.py

Docker's figures (the same `docker run --rm busybox true` with and without
`--network none`, and a user network) come from the daemon at DOCKER_HOST
(or the default socket) when one answers and has a busybox image; skipped
otherwise.  A private store in a temporary directory (busybox imported from
hakobune.testing's rootfs builder); its bridges, nftables table, DNS server and
directory are removed at the end, also on SIGTERM or Ctrl-C, and so is the
network made in docker.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import busybox_tar  # noqa: E402 - also the other network benches'

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
HAKOBUNE = os.path.join(os.path.dirname(sys.executable), "hakobune")


def run(cli: list[str], *args: str) -> None:
    proc = subprocess.run(cli + list(args), capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)}: exit status {proc.returncode}: {proc.stderr.strip()}")


def docker_cli() -> list[str]:
    """The docker command for the reference daemon, taken out of the
    environment: DOCKER_HOST (and DOCKER_CONTEXT) would make hakobune's own
    CLI a client of that daemon, so hakobune's commands must not see them."""
    host = os.environ.pop("DOCKER_HOST", None)
    context = os.environ.pop("DOCKER_CONTEXT", None)
    return ["docker"] + (["-H", host] if host else ["--context", context] if context else [])


def docker_available(docker: list[str]) -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(docker + ["image", "inspect", "busybox"], capture_output=True).returncode == 0


def measure(cli: list[str], modes: dict, runs: int) -> None:
    """Each mode's `run --rm busybox true`, interleaved, after a warm-up; printed."""
    for flags in modes.values():  # warm up: the bridge and the table exist from here on
        run(cli, "run", "--rm", *flags, "busybox", "true")
    times = {mode: [] for mode in modes}
    for _ in range(runs):
        for mode, flags in modes.items():
            start = time.perf_counter()
            run(cli, "run", "--rm", *flags, "busybox", "true")
            times[mode].append((time.perf_counter() - start) * 1000)
    none = statistics.median(times["none"])
    label = "docker" if os.path.basename(cli[0]) == "docker" else "hakobune"
    for mode, values in times.items():
        median = statistics.median(values)
        extra = "" if mode == "none" else f"  (+{median - none:.1f} ms over none)"
        print(f"{label:9s} {mode:13s} median {median:6.1f} ms  min {min(values):6.1f} ms  max {max(values):6.1f} ms"
              f"{extra}", flush=True)


def measure_docker(docker: list[str], runs: int, user_network: bool) -> None:
    modes = {"none": ["--network", "none"], "bridge": []}
    if user_network:
        subprocess.run(docker + ["network", "create", "hk-benchnet"], capture_output=True)
        modes["user network"] = ["--network", "hk-benchnet"]
    try:
        measure(docker, modes, runs)
    finally:
        if user_network:
            subprocess.run(docker + ["network", "rm", "hk-benchnet"], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--user-network", action="store_true", help="also a user network (DNS registration)")
    args = parser.parse_args()
    import signal

    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(1))  # a kill still cleans up (finally below)
    docker = docker_cli()
    base = tempfile.mkdtemp(prefix="hk-netbench-", dir="/tmp")
    cli = [HAKOBUNE, "--root", os.path.join(base, "root"), "--runroot", os.path.join(base, "run")]
    try:
        subprocess.run(cli + ["import", "-c", 'CMD ["sh"]', busybox_tar(base), "busybox:latest"], check=True,
                       capture_output=True)
        modes = {"none": ["--network", "none"], "bridge": []}
        if args.user_network:
            os.makedirs(os.path.join(base, "run", "dns"), exist_ok=True)
            with open(os.path.join(base, "run", "dns", "config.json"), "w") as f:
                json.dump({"upstreams": []}, f)
            subprocess.run(cli + ["network", "create", "benchnet"], check=True, capture_output=True)
            modes["user network"] = ["--network", "benchnet"]
        measure(cli, modes, args.runs)
        if docker_available(docker):
            measure_docker(docker, args.runs, args.user_network)
        else:
            print("docker: skipped (no daemon answering, or no busybox image)")
    finally:
        from hakobune.engine.netsetup import teardown_store
        from hakobune.monitor.launcher import stop_zygotes

        for container_id in subprocess.run(cli + ["ps", "-aq"], capture_output=True, text=True).stdout.split():
            subprocess.run(cli + ["rm", "-f", container_id], capture_output=True)
        subprocess.run(cli + ["network", "rm", "benchnet"], capture_output=True)
        teardown_store(os.path.join(base, "root"), os.path.join(base, "run"))
        stop_zygotes(os.path.join(base, "run"))
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
