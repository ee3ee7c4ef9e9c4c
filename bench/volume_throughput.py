"""Write throughput in a named volume beside the host directory and a container's own layer.

    .venv/bin/python bench/volume_throughput.py [--size-mb 256] [--files 5000] [--file-kb 4]
                                                [--runs 2] [--dir /var/tmp]

Three places on the same host filesystem (under --dir):

- ``host``: a plain directory;
- ``volume``: a named volume's ``_data`` made by hakobune.volume.store, written
  through a bind mount of it, as a container sees it (volumes are bind-mounted
  from the host, never through the overlay);
- ``overlay``: an overlay mount with a temporary lower and upper, standing in
  for the container's read-write layer.

For each: sequential write (``--size-mb`` in 1 MiB writes, then fsync: MB/s)
and many small files (``--files`` files of ``--file-kb`` KiB, then syncfs:
files/s); the median of ``--runs``, places taken in turn so that none always
goes first.  Prints the figures side by side with each one's ratio to the host
directory's; the volume's target is >= 95% of the host's.  Needs root (mounts);
removes everything it made, also after a failure or Ctrl-C.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from hakobune import _sys as S  # noqa: E402
from hakobune.volume.store import VolumeStore  # noqa: E402

CHUNK = 1 << 20


def sequential_write(directory: str, size_mb: int) -> float:
    """MB/s of writing size_mb MiB in 1 MiB writes, fsync included."""
    path = os.path.join(directory, "sequential")
    block = os.urandom(CHUNK)
    start = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        for _ in range(size_mb):
            os.write(fd, block)
        os.fsync(fd)
    finally:
        os.close(fd)
    elapsed = time.perf_counter() - start
    os.unlink(path)
    return size_mb * CHUNK / 1e6 / elapsed


def small_files(directory: str, count: int, size_kb: int) -> float:
    """files/s of creating `count` files of size_kb KiB, syncfs included."""
    target = os.path.join(directory, "small")
    os.mkdir(target)
    data = os.urandom(size_kb * 1024)
    start = time.perf_counter()
    dir_fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for i in range(count):
            fd = os.open(f"f{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644, dir_fd=dir_fd)
            os.write(fd, data)
            os.close(fd)
        S.syncfs(dir_fd)
    finally:
        os.close(dir_fd)
    elapsed = time.perf_counter() - start
    shutil.rmtree(target)
    return count / elapsed


class Places:
    """The three directories, mounts included; `close` undoes everything."""

    def __init__(self, base: str):
        self.base = base
        self.mounts: list[str] = []
        self.paths: dict[str, str] = {}

    def open(self) -> dict[str, str]:
        host = os.path.join(self.base, "host")
        os.mkdir(host)
        store = VolumeStore(os.path.join(self.base, "root"), os.path.join(self.base, "run"))
        data = store.create("bench-volume")["Mountpoint"]
        seen_by_container = os.path.join(self.base, "container-view")
        os.mkdir(seen_by_container)
        S.mount(data, seen_by_container, None, S.MS_BIND | S.MS_REC)
        self.mounts.append(seen_by_container)
        overlay = os.path.join(self.base, "overlay")
        for part in ("lower", "upper", "work", "merged"):
            os.makedirs(os.path.join(overlay, part))
        merged = os.path.join(overlay, "merged")
        S.mount("overlay", merged, "overlay", 0,
                f"lowerdir={overlay}/lower,upperdir={overlay}/upper,workdir={overlay}/work")
        self.mounts.append(merged)
        self.paths = {"host": host, "volume": seen_by_container, "overlay": merged}
        return self.paths

    def close(self) -> None:
        for target in reversed(self.mounts):
            try:
                S.umount(target, S.MNT_DETACH)
            except OSError as e:
                print(f"warning: unmounting {target}: {e}", file=sys.stderr)
        self.mounts.clear()
        shutil.rmtree(self.base, ignore_errors=True)


def measure(paths: dict[str, str], args) -> dict[str, dict[str, float]]:
    names = list(paths)
    results: dict[str, dict[str, list[float]]] = {n: {"seq": [], "small": []} for n in names}
    for run in range(args.runs):
        order = names[run % len(names):] + names[:run % len(names)]
        for name in order:
            results[name]["seq"].append(sequential_write(paths[name], args.size_mb))
            results[name]["small"].append(small_files(paths[name], args.files, args.file_kb))
    return {n: {k: statistics.median(v) for k, v in r.items()} for n, r in results.items()}


def report(figures: dict[str, dict[str, float]], args) -> bool:
    host = figures["host"]
    rows = (("seq", f"sequential write, {args.size_mb} MiB + fsync (MB/s)"),
            ("small", f"{args.files} files of {args.file_kb} KiB + syncfs (files/s)"))
    print(f"{'':48} {'host dir':>10} {'volume':>10} {'ratio':>7} {'overlay':>10} {'ratio':>7}")
    ok = True
    for key, label in rows:
        volume_ratio = figures["volume"][key] / host[key]
        overlay_ratio = figures["overlay"][key] / host[key]
        ok = ok and volume_ratio >= 0.95
        print(f"{label:48} {host[key]:10.1f} {figures['volume'][key]:10.1f} {volume_ratio:6.0%} "
              f"{figures['overlay'][key]:10.1f} {overlay_ratio:6.0%}")
    print(f"volume >= 95% of the host directory: {'yes' if ok else 'NO'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--file-kb", type=int, default=4)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--dir", default="/var/tmp")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (bind and overlay mounts)", file=sys.stderr)
        return 2
    places = Places(tempfile.mkdtemp(prefix="hk-volume-bench-", dir=args.dir))
    try:
        paths = places.open()
        figures = measure(paths, args)
    finally:
        places.close()
    return 0 if report(figures, args) else 1


if __name__ == "__main__":
    sys.exit(main())
