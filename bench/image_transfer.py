"""Moving a whole image: load, save, push and pull, hakobune beside docker and podman.

    .venv/bin/python bench/image_transfer.py [--runs 3] [--data-mb 200] [--small-files 5000]
                                             [--dir /var/tmp] [--only hakobune,docker,podman]
                                             [--profile]

Builds once, with hakobune's own store, a test image ``bench:v1`` of five
layers (incompressible random data in 4 MiB files plus thousands of small
files) and ``bench:v2``, the same five layers and a sixth, small one; each is
saved as a docker-save archive.  Then, for every peer that is installed and
can be started (a private dockerd with its own data root, exec root and
socket; podman with its own --root/--runroot; hakobune's CLI with its own
--root), it times (median of --runs):

- ``load``: the v1 archive into an empty store;
- ``save``: v1 to an archive file;
- ``push``: v1 to an empty Debian docker-registry on 127.0.0.1 (a fresh
  storage directory for every run, so every push is cold), bytes = blob
  bytes the registry stored;
- ``pull``: v1 again after the store was emptied, bytes = the bodies the
  registry sent (from its access log);
- ``pull v2``: with v1 present, only the sixth layer should move.

Every command is the peer's CLI (``hakobune``, ``docker -H``, ``podman``),
so each side pays its own client start-up.  Everything made here (registry,
daemon, stores, temporary files) is removed at the end, also after a failure
or Ctrl-C; a peer that cannot be started is skipped with the reason.
--profile adds a cProfile of hakobune's load, save, push and pull run in
process.  Layer extraction alone is bench/layer_extract.py.
"""

import argparse
import contextlib
import cProfile
import hashlib
import http.client
import io
import json
import os
import pstats
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from hakobune.engine.engine import Engine  # noqa: E402
from hakobune.image.model import LayerSource  # noqa: E402
from hakobune.image.records import LayerBlob  # noqa: E402
from hakobune.image.store import ImageStore  # noqa: E402
from hakobune.oci.image_spec import DOCKER_LAYER  # noqa: E402

from hakobune.testing.registry import REGISTRY, start_registry, tail  # noqa: E402
HAKOBUNE = os.path.join(os.path.dirname(sys.executable), "hakobune")
MB = 1_000_000


# --- the test image -------------------------------------------------------------


def write_layer(path: str, index: int, data_mb: int, small_files: int) -> str:
    """A layer tar of `data_mb` MiB of random data in 4 MiB files and
    `small_files` small random files; returns its diff id."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as archive:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1_600_000_000
            archive.addfile(info, io.BytesIO(data))

        def directory(name):
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1_600_000_000
            archive.addfile(info)

        top = f"layer{index}"
        directory(top)
        directory(f"{top}/data")
        for i in range(max(0, data_mb // 4)):
            add(f"{top}/data/blob{i:03d}", os.urandom(4 << 20))
        for d in range(max(1, small_files // 50)):
            directory(f"{top}/small{d:03d}")
        for i in range(small_files):
            add(f"{top}/small{i // 50:03d}/f{i:05d}", os.urandom(100 + (i * 37) % 4000))
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def build_archives(work: str, data_mb: int, small_files: int) -> tuple[str, str]:
    """bench:v1 (5 layers) and bench:v2 (those and one more) in a hakobune
    store, saved as docker-save archives; returns their paths."""
    root = os.path.join(work, "build-root")
    store = ImageStore(root)
    sizes = [data_mb // 5] * 5 + [max(4, data_mb // 25)]
    counts = [small_files // 5] * 5 + [max(1, small_files // 25)]
    sources, chain = [], None
    for index, (size, count) in enumerate(zip(sizes, counts)):
        path = os.path.join(work, f"layer{index}.tar")
        diff_id = write_layer(path, index, size, count)
        with open(path, "rb") as f:
            chain = store.layers.register(f, chain, expected_diff_id=diff_id)
        with open(path, "rb") as f:
            blob = store.content.put(f, expected_digest=diff_id)
        os.unlink(path)
        sources.append(LayerSource(diff_id, LayerBlob(diff_id, DOCKER_LAYER, blob.size, blob.size)))

    def config(layers):
        return json.dumps({
            "architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
            "config": {"Env": ["PATH=/usr/bin:/bin"], "Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": [s.diff_id for s in layers]},
            "history": [{"created": "2026-01-01T00:00:00Z", "created_by": f"bench layer {i}"}
                        for i in range(len(layers))]}, separators=(",", ":")).encode()

    store.add_image(config(sources[:5]), sources[:5], tags=["bench:v1"])
    store.add_image(config(sources), sources, tags=["bench:v2"])
    engine = Engine(root, os.path.join(work, "build-runroot"))
    archives = []
    for tag in ("v1", "v2"):
        path = os.path.join(work, f"bench-{tag}.tar")
        with open(path, "wb") as f:
            engine.save_images([f"bench:{tag}"], f)
        archives.append(path)
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(os.path.join(work, "build-runroot"), ignore_errors=True)
    return archives[0], archives[1]


# --- clean-up helpers -------------------------------------------------------------


def mounts_under(path: str) -> list[str]:
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point == path or point.startswith(path.rstrip("/") + "/"):
                found.append(point)
    return found


def unmount_all(path: str) -> None:
    for _ in range(5):
        points = mounts_under(path)
        if not points:
            return
        for point in sorted(points, key=len, reverse=True):
            subprocess.run(["umount", "-l", point], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def processes_mentioning(path: str) -> list[int]:
    """Processes whose command line names `path`: what a daemon of ours left."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                if path.encode() in f.read():
                    found.append(int(name))
        except OSError:
            pass
    return found


def stop_process(process: subprocess.Popen, timeout: float = 30) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def remove_tree(path: str) -> None:
    for pid in processes_mentioning(path):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    unmount_all(path)
    shutil.rmtree(path, ignore_errors=True)


def tree_bytes(path: str) -> int:
    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(directory, name)).st_size
    return total


# --- the registry -------------------------------------------------------------------


class Registry:
    """Debian's docker-registry on 127.0.0.1:`port`, restarted on an empty
    storage directory for each measurement; counts bytes from its storage and
    its access log."""

    LINE = re.compile(r'"(GET|HEAD|PUT|PATCH|POST) (\S+) HTTP/[\d.]+" (\d{3}) (\d+|-)')

    def __init__(self, base: str, port: int):
        self.base, self.port = base, port
        self.address = f"127.0.0.1:{port}"
        self.process = None
        self.generation = 0

    def start(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)
        os.makedirs(self.base)
        self.generation += 1
        self.storage = os.path.join(self.base, "storage")
        os.mkdir(self.storage)
        self.process, self.log_path = start_registry(self.base, self.storage, self.address,
                                                     f"bench-{self.generation}", level="warn", new_session=True)

    def tail(self) -> str:
        return tail(self.log_path, 2000)

    def log_offset(self) -> int:
        return os.path.getsize(self.log_path)

    def sent_since(self, offset: int) -> int:
        """Bytes of the GET bodies the registry sent since `offset` of its log."""
        time.sleep(0.2)  # the access log line is written once the response is done
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
        total = 0
        for method, _, status, size in self.LINE.findall(text):
            if method == "GET" and size != "-" and status.startswith("2"):
                total += int(size)
        return total

    def stored_bytes(self) -> int:
        return tree_bytes(os.path.join(self.storage, "docker", "registry", "v2", "blobs"))

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, 10)
            self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


# --- the peers ------------------------------------------------------------------------


class Skip(Exception):
    pass


def run(argv, env=None, timeout=900) -> None:
    result = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=env, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}): "
                           f"{result.stderr.decode(errors='replace')[-1500:]}")


def output(argv, env=None, timeout=120) -> str:
    result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}): "
                           f"{result.stderr.decode(errors='replace')[-1500:]}")
    return result.stdout.decode()


class Peer:
    name = ""
    detail = ""

    def __init__(self, base: str, registry: str):
        self.base, self.registry = base, registry
        os.makedirs(base)

    def start(self) -> None: ...

    def close(self) -> None:
        remove_tree(self.base)

    def command(self, *args) -> list[str]:
        raise NotImplementedError

    def env(self):
        return None

    def do(self, *args) -> None:
        run(self.command(*args), env=self.env())

    def timed(self, *args) -> float:
        argv, env = self.command(*args), self.env()
        os.sync()  # no writeback left over from the step before in this measurement
        started = time.perf_counter()
        run(argv, env=env)
        return time.perf_counter() - started

    # what differs: how to empty the store, and registry flags
    def empty(self) -> None:
        raise NotImplementedError

    def push_args(self, ref):
        return ("push", ref)

    def pull_args(self, ref):
        return ("pull", ref)

    def save_args(self, ref, path):
        return ("save", "-o", path, ref)


class Hakobune(Peer):
    name = "hakobune"

    def start(self):
        if not os.access(HAKOBUNE, os.X_OK):
            raise Skip(f"{HAKOBUNE} not found")
        out = output([HAKOBUNE, "--help"])
        missing = [c for c in ("load", "save", "pull", "push", "tag") if f"\n  {c} " not in out]
        if missing:
            raise Skip(f"the CLI lacks {', '.join(missing)}")
        self.detail = "CLI, own --root"

    def command(self, *args):
        return [HAKOBUNE, "--root", f"{self.base}/root", "--runroot", f"{self.base}/runroot", *args]

    def empty(self):
        for name in ("root", "runroot"):
            unmount_all(f"{self.base}/{name}")
            shutil.rmtree(f"{self.base}/{name}", ignore_errors=True)


class Docker(Peer):
    name = "docker"

    def start(self):
        for tool in ("dockerd", "docker"):
            if not shutil.which(tool):
                raise Skip(f"{tool} is not installed")
        self.socket = f"{self.base}/docker.sock"
        os.makedirs(f"{self.base}/cli")
        self._env = dict(os.environ, DOCKER_CONFIG=f"{self.base}/cli", DOCKER_BUILDKIT="0")
        self._env.pop("DOCKER_HOST", None)
        self._env.pop("DOCKER_CONTEXT", None)
        errors = []
        for driver in ("overlay2", "vfs"):
            if self._start_daemon(driver, errors):
                self.detail = f"dockerd {output(['dockerd', '--version']).split(',')[0].split()[-1]}, {driver}"
                return
        raise Skip("dockerd did not start: " + " | ".join(errors))

    def _start_daemon(self, driver: str, errors: list) -> bool:
        for name in ("data", "exec"):
            shutil.rmtree(f"{self.base}/{name}", ignore_errors=True)
        self.log = open(f"{self.base}/dockerd.log", "ab")
        self.daemon = subprocess.Popen(
            ["dockerd", "--data-root", f"{self.base}/data", "--exec-root", f"{self.base}/exec",
             "--pidfile", f"{self.base}/dockerd.pid", "-H", f"unix://{self.socket}",
             "--iptables=false", "--ip6tables=false", "--bridge=none", "--storage-driver", driver,
             "--insecure-registry", self.registry, "--log-level", "warn"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if self.daemon.poll() is not None:
                break
            if os.path.exists(self.socket):
                probe = subprocess.run(self.command("info", "--format", "{{.Driver}}"), capture_output=True,
                                       env=self._env, timeout=30)
                if probe.returncode == 0 and probe.stdout.decode().strip() == driver:
                    return True
            time.sleep(0.2)
        self._stop_daemon()
        with open(f"{self.base}/dockerd.log", "rb") as f:
            errors.append(f"{driver}: " + f.read().decode(errors="replace")[-600:].strip().replace("\n", " / "))
        return False

    def _stop_daemon(self):
        if getattr(self, "daemon", None) is not None:
            stop_process(self.daemon, 40)
            self.daemon = None
        if getattr(self, "log", None):
            self.log.close()
            self.log = None
        unmount_all(self.base)

    def close(self):
        self._stop_daemon()
        super().close()

    def env(self):
        return self._env

    def command(self, *args):
        return ["docker", "-H", f"unix://{self.socket}", *args]

    def empty(self):
        ids = output(self.command("images", "-aq", "--no-trunc"), env=self._env).split()
        if ids:
            run(self.command("rmi", "-f", *sorted(set(ids))), env=self._env)
        run(self.command("image", "prune", "-af"), env=self._env)


class Podman(Peer):
    name = "podman"
    # what podman creates outside its --root whatever it is told
    OUTSIDE = ("/var/lib/containers/cache/blob-info-cache-v1.boltdb", "/var/lib/containers/cache",
               "/var/lib/containers", "/run/containers/networks", "/run/containers")

    def start(self):
        if not shutil.which("podman"):
            raise Skip("podman is not installed")
        self.existed = {path for path in self.OUTSIDE if os.path.lexists(path)}
        for name in ("tmp", "libpod"):
            os.makedirs(f"{self.base}/{name}")
        with open(f"{self.base}/containers.conf", "w") as f:
            f.write(f'[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
                    f'events_logfile_path = "{self.base}/events.log"\n'
                    f'image_copy_tmp_dir = "{self.base}/tmp"\ntmp_dir = "{self.base}/libpod"\n')
        self._env = dict(os.environ, CONTAINERS_CONF=f"{self.base}/containers.conf", TMPDIR=f"{self.base}/tmp")
        errors = []
        for driver in ("overlay", "vfs"):
            self.driver = driver
            probe = subprocess.run(self.command("info", "--format", "{{.Store.GraphDriverName}}"),
                                   capture_output=True, env=self._env, timeout=60)
            if probe.returncode == 0 and probe.stdout.decode().strip() == driver:
                self.detail = f"podman {output(['podman', '--version']).split()[-1]}, {driver}"
                return
            errors.append(f"{driver}: {probe.stderr.decode(errors='replace')[-400:].strip()}")
            self.empty()
        raise Skip("podman does not work here: " + " | ".join(errors))

    def env(self):
        return self._env

    def command(self, *args):
        return ["podman", "--root", f"{self.base}/root", "--runroot", f"{self.base}/runroot",
                "--tmpdir", f"{self.base}/libpod", "--storage-driver", self.driver, *args]

    def empty(self):
        subprocess.run(self.command("rmi", "-af"), stdin=subprocess.DEVNULL, capture_output=True,
                       env=self._env, timeout=300)
        for name in ("root", "runroot"):
            unmount_all(f"{self.base}/{name}")
            shutil.rmtree(f"{self.base}/{name}", ignore_errors=True)

    def push_args(self, ref):
        return ("push", "--tls-verify=false", ref)

    def pull_args(self, ref):
        return ("pull", "--tls-verify=false", ref)

    def save_args(self, ref, path):
        return ("save", "--format", "docker-archive", "-o", path, ref)

    def close(self):
        try:
            super().close()
        finally:
            for path in self.OUTSIDE:  # deepest first
                if path in self.existed or not os.path.lexists(path):
                    continue
                if os.path.isdir(path) and not os.path.islink(path):
                    with contextlib.suppress(OSError):
                        os.rmdir(path)  # only if empty: never someone else's files
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(path)


# --- measuring --------------------------------------------------------------------


def measure(peer: Peer, registry: Registry, v1: str, v2: str, runs: int, log) -> dict:
    results = {key: [] for key in ("load", "save", "push", "pull", "pull2")}
    sizes = {key: [] for key in ("push", "pull", "pull2")}
    out = os.path.join(peer.base, "saved.tar")
    for i in range(runs):
        peer.empty()
        results["load"].append(peer.timed("load", "-i", v1))
        log(f"  {peer.name} load {i + 1}/{runs}: {results['load'][-1]:.2f} s")
    for i in range(runs):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(out)
        results["save"].append(peer.timed(*peer.save_args("bench:v1", out)))
        log(f"  {peer.name} save {i + 1}/{runs}: {results['save'][-1]:.2f} s ({os.path.getsize(out) / MB:.1f} MB)")
        os.unlink(out)
    peer.do("load", "-i", v2)  # bench:v1 is still there from the loads above
    for i in range(runs):
        registry.start()  # empty storage: a cold push
        repo = f"{registry.address}/bench/{peer.name}-r{i}"
        peer.do("tag", "bench:v1", f"{repo}:v1")
        peer.do("tag", "bench:v2", f"{repo}:v2")
        results["push"].append(peer.timed(*peer.push_args(f"{repo}:v1")))
        sizes["push"].append(registry.stored_bytes())
        peer.do(*peer.push_args(f"{repo}:v2"))
        peer.empty()
        offset = registry.log_offset()
        results["pull"].append(peer.timed(*peer.pull_args(f"{repo}:v1")))
        sizes["pull"].append(registry.sent_since(offset))
        offset = registry.log_offset()
        results["pull2"].append(peer.timed(*peer.pull_args(f"{repo}:v2")))
        sizes["pull2"].append(registry.sent_since(offset))
        log(f"  {peer.name} registry {i + 1}/{runs}: push {results['push'][-1]:.2f} s "
            f"({sizes['push'][-1] / MB:.1f} MB), pull {results['pull'][-1]:.2f} s "
            f"({sizes['pull'][-1] / MB:.1f} MB), pull v2 {results['pull2'][-1]:.2f} s "
            f"({sizes['pull2'][-1] / MB:.1f} MB)")
        # back to v1 and v2 loaded, for the next run's push
        if i + 1 < runs:
            peer.empty()
            peer.do("load", "-i", v1)
            peer.do("load", "-i", v2)
    registry.stop()
    return {"times": {k: statistics.median(v) for k, v in results.items()},
            "bytes": {k: statistics.median(v) for k, v in sizes.items()}}


def profile_hakobune(base: str, registry: Registry, v1: str, top: int) -> None:
    """cProfile of load, save, push, pull in this process, into fresh stores."""
    from hakobune.image import registry as client

    registry.start()
    root = os.path.join(base, "profile")
    engine = Engine(os.path.join(root, "root"), os.path.join(root, "runroot"))
    ref = f"{registry.address}/bench/profile:v1"

    def load():
        with open(v1, "rb") as f:
            engine.load_images(f)

    def save():
        with open(os.path.join(root, "saved.tar"), "wb") as f:
            engine.save_images(["bench:v1"], f)

    def push():
        engine.image_store.tag(engine.image_store.resolve("bench:v1"), ref)
        if hasattr(engine, "push"):
            engine.push(ref)
        else:
            client.push(engine.image_store, ref)

    def empty():
        engine._image_store = None
        shutil.rmtree(os.path.join(root, "root"))

    def pull():
        if hasattr(engine, "pull"):
            engine.pull(ref)
        else:
            client.pull(engine.image_store, ref)

    try:
        for name, step in (("load", load), ("save", save), ("push", push), ("pull", pull)):
            if step is pull:
                empty()
            os.sync()
            profiler = cProfile.Profile()
            started = time.perf_counter()
            profiler.enable()
            step()
            profiler.disable()
            print(f"\n--- hakobune {name}, in process under cProfile: {time.perf_counter() - started:.2f} s "
                  f"(top {top} by own time)")
            stream = io.StringIO()
            pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(top)
            lines = stream.getvalue().splitlines()
            start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
            print("\n".join(line for line in lines[start:] if line.strip()))
    finally:
        registry.stop()
        remove_tree(root)


# --- main -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def table(peers: list[Peer], results: dict, skipped: dict, image_mb: float, layer_mb: float) -> str:
    rows = [("load (empty store)", "load", None), ("save", "save", None), ("push (cold)", "push", "push"),
            ("pull (store emptied)", "pull", "pull"), ("pull v2 (v1 present)", "pull2", "pull2")]
    names = [p.name for p in peers if p.name in results]
    width = 22
    lines = ["operation".ljust(22) + "".join(name.rjust(width) for name in names)]
    for label, key, size_key in rows:
        cells = []
        for name in names:
            seconds = results[name]["times"][key]
            cell = f"{seconds:.2f} s"
            if size_key:
                cell += f" {results[name]['bytes'][size_key] / MB:7.1f} MB"
            else:
                cell += f" {image_mb / seconds:5.0f} MB/s"
            cells.append(cell.rjust(width))
        lines.append(label.ljust(22) + "".join(cells))
    lines.append("")
    lines.append(f"image: bench:v1 {image_mb:.1f} MB of layer tars in 5 layers; v2 adds {layer_mb:.1f} MB; "
                 "times are medians, MB = 10^6 bytes moved (push: blob bytes the registry stored; "
                 "pull: GET bodies it sent)")
    for peer in peers:
        if peer.name in results:
            lines.append(f"  {peer.name}: {peer.detail}")
    for name, reason in skipped.items():
        lines.append(f"  {name}: skipped: {reason}")
    return "\n".join(lines)


def archive_layer_bytes(path: str) -> list[int]:
    with tarfile.open(path) as archive:
        manifest = json.load(archive.extractfile("manifest.json"))
        return [archive.getmember(name).size for name in manifest[0]["Layers"]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data-mb", type=int, default=190, help="MiB of random data in the five layers")
    parser.add_argument("--small-files", type=int, default=5000)
    parser.add_argument("--dir", default="/var/tmp", help="where the stores and archives go")
    parser.add_argument("--only", default="hakobune,docker,podman")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-top", type=int, default=15)
    args = parser.parse_args()

    def terminate(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    started = time.monotonic()

    def log(text):
        print(f"[{time.monotonic() - started:6.1f}s] {text}", file=sys.stderr, flush=True)

    # a short name: podman refuses a --runroot longer than 50 characters
    work = tempfile.mkdtemp(prefix="hkb-xfer-", dir=args.dir)
    registry = Registry(os.path.join(work, "registry"), free_port())
    peers, results, skipped = [], {}, {}
    try:
        if not os.access(REGISTRY, os.X_OK):
            print(f"{REGISTRY} is not installed: no registry to push to", file=sys.stderr)
            return 1
        log("building the test image")
        v1, v2 = build_archives(work, args.data_mb, args.small_files)
        v1_layers, v2_layers = archive_layer_bytes(v1), archive_layer_bytes(v2)
        image_mb, layer_mb = sum(v1_layers) / MB, v2_layers[-1] / MB
        log(f"archives: v1 {os.path.getsize(v1) / MB:.1f} MB, v2 {os.path.getsize(v2) / MB:.1f} MB")
        wanted = [name.strip() for name in args.only.split(",") if name.strip()]
        classes = {"hakobune": Hakobune, "docker": Docker, "podman": Podman}
        for name in wanted:
            peer = classes[name](os.path.join(work, name), registry.address)
            peers.append(peer)
            try:
                log(f"starting {name}")
                peer.start()
                results[name] = measure(peer, registry, v1, v2, args.runs, log)
            except Skip as e:
                skipped[name] = str(e)
                log(f"skipping {name}: {e}")
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                skipped[name] = f"failed: {str(e)[:500]}"
                log(f"{name} failed: {e}")
            finally:
                peer.close()
        print()
        print(table(peers, results, skipped, image_mb, layer_mb))
        if args.profile:
            profile_hakobune(work, registry, v1, args.profile_top)
    except KeyboardInterrupt:
        print("\ninterrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not stop the clean-up
        for peer in peers:
            with contextlib.suppress(Exception):
                peer.close()
        registry.close()
        remove_tree(work)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        log("cleaned up")
    return 0


if __name__ == "__main__":
    sys.exit(main())
