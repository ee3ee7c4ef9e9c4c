"""Throughput of unpacking a layer tarball (hakobune.image.tarlayer.apply_layer).

    .venv/bin/python bench/layer_extract.py [--data-mb 200] [--small-files 5000] [--runs 3]
                                            [--dir /var/tmp] [--profile]

Builds a synthetic layer once (incompressible data in 4 MiB files plus many
small files in a few hundred directories), as a plain tar, gzip and zstd,
then times, for each: the whole apply (MB/s of uncompressed tar, files/s),
and its parts alone: decompression + sha256 (the diff id), the tar parsing
of hakobune's reader and of the standard library's tarfile (data read and
dropped), and GNU tar extracting the same file for scale.  --profile prints
where a plain-tar apply spends its time.  --dir says where to unpack: the
file system's cost of creating files dominates on a slow disk; a tmpfs
(/dev/shm) shows hakobune's own cost.
"""

import argparse
import cProfile
import gzip
import io
import os
import pstats
import shutil
import statistics
import subprocess
import tarfile
import tempfile
import time

import zstandard

from hakobune.image.compression import HashingReader, open_uncompressed
from hakobune.image.tarlayer import apply_layer
from hakobune.image.tarstream import TarReader


def build_layer(path: str, data_mb: int, small_files: int) -> int:
    """Writes the tar; returns its number of entries."""
    entries = 0
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as archive:
        for i in range(data_mb // 4):
            entries += _add(archive, f"data/blob{i:04d}", os.urandom(4 << 20))
        for d in range(max(1, small_files // 25)):
            info = tarfile.TarInfo(f"small/dir{d:04d}")
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            archive.addfile(info)
            entries += 1
        for i in range(small_files):
            entries += _add(archive, f"small/dir{i // 25:04d}/file{i:05d}.txt", os.urandom(200 + i % 4000))
    return entries


def _add(archive, name: str, data: bytes) -> int:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 1_600_000_000
    archive.addfile(info, io.BytesIO(data))
    return 1


def timed(function, runs: int, setup=None) -> float:
    samples = []
    for _ in range(runs):
        if setup:
            setup()
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def hash_only(path: str) -> None:
    with open(path, "rb") as f:
        reader = HashingReader(open_uncompressed(f)[0])
        reader.drain()


def parse_hakobune(path: str) -> None:
    with open(path, "rb") as f:
        reader = TarReader(HashingReader(open_uncompressed(f)[0]))
        for _ in reader:
            reader.copy_data(lambda piece: None)


def parse_tarfile(path: str) -> None:
    with open(path, "rb") as f:
        with tarfile.open(fileobj=HashingReader(open_uncompressed(f)[0]), mode="r|", bufsize=1 << 20) as archive:
            for member in archive:
                if member.isreg():
                    source = archive.extractfile(member)
                    while source.read(1 << 20):
                        pass
                archive.members.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-mb", type=int, default=200)
    parser.add_argument("--small-files", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", default="/var/tmp", help="where the layer is built and unpacked")
    parser.add_argument("--profile", action="store_true")
    options = parser.parse_args()

    work = tempfile.mkdtemp(prefix="hakobune-bench-layer-", dir=options.dir)
    try:
        plain = os.path.join(work, "layer.tar")
        entries = build_layer(plain, options.data_mb, options.small_files)
        tar_mb = os.path.getsize(plain) / 1e6
        variants = {"tar": plain, "gzip": plain + ".gz", "zstd": plain + ".zst"}
        with open(plain, "rb") as source, gzip.open(variants["gzip"], "wb", compresslevel=6) as target:
            shutil.copyfileobj(source, target, 1 << 20)
        with open(plain, "rb") as source, open(variants["zstd"], "wb") as target:
            zstandard.ZstdCompressor(level=3).copy_stream(source, target)
        print(f"layer: {tar_mb:.0f} MB uncompressed, {entries} entries "
              f"({options.small_files} small files), median of {options.runs} runs\n")
        target = os.path.join(work, "target")

        def fresh_target():
            shutil.rmtree(target, ignore_errors=True)
            os.mkdir(target)

        print(f"{'':<34}{'tar':>10}{'gzip':>10}{'zstd':>10}   (MB/s of uncompressed tar)")
        rows = {
            "apply_layer": lambda p: apply_layer(open(p, "rb"), target, for_overlay=True),
            "  decompress + sha256 only": hash_only,
            "  hakobune TarReader, no writes": parse_hakobune,
            "  stdlib tarfile, no writes": parse_tarfile,
            "GNU tar -x (for scale)": lambda p: subprocess.run(["tar", "-xf", p, "-C", target], check=True),
        }
        apply_seconds = {}
        for label, function in rows.items():
            cells = []
            for name, path in variants.items():
                seconds = timed(lambda: function(path), options.runs, fresh_target)
                if label == "apply_layer":
                    apply_seconds[name] = seconds
                cells.append(f"{tar_mb / seconds:10.0f}")
            print(f"{label:<34}{''.join(cells)}")
        print(f"\napply_layer files/s (all entries): " +
              ", ".join(f"{name} {entries / s:,.0f}" for name, s in apply_seconds.items()))
        small = os.path.join(work, "small.tar")
        small_entries = build_layer(small, 0, options.small_files)
        seconds = timed(lambda: apply_layer(open(small, "rb"), target), options.runs, fresh_target)
        print(f"apply_layer of the small files alone: {small_entries / seconds:,.0f} files/s")
        if options.profile:
            fresh_target()
            cProfile.runctx("apply_layer(open(plain, 'rb'), target)", globals(), locals(), os.path.join(work, "prof"))
            pstats.Stats(os.path.join(work, "prof")).sort_stats("tottime").print_stats(14)
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
