"""A busybox root filesystem and OCI bundles built from Debian's busybox-static.

    python -m hakobune.testing.busybox BUNDLE_DIR [COMMAND...]

writes a bundle (rootfs + config.json with Docker's defaults) that
`hakobune-runtime run` can start;

    python -m hakobune.testing.busybox --tar | hakobune import - busybox

writes the root filesystem as a tarball on standard output, for an image.
"""

import json
import os
import shutil
import subprocess
import sys

BUSYBOX = "/bin/busybox"

PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = "root:x:0:\ntty:x:5:\nnobody:x:65534:\n"


def applets(busybox: str = BUSYBOX) -> list[str]:
    out = subprocess.run([busybox, "--list-full"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line]


def build_rootfs(target: str, busybox: str = BUSYBOX) -> str:
    """Fill `target` with busybox, every applet as a symlink, and /etc files."""
    if not os.path.exists(busybox):
        raise FileNotFoundError(f"{busybox} not found: install Debian's busybox-static")
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "dev", "proc", "sys", "tmp", "root", "var", "run"):
        os.makedirs(os.path.join(target, d), exist_ok=True)
    os.chmod(os.path.join(target, "tmp"), 0o1777)
    shutil.copy2(busybox, os.path.join(target, "bin/busybox"))
    for applet in applets(busybox):
        link = os.path.join(target, applet)
        if applet != "bin/busybox" and not os.path.lexists(link):
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.symlink("/bin/busybox", link)
    _write(os.path.join(target, "etc/passwd"), PASSWD)
    _write(os.path.join(target, "etc/group"), GROUP)
    return target


def make_bundle(bundle: str, args: list[str] | None = None, rootfs_source: str | None = None) -> dict:
    """A bundle in `bundle`: rootfs (copied from rootfs_source or built) and config.json."""
    from hakobune.oci.defaults import default_spec

    rootfs = os.path.join(bundle, "rootfs")
    if rootfs_source:
        shutil.copytree(rootfs_source, rootfs, symlinks=True)
    else:
        build_rootfs(rootfs)
    config = default_spec(args=args or ["sh"])
    write_config(bundle, config)
    return config


def write_config(bundle: str, config: dict) -> None:
    _write(os.path.join(bundle, "config.json"), json.dumps(config, indent=2))


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def write_rootfs_tar(output) -> None:
    """The busybox root filesystem as an uncompressed tarball on `output`."""
    import tarfile
    import tempfile

    with tempfile.TemporaryDirectory(prefix="busybox-rootfs-") as scratch:
        rootfs = build_rootfs(os.path.join(scratch, "rootfs"))
        with tarfile.open(fileobj=output, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for name in sorted(os.listdir(rootfs)):
                tar.add(os.path.join(rootfs, name), arcname=name)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python -m hakobune.testing.busybox BUNDLE_DIR [COMMAND...] | --tar")
    if sys.argv[1] == "--tar":
        write_rootfs_tar(sys.stdout.buffer)
    else:
        make_bundle(sys.argv[1], sys.argv[2:] or None)
        print(f"bundle written to {sys.argv[1]}")
