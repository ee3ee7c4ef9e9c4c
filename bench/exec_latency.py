"""Latency of `exec C true` into a running busybox container: hakobune
against docker and podman when they are installed and usable here.

    [DOCKER_HOST=unix:///run/hkref/docker.sock] .venv/bin/python bench/exec_latency.py [--runs N] [--hakobune LAUNCHER]

hakobune runs on a temporary --root/--runroot with busybox imported from
Debian's busybox-static; docker is measured if its daemon answers and has a
busybox image; podman on a temporary --root/--runroot (vfs storage, runc:
crun refuses this hybrid cgroup host; explicit ulimits: podman's defaults
exceed this root's hard limits) with the same busybox imported.  Prints
the median and the 10th/90th percentiles in milliseconds, the interpreter's
own start for scale (with and without site's start-up hooks, which some
hosts load with a costly .pth), and the ratios to hakobune's median.  Everything it
creates is removed at the end, even on failure or SIGTERM.  DOCKER_HOST (and
the other DOCKER_* variables) reach docker only: hakobune's commands run
without them, as hakobune's CLI honours DOCKER_HOST as an API client.
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
from _common import busybox_tar  # noqa: E402

HAKOBUNE = os.path.join(os.path.dirname(sys.executable), "hakobune")
HAKOBUNE_ENV = {key: value for key, value in os.environ.items() if not key.startswith("DOCKER_")}


def time_command(argv: list[str], runs: int, env: dict | None = None) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env=env)
        samples.append((time.perf_counter() - started) * 1000)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:3])}... failed: {result.stderr.decode().strip()}")
    return samples


def report(name: str, samples: list[float]) -> float:
    ordered = sorted(samples)
    median = statistics.median(samples)
    print(f"{name:<36} median {median:7.1f} ms   p10 {ordered[len(ordered) // 10]:7.1f}   "
          f"p90 {ordered[(len(ordered) * 9) // 10]:7.1f}")
    return median


def quiet(argv: list[str], timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, env=env)


# --- the engines ------------------------------------------------------------------------

class Hakobune:
    name = "hakobune exec C true"

    def __init__(self, work: str, tar: str):
        self.runroot = os.path.join(work, "hk-run")
        self.base = [HAKOBUNE, "--root", os.path.join(work, "hk-root"), "--runroot", self.runroot]
        imported = quiet(self.base + ["import", "-c", 'CMD ["sh"]', tar, "busybox:latest"], env=HAKOBUNE_ENV)
        if imported.returncode != 0:
            raise RuntimeError(f"hakobune import: {imported.stderr.strip()}")
        started = quiet(self.base + ["run", "-d", "--name", "bench-exec", "busybox", "sleep", "3600"],
                        env=HAKOBUNE_ENV)
        if started.returncode != 0:
            raise RuntimeError(f"hakobune run: {started.stderr.strip()}")

    def argv(self) -> list[str]:
        return self.base + ["exec", "bench-exec", "true"]

    def close(self) -> None:
        quiet(self.base + ["rm", "-f", "bench-exec"], env=HAKOBUNE_ENV)
        from hakobune.monitor.launcher import stop_zygotes  # the monitors' common parent outlives them

        stop_zygotes(self.runroot)


class Docker:
    name = "docker exec C true"

    @staticmethod
    def usable() -> str | None:
        if not shutil.which("docker"):
            return "not installed"
        if quiet(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=20).returncode != 0:
            return "no daemon answers"
        if quiet(["docker", "image", "inspect", "busybox"], timeout=20).returncode != 0:
            return "no busybox image"
        return None

    def __init__(self):
        started = quiet(["docker", "run", "-d", "--network", "none", "busybox", "sleep", "3600"])
        if started.returncode != 0:
            raise RuntimeError(f"docker run: {started.stderr.strip()}")
        self.container = started.stdout.strip()

    def argv(self) -> list[str]:
        return ["docker", "exec", self.container, "true"]

    def close(self) -> None:
        quiet(["docker", "rm", "-f", self.container])


class Podman:
    name = "podman exec C true"

    @staticmethod
    def usable() -> str | None:
        if not shutil.which("podman"):
            return "not installed"
        if not shutil.which("runc"):
            return "no runc (crun refuses this hybrid cgroup host)"
        return None

    def __init__(self, work: str, tar: str):
        self.work = work
        self.base = ["podman", "--root", os.path.join(work, "podman-root"), "--runroot",
                     os.path.join(work, "podman-run"), "--storage-driver", "vfs", "--runtime", "runc"]
        imported = quiet(self.base + ["import", tar, "localhost/busybox:latest"])
        if imported.returncode != 0:
            raise RuntimeError(f"podman import: {imported.stderr.strip()}")
        started = quiet(self.base + ["run", "-d", "--name", "bench-exec", "--network", "none",
                                     "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096",
                                     "localhost/busybox", "sleep", "3600"])
        if started.returncode != 0:
            self.close()
            raise RuntimeError(f"podman run: {started.stderr.strip()}")

    def argv(self) -> list[str]:
        return self.base + ["exec", "bench-exec", "true"]

    def close(self) -> None:
        quiet(self.base + ["rm", "-f", "-t", "0", "bench-exec"])
        quiet(self.base + ["system", "reset", "-f"])


def main() -> None:
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 30
    global HAKOBUNE
    if "--hakobune" in sys.argv:  # another launcher (e.g. an older checkout's) to compare with
        HAKOBUNE = os.path.abspath(sys.argv[sys.argv.index("--hakobune") + 1])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on SIGTERM as on Ctrl-C
    # An installed package has its bytecode compiled; an editable checkout
    # under PYTHONDONTWRITEBYTECODE would otherwise recompile on every run.
    import compileall

    import hakobune

    compileall.compile_dir(os.path.dirname(hakobune.__file__), quiet=1)
    work = tempfile.mkdtemp(prefix="hakobune-bench-exec-")
    engines = []
    try:
        tar = busybox_tar(work)
        print(f"{runs} runs each (after 3 warm-up runs), exec of /bin/true into a running busybox container\n")
        report("python3 -c pass (with site)", time_command([sys.executable, "-c", "pass"], runs))
        own = Hakobune(work, tar)
        engines.append(own)
        time_command(own.argv(), 3, HAKOBUNE_ENV)
        medians = {own.name: report(own.name, time_command(own.argv(), runs, HAKOBUNE_ENV))}
        # The same without site's start-up hooks (a .pth in site-packages
        # can cost 10+ ms: some sandboxes import certifi from one), the
        # package found through PYTHONPATH instead, as the monitor starts.
        bare_env = {**HAKOBUNE_ENV, "PYTHONPATH": os.path.dirname(os.path.dirname(hakobune.__file__))}
        report("python3 -S -c pass (no site)", time_command([sys.executable, "-S", "-c", "pass"], runs))
        report("hakobune exec C true (python -S)", time_command([sys.executable, "-S", *own.argv()], runs, bare_env))
        for kind in () if "--no-others" in sys.argv else (Docker, Podman):
            reason = kind.usable()
            if reason:
                print(f"{kind.name:<36} skipped: {reason}")
                continue
            try:
                engine = kind() if kind is Docker else kind(work, tar)
            except RuntimeError as e:
                print(f"{kind.name:<36} skipped: {e}")
                continue
            engines.append(engine)
            time_command(engine.argv(), 3)
            medians[engine.name] = report(engine.name, time_command(engine.argv(), runs))
        base = medians[own.name]
        print()
        for name, median in medians.items():
            if name != own.name:
                print(f"{name.split()[0]} / hakobune: {median / base:.1f}x   (hakobune takes {base / median:.2f} of it)")
    finally:
        for engine in reversed(engines):
            engine.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
