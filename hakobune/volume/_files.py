"""Small file helpers of the volume store: durable writes, flocks, mount checks."""

import contextlib
import fcntl
import os


def fsync_directory(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: str, data: bytes, mode: int = 0o600) -> None:
    """Write to a temporary name, fsync, rename over `path`, fsync the directory."""
    directory = os.path.dirname(path)
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        with open(fd, "wb", closefd=True) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    fsync_directory(directory)


def write_volatile(path: str, data: bytes) -> None:
    """Write atomically (temporary name + rename) without fsync: state under the runroot."""
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "wb") as f:
        f.write(data)
    os.replace(temporary, path)


@contextlib.contextmanager
def locked(path: str, shared: bool = False):
    """Hold a flock on `path` (created if missing) for the block."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)


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
