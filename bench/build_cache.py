"""`hakobune build`: a cold build, a fully cached rebuild, a rebuild after touching one copied file.

    .venv/bin/python bench/build_cache.py [--files 2000] [--runs 3] \
        [--docker-host unix:///run/hkref/docker.sock]

The Dockerfile is the issue's realistic one: several RUN steps, a COPY of
``--files`` small files, and a multi-stage copy.  A temporary store gets the
busybox image (hakobune.testing.busybox); each figure is the median of
``--runs`` runs of the real `hakobune` binary:

- ``cold``: ``build --no-cache`` with the result removed first (for
  hakobune, every image the builds made and the cache: no layer is left to
  reuse; the classic builder's are all removed too);
- ``cached``: the same build again, every step a cache hit;
- ``touched``: one copied file's content changed, so that COPY and the steps
  after it run again;
- ``cold-run``: ``build --no-cache`` of a second Dockerfile whose one RUN
  step writes ``--files`` small files (a package install's pattern): the
  step's files become its layer as they are (the layer store adopts the
  step's directory) instead of being packed and unpacked again.

With a reference Docker daemon (``--docker-host``, else $DOCKER_HOST) that
has ``busybox:latest``, the same three figures for its classic builder
(``DOCKER_BUILDKIT=0``) and for BuildKit (``DOCKER_BUILDKIT=1``: a docker
client with buildx, else Debian's docker.io client at /usr/bin/docker, whose
BuildKit is built in), side by side in one run.
Needs root (the builds' mounts); removes everything it made, also when
interrupted or terminated (SIGTERM): the images, and the classic builder's
images of the first stage, which it leaves dangling.  BuildKit's cache
records of these builds stay in that daemon's build cache.
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HAKOBUNE = os.path.join(ROOT, ".venv", "bin", "hakobune")

DOCKERFILE = """\
FROM busybox:latest AS tools
RUN mkdir -p /opt/tool && echo 'echo tool' > /opt/tool/run && chmod +x /opt/tool/run
RUN echo prepared > /opt/tool/stamp

FROM busybox:latest
ENV APP_HOME=/app
WORKDIR /app
RUN mkdir -p /app/data && echo setup > /app/data/setup
COPY src/ /app/src/
RUN find /app/src -type f | wc -l > /app/count
COPY --from=tools /opt/tool /opt/tool
RUN /opt/tool/run > /app/tool-output
CMD ["cat", "/app/count"]
"""

RUN_DOCKERFILE = """\
FROM busybox:latest
RUN mkdir /generated && cd /generated && for d in $(seq 0 39); do mkdir d$d; done && i=0 && \\
    while [ $i -lt {files} ]; do echo "file $i" > d$((i % 40))/file$i.txt; i=$((i + 1)); done
CMD ["ls", "/generated"]
"""


def make_run_context(directory: str, files: int) -> None:
    with open(os.path.join(directory, "Dockerfile"), "w") as f:
        f.write(RUN_DOCKERFILE.format(files=files))


def make_context(directory: str, files: int) -> None:
    with open(os.path.join(directory, "Dockerfile"), "w") as f:
        f.write(DOCKERFILE)
    for index in range(files):
        sub = os.path.join(directory, "src", f"d{index % 40:02d}")
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, f"file{index:05d}.txt"), "w") as f:
            f.write(f"file {index}\n" * 8)


def timed(argv, env=None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr}")
    return elapsed


class Hakobune:
    name = "hakobune"

    def __init__(self, base: str):
        self.root, self.runroot = os.path.join(base, "root"), os.path.join(base, "run")
        tar = os.path.join(base, "busybox.tar")
        with open(tar, "wb") as f:
            subprocess.run([sys.executable, "-m", "hakobune.testing.busybox", "--tar"], stdout=f, check=True,
                           cwd=ROOT)
        self.cli("import", "-c", 'CMD ["sh"]', tar, "busybox:latest")

    def cli(self, *args) -> list[str]:
        argv = [HAKOBUNE, "--root", self.root, "--runroot", self.runroot, *args]
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return argv

    def build_argv(self, context: str, *flags) -> list[str]:
        return [HAKOBUNE, "--root", self.root, "--runroot", self.runroot, "build", *flags, "-t", "bench:1",
                context]

    def remove_result(self) -> None:
        """The image and every image the builds made (dangling ones too), so that
        no layer of an earlier build is there to be reused: a cold build is cold."""
        for args in (("rmi", "-f", "bench:1"), ("image", "prune", "-f"), ("builder", "prune", "-af")):
            subprocess.run([HAKOBUNE, "--root", self.root, "--runroot", self.runroot, *args],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def env(self):
        return None


class Docker(Hakobune):
    """A reference daemon's classic builder, or its BuildKit."""

    def __init__(self, host: str, buildkit: bool):
        self.host = host
        self.buildkit = buildkit
        self.name = "buildkit" if buildkit else "classic"
        self.client = "docker"
        if buildkit and subprocess.run(["docker", "buildx", "version"], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL).returncode != 0:
            self.client = "/usr/bin/docker"  # Debian's 20.10 client: BuildKit without buildx
        self.before = set(self.docker("images", "-aq", "--no-trunc").split())

    def docker(self, *args) -> str:
        return subprocess.run([self.client, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              env=self.env()).stdout

    def available(self) -> bool:
        return (shutil.which(self.client) is not None and
                subprocess.run([self.client, "image", "inspect", "busybox:latest"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=self.env()).returncode == 0)

    def build_argv(self, context: str, *flags) -> list[str]:
        return [self.client, "build", "-q", *flags, "-t", "bench:1", context]

    def remove_result(self) -> None:
        self.clean()

    def clean(self) -> None:
        """The result, and the dangling images these builds left (the classic
        builder keeps the first stage's): made since the start, and made by
        one of this Dockerfile's steps (the daemon is shared, so BuildKit's
        cache is not pruned)."""
        self.docker("rmi", "-f", "bench:1")
        steps = [line.split(None, 1)[1] for line in DOCKERFILE.splitlines() if line.startswith("RUN ")]
        removed = True
        while removed:
            removed = False
            for image in set(self.docker("images", "-q", "--no-trunc", "-f", "dangling=true").split()) - self.before:
                history = self.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", image)
                if any(step in history for step in steps) and self.docker("rmi", image):
                    removed = True  # it printed what it deleted

    def env(self):
        return {**os.environ, "DOCKER_HOST": self.host, "DOCKER_BUILDKIT": "1" if self.buildkit else "0"}


FIGURES = ("cold", "cached", "touched", "cold-run")


def measure(builders, context: str, run_context: str, runs: int) -> dict:
    """Each builder's median figures; the builders take turns within each run,
    so that the machine's load (other work on it) falls on all of them alike."""
    figures = {builder.name: {figure: [] for figure in FIGURES} for builder in builders}
    touched = os.path.join(context, "src", "d00", "file00000.txt")
    for run in range(runs):
        for builder in builders:
            with open(touched, "w") as f:
                f.write(f"file 0 run {run}\n")
            mine = figures[builder.name]
            builder.remove_result()
            mine["cold"].append(timed(builder.build_argv(context, "--no-cache"), builder.env()))
            mine["cached"].append(timed(builder.build_argv(context), builder.env()))
            with open(touched, "a") as f:
                f.write(f"touched {run} {time.time()}\n")
            mine["touched"].append(timed(builder.build_argv(context), builder.env()))
            builder.remove_result()
            mine["cold-run"].append(timed(builder.build_argv(run_context, "--no-cache"), builder.env()))
    return {name: {figure: statistics.median(values) for figure, values in mine.items()}
            for name, mine in figures.items()}


def unmount_below(base: str) -> None:
    """What an interrupted build left mounted in the bench's store."""
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f if line.split()[4].startswith(base + "/")]
    for point in sorted(points, reverse=True):
        subprocess.run(["umount", "-l", point], stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--docker-host", default=os.environ.get("DOCKER_HOST", ""),
                        help="a reference Docker daemon to compare with (default: $DOCKER_HOST)")
    options = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: the finally blocks clean up
    base = tempfile.mkdtemp(prefix="bench-build-", dir="/var/tmp")
    results = {}
    references = []
    try:
        context = os.path.join(base, "context")
        os.mkdir(context)
        make_context(context, options.files)
        run_context = os.path.join(base, "run-context")
        os.mkdir(run_context)
        make_run_context(run_context, options.files)
        builders = [Hakobune(base)]
        if options.docker_host and shutil.which("docker"):
            references = [Docker(options.docker_host, buildkit) for buildkit in (True, False)]
            builders += [docker for docker in references if docker.available()]
        results = measure(builders, context, run_context, options.runs)
        for builder in builders:
            builder.remove_result()
    finally:
        for docker in references:
            docker.clean()
        unmount_below(base)
        shutil.rmtree(base, ignore_errors=True)
    print(f"{'':10}" + "".join(f"{name:>12}" for name in results))
    for figure in FIGURES:
        print(f"{figure:10}" + "".join(f"{results[name][figure]:>11.2f}s" for name in results))


if __name__ == "__main__":
    main()
