"""The Docker Engine API of `hakobune serve` against dockerd, through the same
docker CLI (and plain HTTP for the parallel clients):

  run      `docker run --rm busybox true`, median of --runs (after a warm-up;
           the engines take turns run by run, for ps and images too)
  ps       `docker ps -a` with --objects containers (created, not started)
  images   `docker images` with --objects images (tags of busybox)
  churn    --clients threads, each a keep-alive HTTP connection, doing
           create / start / stop / rm in a loop for --seconds: operations a
           second, errors, and what is left afterwards (containers; for
           hakobune also overlay mounts and network namespaces)

    .venv/bin/python bench/api_latency.py [--runs 15] [--objects 100] [--clients 20] [--seconds 20]
    DOCKER_REFERENCE_HOST=unix:///run/hkref/docker.sock .venv/bin/python bench/api_latency.py

hakobune's figures come from a `hakobune serve` this script starts on a
socket in a temporary directory, over a private store (busybox imported
from hakobune.testing's rootfs builder).  dockerd's come from the daemon at
DOCKER_REFERENCE_HOST (or --reference; DOCKER_HOST is taken as the reference
too when it is set), when one answers and has a busybox image; skipped
otherwise.  Targets (issue 8): run ≤ 1/3 of dockerd's time, ps and images
no slower, churn faster with no errors and no leaks.

Everything made is removed at the end, also on SIGTERM or Ctrl-C: the
server, its containers, zygote, bridges, nftables table and directory; in
dockerd, the containers and tags made here (all named hkbench-*).
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from network_run_latency import HAKOBUNE, busybox_tar  # noqa: E402

PREFIX = "hkbench-"
# a program that stops at once on SIGTERM (busybox sh as PID 1 would ignore it)
CHURN_COMMAND = ["sh", "-c", "trap 'exit 0' TERM; sleep 60 & wait"]
STOP = threading.Event()  # set on SIGTERM / Ctrl-C: the churn clients finish their cycle and stop


class Api:
    """Plain HTTP/1.1 to an Engine API on a unix socket; one keep-alive
    connection per instance (one per thread)."""

    def __init__(self, host: str):
        if not host.startswith("unix://"):
            raise SystemExit(f"{host}: only unix:// hosts are supported")
        self.path = host[len("unix://"):]
        self.connection = None

    def _connect(self) -> http.client.HTTPConnection:
        connection = http.client.HTTPConnection("localhost", timeout=120)
        connection.sock = socket.socket(socket.AF_UNIX)
        connection.sock.connect(self.path)
        return connection

    def call(self, method: str, path: str, body=None, query=None):
        """(status, decoded JSON or bytes)."""
        if query:
            path += "?" + urllib.parse.urlencode(query)
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        for attempt in range(2):
            if self.connection is None:
                self.connection = self._connect()
            try:
                self.connection.request(method, "/v1.41" + path, body=data, headers=headers)
                response = self.connection.getresponse()
                raw = response.read()
                break
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt:
                    raise
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, raw

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


class Target:
    def __init__(self, label: str, host: str, config_dir: str):
        self.label, self.host = label, host
        self.env = {**os.environ, "DOCKER_HOST": host, "DOCKER_CONFIG": config_dir}
        self.env.pop("DOCKER_CONTEXT", None)

    def docker(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", *args], capture_output=True, text=True, env=self.env)

    def timed(self, *args: str) -> float:
        start = time.perf_counter()
        proc = self.docker(*args)
        elapsed = (time.perf_counter() - start) * 1000
        if proc.returncode != 0:
            raise SystemExit(f"{self.label}: docker {' '.join(args)}: {proc.stderr.strip()}")
        return elapsed

    def available(self) -> bool:
        return shutil.which("docker") is not None and self.docker("image", "inspect", "busybox").returncode == 0


# --- the measures ----------------------------------------------------------------------------

def medians(targets: list, runs: int, *args: str) -> list[float]:
    """Each target's median time of `docker ARGS`, the targets taking turns
    run by run, so that the machine's drift (other work on it) hits them alike."""
    for target in targets:
        target.timed(*args)  # warm-up
    times = [[] for _ in targets]
    for _ in range(runs):
        for index, target in enumerate(targets):
            times[index].append(target.timed(*args))
    return [statistics.median(values) for values in times]


def make_containers(target: Target, count: int) -> list[str]:
    api = Api(target.host)
    made = []
    try:
        for index in range(count):
            status, answer = api.call("POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"]},
                                      {"name": f"{PREFIX}ps-{index}"})
            if status != 201:
                raise SystemExit(f"{target.label}: create: {status} {answer}")
            made.append(answer["Id"])
    finally:
        api.close()
    return made


def remove_containers(target: Target, made: list[str]) -> None:
    api = Api(target.host)
    try:
        for container_id in made:
            api.call("DELETE", f"/containers/{container_id}", query={"force": "1"})
    finally:
        api.close()


def make_images(target: Target, count: int) -> list[str]:
    api = Api(target.host)
    made = []
    try:
        for index in range(count):
            status, answer = api.call("POST", "/images/busybox/tag", query={"repo": f"{PREFIX}img", "tag": f"t{index}"})
            if status != 201:
                raise SystemExit(f"{target.label}: tag: {status} {answer}")
            made.append(f"{PREFIX}img:t{index}")
    finally:
        api.close()
    return made


def remove_images(target: Target, made: list[str]) -> None:
    api = Api(target.host)
    try:
        for reference in made:
            api.call("DELETE", f"/images/{reference}")
    finally:
        api.close()


def churn(target: Target, clients: int, seconds: float) -> dict:
    """--clients threads doing create/start/stop/rm until the time is up."""
    counts = {"ops": 0, "errors": 0}
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(number: int) -> None:
        api = Api(target.host)
        cycle = 0
        try:
            while time.monotonic() < deadline and not STOP.is_set():
                name = f"{PREFIX}churn-{number}-{cycle}"
                cycle += 1
                steps = [("POST", "/containers/create", {"Image": "busybox", "Cmd": CHURN_COMMAND}, {"name": name},
                          201),
                         ("POST", f"/containers/{name}/start", None, None, 204),
                         ("POST", f"/containers/{name}/stop", None, {"t": "10"}, 204),
                         ("DELETE", f"/containers/{name}", None, None, 204)]
                for method, path, body, query, expected in steps:
                    try:
                        status, answer = api.call(method, path, body, query)
                    except (OSError, http.client.HTTPException) as e:
                        status, answer = 0, repr(e)
                    with lock:
                        if status == expected:
                            counts["ops"] += 1
                        else:
                            counts["errors"] += 1
                            errors.append(f"{method} {path}: {status} {answer}")
                    if status != expected:
                        api.call("DELETE", f"/containers/{name}", query={"force": "1"})
                        break
        finally:
            api.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except BaseException:  # interrupted: each client ends its cycle (removing its container) before the cleanup
        STOP.set()
        for thread in threads:
            thread.join(60)
        raise
    elapsed = time.monotonic() - started
    left = leftover_containers(target)
    return {"ops_per_second": counts["ops"] / elapsed, "ops": counts["ops"], "errors": counts["errors"],
            "first_errors": errors[:3], "leaked_containers": left}


def leftover_containers(target: Target) -> list[str]:
    api = Api(target.host)
    try:
        status, listing = api.call("GET", "/containers/json", query={"all": "1"})
    finally:
        api.close()
    return [c["Names"][0] for c in listing or [] if any(n.lstrip("/").startswith(PREFIX) for n in c["Names"])]


def hakobune_leaks(base: str) -> dict:
    """Overlay mounts of containers and network namespaces left in the store."""
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split()[4] for line in f if f" {base}/" in line and "/containers/" in line]
    netns = os.path.join(base, "run", "netns")
    namespaces = os.listdir(netns) if os.path.isdir(netns) else []
    return {"mounts": len(mounts), "netns": len(namespaces)}


def measure(targets: list, args) -> list[dict]:
    """Every measure for every target; printed as it comes."""
    results = [{} for _ in targets]

    def note(key: str, values: list[float], text: str) -> None:
        for target, result, value in zip(targets, results, values):
            result[key] = value
            print(f"{target.label:9s} {text:32s} median {value:7.1f} ms", flush=True)

    note("run", medians(targets, args.runs, "run", "--rm", "busybox", "true"), "run --rm busybox true")
    made = [make_containers(target, args.objects) for target in targets]
    try:
        note("ps", medians(targets, args.runs, "ps", "-a"), f"ps -a ({args.objects} containers)")
    finally:
        for target, ids in zip(targets, made):
            remove_containers(target, ids)
    made = [make_images(target, args.objects) for target in targets]
    try:
        note("images", medians(targets, args.runs, "images"), f"images ({args.objects} images)")
    finally:
        for target, references in zip(targets, made):
            remove_images(target, references)
    for target, result in zip(targets, results):
        result["churn"] = c = churn(target, args.clients, args.seconds)
        print(f"{target.label:9s} churn {args.clients} clients {c['ops_per_second']:7.1f} ops/s  "
              f"({c['ops']} ops, {c['errors']} errors, {len(c['leaked_containers'])} containers left)", flush=True)
        for error in c["first_errors"]:
            print(f"{target.label:9s}   error: {error}", flush=True)
    return results


def report(ours: dict, theirs: dict | None, leaks: dict) -> None:
    print("\n                          hakobune      dockerd   target", flush=True)

    def row(label, mine, other, unit, target_text, met):
        other_text = f"{other:9.1f} {unit}" if other is not None else "        -"
        verdict = "" if other is None else ("met" if met else "MISSED")
        print(f"{label:24s} {mine:9.1f} {unit} {other_text}   {target_text} {verdict}", flush=True)

    get = (lambda key: theirs[key]) if theirs else (lambda key: None)
    row("run --rm (median)", ours["run"], get("run"), "ms", "<= 1/3", theirs and ours["run"] <= theirs["run"] / 3)
    row("ps -a (median)", ours["ps"], get("ps"), "ms", "no slower", theirs and ours["ps"] <= theirs["ps"])
    row("images (median)", ours["images"], get("images"), "ms", "no slower",
        theirs and ours["images"] <= theirs["images"])
    mine, other = ours["churn"], theirs["churn"] if theirs else None
    clean = not mine["errors"] and not mine["leaked_containers"] and not leaks["mounts"] and not leaks["netns"]
    row("churn", mine["ops_per_second"], other["ops_per_second"] if other else None, "op/s",
        "more, clean", other and mine["ops_per_second"] > other["ops_per_second"] and clean)
    print(f"hakobune churn: {mine['errors']} errors, {len(mine['leaked_containers'])} containers, "
          f"{leaks['mounts']} mounts, {leaks['netns']} netns left", flush=True)
    if other:
        print(f"dockerd churn:  {other['errors']} errors, {len(other['leaked_containers'])} containers left",
              flush=True)


# --- hakobune serve ---------------------------------------------------------------------------

def start_server(base: str) -> subprocess.Popen:
    cli = [HAKOBUNE, "--root", os.path.join(base, "root"), "--runroot", os.path.join(base, "run")]
    subprocess.run(cli + ["import", "-c", 'CMD ["sh"]', busybox_tar(base), "busybox:latest"], check=True,
                   capture_output=True)
    socket_path = os.path.join(base, "api.sock")
    log = open(os.path.join(base, "serve.log"), "w")
    environment = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "DOCKER_CONTEXT")}
    environment["DOCKER_CONFIG"] = os.path.join(base, "server-cfg")
    server = subprocess.Popen(cli + ["serve", "-H", f"unix://{socket_path}"], stdout=log, stderr=subprocess.STDOUT,
                              env=environment)
    deadline = time.monotonic() + 30
    while not os.path.exists(socket_path):
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"hakobune serve did not start: {open(log.name).read()}")
        time.sleep(0.05)
    return server


def stop_server(server: subprocess.Popen | None, base: str) -> None:
    if server is not None and server.poll() is None:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    root, runroot = os.path.join(base, "root"), os.path.join(base, "run")
    cli = [HAKOBUNE, "--root", root, "--runroot", runroot]
    listing = subprocess.run(cli + ["ps", "-aq", "--no-trunc"], capture_output=True, text=True)
    for container_id in listing.stdout.split():
        subprocess.run(cli + ["rm", "-f", container_id], capture_output=True)
    from hakobune.engine.netsetup import teardown_store
    from hakobune.monitor.launcher import stop_zygotes

    stop_zygotes(runroot)
    if os.path.isdir(root):
        teardown_store(root, runroot)
    subprocess.run(["umount", "-R", "-l", base], capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


def cleanup_reference(target: Target) -> None:
    left = leftover_containers(target)
    if left:
        target.docker("rm", "-f", *[name.lstrip("/") for name in left])
    tags = target.docker("images", "--format", "{{.Repository}}:{{.Tag}}", f"{PREFIX}img").stdout.split()
    if tags:
        target.docker("rmi", *tags)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--objects", type=int, default=100)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--reference", default=os.environ.get("DOCKER_REFERENCE_HOST") or os.environ.get("DOCKER_HOST"),
                        help="the reference dockerd (default: DOCKER_REFERENCE_HOST, else DOCKER_HOST)")
    parser.add_argument("--skip-hakobune", action="store_true", help="measure the reference only")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(1))  # a kill still cleans up (finally below)
    os.environ.pop("DOCKER_HOST", None)  # hakobune's own commands below must use the private store
    os.environ.pop("DOCKER_CONTEXT", None)
    base = tempfile.mkdtemp(prefix="hk-apibench-", dir="/tmp")
    config_dir = os.path.join(base, "client-cfg")
    server = None
    reference = Target("dockerd", args.reference, config_dir) if args.reference else None
    try:
        targets = []
        if not args.skip_hakobune:
            server = start_server(base)
            targets.append(Target("hakobune", f"unix://{os.path.join(base, 'api.sock')}", config_dir))
        if reference is not None and reference.available():
            targets.append(reference)
        elif reference is not None:
            print(f"dockerd at {args.reference}: not answering or no busybox image; skipped", flush=True)
        try:
            results = measure(targets, args)
        finally:
            if reference in targets:
                cleanup_reference(reference)
        if not args.skip_hakobune:
            theirs = results[1] if len(results) > 1 else None
            report(results[0], theirs, hakobune_leaks(base))
    finally:
        stop_server(server, base)


if __name__ == "__main__":
    main()
