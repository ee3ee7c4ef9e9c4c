"""Containers on networks through the real binary (issue 6): the default
bridge, user networks with name resolution, none, host, container:, published
ports, inspect's NetworkSettings, ps's PORTS, `port`, network connect and
disconnect, and cleanup (no veth, netns file, rule or address left).

Traffic stays on this machine.  The embedded DNS server is configured with
no upstream resolvers (<runroot>/dns/config.json), so nothing a container
asks is ever forwarded to the host's real resolvers.  After each test every
container and user network is removed, the DNS server stopped and this
root's bridges and nftables table torn down.
"""

import glob
import ipaddress
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from cli_store import hk, store  # noqa: F401

from hakobune.network import dns
from hakobune.network.bridge import host_veth_name
from hakobune.network.manager import Networks

pytestmark = pytest.mark.root

HTTPD = "mkdir -p /www && echo hello-from-httpd > /www/index.html && exec httpd -f -p 80 -h /www"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def links() -> set[str]:
    return {name for _, name in socket.if_nameindex()}


def table_text(root: str) -> str:
    table = Networks(root).table
    return subprocess.run(["nft", "list", "table", "ip", table], capture_output=True, text=True).stdout


def fetch(url: str, attempts: int = 50) -> str:
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode()
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer")


@pytest.fixture
def net(hk):  # noqa: F811
    dns_dir = os.path.join(hk.runroot, "dns")
    os.makedirs(dns_dir, exist_ok=True)
    with open(os.path.join(dns_dir, "config.json"), "w") as f:
        json.dump({"upstreams": [], "upstream_timeout": 0.5, "idle_exit": 0.5}, f)
    try:
        yield hk
    finally:
        hk.cleanup()
        for name in hk.run("network", "ls", "--format", "{{.Name}}").stdout.split():
            if name not in ("bridge", "host", "none"):
                hk.run("network", "rm", name)
        dns.stop(dns_dir)
        endpoints = glob.glob(os.path.join(hk.root, "network", "endpoints", "*", "*.json"))
        Networks(hk.root).teardown()
        assert endpoints == []
        assert glob.glob(os.path.join(hk.runroot, "netns", "*")) == []


def bridge_subnet(hk) -> ipaddress.IPv4Network:
    (record,) = json.loads(hk.ok("network", "inspect", "bridge"))
    return ipaddress.IPv4Network(record["IPAM"]["Config"][0]["Subnet"])


def test_default_bridge_gives_eth0_an_address_and_a_default_route(net):
    out = net.ok("run", "--rm", "busybox", "sh", "-c", "ip -o -4 addr show; ip route")
    address = re.search(r"eth0\s+inet (\d+\.\d+\.\d+\.\d+)/(\d+)", out)
    assert address, out
    subnet = bridge_subnet(net)
    assert ipaddress.IPv4Address(address.group(1)) in subnet and int(address.group(2)) == subnet.prefixlen
    assert subnet.subnet_of(ipaddress.IPv4Network("172.16.0.0/12")) or \
        subnet.subnet_of(ipaddress.IPv4Network("192.168.0.0/16"))  # Docker's pools
    assert re.search(r"default via " + re.escape(str(next(subnet.hosts()))) + " dev eth0", out), out
    assert "lo" in out


def test_two_containers_on_the_default_bridge_reach_each_other_by_ip(net):
    net.ok("run", "-d", "--name", "hkn-first", "busybox", "sleep", "60")
    address = net.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "hkn-first").strip()
    assert ipaddress.IPv4Address(address) in bridge_subnet(net)
    net.ok("run", "--rm", "busybox", "ping", "-c1", "-W2", address)


def test_user_network_resolves_names_and_aliases_and_is_isolated(net):
    net.ok("network", "create", "--subnet", "10.197.10.0/24", "hkn-front")
    net.ok("network", "create", "--subnet", "10.197.11.0/24", "hkn-back")
    net.ok("run", "-d", "--name", "hkn-web", "--network", "hkn-front", "--network-alias", "www", "busybox",
           "sleep", "60")
    net.ok("run", "-d", "--name", "hkn-client", "--network", "hkn-front", "busybox", "sleep", "60")
    for name in ("hkn-web", "www"):
        net.ok("exec", "hkn-client", "ping", "-c1", "-W2", name)
    resolv = net.ok("exec", "hkn-client", "cat", "/etc/resolv.conf")
    assert "nameserver 127.0.0.11" in resolv and "options ndots:0" in resolv
    hosts = net.ok("exec", "hkn-client", "cat", "/etc/hosts")
    address = net.ok("inspect", "-f", '{{(index .NetworkSettings.Networks "hkn-front").IPAddress}}',
                     "hkn-client").strip()
    assert f"{address}\thkn-client" not in hosts  # the hostname is the short id
    hostname = net.ok("exec", "hkn-client", "hostname").strip()
    assert f"{address}\t{hostname}\n" in hosts
    net.ok("exec", "hkn-client", "ping", "-c1", "-W2", hostname)
    # another user network cannot reach them, by name or by address
    web_ip = net.ok("inspect", "-f", '{{(index .NetworkSettings.Networks "hkn-front").IPAddress}}',
                    "hkn-web").strip()
    other = net.run("run", "--rm", "--network", "hkn-back", "busybox", "ping", "-c1", "-W1", web_ip)
    assert other.returncode != 0
    by_name = net.run("run", "--rm", "--network", "hkn-back", "busybox", "ping", "-c1", "-W1", "hkn-web")
    assert by_name.returncode != 0
    # nor can the default bridge
    assert net.run("run", "--rm", "busybox", "ping", "-c1", "-W1", web_ip).returncode != 0


def test_default_bridge_has_no_name_resolution_but_add_host_works(net):
    net.ok("run", "-d", "--name", "hkn-named", "busybox", "sleep", "60")
    out = net.run("run", "--rm", "--add-host", "db.example:10.1.2.3", "busybox", "sh", "-c",
                  "cat /etc/hosts /etc/resolv.conf; ping -c1 -W1 hkn-named")
    assert out.returncode != 0
    assert "10.1.2.3\tdb.example\n" in out.stdout
    assert "127.0.0.11" not in out.stdout


def test_network_none_has_only_loopback(net):
    out = net.ok("run", "--rm", "--network", "none", "busybox", "ip", "-o", "link")
    names = [line.split(":")[1].strip() for line in out.splitlines()]
    assert names == ["lo"]


def test_network_host_sees_the_hosts_interfaces(net):
    out = net.ok("run", "--rm", "--network", "host", "busybox", "ip", "-o", "link")
    names = {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}
    route = subprocess.run(["ip", "-o", "route", "show", "default"], capture_output=True, text=True).stdout.split()
    host_interfaces = {"lo", *route[route.index("dev") + 1:route.index("dev") + 2]} if "dev" in route else {"lo"}
    assert host_interfaces <= names and len(names & links()) >= len(links()) - 4  # others' veths come and go


def test_container_network_mode_joins_the_other_namespace(net):
    net.ok("run", "-d", "--name", "hkn-owner", "busybox", "sleep", "60")
    address = net.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "hkn-owner").strip()
    out = net.ok("run", "--rm", "--network", "container:hkn-owner", "busybox", "ip", "-o", "-4", "addr")
    assert f"inet {address}/" in out


def test_published_port_answers_on_loopback_and_shows_in_ps_port_and_inspect(net):
    port = free_port()
    net.ok("run", "-d", "--name", "hkn-httpd", "-p", f"127.0.0.1:{port}:80", "busybox", "sh", "-c", HTTPD)
    assert fetch(f"http://127.0.0.1:{port}/index.html") == "hello-from-httpd\n"
    assert net.ok("port", "hkn-httpd") == f"80/tcp -> 127.0.0.1:{port}\n"
    assert net.ok("port", "hkn-httpd", "80") == f"127.0.0.1:{port}\n"
    missing = net.run("port", "hkn-httpd", "81/tcp")
    assert missing.returncode == 1
    assert missing.stderr == "Error: No public port '81/tcp' published for hkn-httpd\n"
    ps = net.ok("ps", "--format", "{{.Ports}}|{{.Networks}}")
    assert ps == f"127.0.0.1:{port}->80/tcp|bridge\n"
    (record,) = json.loads(net.ok("inspect", "hkn-httpd"))
    settings = record["NetworkSettings"]
    assert list(settings) == ["Bridge", "SandboxID", "HairpinMode", "LinkLocalIPv6Address", "LinkLocalIPv6PrefixLen",
                              "Ports", "SandboxKey", "SecondaryIPAddresses", "SecondaryIPv6Addresses", "EndpointID",
                              "Gateway", "GlobalIPv6Address", "GlobalIPv6PrefixLen", "IPAddress", "IPPrefixLen",
                              "IPv6Gateway", "MacAddress", "Networks"]
    assert settings["Ports"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
    bridge = settings["Networks"]["bridge"]
    subnet = bridge_subnet(net)
    assert ipaddress.IPv4Address(bridge["IPAddress"]) in subnet and bridge["IPPrefixLen"] == subnet.prefixlen
    assert bridge["Gateway"] == str(next(subnet.hosts())) == settings["Gateway"]
    assert bridge["MacAddress"] == "02:42:" + ":".join(f"{int(b):02x}" for b in bridge["IPAddress"].split("."))
    assert settings["IPAddress"] == bridge["IPAddress"] and settings["MacAddress"] == bridge["MacAddress"]
    assert re.fullmatch(r"[0-9a-f]{64}", bridge["EndpointID"]) and bridge["EndpointID"] == settings["EndpointID"]
    (network,) = json.loads(net.ok("network", "inspect", "bridge"))
    assert bridge["NetworkID"] == network["Id"]
    assert network["Containers"][record["Id"]]["IPv4Address"] == f"{bridge['IPAddress']}/{subnet.prefixlen}"
    assert network["Containers"][record["Id"]]["Name"] == "hkn-httpd"
    assert record["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
    assert record["Config"]["ExposedPorts"] == {"80/tcp": {}}


def test_publish_all_uses_an_ephemeral_port(net):
    net.ok("run", "-d", "--name", "hkn-all", "--expose", "80", "-P", "busybox", "sh", "-c", HTTPD)
    out = net.ok("port", "hkn-all")
    match = re.fullmatch(r"80/tcp -> 0\.0\.0\.0:(\d+)\n", out)
    assert match, out
    port = int(match.group(1))
    low, high = (int(x) for x in open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
    assert low <= port <= high
    assert fetch(f"http://127.0.0.1:{port}/index.html") == "hello-from-httpd\n"
    address = host_address()
    if address:  # and on the host's own address, as from another machine
        assert fetch(f"http://{address}:{port}/index.html") == "hello-from-httpd\n"


def host_address() -> str | None:
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        fields = line.split()
        if not fields[1].startswith("hk"):
            return fields[3].split("/")[0]
    return None


def test_a_taken_host_port_fails_the_start_cleanly(net):
    port = free_port()
    net.ok("run", "-d", "--name", "hkn-holder", "-p", f"127.0.0.1:{port}:80", "busybox", "sleep", "60")
    second = net.run("run", "-d", "--name", "hkn-second", "-p", f"127.0.0.1:{port}:80", "busybox", "sleep", "60")
    assert second.returncode == 125
    assert f"Bind for 127.0.0.1:{port} failed: port is already allocated" in second.stderr
    second_id = net.ok("inspect", "-f", "{{.Id}}", "hkn-second").strip()
    assert not os.path.exists(os.path.join(net.runroot, "netns", second_id))
    (network,) = json.loads(net.ok("network", "inspect", "bridge"))
    assert second_id not in network["Containers"]
    assert net.ok("inspect", "-f", "{{.State.Status}}", "hkn-second") == "created\n"
    # the port is still the first container's, and it can be released and taken again
    net.ok("rm", "-f", "hkn-holder")
    net.ok("start", "hkn-second")
    assert net.ok("port", "hkn-second") == f"80/tcp -> 127.0.0.1:{port}\n"


def test_inspect_of_a_user_network_container_and_network_rm_conflict(net):
    net.ok("network", "create", "--subnet", "10.197.3.0/24", "hkn-user")
    net.ok("run", "-d", "--name", "hkn-member", "--network", "hkn-user", "--network-alias", "m1", "--ip",
           "10.197.3.50", "busybox", "sleep", "60")
    (record,) = json.loads(net.ok("inspect", "hkn-member"))
    settings = record["NetworkSettings"]
    assert settings["IPAddress"] == "" and settings["Gateway"] == ""  # only the default bridge's go on top
    endpoint = settings["Networks"]["hkn-user"]
    assert endpoint["IPAddress"] == "10.197.3.50" and endpoint["Gateway"] == "10.197.3.1"
    assert endpoint["IPAMConfig"] == {"IPv4Address": "10.197.3.50"}
    assert endpoint["Aliases"] == ["m1", record["Id"][:12]]  # dockerd adds the short id for API < 1.45
    assert endpoint["DNSNames"] == ["hkn-member", "m1", record["Id"][:12]]
    assert record["HostConfig"]["NetworkMode"] == "hkn-user"
    busy = net.run("network", "rm", "hkn-user")
    assert busy.returncode == 1
    (network,) = json.loads(net.ok("network", "inspect", "hkn-user"))
    assert busy.stderr == (f"Error response from daemon: error while removing network: network hkn-user id "
                           f"{network['Id']} has active endpoints\n")
    assert list(network["Containers"]) == [record["Id"]]
    net.ok("rm", "-f", "hkn-member")
    assert net.ok("network", "rm", "hkn-user") == "hkn-user\n"


def test_connect_and_disconnect_a_running_container(net):
    net.ok("network", "create", "--subnet", "10.197.12.0/24", "hkn-extra")
    net.ok("run", "-d", "--name", "hkn-target", "busybox", "sleep", "60")
    net.ok("run", "-d", "--name", "hkn-peer", "--network", "hkn-extra", "busybox", "sleep", "60")
    assert net.ok("network", "connect", "--alias", "tgt", "hkn-extra", "hkn-target") == ""
    out = net.ok("exec", "hkn-target", "ip", "-o", "-4", "addr")
    assert re.search(r"eth1\s+inet ", out), out
    net.ok("exec", "hkn-peer", "ping", "-c1", "-W2", "tgt")
    net.ok("exec", "hkn-peer", "ping", "-c1", "-W2", "hkn-target")
    networks = json.loads(net.ok("inspect", "-f", "{{json .NetworkSettings.Networks}}", "hkn-target"))
    assert list(networks) == ["bridge", "hkn-extra"]
    assert net.ok("network", "disconnect", "hkn-extra", "hkn-target") == ""
    assert "eth1" not in net.ok("exec", "hkn-target", "ip", "-o", "link")
    assert net.run("exec", "hkn-peer", "ping", "-c1", "-W1", "hkn-target").returncode != 0
    again = net.run("network", "disconnect", "hkn-extra", "hkn-target")
    assert again.returncode == 1 and "is not connected to network hkn-extra" in again.stderr


def test_connect_a_created_container_is_attached_at_start(net):
    net.ok("network", "create", "--subnet", "10.197.13.0/24", "hkn-later")
    net.ok("create", "--name", "hkn-created", "busybox", "sleep", "60")
    net.ok("network", "connect", "hkn-later", "hkn-created")
    net.ok("start", "hkn-created")
    networks = json.loads(net.ok("inspect", "-f", "{{json .NetworkSettings.Networks}}", "hkn-created"))
    assert list(networks) == ["bridge", "hkn-later"] and networks["hkn-later"]["IPAddress"]
    out = net.ok("exec", "hkn-created", "ip", "-o", "-4", "addr")
    assert "eth0" in out and "eth1" in out


def test_everything_is_released_after_rm_and_addresses_are_reused(net):
    net.ok("network", "create", "--subnet", "10.198.7.0/24", "hkn-reuse")
    port = free_port()
    first = net.ok("run", "-d", "--network", "hkn-reuse", "-p", f"127.0.0.1:{port}:80", "busybox",
                   "sleep", "60").strip()
    address = net.ok("inspect", "-f", '{{(index .NetworkSettings.Networks "hkn-reuse").IPAddress}}', first).strip()
    assert address == "10.198.7.2"
    assert str(port) in table_text(net.root)
    assert os.path.exists(os.path.join(net.runroot, "netns", first))
    before_rm = links()
    net.ok("rm", "-f", first)
    assert not os.path.exists(os.path.join(net.runroot, "netns", first))
    assert str(port) not in table_text(net.root)
    (network,) = json.loads(net.ok("network", "inspect", "hkn-reuse"))
    veth = host_veth_name(first, network["Id"])
    assert veth in before_rm
    for _ in range(100):  # the kernel removes it with the namespace, asynchronously
        if veth not in links():
            break
        time.sleep(0.02)
    assert veth not in links()
    assert network["Containers"] == {}
    again = net.ok("run", "-d", "--network", "hkn-reuse", "busybox", "sleep", "60").strip()
    assert net.ok("inspect", "-f", '{{(index .NetworkSettings.Networks "hkn-reuse").IPAddress}}', again).strip() \
        == address


def test_exited_container_releases_its_network(net):
    container_id = net.ok("run", "-d", "busybox", "true").strip()
    net.ok("wait", container_id)
    net.ok("ps", "-a")  # any command reconciles the exit
    assert not os.path.exists(os.path.join(net.runroot, "netns", container_id))
    assert json.loads(net.ok("network", "inspect", "bridge"))[0]["Containers"] == {}
    assert net.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", container_id) == "\n"


def test_what_a_lost_container_held_is_reclaimed_by_system_prune(net):
    """A container whose monitor is killed and whose runroot state is lost
    (as after a reboot) keeps its address in the store until `system prune`
    (or a network out of addresses) reclaims it."""
    container_id = net.ok("run", "-d", "busybox", "sleep", "60").strip()
    state = json.load(open(os.path.join(net.runroot, "containers", container_id[:32], "state.json")))
    os.kill(state["monitor_pid"], 9)
    os.kill(state["pid"], 9)
    path = os.path.join(net.runroot, "netns", container_id)
    subprocess.run(["umount", path], check=True)
    os.unlink(path)
    for _ in range(100):
        if "Exited" in net.ok("ps", "-a", "--format", "{{.Status}}"):
            break
        time.sleep(0.05)
    assert list(json.loads(net.ok("network", "inspect", "bridge"))[0]["Containers"]) == [container_id]
    net.ok("system", "prune", "-f")
    assert json.loads(net.ok("network", "inspect", "bridge"))[0]["Containers"] == {}


def test_create_refuses_unknown_networks_and_options_of_user_networks_on_the_default_bridge(net):
    missing = net.run("run", "--rm", "--network", "hkn-nosuch", "busybox", "true")
    assert missing.returncode == 125
    assert "Error response from daemon: network hkn-nosuch not found" in missing.stderr
    alias = net.run("create", "--network-alias", "x", "busybox", "true")
    assert alias.returncode == 125
    assert "network-scoped aliases are only supported for user-defined networks" in alias.stderr
    address = net.run("create", "--ip", "172.17.0.9", "busybox", "true")
    assert address.returncode == 125
    assert "user specified IP address is supported on user defined networks only" in address.stderr
    assert net.ok("ps", "-aq") == ""


def test_run_options_build_dockers_create_body(net):
    net.ok("create", "--name", "hkn-body", "-p", "127.0.0.1:8000-8001:80-81", "-p", "9000:90/udp", "--expose",
           "7000-7001", "-P", "--dns", "10.0.0.53", "--dns-search", "example.test", "--dns-option", "ndots:2",
           "--add-host", "db:10.1.1.1", "busybox", "true")
    (record,) = json.loads(net.ok("inspect", "hkn-body"))
    host = record["HostConfig"]
    assert host["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8000"}],
                                    "81/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8001"}],
                                    "90/udp": [{"HostIp": "", "HostPort": "9000"}]}
    assert host["PublishAllPorts"] is True and host["NetworkMode"] == "default"
    assert (host["Dns"], host["DnsSearch"], host["DnsOptions"], host["ExtraHosts"]) == (
        ["10.0.0.53"], ["example.test"], ["ndots:2"], ["db:10.1.1.1"])
    assert record["Config"]["ExposedPorts"] == {"80/tcp": {}, "81/tcp": {}, "90/udp": {}, "7000/tcp": {},
                                                "7001/tcp": {}}
    assert record["NetworkSettings"]["Networks"]["bridge"]["IPAddress"] == ""
    assert record["NetworkSettings"]["Ports"] == {}
    bad = net.run("create", "-p", "80:abc", "busybox", "true")
    assert bad.returncode == 125 and "invalid containerPort: abc" in bad.stderr


def test_dns_files_of_a_user_network_container_and_forwarding_to_a_stub(net):
    """Names outside the container's networks go to the embedded server's
    upstreams: here a stub resolver the test runs on loopback (configured as
    the server's only upstream), never the host's real resolvers."""
    import threading

    stub = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stub.bind(("127.0.0.1", 0))
    stub.settimeout(10)
    with open(os.path.join(net.runroot, "dns", "config.json"), "w") as f:
        json.dump({"upstreams": [f"127.0.0.1:{stub.getsockname()[1]}"], "upstream_timeout": 1.0,
                   "idle_exit": 0.5}, f)
    asked = []

    def answer():
        try:
            while True:
                data, peer = stub.recvfrom(512)
                question_end = 12 + data[12:].index(b"\0") + 5
                asked.append(data[12:question_end])
                qtype = data[question_end - 4:question_end - 2]
                count = b"\x00\x01" if qtype == b"\x00\x01" else b"\x00\x00"
                header = data[:2] + b"\x81\x80\x00\x01" + count + b"\x00\x00\x00\x00"
                record = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes([10, 11, 12, 13])
                stub.sendto(header + data[12:question_end] + (record if count == b"\x00\x01" else b""), peer)
        except (OSError, ValueError):
            pass

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        net.ok("network", "create", "--subnet", "10.197.14.0/24", "hkn-dns")
        out = net.ok("run", "--rm", "--network", "hkn-dns", "--dns-search", "example.test", "busybox", "sh", "-c",
                     "cat /etc/resolv.conf; nslookup outside.example.test.")
        assert "nameserver 127.0.0.11\n" in out and "search example.test\n" in out and "options ndots:0\n" in out
        assert "10.11.12.13" in out, out
        assert any(b"\x07outside\x07example\x04test\x00" in question for question in asked)
    finally:
        stub.close()
        thread.join(5)


def test_a_container_whose_namespace_file_was_lost_starts_again(net):
    """As after a reboot: the runroot is gone, the store still records the
    container's endpoint; its next start replaces it."""
    container_id = net.ok("run", "-d", "--name", "hkn-reboot", "busybox", "sleep", "60").strip()
    state = json.load(open(os.path.join(net.runroot, "containers", container_id[:32], "state.json")))
    os.kill(state["monitor_pid"], 9)
    os.kill(state["pid"], 9)
    path = os.path.join(net.runroot, "netns", container_id)
    subprocess.run(["umount", path], check=True)
    os.unlink(path)
    for _ in range(100):
        if "Exited" in net.ok("ps", "-a", "--format", "{{.Status}}"):
            break
        time.sleep(0.05)
    runtime = os.path.join(os.path.dirname(sys.executable), "hakobune-runtime")  # its state went with the runroot
    subprocess.run([runtime, "--root", os.path.join(net.runroot, "runtime"), "delete", "--force", container_id],
                   capture_output=True)
    net.ok("start", "hkn-reboot")
    address = net.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "hkn-reboot").strip()
    assert f"inet {address}/" in net.ok("exec", "hkn-reboot", "ip", "-o", "-4", "addr")
    (network,) = json.loads(net.ok("network", "inspect", "bridge"))
    assert list(network["Containers"]) == [container_id]


def test_parallel_starts_get_distinct_addresses(net):
    processes = [subprocess.Popen([*net_cli(net), "run", "-d", "busybox", "sleep", "60"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(6)]
    ids = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        ids.append(out.strip())
    addresses = [net.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", i).strip() for i in ids]
    assert len(set(addresses)) == 6 and all(addresses)


def net_cli(h) -> list[str]:
    return [os.path.join(os.path.dirname(sys.executable), "hakobune"), "--root", h.root, "--runroot", h.runroot]


def test_a_network_named_by_its_id(net):
    network_id = net.ok("network", "create", "--subnet", "10.197.15.0/24", "hkn-byid").strip()
    net.ok("run", "-d", "--name", "hkn-idee", "--network", network_id[:12], "busybox", "sleep", "60")
    net.ok("run", "--rm", "--network", "hkn-byid", "busybox", "ping", "-c1", "-W2", "hkn-idee")
    networks = json.loads(net.ok("inspect", "-f", "{{json .NetworkSettings.Networks}}", "hkn-idee"))
    assert list(networks) == ["hkn-byid"] and networks["hkn-byid"]["NetworkID"] == network_id
    assert net.ok("ps", "--format", "{{.Networks}}", "--filter", "name=hkn-idee") == "hkn-byid\n"


def test_bridges_of_a_deleted_store_are_swept_when_a_bridge_is_made(net):
    """A throw-away store removed without tearing its networks down (a test's,
    a benchmark's) leaves a bridge, its route and a table; the next root to
    make its default bridge removes them."""
    import shutil
    import tempfile

    from hakobune.monitor.launcher import stop_zygotes

    base = tempfile.mkdtemp(prefix="hkn-", dir="/tmp")  # short: the monitors' sockets live under it
    other = [*net_cli(net)[:1], "--root", base + "/root", "--runroot", base + "/run"]
    try:
        for args in (["import", "-c", 'CMD ["sh"]', net.tar, "busybox:latest"], ["run", "--rm", "busybox", "true"]):
            assert subprocess.run(other + args, capture_output=True).returncode == 0
        table = Networks(base + "/root").table
        bridge = "hk" + table.rpartition("_")[2]
        assert bridge in links()
    finally:
        stop_zygotes(base + "/run")
        _wait_for_detached_removers(base + "/root")  # run --rm's files go in an `rm` of their own
        shutil.rmtree(base)
    net.ok("run", "--rm", "busybox", "true")  # makes this store's default bridge (the fixture removed it)
    assert bridge not in links()
    assert f"table ip {table}" not in subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout


def _wait_for_detached_removers(root: str, timeout: float = 10) -> None:
    """Until the `rm` processes that delete removed containers' files are done."""
    import glob
    import time

    deadline = time.monotonic() + timeout
    while glob.glob(os.path.join(root, "containers", ".removing-*")) and time.monotonic() < deadline:
        time.sleep(0.02)
