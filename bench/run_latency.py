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

    .venv/bin/python bench/run_latency.py [--runs N] [--no-profile]

Everything runs against a temporary store (busybox imported from the test
fixture's rootfs) removed at the end.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

HAKOBUNE = os.path.join(os.path.dirname(sys.executable), "hakobune")


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


def other_engines() -> list[tuple[str, list[str]]]:
    """docker and podman, when installed and a busybox image is local."""
    found = []
    for name in ("docker", "podman"):
        path = shutil.which(name)
        if not path:
            continue
        probe = subprocess.run([path, "image", "inspect", "busybox"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        if probe.returncode == 0:
            found.append((name, [path]))
        else:
            print(f"({name}: no local busybox image or no daemon: skipped)")
    return found


def has_networks(base: list[str]) -> bool:
    probe = subprocess.run([*base, "network", "ls"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return probe.returncode == 0


def make_store(work: str) -> list[str]:
    from hakobune.testing import busybox

    rootfs = os.path.join(work, "rootfs")
    busybox.build_rootfs(rootfs)
    tar = os.path.join(work, "busybox.tar")
    with tarfile.open(tar, "w") as t:
        for name in sorted(os.listdir(rootfs)):
            t.add(os.path.join(rootfs, name), arcname=name)
    base = [HAKOBUNE, "--root", os.path.join(work, "root"), "--runroot", os.path.join(work, "run")]
    subprocess.run([*base, "import", "-c", 'CMD ["sh"]', tar, "busybox:latest"], check=True,
                   stdout=subprocess.DEVNULL)
    return base


def compile_package() -> None:
    # An installed package has its bytecode compiled; a checkout run with
    # PYTHONDONTWRITEBYTECODE would otherwise recompile on every start.
    import compileall

    import hakobune

    compileall.compile_dir(os.path.dirname(hakobune.__file__), quiet=1)


def breakdown(base: list[str], runs: int) -> None:
    """The run's parts, each as its own CLI call (so each pays the interpreter's start)."""
    print("\nwhere `hakobune run --rm --network none busybox true` spends its time (medians):")
    parts = {"python -I -S -c pass": [], "python -c 'import hakobune.cli.main'": [],
             "hakobune version (CLI start)": [], "create": [], "start (monitor + runtime)": [],
             "wait (exit seen)": [], "rm": []}
    for _ in range(runs):
        parts["python -I -S -c pass"].append(timed([sys.executable, "-I", "-S", "-c", "pass"]))
        parts["python -c 'import hakobune.cli.main'"].append(
            timed([sys.executable, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {_parent()!r}); "
                   "import hakobune.cli.main"]))
        parts["hakobune version (CLI start)"].append(timed([*base, "version"]))
        started = time.perf_counter()
        out = subprocess.run([*base, "create", "--network", "none", "busybox", "true"], check=True,
                             stdout=subprocess.PIPE).stdout.decode().strip()
        parts["create"].append((time.perf_counter() - started) * 1000)
        parts["start (monitor + runtime)"].append(timed([*base, "start", out]))
        parts["wait (exit seen)"].append(timed([*base, "wait", out]))
        parts["rm"].append(timed([*base, "rm", out]))
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
                       stdout=subprocess.DEVNULL)
        stats = pstats.Stats(out)
        print("\nthe CLI process of one `run --rm` (cProfile, cumulative, top 25):")
        stats.sort_stats("cumulative").print_stats(25)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main() -> None:
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 20
    compile_package()
    work = tempfile.mkdtemp(prefix="hakobune-bench-run-")
    try:
        base = make_store(work)
        print(f"medians of {runs} runs of `run --rm busybox true`\n")
        ours = median_of([*base, "run", "--rm", "--network", "none", "busybox", "true"], runs)
        print(f"{'hakobune --network none':<32} {ours:7.1f} ms")
        # the runtime's create/start/delete as `hakobune-runtime` processes
        # instead of in (a fork of) the monitor (hakobune.monitor.inprocess)
        as_processes = median_of([*base, "run", "--rm", "--network", "none", "busybox", "true"], runs,
                                 env={**os.environ, "HAKOBUNE_RUNTIME_IN_MONITOR": "0"})
        print(f"{'  (runtime as processes)':<32} {as_processes:7.1f} ms")
        results = {}
        for name, command in other_engines():
            results[name] = median_of([*command, "run", "--rm", "--network", "none", "busybox", "true"], runs)
            print(f"{name + ' --network none':<32} {results[name]:7.1f} ms   hakobune/{name} = "
                  f"{ours / results[name]:.2f}")
        if has_networks(base):
            try:
                ours_net = median_of([*base, "run", "--rm", "busybox", "true"], runs)
                print(f"{'hakobune default network':<32} {ours_net:7.1f} ms")
                for name, command in other_engines():
                    theirs = median_of([*command, "run", "--rm", "busybox", "true"], runs)
                    print(f"{name + ' default network':<32} {theirs:7.1f} ms   hakobune/{name} = "
                          f"{ours_net / theirs:.2f}")
            except RuntimeError as e:
                print(f"default network: failed: {e}")
        if "--no-profile" not in sys.argv:
            breakdown(base, max(5, runs // 2))
            profile(base)
    finally:
        subprocess.run([*make_base(work), "container", "prune", "-f"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        stop_helpers(work)
        shutil.rmtree(work, ignore_errors=True)


def stop_helpers(work: str) -> None:
    """Remove what the store put in the kernel (its networks' bridges, veths,
    nftables table, DNS server) and end its long-lived helpers (a monitor
    zygote): by pid, only processes naming this store."""
    import signal

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
