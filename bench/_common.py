"""What the benchmarks share: hakobune's environment (no DOCKER_* variable,
which would make hakobune's CLI a client of the daemon meant for docker),
the busybox image as a tarball from the test suite's rootfs builder, and a
private store with that image imported."""

import os
import subprocess
import sys

HAKOBUNE = os.path.join(os.path.dirname(sys.executable), "hakobune")


def hakobune_env(**extra) -> dict:
    """The environment of hakobune's commands: os.environ without DOCKER_*."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DOCKER_")}
    env.update(extra)
    return env


def busybox_tar(work: str) -> str:
    """work/busybox.tar: the busybox root filesystem as an uncompressed tarball."""
    from hakobune.testing import busybox

    tar = os.path.join(work, "busybox.tar")
    with open(tar, "wb") as output:
        busybox.write_rootfs_tar(output)
    return tar


def make_store(work: str, hakobune: str = HAKOBUNE) -> list[str]:
    """A store under work/ with busybox:latest (CMD sh) imported; returns the
    command prefix `hakobune --root … --runroot …` for it."""
    base = [hakobune, "--root", os.path.join(work, "root"), "--runroot", os.path.join(work, "run")]
    subprocess.run([*base, "import", "-c", 'CMD ["sh"]', busybox_tar(work), "busybox:latest"], check=True,
                   stdout=subprocess.DEVNULL, env=hakobune_env())
    return base
