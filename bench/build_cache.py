"""`hakobune build`: a cold build, a fully cached rebuild, a rebuild after touching one copied file.

    .venv/bin/python bench/build_cache.py [--files 2000] [--runs 3] [--docker]

The Dockerfile is the issue's realistic one: several RUN steps, a COPY of
``--files`` small files, and a multi-stage copy.  A temporary store gets the
busybox image (hakobune.testing.busybox); each figure is the median of
``--runs`` runs of the real `hakobune` binary:

- ``cold``: ``build --no-cache`` with the result removed first;
- ``cached``: the same build again, every step a cache hit;
- ``touched``: one copied file's content changed, so that COPY and the steps
  after it run again.

With ``--docker`` and a reachable Docker daemon that has ``busybox:latest``,
the same three figures for ``DOCKER_BUILDKIT=1 docker build``, side by side.
Needs root (the builds' mounts); removes everything it made.
"""

import argparse
import os
import shutil
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
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


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
        subprocess.run([HAKOBUNE, "--root", self.root, "--runroot", self.runroot, "rmi", "-f", "bench:1"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def env(self):
        return None


class Docker(Hakobune):
    name = "buildkit"

    def __init__(self, base: str):
        pass

    def build_argv(self, context: str, *flags) -> list[str]:
        return ["docker", "build", "-q", *flags, "-t", "bench:1", context]

    def remove_result(self) -> None:
        subprocess.run(["docker", "rmi", "-f", "bench:1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def env(self):
        return {**os.environ, "DOCKER_BUILDKIT": "1"}


def measure(builder, context: str, runs: int) -> dict:
    figures = {"cold": [], "cached": [], "touched": []}
    touched = os.path.join(context, "src", "d00", "file00000.txt")
    for run in range(runs):
        builder.remove_result()
        figures["cold"].append(timed(builder.build_argv(context, "--no-cache"), builder.env()))
        figures["cached"].append(timed(builder.build_argv(context), builder.env()))
        with open(touched, "a") as f:
            f.write(f"touched {run} {time.time()}\n")
        figures["touched"].append(timed(builder.build_argv(context), builder.env()))
    return {name: statistics.median(values) for name, values in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--docker", action="store_true")
    options = parser.parse_args()
    base = tempfile.mkdtemp(prefix="bench-build-", dir="/var/tmp")
    results = {}
    try:
        context = os.path.join(base, "context")
        os.mkdir(context)
        make_context(context, options.files)
        builders = [Hakobune(base)]
        if options.docker and shutil.which("docker"):
            builders.append(Docker(base))
        for builder in builders:
            results[builder.name] = measure(builder, context, options.runs)
            builder.remove_result()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"{'':10}" + "".join(f"{name:>12}" for name in results))
    for figure in ("cold", "cached", "touched"):
        print(f"{figure:10}" + "".join(f"{results[name][figure]:>11.2f}s" for name in results))


if __name__ == "__main__":
    main()
