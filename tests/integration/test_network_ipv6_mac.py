"""Networks, the later parts (issue 6) through the real binary: --mac-address,
/etc/hosts after a hot-plug connect/disconnect, DNS names after a rename,
IPv6 networks (addresses, inspect, AAAA, published ports, NAT66), and the
isolation of two stores' bridges and nftables tables on one host.

Traffic stays on this machine: the NAT66 test sends to a network namespace
it makes itself; the DNS server has no upstream resolvers.  Everything made
(containers, networks, bridges, tables, the test namespace and its veth)
is removed, also on failure.
"""

import glob
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest
from cli_store import Hakobune, hk, store  # noqa: F401

from hakobune.network import dns
from hakobune.network.manager import Networks

pytestmark = pytest.mark.root


def ipv6_enabled() -> bool:
    try:
        with open("/proc/sys/net/ipv6/conf/default/disable_ipv6") as f:
            return f.read().strip() == "0"
    except OSError:
        return False


needs_ipv6 = pytest.mark.skipif(not ipv6_enabled(), reason="IPv6 is disabled on this host")

SUFFIX = f"{os.getpid() % 0xfff0 + 0x10:x}"
SUBNET6 = f"fd6b:{SUFFIX}:1::/64"      # unlikely to meet a route of the host
OUTSIDE6 = f"fd6b:{SUFFIX}:ff::"        # the NAT66 test's "outside" namespace


def quiet_dns(h) -> None:
    directory = os.path.join(h.runroot, "dns")
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump({"upstreams": [], "upstream_timeout": 0.5, "idle_exit": 0.5}, f)


def remove_user_networks(h) -> None:
    for name in h.run("network", "ls", "--format", "{{.Name}}").stdout.split():
        if name not in ("bridge", "host", "none"):
            h.run("network", "rm", name)


@pytest.fixture
def net(hk):  # noqa: F811
    quiet_dns(hk)
    try:
        yield hk
    finally:
        hk.cleanup()
        remove_user_networks(hk)
        dns.stop(os.path.join(hk.runroot, "dns"))
        endpoints = glob.glob(os.path.join(hk.root, "network", "endpoints", "*", "*.json"))
        Networks(hk.root).teardown()
        assert endpoints == []


def table_text(root: str, family: str = "ip") -> str:
    return subprocess.run(["nft", "list", "table", family, Networks(root).table], capture_output=True,
                          text=True).stdout


def hosts_of(h, name: str) -> str:
    return h.ok("exec", name, "cat", "/etc/hosts")


# --- MAC addresses ---------------------------------------------------------------------------------

def test_mac_address_is_set_on_eth0_and_shown_in_inspect(net):
    net.ok("run", "-d", "--name", "m1", "--mac-address", "02:11:22:33:44:55", "busybox", "sleep", "60")
    assert "link/ether 02:11:22:33:44:55" in net.ok("exec", "m1", "ip", "link", "show", "eth0")
    info = json.loads(net.ok("inspect", "m1"))[0]
    assert info["Config"]["MacAddress"] == "02:11:22:33:44:55"
    assert info["NetworkSettings"]["MacAddress"] == "02:11:22:33:44:55"
    assert info["NetworkSettings"]["Networks"]["bridge"]["MacAddress"] == "02:11:22:33:44:55"
    # without the flag: Docker's 02:42 followed by the IPv4 address
    net.ok("run", "-d", "--name", "m2", "busybox", "sleep", "60")
    settings = json.loads(net.ok("inspect", "m2"))[0]["NetworkSettings"]
    expected = "02:42:" + ":".join(f"{b:02x}" for b in socket.inet_aton(settings["IPAddress"]))
    assert settings["MacAddress"] == expected
    assert f"link/ether {expected}" in net.ok("exec", "m2", "ip", "link", "show", "eth0")


def test_mac_address_on_a_user_network_and_a_bad_one(net):
    net.ok("network", "create", "macnet")
    net.ok("run", "-d", "--name", "m1", "--network", "macnet", "--mac-address", "02:AA:bb:cc:dd:01", "busybox",
           "sleep", "60")
    assert "link/ether 02:aa:bb:cc:dd:01" in net.ok("exec", "m1", "ip", "link", "show", "eth0")
    networks = json.loads(net.ok("inspect", "m1"))[0]["NetworkSettings"]["Networks"]
    assert networks["macnet"]["MacAddress"] == "02:aa:bb:cc:dd:01"
    containers = json.loads(net.ok("network", "inspect", "macnet"))[0]["Containers"]
    assert [c["MacAddress"] for c in containers.values()] == ["02:aa:bb:cc:dd:01"]
    bad = net.run("run", "--rm", "--mac-address", "02:11:22", "busybox", "true")
    assert bad.returncode == 125
    assert "02:11:22 is not a valid mac address" in bad.stderr


# --- /etc/hosts and names after connect, disconnect, rename ------------------------------------------

def test_hosts_follow_a_hot_plug_connect_and_disconnect(net):
    net.ok("network", "create", "hostsnet")
    net.ok("run", "-d", "--name", "h1", "--add-host", "extra:10.1.2.3", "busybox", "sleep", "60")
    before = hosts_of(net, "h1")
    assert "127.0.0.11" not in net.ok("exec", "h1", "cat", "/etc/resolv.conf")
    short = json.loads(net.ok("inspect", "h1"))[0]["Id"][:12]
    net.ok("network", "connect", "hostsnet", "h1")
    address = json.loads(net.ok("inspect", "h1"))[0]["NetworkSettings"]["Networks"]["hostsnet"]["IPAddress"]
    after = hosts_of(net, "h1")
    assert after == before + f"{address}\t{short}\n"
    # on its first user network, the embedded DNS server becomes its resolver (as Docker's)
    assert "nameserver 127.0.0.11\n" in net.ok("exec", "h1", "cat", "/etc/resolv.conf")
    net.ok("network", "disconnect", "hostsnet", "h1")
    assert hosts_of(net, "h1") == before
    assert "10.1.2.3\textra\n" in before


def test_rename_moves_the_dns_name_and_the_endpoint_name(net):
    net.ok("network", "create", "renet")
    net.ok("run", "-d", "--name", "old", "--network", "renet", "busybox", "sleep", "60")
    net.ok("run", "-d", "--name", "asker", "--network", "renet", "busybox", "sleep", "60")
    address = json.loads(net.ok("inspect", "old"))[0]["NetworkSettings"]["Networks"]["renet"]["IPAddress"]
    hosts_before = hosts_of(net, "old")
    net.ok("rename", "old", "new")
    assert address in net.ok("exec", "asker", "nslookup", "new", "127.0.0.11")
    gone = net.run("exec", "asker", "nslookup", "old", "127.0.0.11")
    assert address not in gone.stdout
    containers = json.loads(net.ok("network", "inspect", "renet"))[0]["Containers"]
    assert sorted(c["Name"] for c in containers.values()) == ["asker", "new"]
    assert hosts_of(net, "new") == hosts_before  # Docker leaves /etc/hosts as it is


# --- IPv6 -------------------------------------------------------------------------------------------

@needs_ipv6
def test_ipv6_network_addresses_inspect_names_and_hosts(net):
    net.ok("network", "create", "--ipv6", "--subnet", SUBNET6, "v6net")
    record = json.loads(net.ok("network", "inspect", "v6net"))[0]
    subnet = ipaddress.IPv6Network(SUBNET6)
    gateway = str(subnet.network_address + 1)
    assert record["EnableIPv6"] is True
    assert record["IPAM"]["Config"][1] == {"Subnet": SUBNET6, "Gateway": gateway}
    assert ipaddress.ip_network(record["IPAM"]["Config"][0]["Subnet"]).version == 4
    assert net.ok("network", "ls", "--filter", "name=v6net", "--format", "{{.IPv6}}") == "true\n"
    fixed = str(subnet.network_address + 0x99)
    net.ok("run", "-d", "--name", "c6a", "--network", "v6net", "busybox", "sleep", "60")
    net.ok("run", "-d", "--name", "c6b", "--network", "v6net", "--ip6", fixed, "busybox", "sleep", "60")
    a = json.loads(net.ok("inspect", "c6a"))[0]["NetworkSettings"]["Networks"]["v6net"]
    b = json.loads(net.ok("inspect", "c6b"))[0]["NetworkSettings"]["Networks"]["v6net"]
    assert a["GlobalIPv6Address"] == str(subnet.network_address + 2)
    assert (a["GlobalIPv6PrefixLen"], a["IPv6Gateway"]) == (64, gateway)
    assert b["GlobalIPv6Address"] == fixed and b["IPAMConfig"] == {"IPv6Address": fixed}
    assert f"inet6 {fixed}/64 scope global" in net.ok("exec", "c6b", "ip", "-6", "addr", "show", "eth0")
    assert f"default via {gateway} dev eth0" in net.ok("exec", "c6a", "ip", "-6", "route")
    assert "1 packets received" in net.ok("exec", "c6a", "ping6", "-c", "1", "-W", "2", fixed)
    assert fixed in net.ok("exec", "c6a", "nslookup", "-type=AAAA", "c6b", "127.0.0.11")
    containers = json.loads(net.ok("network", "inspect", "v6net"))[0]["Containers"]
    assert sorted(c["IPv6Address"] for c in containers.values()) == sorted([f"{a['GlobalIPv6Address']}/64",
                                                                            f"{fixed}/64"])
    hosts = hosts_of(net, "c6b")
    assert "::1\tlocalhost ip6-localhost ip6-loopback\n" in hosts
    assert hosts.endswith(f"{b['IPAddress']}\t{json.loads(net.ok('inspect', 'c6b'))[0]['Id'][:12]}\n"
                          f"{fixed}\t{json.loads(net.ok('inspect', 'c6b'))[0]['Id'][:12]}\n")
    outside = net.run("run", "--rm", "--network", "v6net", "--ip6", "fd6b:ffff::5", "busybox", "true")
    assert outside.returncode == 125 and "does not belong to any of this network's subnets" in outside.stderr
    net.ok("rm", "-f", "c6a", "c6b")
    net.ok("network", "rm", "v6net")
    assert table_text(net.root, "ip6") == ""  # no IPv6 network left: no ip6 table


@needs_ipv6
def test_dual_stack_subnets_gateway_and_an_automatic_ipv6_subnet(net):
    subnet6 = ipaddress.IPv6Network(SUBNET6)
    gateway6 = str(subnet6.network_address + 0xfe)
    net.ok("network", "create", "--ipv6", "--subnet", "10.231.7.0/24", "--subnet", SUBNET6, "--gateway", gateway6,
           "dual")
    config = json.loads(net.ok("network", "inspect", "dual"))[0]["IPAM"]["Config"]
    assert config == [{"Subnet": "10.231.7.0/24", "Gateway": "10.231.7.1"}, {"Subnet": SUBNET6, "Gateway": gateway6}]
    net.ok("run", "-d", "--name", "dd", "--network", "dual", "busybox", "sleep", "60")
    assert f"default via {gateway6} dev eth0" in net.ok("exec", "dd", "ip", "-6", "route")
    assert "1 packets received" in net.ok("exec", "dd", "ping6", "-c", "1", "-W", "2", gateway6)
    net.ok("network", "create", "--ipv6", "auto6")
    auto = json.loads(net.ok("network", "inspect", "auto6"))[0]["IPAM"]["Config"][1]["Subnet"]
    network = ipaddress.IPv6Network(auto)
    assert network.prefixlen == 64 and network.subnet_of(ipaddress.IPv6Network("fd00::/8"))
    taken = net.run("network", "create", "--ipv6", "--subnet", SUBNET6, "again")
    assert taken.returncode == 1 and "overlaps" in taken.stderr
    bad = net.run("network", "create", "--subnet", "10.231.8.0/24", "--gateway", "10.231.9.1", "nogw")
    assert bad.returncode == 1 and "no matching subnet for gateway 10.231.9.1" in bad.stderr


def host_global_ipv6() -> str | None:
    """A global (or unique local) IPv6 address of the host, if it has one."""
    try:
        with open("/proc/net/if_inet6") as f:
            for line in f:
                fields = line.split()
                address = ipaddress.IPv6Address(int(fields[0], 16))
                if fields[3] == "00" and not fields[5].startswith("hk") and fields[5] != "lo":
                    return str(address)
    except OSError:
        pass
    return None


@needs_ipv6
def test_ipv6_published_port_and_container_to_container_over_ipv6(net):
    net.ok("network", "create", "--ipv6", "--subnet", SUBNET6, "pub6")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    net.ok("run", "-d", "--name", "web", "--network", "pub6", "-p", f"{port}:80", "busybox", "sh", "-c",
           "echo hello6 > /tmp/index.html && exec httpd -f -p 80 -h /tmp")
    address6 = json.loads(net.ok("inspect", "web"))[0]["NetworkSettings"]["Networks"]["pub6"]["GlobalIPv6Address"]
    assert f"dnat to [{address6}]:80" in table_text(net.root, "ip6")
    request = "printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc " + address6 + " 80"
    assert "hello6" in net.ok("run", "--rm", "--network", "pub6", "busybox", "sh", "-c", request)
    host6 = host_global_ipv6()
    if host6 is None:
        pytest.skip("the host has no global IPv6 address to publish on")
    for _ in range(50):
        try:
            with socket.create_connection((host6, port), timeout=2) as conn:
                conn.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
                answer = conn.recv(4096).decode()
                if "hello6" in answer or "200" in answer:
                    break
        except OSError:
            time.sleep(0.1)
    else:
        raise AssertionError(f"[{host6}]:{port} did not answer")


@pytest.fixture
def outside6():
    """A network namespace standing for "the outside": a veth to the host,
    OUTSIDE6 + 1 on the host side and OUTSIDE6 + 2 inside; a TCP server
    inside writes the source address of the first connection."""
    name = f"hkt6-{SUFFIX}"
    host_link, inner_link = f"hkt6h{SUFFIX}", f"hkt6i{SUFFIX}"
    directory = tempfile.mkdtemp(prefix="hk-outside6-")
    server = None
    try:
        for command in (["ip", "netns", "add", name],
                        ["ip", "link", "add", host_link, "type", "veth", "peer", "name", inner_link],
                        ["ip", "link", "set", inner_link, "netns", name],
                        ["ip", "addr", "add", f"{OUTSIDE6}1/64", "dev", host_link, "nodad"],
                        ["ip", "link", "set", host_link, "up"],
                        ["ip", "-n", name, "addr", "add", f"{OUTSIDE6}2/64", "dev", inner_link, "nodad"],
                        ["ip", "-n", name, "link", "set", inner_link, "up"],
                        ["ip", "-n", name, "link", "set", "lo", "up"]):
            subprocess.run(command, check=True, capture_output=True)
        log = os.path.join(directory, "peer")
        code = ("import socket,sys\ns=socket.socket(socket.AF_INET6)\ns.bind(('::',9999))\ns.listen()\n"
                "c,peer=s.accept()\nopen(sys.argv[1],'w').write(peer[0])\n")
        server = subprocess.Popen(["ip", "netns", "exec", name, "python3", "-c", code, log])
        yield f"{OUTSIDE6}2", log, f"{OUTSIDE6}1"
    finally:
        if server is not None:
            server.kill()
            server.wait()
        subprocess.run(["ip", "link", "del", host_link], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
        shutil.rmtree(directory, ignore_errors=True)


@needs_ipv6
@pytest.mark.skipif(shutil.which("ip") is None, reason="needs iproute2's ip for the outside namespace")
def test_nat66_masquerades_outbound_ipv6(net, outside6):
    target, log, host_side = outside6
    net.ok("network", "create", "--ipv6", "--subnet", SUBNET6, "nat6")
    for _ in range(30):  # the server in the namespace may not listen yet: connection refused, try again
        net.run("run", "--rm", "--network", "nat6", "busybox", "sh", "-c", f"echo hi | nc -w 1 {target} 9999")
        if os.path.exists(log) and open(log).read():
            break
        time.sleep(0.1)
    assert f'ip6 saddr {SUBNET6} oifname != "' in table_text(net.root, "ip6")
    with open(log) as f:
        assert f.read() == host_side  # the container's address was masqueraded to the host's


# --- two stores on one host -------------------------------------------------------------------------------

@pytest.fixture
def second_store(store):  # noqa: F811
    base = tempfile.mkdtemp(prefix="hk-second-", dir="/tmp")
    other = Hakobune(base)
    try:
        other.ok("import", "-c", 'CMD ["sh"]', store.tar, "busybox:latest")
        quiet_dns(other)
        yield other
    finally:
        other.cleanup()
        remove_user_networks(other)
        from hakobune.engine.netsetup import teardown_store

        teardown_store(other.root, other.runroot)
        other.stop_zygotes()
        shutil.rmtree(base, ignore_errors=True)


def address_of(h, name: str, network: str) -> str:
    return json.loads(h.ok("inspect", name))[0]["NetworkSettings"]["Networks"][network]["IPAddress"]


def pings(h, name: str, address: str) -> bool:
    return h.run("exec", name, "ping", "-c", "1", "-W", "1", address).returncode == 0


def test_two_stores_bridges_are_isolated_and_their_tables_kept_apart(net, second_store):
    one, two = net, second_store
    assert Networks(one.root).table != Networks(two.root).table
    one.ok("network", "create", "--subnet", "10.232.1.0/24", "u1")
    two.ok("network", "create", "--subnet", "10.232.2.0/24", "u2")
    one.ok("run", "-d", "--name", "sa", "busybox", "sleep", "60")
    one.ok("run", "-d", "--name", "a2", "busybox", "sleep", "60")
    one.ok("run", "-d", "--name", "ua", "--network", "u1", "busybox", "sleep", "60")
    two.ok("run", "-d", "--name", "sb", "busybox", "sleep", "60")
    two.ok("run", "-d", "--name", "ub", "--network", "u2", "busybox", "sleep", "60")
    a2, b, ua, ub = (address_of(one, "a2", "bridge"), address_of(two, "sb", "bridge"), address_of(one, "ua", "u1"),
                     address_of(two, "ub", "u2"))
    assert pings(one, "sa", a2)                   # within one store's default bridge
    for h, name, address in ((one, "sa", b), (one, "ua", ub), (two, "sb", a2), (two, "ub", ua), (one, "sa", ub),
                             (two, "sb", ua)):
        assert not pings(h, name, address), (name, address)
    table_one = table_text(one.root)
    assert table_one and table_text(two.root)
    # tearing one store down leaves the other's table, bridges and traffic alone
    two.cleanup()
    remove_user_networks(two)
    from hakobune.engine.netsetup import teardown_store

    teardown_store(two.root, two.runroot)
    assert table_text(two.root) == ""
    assert table_text(one.root) == table_one
    assert pings(one, "sa", a2)


# --- [::1]: the port proxy ----------------------------------------------------------------------------

def fetch_over(address: str, port: int, attempts: int = 50) -> str:
    for _ in range(attempts):
        try:
            with socket.create_connection((address, port), timeout=2) as conn:
                conn.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
                data = b""
                while chunk := conn.recv(4096):
                    data += chunk
                if data:
                    return data.decode()
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"[{address}]:{port} did not answer")


@needs_ipv6
def test_published_ports_answer_on_ipv6_loopback_through_the_proxy(net):
    from hakobune.network import portproxy

    if not portproxy.host_has_ipv6_loopback():
        pytest.skip("the host has no ::1")
    net.ok("network", "create", "--ipv6", "--subnet", SUBNET6, "lo6")
    ports = []
    for name, flags in (("web4", []), ("web6", ["--network", "lo6"])):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
        net.ok("run", "-d", "--name", name, "-p", f"{ports[-1]}:80", *flags, "busybox", "sh", "-c",
               f"echo from-{name} > /tmp/index.html && exec httpd -f -p 80 -h /tmp")
    table = Networks(net.root).table
    assert portproxy.running_pid(table) is not None
    assert "from-web4" in fetch_over("::1", ports[0])
    assert "from-web6" in fetch_over("::1", ports[1])
    assert "from-web6" in fetch_over("127.0.0.1", ports[1])
    net.ok("rm", "-f", "web4")
    assert "from-web6" in fetch_over("::1", ports[1])
    with pytest.raises(OSError):
        socket.create_connection(("::1", ports[0]), timeout=2).close()
    net.ok("rm", "-f", "web6")
    assert portproxy.running_pid(table) is None  # no port left: the proxy is gone
