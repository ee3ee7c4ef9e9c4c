"""Start latency of an OCI runtime: `RUNTIME run` of a busybox bundle running
/bin/true, on one identical config.json (Docker's defaults: 14 capabilities,
the default seccomp profile, masked paths) for every runtime installed.

    .venv/bin/python bench/runtime_start.py [--runs N]

Prints the median and the 10th/90th percentiles in milliseconds, with the
interpreter's own start and a bare unshare+chroot for scale.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from hakobune.oci.defaults import default_spec
from hakobune.testing import busybox


def time_command(argv: list[str], runs: int, cwd: str | None = None) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        samples.append((time.perf_counter() - started) * 1000)
        if result.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {result.stderr.decode().strip()}")
    return samples


def report(name: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p10 = ordered[len(ordered) // 10]
    p90 = ordered[(len(ordered) * 9) // 10]
    print(f"{name:<34} median {statistics.median(samples):7.1f} ms   p10 {p10:7.1f}   p90 {p90:7.1f}")


def runtimes() -> list[tuple[str, str]]:
    found = [("hakobune-runtime", os.path.join(os.path.dirname(sys.executable), "hakobune-runtime"))]
    for name in ("runc", "crun"):
        path = shutil.which(name)
        if path:
            found.append((name, path))
    return found


def _v1_only_view(command: list[str]) -> list[str]:
    return ["unshare", "--mount", "--propagation", "slave", "sh", "-c",
            'umount -l /sys/fs/cgroup/unified && exec "$@"', "view", *command]


def main() -> None:
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 50
    # An installed package has its bytecode compiled; an editable checkout
    # under PYTHONDONTWRITEBYTECODE would otherwise recompile on every run.
    import compileall
    import hakobune

    compileall.compile_dir(os.path.dirname(hakobune.__file__), quiet=1)
    work = tempfile.mkdtemp(prefix="hakobune-bench-")
    try:
        bundle = os.path.join(work, "bundle")
        os.mkdir(bundle)
        busybox.build_rootfs(os.path.join(bundle, "rootfs"))
        busybox.write_config(bundle, default_spec(args=["/bin/true"]))
        print(f"{runs} runs each, busybox bundle running /bin/true, Docker's default config\n")
        report("python3 -c pass (interpreter)", time_command([sys.executable, "-S", "-c", "pass"], runs))
        report("python3 -c pass (with site)", time_command([sys.executable, "-c", "pass"], runs))
        report("unshare + chroot /bin/true", time_command(
            ["unshare", "-m", "-u", "-i", "-n", "-p", "-f", "chroot", os.path.join(bundle, "rootfs"), "/bin/true"],
            runs))
        for name, binary in runtimes():
            root = os.path.join(work, f"state-{name}")
            command = [binary, "--root", root, "run", "--bundle", bundle, "bench"]
            try:
                report(f"{name} run", time_command(command, runs))
            except RuntimeError as e:
                if name != "crun" or "hybrid" not in str(e):
                    print(f"{name + ' run':<34} failed: {e}")
                    continue
                # crun 1.8 refuses hybrid cgroup hosts: give it a v1-only view
                # (a private mount namespace without the cgroup2 mount) and
                # report the wrapper's own cost beside it.
                report("crun run (v1-only view)", time_command(_v1_only_view(command), runs))
                report("  that view's own cost (/bin/true)", time_command(_v1_only_view(["/bin/true"]), runs))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
