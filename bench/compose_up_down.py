"""`compose up -d` and `compose down -v` of issue 9's two-service project
(a busybox httpd web service and a client that fetches from it by service
name, on a user network, with a named volume), with hakobune compose and,
side by side in the same run, with docker-compose 1.29 against a reference
Docker daemon; median of --runs each, the two tools interleaved so that the
machine's drift hits both alike.

    .venv/bin/python bench/compose_up_down.py [--runs 5] [--docker-host unix:///run/hkref/docker.sock]

The reference daemon: --docker-host, else the environment variable
HAKOBUNE_REFERENCE_DOCKER_HOST (e.g. unix:///run/hkref/docker.sock); it
is handed to docker-compose as DOCKER_HOST for its commands only, and must
have a busybox:latest image.  Without one (or without /usr/bin/docker-compose)
only hakobune is measured.  The services run under `init: true` so that a
stop is a SIGTERM that ends them, not the 10 s timeout of a PID 1 that
ignores it, in both engines.

hakobune uses a private store in a temporary directory (busybox imported
from hakobune.testing's rootfs builder).  At the end, and on SIGTERM or
Ctrl-C too, both projects are taken down (`down -v`) and hakobune's store
(containers, bridges, nftables table, zygote, directory) removed.
"""

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from network_run_latency import HAKOBUNE, busybox_tar  # noqa: E402 - the same store setup

PROJECT = "hkbench"
COMPOSE_FILE = """\
services:
  web:
    image: busybox:latest
    init: true
    command: ["sh", "-c", "echo hello > /www/index.html && exec httpd -f -p 80 -h /www"]
    volumes:
      - site:/www
    networks: [app]
  client:
    image: busybox:latest
    init: true
    command: ["sh", "-c", "until wget -q -O- http://web/; do sleep 0.1; done; exec sleep 300"]
    depends_on: [web]
    networks: [app]
networks:
  app: {}
volumes:
  site: {}
"""


def timed(command: list[str], directory: str, env: dict | None = None) -> float:
    """Milliseconds `command` took; an error stops the benchmark."""
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=directory, capture_output=True, text=True, env=env)
    elapsed = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)}: exit status {proc.returncode}: {proc.stderr.strip()}")
    return elapsed


def check_client_reaches_web(tool: str, command: list[str], directory: str, env: dict | None) -> None:
    """The project works: the client fetches the web service's page by its service name."""
    deadline = time.monotonic() + 20
    while True:
        proc = subprocess.run(command + ["exec", "-T", "client", "wget", "-q", "-O-", "http://web/"], cwd=directory,
                              capture_output=True, text=True, env=env)
        if proc.returncode == 0 and proc.stdout == "hello\n":
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"{tool}: the client cannot reach the web service: {proc.stderr.strip()}")
        time.sleep(0.1)


def reference_host(given: str) -> str | None:
    """The reference daemon's address when docker-compose can use it, else None (and why)."""
    host = given or os.environ.get("HAKOBUNE_REFERENCE_DOCKER_HOST", "")
    if not host:
        print("docker-compose: skipped (no --docker-host nor HAKOBUNE_REFERENCE_DOCKER_HOST)")
        return None
    if not shutil.which("docker-compose"):
        print("docker-compose: skipped (not installed)")
        return None
    probe = subprocess.run(["docker", "image", "inspect", "busybox:latest"], capture_output=True,
                           env=dict(os.environ, DOCKER_HOST=host))
    if probe.returncode != 0:
        print(f"docker-compose: skipped (no busybox:latest answering at {host})")
        return None
    return host


def report(label: str, values: list[float]) -> float:
    median = statistics.median(values)
    print(f"{label:28s} median {median:7.1f} ms  min {min(values):7.1f}  max {max(values):7.1f}  "
          f"({len(values)} runs)")
    return median


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--docker-host", default="", help="the reference daemon (default: "
                        "$HAKOBUNE_REFERENCE_DOCKER_HOST)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(1))  # a kill still cleans up (finally below)

    base = tempfile.mkdtemp(prefix="hk-composebench-", dir="/tmp")
    project_dir = os.path.join(base, "project")
    os.makedirs(project_dir)
    with open(os.path.join(project_dir, "compose.yaml"), "w") as f:
        f.write(COMPOSE_FILE)
    cli = [HAKOBUNE, "--root", os.path.join(base, "root"), "--runroot", os.path.join(base, "run")]
    hakobune = cli + ["compose", "-p", PROJECT]
    docker_compose = ["docker-compose", "-p", PROJECT, "-f", "compose.yaml"]
    host = None
    try:
        subprocess.run(cli + ["import", "-c", 'CMD ["sh"]', busybox_tar(base), "busybox:latest"], check=True,
                       capture_output=True)
        host = reference_host(args.docker_host)
        docker_env = dict(os.environ, DOCKER_HOST=host) if host else None
        tools = {"hakobune compose": (hakobune, None)}
        if host:
            tools["docker-compose 1.29"] = (docker_compose, docker_env)
        for tool, (command, env) in tools.items():  # warm up: bridges, tables, caches exist from here on
            timed(command + ["up", "-d"], project_dir, env)
            check_client_reaches_web(tool, command, project_dir, env)
            timed(command + ["down", "-v"], project_dir, env)
        times = {(tool, action): [] for tool in tools for action in ("up -d", "down -v")}
        for _ in range(args.runs):
            for tool, (command, env) in tools.items():
                times[(tool, "up -d")].append(timed(command + ["up", "-d"], project_dir, env))
                times[(tool, "down -v")].append(timed(command + ["down", "-v"], project_dir, env))
        medians = {key: report(f"{key[0]}: {key[1]}", values) for key, values in times.items()}
        if host:
            for action in ("up -d", "down -v"):
                ratio = medians[("hakobune compose", action)] / medians[("docker-compose 1.29", action)]
                print(f"{action}: hakobune takes {ratio:.2f}x docker-compose's time (target: at most 0.50x)")
    finally:
        from hakobune.engine.netsetup import teardown_store
        from hakobune.monitor.launcher import stop_zygotes

        subprocess.run(hakobune + ["down", "-v"], cwd=project_dir, capture_output=True)
        if host:
            subprocess.run(docker_compose + ["down", "-v"], cwd=project_dir, capture_output=True,
                           env=dict(os.environ, DOCKER_HOST=host))
        for container_id in subprocess.run(cli + ["ps", "-aq"], capture_output=True, text=True).stdout.split():
            subprocess.run(cli + ["rm", "-f", container_id], capture_output=True)
        teardown_store(os.path.join(base, "root"), os.path.join(base, "run"))
        stop_zygotes(os.path.join(base, "run"))
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
