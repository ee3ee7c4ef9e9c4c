"""`hakobune network create/ls/inspect/rm/prune` through the real binary,
against docker's recorded output (shared/reference/engine-api/docker-network-*):
columns, JSON shapes, messages and exit statuses.  These commands touch no
kernel state (bridges appear on a network's first container); after each
test every user network is removed and this root's kernel state torn down."""

import json
import os
import re

import pytest
from cli_store import hk, store  # noqa: F401

from hakobune.network.manager import Networks

pytestmark = pytest.mark.root


@pytest.fixture
def net(hk):  # noqa: F811
    try:
        yield hk
    finally:
        for name in hk.run("network", "ls", "--format", "{{.Name}}").stdout.split():
            if name not in ("bridge", "host", "none"):
                hk.run("network", "rm", name)
        Networks(hk.root).teardown()


def test_builtins_are_listed_as_docker_lists_them(net):
    out = net.ok("network", "ls")
    lines = out.splitlines()
    assert re.fullmatch(r"NETWORK ID +NAME +DRIVER +SCOPE", lines[0])
    rows = [line.split() for line in lines[1:]]
    assert [(r[1], r[2], r[3]) for r in rows] == [("bridge", "bridge", "local"), ("host", "host", "local"),
                                                  ("none", "null", "local")]
    assert all(re.fullmatch(r"[0-9a-f]{12}", r[0]) for r in rows)
    bridge = json.loads(net.ok("network", "inspect", "bridge"))[0]
    assert bridge["IPAM"]["Config"][0]["Subnet"].endswith("/16")
    assert bridge["Options"]["com.docker.network.bridge.default_bridge"] == "true"


def test_create_prints_the_id_and_refuses_a_duplicate_name(net):
    network_id = net.ok("network", "create", "--label", "apirec=1", "hkc-net").strip()
    assert re.fullmatch(r"[0-9a-f]{64}", network_id)
    again = net.run("network", "create", "hkc-net")
    assert again.returncode == 1
    assert again.stderr == "Error response from daemon: network with name hkc-net already exists\n"
    rows = [line.split() for line in net.ok("network", "ls").splitlines()[1:]]
    assert [network_id[:12], "hkc-net", "bridge", "local"] in rows


def test_inspect_has_dockers_shape(net):
    net.ok("network", "create", "--subnet", "10.123.0.0/24", "--gateway", "10.123.0.254", "--ip-range",
           "10.123.0.128/25", "--internal", "-o", "com.docker.network.bridge.name=hkcbr0", "--label", "a=b",
           "hkc-inspect")
    (record,) = json.loads(net.ok("network", "inspect", "hkc-inspect"))
    assert list(record) == ["Name", "Id", "Created", "Scope", "Driver", "EnableIPv6", "IPAM", "Internal",
                            "Attachable", "Ingress", "ConfigFrom", "ConfigOnly", "Containers", "Options", "Labels"]
    assert record["IPAM"] == {"Driver": "default", "Options": {}, "Config": [
        {"Subnet": "10.123.0.0/24", "IPRange": "10.123.0.128/25", "Gateway": "10.123.0.254"}]}
    assert record["Internal"] is True and record["Containers"] == {}
    assert record["Options"] == {"com.docker.network.bridge.name": "hkcbr0"}
    assert record["Labels"] == {"a": "b"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", record["Created"])
    assert net.ok("network", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Internal}}", record["Id"][:10]) == \
        "hkc-inspect bridge true\n"
    missing = net.run("network", "inspect", "hkc-nosuch")
    assert missing.returncode == 1 and missing.stdout == "[]\n"
    assert missing.stderr == "Error response from daemon: network hkc-nosuch not found\n"


def test_overlapping_subnet_and_unknown_driver_are_refused(net):
    net.ok("network", "create", "--subnet", "10.124.0.0/16", "hkc-a")
    overlap = net.run("network", "create", "--subnet", "10.124.5.0/24", "hkc-b")
    assert overlap.returncode == 1
    assert "Pool overlaps with other one on this address space" in overlap.stderr
    driver = net.run("network", "create", "-d", "nosuchdriver", "hkc-c")
    assert driver.returncode == 1 and 'plugin "nosuchdriver" not found' in driver.stderr


def test_ls_quiet_filters_and_formats(net):
    network_id = net.ok("network", "create", "--label", "hkc=1", "hkc-ls").strip()
    assert net.ok("network", "ls", "-q", "--filter", "label=hkc=1") == network_id[:12] + "\n"
    assert net.ok("network", "ls", "-q", "--no-trunc", "--filter", "name=hkc-ls") == network_id + "\n"
    assert net.ok("network", "ls", "--filter", "driver=null", "--format", "{{.Name}}") == "none\n"
    assert net.ok("network", "ls", "--filter", "type=custom", "--format", "{{.Name}}") == "hkc-ls\n"
    table = net.ok("network", "ls", "--filter", "name=hkc-ls", "--format", "table {{.Name}}\t{{.Internal}}")
    assert table.splitlines()[0].split() == ["NAME", "INTERNAL"]
    bad = net.run("network", "ls", "--filter", "bogus=1")
    assert bad.returncode == 1 and "Invalid filter 'bogus'" in bad.stderr


def test_rm_refuses_builtins_and_networks_in_use(net):
    net.ok("network", "create", "hkc-used")
    store_ = Networks(net.root)
    container_id = os.urandom(32).hex()
    store_.reserve(container_id, "hkc-used", name="holder")
    in_use = net.run("network", "rm", "hkc-used")
    assert in_use.returncode == 1
    assert re.fullmatch(r"Error response from daemon: error while removing network: network hkc-used id "
                        r"[0-9a-f]{64} has active endpoints\n", in_use.stderr)
    (record,) = json.loads(net.ok("network", "inspect", "hkc-used"))
    assert record["Containers"][container_id]["Name"] == "holder"
    assert record["Containers"][container_id]["IPv4Address"].endswith("/16")
    store_.detach(container_id, "hkc-used")
    assert net.ok("network", "rm", "hkc-used") == "hkc-used\n"
    builtin = net.run("network", "rm", "bridge")
    assert builtin.returncode == 1
    assert builtin.stderr == "Error response from daemon: bridge is a pre-defined network and cannot be removed\n"
    missing = net.run("network", "rm", "hkc-nosuch")
    assert missing.returncode == 1
    assert missing.stderr == "Error response from daemon: network hkc-nosuch not found\n"
    assert net.run("network", "rm", "-f", "hkc-nosuch").returncode == 0


def test_prune_removes_unused_user_networks(net):
    net.ok("network", "create", "--label", "apirec=1", "hkc-prunable")
    net.ok("network", "create", "hkc-kept")
    out = net.ok("network", "prune", "-f", "--filter", "label=apirec=1")
    assert out == "Deleted Networks:\nhkc-prunable\n\n"
    assert net.ok("network", "prune", "-f", "--filter", "label=apirec=1") == ""
    names = net.ok("network", "ls", "--format", "{{.Name}}").split()
    assert names == ["bridge", "hkc-kept", "host", "none"]
