"""`hakobune run --rm busybox true` against `docker run --rm` and `podman run
--rm` on the same image, compared like with like: `--network none` each,
then the default network each (where hakobune has networks).  Docker and
Podman are measured only when installed and a `busybox` image is already
present locally (nothing is ever pulled).  Then a breakdown of where
hakobune's run spends its time: the interpreter, the CLI's imports, create,
start (monitor spawn + runtime create/start), the wait for the exit, rm.
The line "(runtime as processes)" runs the runtime's verbs as
`hakobune-runtime` processes (HAKOBUNE_RUNTIME_IN_MONITOR=0), as hakobune
did before the monitor called the runtime's library in a fork of itself.

    [DOCKER_HOST=unix:///run/hkref/docker.sock] .venv/bin/python bench/run_latency.py [--runs N] [--no-profile] \
        [--no-others] [--hakobune LAUNCHER]

Everything runs against a temporary store (busybox imported from the test
fixture's rootfs) removed at the end, also on SIGTERM or Ctrl-C.  DOCKER_HOST
(and the other DOCKER_* variables) reach docker only: hakobune's commands
run without them, as hakobune's CLI honours DOCKER_HOST as an API client
and would otherwise time the other daemon.  Podman runs with runc and
explicit ulimits (its crun refuses this hybrid cgroup host, and its default
ulimits exceed this root's hard limits).
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
import _common  # noqa: E402
from _common import hakobune_env  # noqa: E402,F401 - also container_churn's

HAKOBUNE = os.path.join(os.path.dirname(sys.executable), "hakobune")
# podman's crun refuses this hybrid cgroup host; its default ulimits exceed root's hard limits here
PODMAN_OPTIONS = ("--runtime", "runc")
PODMAN_RUN_OPTIONS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096")


def timed(argv: list[str], env: dict | None = None) -> float:
    started = time.perf_counter()
    result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    elapsed = (time.perf_counter() - started) * 1000
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:6])}...: {result.stderr.decode().strip()}")
    return elapsed


def median_of(argv: list[str], runs: int, warmup: int = 2, env: dict | None = None) -> float:
    for _ in range(warmup):
        timed(argv, env)
    return statistics.median(timed(argv, env) for _ in range(runs))


def samples_of(argv: list[str], runs: int, warmup: int = 2, env: dict | None = None) -> list[float]:
    for _ in range(warmup):
        timed(argv, env)
    return [timed(argv, env) for _ in range(runs)]


def other_engines() -> list[tuple[str, list[str], tuple]]:
    """(name, command, run options) of docker and podman, when installed,
    a busybox image is local and a `run --rm busybox true` works."""
    found = []
    for name in ("docker", "podman"):
        path = shutil.which(name)
        if not path:
            continue
        command = [path, *PODMAN_OPTIONS] if name == "podman" else [path]
        run_options = PODMAN_RUN_OPTIONS if name == "podman" else ()
        probe = subprocess.run([*command, "image", "inspect", "busybox"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        if probe.returncode != 0:
            print(f"({name}: no local busybox image or no daemon: skipped)")
            continue
        trial = subprocess.run([*command, "run", "--rm", *run_options, "--network", "none", "busybox", "true"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if trial.returncode != 0:
            print(f"({name}: `run` fails here: {trial.stderr.decode().strip()[:160]}: skipped)")
            continue
        found.append((name, command, run_options))
    if "DOCKER_HOST" in os.environ:
        print(f"(docker: DOCKER_HOST={os.environ['DOCKER_HOST']}; hakobune runs without it)")
    return found


def make_store(work: str) -> list[str]:
    return _common.make_store(work, HAKOBUNE)  # HAKOBUNE: this checkout's, or --hakobune's


def has_networks(base: list[str]) -> bool:
    probe = subprocess.run([*base, "network", "ls"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env=hakobune_env())
    return probe.returncode == 0


def compile_package() -> None:
    # An installed package has its bytecode compiled; a checkout run with
    # PYTHONDONTWRITEBYTECODE would otherwise recompile on every start.
    import compileall

    import hakobune

    compileall.compile_dir(os.path.dirname(hakobune.__file__), quiet=1)


def breakdown(base: list[str], runs: int, network: str = "none") -> None:
    """The run's parts, each as its own CLI call (so each pays the interpreter's start)."""
    env = hakobune_env()
    print(f"\nwhere `hakobune run --rm --network {network} busybox true` spends its time (medians):")
    parts = {"python -I -S -c pass": [], "python -c 'import hakobune.cli.main'": [],
             "hakobune version (CLI start)": [], "create": [], "start (monitor + runtime)": [],
             "wait (exit seen)": [], "rm": []}
    for _ in range(runs):
        parts["python -I -S -c pass"].append(timed([sys.executable, "-I", "-S", "-c", "pass"], env))
        parts["python -c 'import hakobune.cli.main'"].append(
            timed([sys.executable, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {_parent()!r}); "
                   "import hakobune.cli.main"], env))
        parts["hakobune version (CLI start)"].append(timed([*base, "version"], env))
        started = time.perf_counter()
        out = subprocess.run([*base, "create", "--network", network, "busybox", "true"], check=True,
                             stdout=subprocess.PIPE, env=env).stdout.decode().strip()
        parts["create"].append((time.perf_counter() - started) * 1000)
        parts["start (monitor + runtime)"].append(timed([*base, "start", out], env))
        parts["wait (exit seen)"].append(timed([*base, "wait", out], env))
        parts["rm"].append(timed([*base, "rm", out], env))
    for name, samples in parts.items():
        print(f"  {name:<40} {statistics.median(samples):7.1f} ms")


def _parent() -> str:
    import hakobune

    return os.path.dirname(os.path.dirname(hakobune.__file__))


def profile(base: list[str]) -> None:
    """cProfile of one in-process `run --rm` (the CLI's side only: the
    monitor and the runtime are other processes)."""
    import pstats

    code = ("import sys\nfrom hakobune.cli.main import main\n"
            f"sys.argv = ['hakobune', *{base[1:]!r}, 'run', '--rm', '--network', 'none', 'busybox', 'true']\n"
            "main()\n")
    directory = tempfile.mkdtemp(prefix="hk-run-profile-")
    script, out = os.path.join(directory, "run.py"), os.path.join(directory, "stats")
    with open(script, "w") as f:
        f.write(code)
    try:
        subprocess.run([sys.executable, "-m", "cProfile", "-o", out, script], check=False,
                       stdout=subprocess.DEVNULL, env=hakobune_env())
        stats = pstats.Stats(out)
        print("\nthe CLI process of one `run --rm` (cProfile, cumulative, top 25):")
        stats.sort_stats("cumulative").print_stats(25)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def compare(label: str, ours_argv: list[str], engines, run_args: list[str], runs: int) -> None:
    """hakobune's median and each other engine's, with the ratio.  Each
    engine's runs come in one block (not alternated: a daemon's clean-up
    after a `run --rm` returns would be timed as the next engine's run)."""
    argvs = {"hakobune": (ours_argv, hakobune_env())}
    for name, command, run_options in engines:
        argvs[name] = ([*command, "run", "--rm", *run_options, *run_args], None)
    samples = {name: samples_of(argv, runs, env=env) for name, (argv, env) in argvs.items()}
    ours = statistics.median(samples["hakobune"])
    print(f"{'hakobune ' + label:<32} {ours:7.1f} ms")
    for name in argvs:
        if name != "hakobune":
            theirs = statistics.median(samples[name])
            print(f"{name + ' ' + label:<32} {theirs:7.1f} ms   hakobune/{name} = {ours / theirs:.2f}")


def choose_hakobune() -> None:
    """--hakobune PATH: another launcher (e.g. an older checkout's) to compare with."""
    global HAKOBUNE
    if "--hakobune" in sys.argv:
        HAKOBUNE = os.path.abspath(sys.argv[sys.argv.index("--hakobune") + 1])


def main() -> None:
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 20
    choose_hakobune()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on SIGTERM as on Ctrl-C
    compile_package()
    work = tempfile.mkdtemp(prefix="hakobune-bench-run-")
    try:
        base = make_store(work)
        engines = [] if "--no-others" in sys.argv else other_engines()
        print(f"medians of {runs} runs of `run --rm busybox true`\n")
        compare("--network none", [*base, "run", "--rm", "--network", "none", "busybox", "true"], engines,
                ["--network", "none", "busybox", "true"], runs)
        # the runtime's create/start/delete as `hakobune-runtime` processes
        # instead of in (a fork of) the monitor (hakobune.monitor.inprocess)
        as_processes = median_of([*base, "run", "--rm", "--network", "none", "busybox", "true"], runs,
                                 env=hakobune_env(HAKOBUNE_RUNTIME_IN_MONITOR="0"))
        print(f"{'  (runtime as processes)':<32} {as_processes:7.1f} ms")
        if has_networks(base):
            try:
                compare("default network", [*base, "run", "--rm", "busybox", "true"], engines,
                        ["busybox", "true"], runs)
            except RuntimeError as e:
                print(f"default network: failed: {e}")
        if "--no-profile" not in sys.argv:
            breakdown(base, max(5, runs // 2))
            if has_networks(base):
                breakdown(base, max(5, runs // 2), "bridge")
            profile(base)
    finally:
        subprocess.run([*make_base(work), "container", "prune", "-f"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=hakobune_env())
        stop_helpers(work)
        shutil.rmtree(work, ignore_errors=True)


def stop_helpers(work: str) -> None:
    """Remove what the store put in the kernel (its networks' bridges, veths,
    nftables table, DNS server) and end its long-lived helpers (a monitor
    zygote): by pid, only processes naming this store."""
    try:
        from hakobune.engine.netsetup import teardown_store

        teardown_store(os.path.join(work, "root"), os.path.join(work, "run"))
    except Exception as e:  # noqa: BLE001 - report, and go on cleaning
        print(f"(network teardown failed: {e})")
    try:
        from hakobune.monitor.launcher import stop_zygotes

        stop_zygotes(os.path.join(work, "run"))
    except Exception:  # noqa: BLE001 - the /proc scan below still ends it
        pass
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if work.encode() in cmdline:
            try:
                os.kill(int(name), signal.SIGTERM)
            except ProcessLookupError:
                pass


def make_base(work: str) -> list[str]:
    return [HAKOBUNE, "--root", os.path.join(work, "root"), "--runroot", os.path.join(work, "run")]


if __name__ == "__main__":
    main()
