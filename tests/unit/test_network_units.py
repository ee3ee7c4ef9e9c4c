"""hakobune.network's pure parts: subnet pools, address allocation, Docker's
MAC addresses, host-port choice and the nftables ruleset's text."""

import ipaddress

import pytest

from hakobune.errors import Conflict, InvalidArgument
from hakobune.network import ipam, nftables, ports
from hakobune.network.bridge import host_veth_name, mac_for
from hakobune.network.manager import default_bridge_name, rfc3339nano


def net(text):
    return ipaddress.IPv4Network(text)


def test_pools_follow_dockers_order():
    pools = list(ipam.default_pools())
    assert pools[0] == net("172.18.0.0/16") and pools[13] == net("172.31.0.0/16")
    assert pools[14] == net("192.168.0.0/20") and pools[15] == net("192.168.16.0/20")
    assert pools[-1] == net("192.168.240.0/20")


def test_pick_subnet_skips_taken_and_host_routes():
    routes = [net("172.19.0.0/16"), net("192.0.2.0/24")]
    assert ipam.pick_subnet([net("172.18.0.0/16")], routes=routes) == net("172.20.0.0/16")
    assert ipam.pick_subnet([], [net("172.17.0.0/16")], routes=[]) == net("172.17.0.0/16")


def test_host_routes_parse_proc_net_route(tmp_path):
    routes = tmp_path / "route"
    routes.write_text("Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n"
                      "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\n"
                      "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n")
    assert ipam.host_routes(str(routes)) == [net("192.0.2.0/24")]


def test_pick_subnet_fails_clearly_when_everything_is_taken():
    with pytest.raises(InvalidArgument, match="non-overlapping"):
        ipam.pick_subnet([net("0.0.0.0/1"), net("128.0.0.0/1")], routes=[])


def test_user_subnet_overlap_is_refused():
    with pytest.raises(Conflict, match="Pool overlaps"):
        ipam.check_subnet(net("10.1.0.0/16"), [net("10.1.2.0/24")])
    with pytest.raises(InvalidArgument):
        ipam.parse_subnet("10.1.2.3/16")


def test_allocate_skips_network_gateway_and_taken():
    subnet = net("10.9.0.0/29")
    assert ipam.allocate(subnet, None, "10.9.0.1", set()) == "10.9.0.2"
    assert ipam.allocate(subnet, None, "10.9.0.1", {"10.9.0.2", "10.9.0.3"}) == "10.9.0.4"
    with pytest.raises(Conflict):
        ipam.allocate(subnet, None, "10.9.0.1", {f"10.9.0.{i}" for i in range(2, 7)})


def test_allocate_honours_range_and_requested_address():
    subnet = net("10.9.0.0/24")
    assert ipam.allocate(subnet, net("10.9.0.128/25"), "10.9.0.1", set()) == "10.9.0.129"
    assert ipam.allocate(subnet, None, "10.9.0.1", set(), "10.9.0.77") == "10.9.0.77"
    with pytest.raises(Conflict, match="already in use"):
        ipam.allocate(subnet, None, "10.9.0.1", {"10.9.0.77"}, "10.9.0.77")
    with pytest.raises(InvalidArgument):
        ipam.allocate(subnet, None, "10.9.0.1", set(), "10.10.0.7")


def test_mac_as_docker_derives_it():
    assert mac_for("172.17.0.2") == "02:42:ac:11:00:02"
    assert mac_for("172.31.0.2") == "02:42:ac:1f:00:02"


def test_names_fit_the_kernels_limit():
    assert len(host_veth_name("a" * 64, "b" * 64)) <= 15
    assert host_veth_name("a" * 64, "b" * 64) != host_veth_name("a" * 64, "c" * 64)
    assert default_bridge_name("/var/lib/hakobune") == "hk0"
    assert len(default_bridge_name("/tmp/x")) <= 15
    assert nftables.table_name("/var/lib/hakobune") == "hakobune"
    assert nftables.table_name("/tmp/x").startswith("hakobune_")


def test_rfc3339nano_drops_trailing_zeros():
    assert rfc3339nano(1_700_000_000_123_000_000) == "2023-11-14T22:13:20.123Z"
    assert rfc3339nano(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z"


def test_assign_refuses_a_taken_port_and_picks_free_ones(monkeypatch):
    monkeypatch.setattr(ports, "host_port_free", lambda proto, ip, port: True)
    existing = [{"proto": "tcp", "host_ip": "", "host_port": 8080}]
    with pytest.raises(Conflict, match="Bind for 0.0.0.0:8080 failed: port is already allocated"):
        ports.assign([{"proto": "tcp", "host_port": 8080, "container_port": 80}], existing)
    with pytest.raises(Conflict):
        ports.assign([{"proto": "tcp", "host_ip": "127.0.0.1", "host_port": 8080, "container_port": 80}], existing)
    udp = ports.assign([{"proto": "udp", "host_port": 8080, "container_port": 80}], existing)
    assert udp[0]["host_port"] == 8080
    low, high = ports.ephemeral_range()
    picked = ports.assign([{"proto": "tcp", "container_port": 80}, {"proto": "tcp", "container_port": 81}], existing)
    assert all(low <= m["host_port"] <= high for m in picked)
    assert picked[0]["host_port"] != picked[1]["host_port"]


def test_ruleset_isolates_nats_and_publishes():
    text = nftables.ruleset("hakobune_t", [
        {"name": "hka", "subnet": "10.1.0.0/24", "internal": False},
        {"name": "hkb", "subnet": "10.2.0.0/24", "internal": True},
    ], [{"proto": "tcp", "host_ip": "", "host_port": 8080, "container_ip": "10.1.0.2", "container_port": 80},
        {"proto": "udp", "host_ip": "127.0.0.1", "host_port": 53, "container_ip": "10.1.0.3", "container_port": 53}])
    assert text.startswith("table ip hakobune_t {}\ndelete table ip hakobune_t\n")
    assert 'iifname "hka" oifname "hka" accept' in text
    assert 'iifname { "hka", "hkb" } oifname { "hka", "hkb" } drop' in text
    assert 'ip saddr 10.1.0.0/24 oifname != "hka" masquerade' in text
    assert "10.2.0.0/24" not in text
    assert 'iifname "hkb" drop' in text and 'oifname "hkb" drop' in text
    assert "tcp dport 8080 dnat to 10.1.0.2:80" in text
    assert "ip daddr 127.0.0.1 udp dport 53 dnat to 10.1.0.3:53" in text
    assert text.index('iifname "hka" oifname "hka" accept') < text.index('oifname { "hka", "hkb" } drop')


# --- IPv6, MAC addresses, hosts edits, two roots ---------------------------------------------------------

def test_ipv6_subnets_addresses_and_an_automatic_unique_local_pool(tmp_path):
    subnet = ipam.parse_subnet("fd00:1::/64")
    assert subnet == ipaddress.IPv6Network("fd00:1::/64")
    with pytest.raises(InvalidArgument, match="Invalid Address/Mask"):
        ipam.parse_subnet("fd00:1::5/64")
    assert ipam.allocate(subnet, None, "fd00:1::1", set()) == "fd00:1::2"
    assert ipam.allocate(subnet, None, "fd00:1::1", {"fd00:1::2"}) == "fd00:1::3"
    assert ipam.allocate(subnet, None, "fd00:1::1", set(), "fd00:1::0:99") == "fd00:1::99"
    with pytest.raises(Conflict):
        ipam.allocate(subnet, None, "fd00:1::1", {"fd00:1::99"}, "fd00:1::99")
    picked = ipam.pick_subnet6("some-network-id", [], routes=[])
    assert picked.prefixlen == 64 and picked.subnet_of(ipaddress.IPv6Network("fd00::/8"))
    assert ipam.pick_subnet6("some-network-id", [], routes=[]) == picked       # derived from the id
    assert ipam.pick_subnet6("some-network-id", [picked], routes=[]) != picked  # the next when taken
    routes = tmp_path / "ipv6_route"
    routes.write_text("fd000000000000000000000000000000 40 00000000000000000000000000000000 00 "
                      "00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n"
                      "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
                      "fd000000000000000000000000000001 00000400 00000001 00000000 00000003 eth0\n"
                      "fe800000000000000000000000000000 40 00000000000000000000000000000000 00 "
                      "00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n")
    assert ipam.host_routes6(str(routes)) == [ipaddress.IPv6Network("fd00::/64")]


def test_ruleset_adds_an_ip6_table_only_with_ipv6():
    bridges = [{"name": "hk-a", "subnet": "10.1.0.0/16", "internal": False, "subnet6": "fd00:1::/64"}]
    ports_ = [{"proto": "tcp", "host_ip": "", "host_port": 8080, "container_ip": "10.1.0.2",
               "container_ip6": "fd00:1::2", "container_port": 80, "bridge": "hk-a"},
              {"proto": "tcp", "host_ip": "127.0.0.1", "host_port": 8081, "container_ip": "10.1.0.2",
               "container_ip6": "fd00:1::2", "container_port": 81, "bridge": "hk-a"}]
    text = nftables.ruleset("hakobune_t", bridges, ports_)
    v4, _, v6 = text.partition("table ip6 hakobune_t {\n")
    assert "dnat to 10.1.0.2:80" in v4 and "fd00" not in v4
    assert 'ip6 saddr fd00:1::/64 oifname != "hk-a" masquerade' in v6
    assert "tcp dport 8080 dnat to [fd00:1::2]:80" in v6
    assert "8081" not in v6  # published on an IPv4 address only
    plain = nftables.ruleset("hakobune_t", [dict(bridges[0], subnet6=None)], [])
    assert "table ip6 hakobune_t {}\ndelete table ip6 hakobune_t\n" in plain and "ip6 saddr" not in plain


def test_user_mac_addresses_are_checked_and_normalized():
    from hakobune.network.bridge import normalize_mac

    assert normalize_mac("02:AA:bb:cc:dd:01") == "02:aa:bb:cc:dd:01"
    assert normalize_mac("02-aa-bb-cc-dd-01") == "02:aa:bb:cc:dd:01"
    for bad in ("02:11:22", "zz:11:22:33:44:55", "0211:22:33:44:55"):
        with pytest.raises(ValueError, match="is not a valid mac address"):
            normalize_mac(bad)


def test_hosts_entries_of_a_connected_network_come_and_go():
    from hakobune.network import hosts

    text = "127.0.0.1\tlocalhost\n10.9.9.9\tweb\n172.17.0.2\tweb\n"
    added = hosts.add_entries(text, ["172.18.0.2", "fd00::2"], "web")
    assert added == text + "172.18.0.2\tweb\nfd00::2\tweb\n"
    assert hosts.add_entries(added, ["172.18.0.2"], "web") == added
    assert hosts.remove_entries(added, ["172.18.0.2", "fd00::2"], "web") == text
    assert hosts.remove_entries(text, ["10.9.9.9"], "other") == text  # an --add-host line stays


def test_each_root_has_its_own_table_and_default_bridge():
    roots = ["/var/lib/hakobune", "/tmp/a/root", "/tmp/b/root"]
    tables = [nftables.table_name(root) for root in roots]
    bridges = [default_bridge_name(root) for root in roots]
    assert tables[0] == "hakobune" and bridges[0] == "hk0"
    assert len(set(tables)) == 3 and len(set(bridges)) == 3
