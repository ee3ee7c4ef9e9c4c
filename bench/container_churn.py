"""Container churn: 50 detached starts (`run -d busybox sleep 600`), 8 CLI
processes at a time, then their removal (`rm -f`), 8 at a time; timed side
by side with docker and podman when installed with a local busybox image
(nothing is ever pulled).

    [DOCKER_HOST=unix:///run/hkref/docker.sock] .venv/bin/python bench/container_churn.py \
        [--count 50] [--parallel 8] [--rounds 3] [--no-others] [--hakobune LAUNCHER]

Prints the median wall time of each phase over the rounds, and the ratios.
DOCKER_HOST (and the other DOCKER_* variables) reach docker only, never
hakobune's commands; everything is removed at the end, also on SIGTERM.
"""

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run_latency import (compile_package, hakobune_env, make_base, make_store, other_engines,  # noqa: E402
                         stop_helpers)


def _check(argv: list[str], env: dict | None = None) -> str:
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:6])}...: {result.stderr.decode().strip()}")
    return result.stdout.decode().strip()


def churn(base: list[str], count: int, parallel: int, extra=(), env: dict | None = None) -> tuple[float, float]:
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        started = time.perf_counter()
        ids = list(pool.map(lambda _: _check([*base, "run", "-d", *extra, "busybox", "sleep", "600"], env),
                            range(count)))
        start_time = time.perf_counter() - started
        started = time.perf_counter()
        list(pool.map(lambda c: _check([*base, "rm", "-f", c], env), ids))
        remove_time = time.perf_counter() - started
    return start_time, remove_time


def main() -> None:
    def option(name, default):
        return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default

    count, parallel, rounds = option("--count", 50), option("--parallel", 8), option("--rounds", 3)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on SIGTERM as on Ctrl-C
    import run_latency

    run_latency.choose_hakobune()  # --hakobune LAUNCHER
    compile_package()
    work = tempfile.mkdtemp(prefix="hakobune-bench-churn-")
    try:
        base = make_store(work)
        print(f"{count} detached starts, {parallel} at a time, then their removal; medians of {rounds} rounds\n")
        engines = [("hakobune", base, ("--network", "none"), hakobune_env())]
        if "--no-others" not in sys.argv:
            engines += [(name, command, (*run_options, "--network", "none"), None)
                        for name, command, run_options in other_engines()]
        results = {}
        for name, command, extra, env in engines:
            samples = [churn(command, count, parallel, extra, env) for _ in range(rounds)]
            starts = statistics.median(s for s, _ in samples)
            removals = statistics.median(r for _, r in samples)
            results[name] = (starts, removals)
            line = f"{name:<10} starts {starts:6.2f} s   removal {removals:6.2f} s"
            if name != "hakobune":
                ours = results["hakobune"]
                line += f"   hakobune/{name}: starts {ours[0] / starts:.2f}, removal {ours[1] / removals:.2f}"
            print(line)
    finally:
        env = hakobune_env()
        subprocess.run([*make_base(work), "rm", "-f", *subprocess.run(
            [*make_base(work), "ps", "-aq"], stdout=subprocess.PIPE, env=env).stdout.decode().split()],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        stop_helpers(work)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
