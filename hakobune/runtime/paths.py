"""Resolving paths inside a container's root so that nothing escapes it.

A mount target, a device path or a working directory named by the config is
looked up inside the root filesystem with every symlink evaluated against that
root, as if the root were "/" (what the kernel's RESOLVE_IN_ROOT does).  A
symlink in an image therefore can never send a mount outside the rootfs.
"""

import os

_MAX_SYMLINKS = 255


def resolve_in_root(root: str, path: str) -> str:
    """The host path of `path` inside `root`, symlinks evaluated within root."""
    parts = [p for p in path.split("/") if p and p != "."]
    resolved: list[str] = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = root + "/" + "/".join(resolved + [part])
        try:
            target = os.readlink(candidate)
        except OSError:
            resolved.append(part)
            continue
        links += 1
        if links > _MAX_SYMLINKS:
            raise OSError(40, "too many levels of symbolic links", path)
        if target.startswith("/"):
            resolved = []
        parts = [p for p in target.split("/") if p and p != "."] + parts
    return root.rstrip("/") + "/" + "/".join(resolved) if resolved else root.rstrip("/") or "/"


def make_target(host_path: str, as_file: bool) -> None:
    """Create a mount target: a directory, or an empty file for a file mount."""
    if os.path.lexists(host_path):
        return
    parent = os.path.dirname(host_path)
    os.makedirs(parent, mode=0o755, exist_ok=True)
    if as_file:
        os.close(os.open(host_path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))
    else:
        os.mkdir(host_path, 0o755)
