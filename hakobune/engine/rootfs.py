"""A container's root file system: an overlay whose lower directories are its
image's layers (top first) and whose upper and work directories live in the
container's directory:

    <root>/containers/<id>/upper    the read-write layer (what `diff` reads)
    <root>/containers/<id>/work     overlayfs's work directory
    <root>/containers/<id>/merged   the mount point, the bundle's root.path

The engine mounts it when the container starts and unmounts it once the
container has exited (seen by whichever command looks next) or is removed.
The mount lives in the host's mount namespace; the runtime's container gets
a private copy of it in its own.
"""

from __future__ import annotations

import os

from hakobune.errors import SystemFailure

UPPER, WORK, MERGED = "upper", "work", "merged"
_PAGE = 4096


def prepare(container_dir: str) -> None:
    for name in (UPPER, WORK, MERGED):
        os.makedirs(os.path.join(container_dir, name), mode=0o755, exist_ok=True)


def merged_dir(container_dir: str) -> str:
    return os.path.join(container_dir, MERGED)


def is_mounted(container_dir: str) -> bool:
    try:
        if os.stat(merged_dir(container_dir)).st_dev == os.stat(container_dir).st_dev:
            return False  # an overlay mounted there would have a device of its own
    except FileNotFoundError:
        return False
    except OSError:
        pass
    target = os.path.realpath(merged_dir(container_dir))
    try:
        with open("/proc/self/mountinfo", "rb") as f:
            for line in f:
                fields = line.split(b" ")
                if len(fields) > 4 and _unescape(fields[4]) == target:
                    return True
    except OSError:
        pass
    return False


def _unescape(field: bytes) -> str:
    text = field.decode(errors="surrogateescape")
    if "\\" not in text:
        return text
    import re

    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def mount(container_dir: str, lower_dirs: list[str]) -> str:
    """Mount the overlay (if it is not mounted already); returns the mount point."""
    from hakobune import _sys as S

    prepare(container_dir)
    target = merged_dir(container_dir)
    if is_mounted(container_dir):
        return target
    upper, work = os.path.join(container_dir, UPPER), os.path.join(container_dir, WORK)
    for path in (*lower_dirs, upper, work):
        if any(c in path for c in ",:="):
            raise SystemFailure(f"cannot mount an overlay over {path!r}: the path holds ',', ':' or '='")
    if not lower_dirs:
        # An image without layers (FROM scratch): overlayfs needs a lower dir.
        empty = os.path.join(container_dir, "empty")
        os.makedirs(empty, mode=0o755, exist_ok=True)
        lower_dirs = [empty]
    data = f"lowerdir={':'.join(lower_dirs)},upperdir={upper},workdir={work}"
    if len(data) >= _PAGE:
        raise SystemFailure(f"too many layers for one overlay mount ({len(lower_dirs)})")
    try:
        S.mount("overlay", target, "overlay", 0, data)
    except OSError as e:
        raise SystemFailure(f"error creating overlay mount to {target}: {e.strerror or e}") from None
    return target


def unmount(container_dir: str) -> None:
    """Unmount the overlay if mounted (lazily, if it is busy)."""
    from hakobune import _sys as S

    target = merged_dir(container_dir)
    while is_mounted(container_dir):
        try:
            S.umount(target, 0)
        except OSError as e:
            import errno

            if e.errno == errno.EBUSY:
                S.umount(target, S.MNT_DETACH)
            elif e.errno in (errno.EINVAL, errno.ENOENT):
                return
            else:
                raise SystemFailure(f"cannot unmount {target}: {e.strerror or e}") from None
