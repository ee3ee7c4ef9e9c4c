"""`hakobune volume ...` through the real binary against a temporary store,
compared with what the docker CLI 28 prints (shared/reference/engine-api/docker-volume-*.md)."""

import json
import os
import re
import subprocess

import pytest
from cli_store import HAKOBUNE, hk, store  # noqa: F401

pytestmark = pytest.mark.root


@pytest.fixture
def vk(hk):  # noqa: F811
    """hk, with every volume removed after the test (and no mount left under the store)."""
    yield hk
    for name in hk.run("volume", "ls", "-q").stdout.split():
        hk.run("volume", "rm", "-f", name)
    assert hk.run("volume", "ls", "-q").stdout == ""


def test_create_inspect_ls_rm(vk):
    assert vk.ok("volume", "create", "--label", "apirec=1", "apirec-vol") == "apirec-vol\n"
    assert vk.ok("volume", "create", "--name", "apirec-vol2") == "apirec-vol2\n"
    [volume] = json.loads(vk.ok("volume", "inspect", "apirec-vol"))
    assert volume == {"CreatedAt": volume["CreatedAt"], "Driver": "local", "Labels": {"apirec": "1"},
                      "Mountpoint": os.path.join(vk.root, "volumes", "apirec-vol", "_data"),
                      "Name": "apirec-vol", "Options": None, "Scope": "local"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)", volume["CreatedAt"])
    assert vk.ok("volume", "ls") == "DRIVER    VOLUME NAME\nlocal     apirec-vol\nlocal     apirec-vol2\n"
    assert vk.ok("volume", "inspect", "-f", "{{.Name}} {{.Labels.apirec}}", "apirec-vol") == "apirec-vol 1\n"
    assert vk.ok("volume", "rm", "apirec-vol", "apirec-vol2") == "apirec-vol\napirec-vol2\n"
    assert vk.ok("volume", "ls") == "DRIVER    VOLUME NAME\n"


def test_ls_filters_formats_and_order(vk):
    for name in ("vol10", "vol9", "vol1"):
        vk.ok("volume", "create", "--label", f"n={name}", name)
    anonymous = vk.ok("volume", "create").strip()
    assert re.fullmatch(r"[0-9a-f]{64}", anonymous)
    assert vk.ok("volume", "ls", "-q").split() == [anonymous, "vol1", "vol9", "vol10"]
    assert vk.ok("volume", "ls", "-q", "--filter", "name=vol1").split() == ["vol1", "vol10"]
    assert vk.ok("volume", "ls", "-q", "-f", "label=n=vol9").split() == ["vol9"]
    assert vk.ok("volume", "ls", "-q", "-f", "dangling=true", "-f", "driver=local").split() == \
        [anonymous, "vol1", "vol9", "vol10"]
    assert vk.ok("volume", "ls", "--format", "{{.Name}}:{{.Labels}}", "-f", "name=vol9") == "vol9:n=vol9\n"
    rows = [json.loads(line) for line in vk.ok("volume", "ls", "--format", "json").splitlines()]
    assert rows[0]["Labels"] == "com.docker.volume.anonymous=" and rows[0]["Driver"] == "local"
    table = vk.ok("volume", "ls", "--format", "table {{.Name}}\t{{.Scope}}", "-f", "name=vol9")
    assert table == "VOLUME NAME   SCOPE\nvol9          local\n"
    bad = vk.run("volume", "ls", "-f", "dangling=maybe")
    assert (bad.returncode, bad.stderr) == (1, "Error response from daemon: Invalid filter 'dangling=[maybe]'\n")
    bad = vk.run("volume", "ls", "-f", "until=1h")
    assert (bad.returncode, bad.stderr) == (1, "Error response from daemon: Invalid filter 'until'\n")


def test_errors_as_docker_prints_them(vk):
    missing = vk.run("volume", "inspect", "nosuch")
    assert (missing.returncode, missing.stdout, missing.stderr) == \
        (1, "[]\n", "Error response from daemon: get nosuch: no such volume\n")
    missing = vk.run("volume", "rm", "nosuch")
    assert (missing.returncode, missing.stderr) == (1, "Error response from daemon: get nosuch: no such volume\n")
    assert vk.ok("volume", "rm", "-f", "nosuch") == "nosuch\n"
    short = vk.run("volume", "create", "a")
    assert short.stderr == ("Error response from daemon: create a: volume name is too short, names should be at "
                            "least two alphanumeric characters\n") and short.returncode == 1
    for name in ("../../etc", "a/b", ".."):
        bad = vk.run("volume", "create", name)
        assert bad.returncode == 1 and "includes invalid characters for a local volume name" in bad.stderr
    assert not os.path.exists(os.path.join(vk.root, "etc"))
    both = vk.run("volume", "create", "--name", "x1", "x2")
    assert (both.returncode, both.stderr) == (1, "conflicting options: cannot specify a volume-name through both "
                                                 "--name and as a positional arg\n")
    plugin = vk.run("volume", "create", "-d", "nfs", "x3")
    assert plugin.stderr == ('Error response from daemon: create x3: error looking up volume plugin nfs: '
                             'plugin "nfs" not found\n')
    option = vk.run("volume", "create", "-o", "type=tmpfs", "x4")
    assert option.stderr == 'Error response from daemon: create x4: missing required option: "device"\n'
    assert vk.ok("volume", "ls", "-q") == ""


def test_options_are_recorded(vk):
    vk.ok("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=100m", "scratch")
    [volume] = json.loads(vk.ok("volume", "inspect", "scratch"))
    assert volume["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=100m"}


@pytest.mark.local_only("API 1.41 (what hakobune serve advertises): volume prune takes named volumes too")
def test_prune(vk):
    vk.ok("volume", "create", "--label", "apirec=1", "apirec-vol2")
    anonymous = vk.ok("volume", "create", "--label", "apirec=1").strip()
    with open(os.path.join(vk.root, "volumes", anonymous, "_data", "f"), "wb") as f:
        f.write(b"z" * 2000)
    assert vk.ok("volume", "prune", "-f", "--filter", "label=apirec=1") == \
        f"Deleted Volumes:\n{anonymous}\n\nTotal reclaimed space: 2kB\n"
    assert vk.ok("volume", "prune", "-f") == "Total reclaimed space: 0B\n"
    assert vk.ok("volume", "prune", "-a", "-f", "--filter", "label=apirec=1") == \
        "Deleted Volumes:\napirec-vol2\n\nTotal reclaimed space: 0B\n"


def test_prune_asks_first(vk):
    vk.ok("volume", "create")
    declined = subprocess.run([HAKOBUNE, "--root", vk.root, "--runroot", vk.runroot, "volume", "prune"],
                              input="n\n", capture_output=True, text=True, timeout=60)
    assert declined.stdout == ("WARNING! This will remove anonymous local volumes not used by at least one "
                               "container.\nAre you sure you want to continue? [y/N] ")
    assert len(vk.ok("volume", "ls", "-q").split()) == 1
    accepted = subprocess.run([HAKOBUNE, "--root", vk.root, "--runroot", vk.runroot, "volume", "prune", "-a"],
                              input="y\n", capture_output=True, text=True, timeout=60)
    assert accepted.stdout.startswith("WARNING! This will remove all local volumes not used by at least one "
                                      "container.\nAre you sure you want to continue? [y/N] Deleted Volumes:\n")
    assert vk.ok("volume", "ls", "-q") == ""


def test_parallel_creates_of_one_name_make_one_record(vk):
    processes = [subprocess.Popen([HAKOBUNE, "--root", vk.root, "--runroot", vk.runroot, "volume", "create",
                                   "--label", f"writer={i}", "same"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for i in range(8)]
    results = [p.communicate(timeout=60) for p in processes]
    assert all(p.returncode == 0 for p in processes), results
    assert all(out == "same\n" for out, _ in results)
    entries = os.listdir(os.path.join(vk.root, "volumes"))
    assert sorted(e for e in entries if e != ".lock") == ["same"]
    assert sorted(os.listdir(os.path.join(vk.root, "volumes", "same"))) == ["_data", "volume.json"]
    [volume] = json.loads(vk.ok("volume", "inspect", "same"))
    assert list(volume["Labels"]) == ["writer"]
    creations = {json.loads(vk.ok("volume", "inspect", "same"))[0]["CreatedAt"] for _ in range(2)}
    assert len(creations) == 1


def test_help_and_aliases(vk):
    assert "Remove unused local volumes" in vk.ok("volume", "--help")
    assert vk.ok("volume", "list") == "DRIVER    VOLUME NAME\n"
    vk.ok("volume", "create", "v1")
    assert vk.ok("volume", "remove", "v1") == "v1\n"


def test_volume_in_use_by_a_container_record(vk):
    """The engine's VolumeUsers reads the mounts a container's record keeps
    (hakobune.engine.volumes.VOLUME_MOUNTS_KEY): such a volume is refused
    removal with Docker's conflict message, is not dangling, is not pruned."""
    from hakobune.engine.engine import Engine
    from hakobune.engine.volumes import VOLUME_MOUNTS_KEY
    from hakobune.volume import attach, spec

    container_id = vk.ok("create", "busybox").strip()
    engine = Engine(vk.root, vk.runroot)
    mounts = spec.mounts_of_create({"Volumes": {"/anon": {}}}, {"Binds": ["apirec-vol1:/data"]})
    with engine.volume_store.locked():
        prepared = attach.prepare_mounts(engine.volume_store, mounts, container_id)
        engine.lifecycle.update_record(container_id, **{VOLUME_MOUNTS_KEY: prepared})
    [anonymous] = attach.anonymous_volumes(prepared)
    refused = vk.run("volume", "rm", "apirec-vol1")
    assert (refused.returncode, refused.stderr) == \
        (1, f"Error response from daemon: remove apirec-vol1: volume is in use - [{container_id}]\n")
    assert vk.ok("volume", "ls", "-q", "-f", "dangling=false").split() == sorted([anonymous, "apirec-vol1"])
    assert vk.ok("volume", "prune", "-a", "-f") == "Total reclaimed space: 0B\n"
    usage = {v["Name"]: v["UsageData"]["RefCount"] for v in engine.volumes_disk_usage()}
    assert usage == {anonymous: 1, "apirec-vol1": 1}
    vk.ok("rm", container_id)
    assert vk.ok("volume", "ls", "-q", "-f", "dangling=true").split() == sorted([anonymous, "apirec-vol1"])
