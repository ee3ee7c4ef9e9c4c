"""The embedded DNS server's names table (hakobune.network.dns_table) and
its local answers (dns_server.Answerer): scoping by the querier's netns,
name.network, PTR, NODATA, --internal, and the file's read-modify-write.
Plain files stand in for netns files: the table only stats them."""

import os

import pytest
from hypothesis import given, settings, strategies as st

from hakobune.network import dns_server, dns_table
from hakobune.network import dns_wire as W


@pytest.fixture
def netns_files(tmp_path):
    def make(name):
        path = tmp_path / f"ns-{name}"
        path.write_text("")
        return str(path)

    return make


def endpoint(path, container, network, names, ipv4, **options):
    return dns_table.make_endpoint(path, container, network, names, ipv4, **options)


def test_lookup_is_scoped_to_the_queriers_networks(netns_files):
    a, b, c = netns_files("a"), netns_files("b"), netns_files("c")
    table = dns_table.NamesTable([
        endpoint(a, "ca", "n1", ["alpha"], "10.0.1.2", network_name="front"),
        endpoint(b, "cb", "n1", ["Beta.", "beta-alias"], "10.0.1.3", network_name="front"),
        endpoint(c, "cc", "n2", ["gamma"], "10.0.2.2", network_name="back"),
    ])
    ns = {p: dns_table.netns_id(p) for p in (a, b, c)}
    assert [e["ipv4"] for e in table.lookup(ns[a], "BETA")] == ["10.0.1.3"]
    assert [e["ipv4"] for e in table.lookup(ns[a], "beta-alias.")] == ["10.0.1.3"]
    assert [e["ipv4"] for e in table.lookup(ns[a], "beta.front")] == ["10.0.1.3"]
    assert table.lookup(ns[a], "gamma") is None
    assert table.lookup(ns[a], "beta.back") is None
    assert table.lookup(ns[c], "alpha") is None
    assert table.lookup("0:0", "alpha") is None  # an unknown netns sees nothing
    assert table.reverse(ns[a], "10.0.1.3") == "beta.front"
    assert table.reverse(ns[c], "10.0.1.3") is None


def test_first_network_with_the_name_wins(netns_files):
    a, b, c = netns_files("a"), netns_files("b"), netns_files("c")
    table = dns_table.NamesTable([
        endpoint(a, "ca", "n1", ["alpha"], "10.0.1.2"),
        endpoint(a, "ca", "n2", ["alpha"], "10.0.2.2"),
        endpoint(b, "cb", "n1", ["db"], "10.0.1.3"),
        endpoint(c, "cc", "n2", ["db"], "10.0.2.3"),
        endpoint(c, "cd", "n2", ["db"], "10.0.2.4"),
    ])
    assert [e["ipv4"] for e in table.lookup(dns_table.netns_id(a), "db")] == ["10.0.1.3"]
    assert [e["ipv4"] for e in table.lookup(dns_table.netns_id(c), "db")] == ["10.0.2.3", "10.0.2.4"]


def test_forwarding_rules(netns_files):
    a, b = netns_files("a"), netns_files("b")
    table = dns_table.NamesTable([
        endpoint(a, "ca", "n1", ["alpha"], "10.0.1.2", internal=True),
        endpoint(b, "cb", "n1", ["beta"], "10.0.1.3", internal=True),
        endpoint(b, "cb", "n2", ["beta"], "10.0.2.3", upstreams=["10.9.9.9"]),
    ])
    assert table.forwarding(dns_table.netns_id(a)) == (False, None)
    assert table.forwarding(dns_table.netns_id(b)) == (True, ["10.9.9.9"])


def test_endpoint_needs_an_address(netns_files):
    with pytest.raises(ValueError):
        endpoint(netns_files("a"), "ca", "n1", ["alpha"], None)


def test_table_file_add_replace_remove(tmp_path, netns_files):
    state = str(tmp_path / "state")
    a, b = netns_files("a"), netns_files("b")
    dns_table.add_endpoint(state, endpoint(a, "ca", "n1", ["alpha"], "10.0.1.2"))
    dns_table.add_endpoint(state, endpoint(b, "cb", "n1", ["beta"], "10.0.1.3"))
    dns_table.add_endpoint(state, endpoint(a, "ca", "n1", ["alpha", "again"], "10.0.1.9"))
    endpoints = dns_table.read_endpoints(state)
    assert [(e["container_id"], e["ipv4"], e["names"]) for e in endpoints] == [
        ("cb", "10.0.1.3", ["beta"]), ("ca", "10.0.1.9", ["alpha", "again"])]
    assert not [n for n in os.listdir(state) if n.endswith(".tmp")]
    removed = dns_table.remove_endpoints(state, lambda e: e["container_id"] == "cb")
    assert [e["container_id"] for e in removed] == ["cb"]
    os.unlink(a)
    assert not dns_table.netns_alive(dns_table.read_endpoints(state)[0])
    assert dns_table.remove_endpoints(str(tmp_path / "absent"), lambda e: True) == []


def test_a_replaced_netns_file_is_not_alive(netns_files):
    a = netns_files("a")
    record = endpoint(a, "ca", "n1", ["alpha"], "10.0.1.2")
    assert dns_table.netns_alive(record)
    os.unlink(a)
    netns_files("other")
    os.rename(netns_files("fresh"), a)  # same path, another inode (a reused pid)
    assert not dns_table.netns_alive(record)


def answer(answerer, netns, name, qtype):
    query = W.Message(7, W.FLAG_RD, [W.Question(name, qtype)])
    return answerer.answer(netns, W.parse(W.encode(query)))


def test_answerer_builds_local_replies(tmp_path, netns_files):
    state = str(tmp_path / "state")
    a, b = netns_files("a"), netns_files("b")
    dns_table.add_endpoint(state, endpoint(a, "ca", "n1", ["alpha"], "10.0.1.2", network_name="front"))
    dns_table.add_endpoint(state, endpoint(b, "cb", "n1", ["beta"], "10.0.1.3", ipv6="fd00::3",
                                           network_name="front"))
    answerer = dns_server.Answerer(state)
    assert answerer.refresh() and not answerer.refresh()
    ns_a = dns_table.netns_id(a)
    reply = answer(answerer, ns_a, "beta", W.TYPE_A)
    assert reply.answers == [W.Record("beta", W.TYPE_A, "10.0.1.3", 600)]
    assert reply.flags & W.FLAG_AA and reply.id == 7
    assert answer(answerer, ns_a, "beta", W.TYPE_AAAA).answers == [W.Record("beta", W.TYPE_AAAA, "fd00::3", 600)]
    nodata = answer(answerer, ns_a, "alpha", W.TYPE_AAAA)
    assert nodata.rcode == W.RCODE_NOERROR and nodata.answers == []
    ptr = answer(answerer, ns_a, "3.1.0.10.in-addr.arpa", W.TYPE_PTR)
    assert ptr.answers == [W.Record("3.1.0.10.in-addr.arpa", W.TYPE_PTR, "beta.front", 600)]
    assert answer(answerer, ns_a, "example.com", W.TYPE_A) is None  # forwarded
    assert answer(answerer, ns_a, "9.1.0.10.in-addr.arpa", W.TYPE_PTR) is None
    # A change of the file is picked up by the next refresh.
    dns_table.remove_endpoints(state, lambda e: e["container_id"] == "cb")
    assert answerer.refresh()
    assert answer(answerer, ns_a, "beta", W.TYPE_A) is None


def test_answerer_refuses_other_opcodes_and_multiple_questions(tmp_path):
    answerer = dns_server.Answerer(str(tmp_path))
    notify = W.Message(1, 4 << 11, [W.Question("x", W.TYPE_A)])
    assert answerer.answer("0:0", notify).rcode == W.RCODE_NOTIMP
    double = W.Message(1, 0, [W.Question("x", W.TYPE_A), W.Question("y", W.TYPE_A)])
    assert answerer.answer("0:0", double).rcode == W.RCODE_FORMERR


@pytest.mark.parametrize("server, expected", [
    ("10.0.0.2", ("10.0.0.2", 53)), ("127.0.0.1:5353", ("127.0.0.1", 5353)), ("fd00::1", ("fd00::1", 53)),
    ("[fd00::1]:5353", ("fd00::1", 5353)), ("[fd00::1]", ("fd00::1", 53)),
])
def test_split_server(server, expected):
    assert dns_server.split_server(server, 53) == expected


def _endpoint_for(container: int, network: int, names, netns_of: dict) -> dict:
    return {"container_id": f"c{container}", "network_id": f"n{network}", "network_name": f"net{network}",
            "netns": f"/ns/{container}", "netns_id": netns_of[container], "names": names,
            "ipv4": f"10.{network}.0.{container + 2}", "ipv6": None, "internal": False, "upstreams": None}


attachments = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), st.lists(st.sampled_from(
    ["web", "db", "cache", "api"]), min_size=1, max_size=2, unique=True)), max_size=12, unique_by=lambda t: t[:2])


@settings(max_examples=200)
@given(attachments, st.integers(0, 5), st.sampled_from(["web", "db", "cache", "api", "web.net1", "db.net2"]))
def test_a_name_never_resolves_across_networks(attached, querier, name):
    netns_of = {c: f"0:{c}" for c in range(6)}
    table = dns_table.NamesTable([_endpoint_for(c, n, names, netns_of) for c, n, names in attached])
    own_networks = {f"n{n}" for c, n, _ in attached if c == querier}
    found = table.lookup(netns_of[querier], name)
    short, _, suffix = name.partition(".")
    expected = any(f"n{n}" in own_networks and short in names and (not suffix or suffix == f"net{n}")
                   for c, n, names in attached)
    assert (found is not None) == expected
    for endpoint in found or ():
        assert endpoint["network_id"] in own_networks and short in endpoint["names"]
        assert len({e["network_id"] for e in found}) == 1
