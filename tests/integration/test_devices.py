"""`--device HOST:CONTAINER:MODE` is enforced by the devices cgroup: a
device given `r` opens for reading only, `w` for writing only, `rw` both;
`m` alone lets neither open it.  The same spec holds under runc.

The probe device must be a character device that no container may use by
default (/dev/null, /dev/zero and the like are always allowed, as in Docker
and runc) and that is harmless to open: /dev/cpu_dma_latency (opening it
only registers the default latency request) or /dev/fuse (opening it makes
an unused connection).  The devices cgroup decides at open(2), so opening is
the whole probe."""

import os
import shutil
import stat

import pytest

from cli_store import cgroups_of, hk, store  # noqa: F401 - fixtures

pytestmark = pytest.mark.root

CANDIDATES = ("/dev/cpu_dma_latency", "/dev/fuse")
PROBE = "(exec 3</dev/probe) && echo READ; (exec 4>/dev/probe) && echo WRITE; true"


def probe_device() -> str:
    for path in CANDIDATES:
        try:
            if stat.S_ISCHR(os.stat(path).st_mode):
                return path
        except OSError:
            continue
    pytest.skip(f"none of {CANDIDATES} is a character device here")


def opened(hk, mode: str, *options) -> list[str]:
    """What the container could open of the probe device given `mode`."""
    out = hk.ok("run", "--rm", "--network", "none", *options, "--device", f"{probe_device()}:/dev/probe:{mode}",
                "busybox", "sh", "-c", PROBE)
    return out.split()


RUNTIMES = [
    pytest.param((), id="hakobune-runtime"),
    pytest.param(("--runtime", "runc"), id="runc",
                 marks=pytest.mark.skipif(not shutil.which("runc"), reason="runc is not installed")),
]


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("mode, expected", [
    ("r", ["READ"]),
    ("w", ["WRITE"]),
    ("rw", ["READ", "WRITE"]),
    ("rwm", ["READ", "WRITE"]),
    ("m", []),
    ("wm", ["WRITE"]),
])
def test_device_access_is_enforced(hk, runtime, mode, expected):
    assert opened(hk, mode, *runtime) == expected


def test_read_only_device_rule_in_the_cgroup(hk):
    device = os.stat(probe_device()).st_rdev
    container_id = hk.ok("run", "-d", "--network", "none", "--device", f"{probe_device()}:/dev/probe:r",
                         "busybox", "sleep", "60").strip()
    try:
        v1 = [path for path in cgroups_of(container_id) if "/devices/" in path]
        if v1:
            with open(os.path.join(v1[0], "devices.list")) as f:
                rules = f.read().splitlines()
            assert f"c {os.major(device)}:{os.minor(device)} r" in rules
            assert f"c {os.major(device)}:{os.minor(device)} rwm" not in rules
        proc = hk.run("exec", container_id, "sh", "-c", "echo x > /dev/probe")
        assert proc.returncode != 0 and "Operation not permitted" in proc.stderr
    finally:
        hk.ok("rm", "-f", container_id)
