"""hakobune.network against the real kernel: bridges, veths into real network
namespaces (`ip netns add`), nftables isolation, NAT and published ports.

Every network here has a bridge name and subnet unique to the test and a
private store root (so a private nftables table); the fixtures remove every
namespace, bridge, veth, table and process they made, also when a test
fails.  Traffic never leaves this machine: containers reach each other, the
host's own addresses and 127.0.0.1.
"""

import ipaddress
import os
import random
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from hakobune.errors import Conflict
from hakobune.network.bridge import host_veth_name, link_index
from hakobune.network.manager import Networks

pytestmark = pytest.mark.root


def nft_tables() -> str:
    return subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout


def host_address() -> str:
    """The host's first non-loopback IPv4 address."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        fields = line.split()
        if fields[1] != "lo":
            return fields[3].split("/")[0]
    pytest.skip("the host has no non-loopback IPv4 address")


@pytest.fixture
def suffix():
    return os.urandom(3).hex()


@pytest.fixture
def store(tmp_path):
    networks = Networks(str(tmp_path / "root"))
    try:
        yield networks
    finally:
        networks.teardown()
        assert networks.table not in nft_tables()


@pytest.fixture
def make_netns(suffix):
    made = []

    def make() -> tuple[str, str]:
        name = f"hkt{suffix}{len(made)}"
        subprocess.run(["ip", "netns", "add", name], check=True)
        made.append(name)
        return name, f"/run/netns/{name}"

    try:
        yield make
    finally:
        for name in made:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


@pytest.fixture
def make_network(store, suffix):
    counter = iter(range(100))

    def make(internal=False):
        n = next(counter)
        subnet = ipaddress.IPv4Network(f"10.{random.randrange(100, 250)}.{random.randrange(0, 250)}.0/24")
        name = f"hkt{suffix}n{n}"
        store.create(name, subnet=str(subnet), internal=internal,
                     options={"com.docker.network.bridge.name": f"hkt{suffix}b{n}"})
        return name

    return make


@pytest.fixture
def processes():
    started = []
    try:
        yield started
    finally:
        for process in started:
            process.kill()
            process.wait()


def ping(busybox: str, netns: str, address: str) -> bool:
    return subprocess.run(["ip", "netns", "exec", netns, busybox, "ping", "-c", "1", "-W", "1", address],
                          capture_output=True).returncode == 0


@pytest.fixture
def busybox(busybox_rootfs):
    return os.path.join(busybox_rootfs, "bin", "busybox")


def container_id() -> str:
    return os.urandom(32).hex()


def test_two_containers_on_one_network_reach_each_other(store, make_network, make_netns, busybox):
    network = make_network()
    (ns1, path1), (ns2, path2) = make_netns(), make_netns()
    a, b = container_id(), container_id()
    first = store.attach(a, path1, network, name="a")
    second = store.attach(b, path2, network, name="b")
    assert first["IPAddress"] != second["IPAddress"]
    assert first["MacAddress"] == "02:42:" + ":".join(f"{int(x):02x}" for x in first["IPAddress"].split("."))
    assert ping(busybox, ns1, second["IPAddress"])
    assert ping(busybox, ns2, first["IPAddress"])
    routes = subprocess.run(["ip", "-n", ns1, "route"], capture_output=True, text=True).stdout
    assert f"default via {first['Gateway']} dev eth0" in routes
    links = subprocess.run(["ip", "-n", ns1, "-o", "link"], capture_output=True, text=True).stdout
    assert "lo:" in links and "UP" in links.split("lo:")[1].split("\n")[0]
    containers = store.inspect(network)["Containers"]
    assert containers[a]["IPv4Address"] == first["IPAddress"] + "/24"
    assert containers[a]["Name"] == "a"
    assert store.detach(a, network)
    assert link_index(host_veth_name(a, store.inspect(network)["Id"])) is None
    assert a not in store.inspect(network)["Containers"]


def test_networks_are_isolated_from_each_other(store, make_network, make_netns, busybox):
    left, right = make_network(), make_network()
    (ns1, path1), (ns2, path2), (ns3, path3) = make_netns(), make_netns(), make_netns()
    one = store.attach(container_id(), path1, left)
    two = store.attach(container_id(), path2, right)
    three = store.attach(container_id(), path3, left)
    assert ping(busybox, ns1, three["IPAddress"])
    assert not ping(busybox, ns1, two["IPAddress"])
    assert not ping(busybox, ns2, one["IPAddress"])


def test_internal_network_has_no_route_out(store, make_network, make_netns, busybox):
    internal, external = make_network(internal=True), make_network()
    (ns1, path1), (ns2, path2), (ns3, path3) = make_netns(), make_netns(), make_netns()
    inside = store.attach(container_id(), path1, internal)
    neighbour = store.attach(container_id(), path3, internal)
    store.attach(container_id(), path2, external)
    routes = subprocess.run(["ip", "-n", ns1, "route"], capture_output=True, text=True).stdout
    assert "default" not in routes
    assert inside["Gateway"] == ""
    assert ping(busybox, ns1, neighbour["IPAddress"])
    assert not ping(busybox, ns1, host_address())
    assert ping(busybox, ns2, host_address())
    rules = subprocess.run(["nft", "list", "table", "ip", store.table], capture_output=True, text=True).stdout
    bridge = store.bridge_name(store.inspect(internal))
    assert f'oifname "{bridge}" drop' in rules
    assert str(store.subnet(store.inspect(internal))) + " oifname" not in rules  # no masquerade


SERVER = textwrap.dedent("""
    import socket, sys
    kind = socket.SOCK_STREAM if sys.argv[1] == "tcp" else socket.SOCK_DGRAM
    server = socket.socket(socket.AF_INET, kind)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", int(sys.argv[2])))
    print("ready", flush=True)
    if kind == socket.SOCK_STREAM:
        server.listen(8)
        while True:
            connection, peer = server.accept()
            connection.sendall(("hello from " + peer[0]).encode())
            connection.close()
    while True:
        data, peer = server.recvfrom(100)
        server.sendto(b"echo " + data, peer)
""")


def start_server(processes, netns: str, proto: str, port: int):
    process = subprocess.Popen(["ip", "netns", "exec", netns, sys.executable, "-c", SERVER, proto, str(port)],
                               stdout=subprocess.PIPE, text=True)
    processes.append(process)
    assert process.stdout.readline().strip() == "ready"
    return process


def tcp_fetch(address: str, port: int) -> bytes:
    with socket.create_connection((address, port), timeout=3) as connection:
        return connection.recv(100)


def test_published_tcp_port_reaches_the_container_from_loopback_and_host_address(store, make_network, make_netns,
                                                                                processes):
    network = make_network()
    ns, path = make_netns()
    cid = container_id()
    endpoint = store.attach(cid, path, network)
    start_server(processes, ns, "tcp", 8080)
    (mapping,) = store.publish(cid, network, [{"proto": "tcp", "host_port": 0, "container_port": 8080}])
    assert mapping["host_port"] > 1024 and mapping["container_ip"] == endpoint["IPAddress"]
    assert tcp_fetch("127.0.0.1", mapping["host_port"]).startswith(b"hello from ")
    # from the host's own address, the container sees that address (no masquerade)
    assert tcp_fetch(host_address(), mapping["host_port"]) == f"hello from {host_address()}".encode()
    store.detach(cid, network)
    assert store.ports_of(cid) == []
    with pytest.raises(OSError):
        tcp_fetch("127.0.0.1", mapping["host_port"])


def test_published_udp_port(store, make_network, make_netns, processes):
    network = make_network()
    ns, path = make_netns()
    cid = container_id()
    store.attach(cid, path, network)
    start_server(processes, ns, "udp", 5353)
    (mapping,) = store.publish(cid, network, [{"proto": "udp", "host_port": 0, "container_port": 5353}])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(3)
        client.sendto(b"ping", ("127.0.0.1", mapping["host_port"]))
        assert client.recvfrom(100)[0] == b"echo ping"


def test_same_host_port_twice_is_refused_cleanly(store, make_network, make_netns):
    network = make_network()
    (_, path1), (_, path2) = make_netns(), make_netns()
    a, b = container_id(), container_id()
    store.attach(a, path1, network)
    store.attach(b, path2, network)
    (mapping,) = store.publish(a, network, [{"proto": "tcp", "host_port": 0, "container_port": 80}])
    with pytest.raises(Conflict, match="port is already allocated"):
        store.publish(b, network, [{"proto": "tcp", "host_port": mapping["host_port"], "container_port": 80}])
    assert store.ports_of(b) == []
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen(1)
        with pytest.raises(Conflict, match="address already in use"):
            store.publish(b, network, [{"proto": "tcp", "host_port": taken.getsockname()[1],
                                        "container_port": 80}])
    udp = store.publish(b, network, [{"proto": "udp", "host_port": mapping["host_port"], "container_port": 80}])
    assert udp[0]["host_port"] == mapping["host_port"]


def test_parallel_allocation_never_duplicates(store, make_network, tmp_path):
    network = make_network()
    script = textwrap.dedent(f"""
        import os, sys
        from hakobune.network.manager import Networks
        store = Networks({store.root!r})
        for _ in range(8):
            store.reserve(os.urandom(32).hex(), {network!r})
    """)
    workers = [subprocess.Popen([sys.executable, "-c", script], cwd=os.getcwd()) for _ in range(6)]
    assert all(w.wait(timeout=120) == 0 for w in workers)
    addresses = [c["IPv4Address"] for c in store.inspect(network)["Containers"].values()]
    assert len(addresses) == 48
    assert len(set(addresses)) == 48


def test_reclaim_frees_what_dead_containers_hold(store, make_network, make_netns):
    network = make_network()
    (_, path1), (_, path2) = make_netns(), make_netns()
    live, dead = container_id(), container_id()
    store.attach(live, path1, network)
    lost = store.attach(dead, path2, network)
    store.publish(dead, network, [{"proto": "tcp", "host_port": 0, "container_port": 80}])
    assert store.reclaim({live}) == [dead]
    record = store.inspect(network)
    assert set(record["Containers"]) == {live}
    assert link_index(host_veth_name(dead, record["Id"])) is None
    assert store.ports_of(dead) == []
    again = store.attach(container_id(), path2, network)  # the address is free again
    assert again["IPAddress"] == lost["IPAddress"]


def test_remove_refused_while_attached_then_removes_bridge(store, make_network, make_netns):
    network = make_network()
    _, path = make_netns()
    cid = container_id()
    store.attach(cid, path, network)
    bridge = store.bridge_name(store.inspect(network))
    assert link_index(bridge) is not None
    with pytest.raises(Conflict, match="has active endpoints"):
        store.remove(network)
    store.detach(cid, network)
    store.remove(network)
    assert link_index(bridge) is None
    assert store.table not in nft_tables()


def test_none_network_brings_loopback_up(store, make_netns):
    ns, path = make_netns()
    endpoint = store.attach(container_id(), path, "none")
    assert endpoint["IPAddress"] == ""
    out = subprocess.run(["ip", "-n", ns, "-o", "link"], capture_output=True, text=True).stdout
    assert out.count(": ") >= 1 and "eth0" not in out
    assert "LOWER_UP" in out


def test_wiring_failure_leaves_no_endpoint(store, make_network, tmp_path):
    network = make_network()
    with pytest.raises(Exception):
        store.attach(container_id(), str(tmp_path / "no-such-netns"), network)
    assert store.inspect(network)["Containers"] == {}


def test_wiring_is_fast(store, make_network, make_netns):
    """The kernel side of one container's attach, bridge already up: a few ms."""
    network = make_network()
    _, warm = make_netns()
    store.attach(container_id(), warm, network)
    _, path = make_netns()
    start = time.perf_counter()
    store.attach(container_id(), path, network)
    assert time.perf_counter() - start < 0.1


def test_other_tables_are_left_alone(store, make_network, make_netns, suffix):
    other = f"hktother{suffix}"
    subprocess.run(["nft", "-f", "-"], check=True, text=True, input=(
        f"table ip {other} {{ chain forward {{ type filter hook forward priority 10; policy accept; "
        f"iifname \"nosuchif\" counter accept; }}; }}\n"))
    try:
        before = subprocess.run(["nft", "list", "table", "ip", other], capture_output=True, text=True).stdout
        network = make_network()
        _, path = make_netns()
        cid = container_id()
        store.attach(cid, path, network)
        store.publish(cid, network, [{"proto": "tcp", "host_port": 0, "container_port": 80}])
        store.release(cid)
        store.remove(network)
        after = subprocess.run(["nft", "list", "table", "ip", other], capture_output=True, text=True).stdout
        assert after == before
    finally:
        subprocess.run(["nft", "delete", "table", "ip", other], capture_output=True)
