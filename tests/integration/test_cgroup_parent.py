"""`--cgroup-parent`: the container's cgroup is made under the given parent
(relative to each hierarchy's root, as Docker's cgroupfs driver does)
instead of /hakobune; pause, stats and removal find it there."""

import json
import os

import pytest

from cli_store import hk, store  # noqa: F401 - fixtures

pytestmark = pytest.mark.root

PARENT = "hk-test-parent"


@pytest.fixture
def parent_cgroup():
    yield PARENT
    for hierarchy in os.listdir("/sys/fs/cgroup"):
        for path in (f"/sys/fs/cgroup/{hierarchy}/{PARENT}/inner", f"/sys/fs/cgroup/{hierarchy}/{PARENT}"):
            try:
                os.rmdir(path)
            except OSError:
                pass


def test_a_container_runs_in_the_given_parent_cgroup(hk, parent_cgroup):  # noqa: F811
    container_id = hk.ok("run", "-d", "--network", "none", "--cgroup-parent", f"{parent_cgroup}/inner",
                         "-m", "64m", "busybox", "sleep", "60").strip()
    memory = f"/sys/fs/cgroup/memory/{parent_cgroup}/inner/{container_id}"
    assert os.path.isdir(memory)
    with open(os.path.join(memory, "memory.limit_in_bytes")) as f:
        assert int(f.read()) == 64 * 1024 * 1024
    assert not os.path.exists(f"/sys/fs/cgroup/memory/hakobune/{container_id}")
    info = json.loads(hk.ok("inspect", container_id))[0]
    assert info["HostConfig"]["CgroupParent"] == f"{parent_cgroup}/inner"
    hk.ok("pause", container_id)
    assert json.loads(hk.ok("inspect", container_id))[0]["State"]["Status"] == "paused"
    hk.ok("unpause", container_id)
    stats = json.loads(hk.ok("stats", "--no-stream", "--format", "{{json .}}", container_id))
    assert stats["MemUsage"].endswith("64MiB")
    hk.ok("rm", "-f", container_id)
    assert not os.path.exists(memory)


def test_a_parent_that_climbs_out_is_refused(hk):  # noqa: F811
    result = hk.run("create", "--cgroup-parent", "../escape", "busybox", "true")
    assert result.returncode == 125
    assert "'..' is not allowed" in result.stderr
    assert hk.ok("ps", "-aq") == ""
