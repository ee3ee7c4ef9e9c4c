"""Small file helpers of the volume store: mount checks; durable writes and
flocks are hakobune._files'."""

import os

from hakobune._files import fsync_directory, locked, write_durably, write_volatile  # noqa: F401 - the store's


def is_mount_point(path: str) -> bool:
    """Whether something is mounted exactly on `path` (as /proc/self/mountinfo says)."""
    real = os.path.realpath(path)
    encoded = real.replace("\\", "\\134").replace(" ", "\\040").replace("\t", "\\011").replace("\n", "\\012")
    try:
        with open("/proc/self/mountinfo") as f:
            return any(line.split()[4] == encoded for line in f)
    except OSError:
        return False


def tree_size(path: str) -> int:
    """Docker's directory.Size: the sizes of everything under `path`, hard links counted once."""
    total = 0
    seen: set[tuple[int, int]] = set()
    stack = [path]
    while stack:
        directory = stack.pop()
        try:
            entries = os.scandir(directory)
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    continue
                if info.st_nlink > 1:
                    key = (info.st_dev, info.st_ino)
                    if key in seen:
                        continue
                    seen.add(key)
                total += info.st_size
    return total
