"""Volumes and networks through `hakobune serve` with the real docker CLI
and docker-py (shared/reference/engine-api/docker-volume-*.md,
docker-network-*.md, dockerpy-volumes-create.md, dockerpy-networks-create.md)."""

import json
import os

import pytest

from api_server import DOCKER, api  # noqa: F401 - fixture

pytestmark = [pytest.mark.root, pytest.mark.skipif(DOCKER is None, reason="needs the docker CLI")]


@pytest.fixture
def names(api):
    """Unique names; whatever a test made under them is removed afterwards."""
    made = {"containers": [], "volumes": [], "networks": []}
    tag = os.getpid()

    def name(kind: str, base: str) -> str:
        full = f"{base}-{tag}"
        made[kind].append(full)
        return full

    yield name
    for container in made["containers"]:
        api.docker("rm", "-f", container)
    for volume in made["volumes"]:
        api.docker("volume", "rm", "-f", volume)
    for network in made["networks"]:
        api.docker("network", "rm", network)


def test_volume_commands(api, names):
    volume = names("volumes", "apivol")
    proc = api.docker("volume", "create", "--label", "apitest=1", volume)
    assert (proc.returncode, proc.stdout) == (0, f"{volume}\n"), proc.stderr
    inspected = json.loads(api.docker("volume", "inspect", volume).stdout)[0]
    assert inspected["Name"] == volume and inspected["Driver"] == "local"
    assert inspected["Labels"] == {"apitest": "1"} and inspected["Scope"] == "local"
    listed = api.docker("volume", "ls", "--format", "{{.Name}}", "--filter", "label=apitest=1").stdout.split()
    assert listed == [volume]
    container = names("containers", "apivol-user")
    proc = api.docker("run", "--name", container, "-v", f"{volume}:/data", "busybox:local",
                      "sh", "-c", "echo kept > /data/f")
    assert proc.returncode == 0, proc.stderr
    proc = api.docker("volume", "rm", volume)
    assert proc.returncode == 1
    assert f"remove {volume}: volume is in use - [" in proc.stderr
    assert api.docker("rm", container).returncode == 0
    proc = api.docker("volume", "rm", volume)
    assert (proc.returncode, proc.stdout) == (0, f"{volume}\n"), proc.stderr
    proc = api.docker("volume", "inspect", volume)
    assert proc.returncode == 1 and "no such volume" in proc.stderr


def test_volume_prune_takes_unused_named_volumes_at_1_41(api, names):
    volume = names("volumes", "apivol-prunable")
    assert api.docker("volume", "create", "--label", "apiprune=1", volume).returncode == 0
    proc = api.docker("volume", "prune", "-f", "--filter", "label=apiprune=1")
    assert proc.returncode == 0, proc.stderr
    assert f"Deleted Volumes:\n{volume}\n" in proc.stdout
    assert api.docker("volume", "inspect", volume).returncode == 1


def test_network_commands(api, names):
    network = names("networks", "apinet")
    proc = api.docker("network", "create", "--label", "apitest=1", network)
    assert proc.returncode == 0 and len(proc.stdout.strip()) == 64, proc.stderr
    proc = api.docker("network", "create", network)
    assert proc.returncode == 1
    assert f"network with name {network} already exists" in proc.stderr
    inspected = json.loads(api.docker("network", "inspect", network).stdout)[0]
    assert inspected["Name"] == network and inspected["Driver"] == "bridge"
    assert inspected["Labels"] == {"apitest": "1"}
    listed = api.docker("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert network in listed and "bridge" in listed
    container = names("containers", "apinet-sleeper")
    assert api.docker("run", "-d", "--name", container, "busybox:local", "sleep", "600").returncode == 0
    proc = api.docker("network", "connect", "--alias", "second-name", network, container)
    assert proc.returncode == 0, proc.stderr
    networks = json.loads(api.docker("inspect", container).stdout)[0]["NetworkSettings"]["Networks"]
    assert network in networks and "second-name" in (networks[network].get("Aliases") or [])
    interfaces = api.docker("exec", container, "ip", "-o", "addr").stdout
    assert "eth1" in interfaces
    proc = api.docker("network", "disconnect", network, container)
    assert proc.returncode == 0, proc.stderr
    networks = json.loads(api.docker("inspect", container).stdout)[0]["NetworkSettings"]["Networks"]
    assert network not in networks
    proc = api.docker("network", "rm", network)
    assert (proc.returncode, proc.stdout) == (0, f"{network}\n"), proc.stderr
    proc = api.docker("network", "inspect", network)
    assert proc.returncode == 1


def test_network_prune(api, names):
    network = names("networks", "apinet-prunable")
    assert api.docker("network", "create", "--label", "apiprune=1", network).returncode == 0
    proc = api.docker("network", "prune", "-f", "--filter", "label=apiprune=1")
    assert proc.returncode == 0, proc.stderr
    assert f"Deleted Networks:\n{network}\n" in proc.stdout


def test_docker_py_volumes_and_networks(api, names):
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=api.host, version="auto")
    volume_name, network_name = names("volumes", "pyvol"), names("networks", "pynet")
    try:
        volume = client.volumes.create(volume_name, labels={"py": "1"})
        assert volume.name == volume_name and volume.attrs["Labels"] == {"py": "1"}
        assert volume_name in [v.name for v in client.volumes.list()]
        network = client.networks.create(network_name, driver="bridge", labels={"py": "1"})
        assert client.networks.get(network.id).name == network_name
        assert network_name in [n.name for n in client.networks.list()]
        with pytest.raises(docker.errors.APIError) as raised:
            client.networks.create(network_name)
        assert raised.value.status_code == 409
        network.remove()
        volume.remove()
        with pytest.raises(docker.errors.NotFound):
            client.volumes.get(volume_name)
        with pytest.raises(docker.errors.NotFound):
            client.networks.get(network_name)
    finally:
        client.close()
