"""The embedded DNS server (hakobune.network.dns) in real network namespaces:
queries sent from inside a netns to 127.0.0.11, names scoped to the
querier's networks, forwarding to a stub upstream the test runs on
127.0.0.1 (the host's real resolvers are never contacted: every server
here is given explicit upstreams or an empty resolv.conf), SERVFAIL without
upstreams, truncation and TCP, cleanup of dead namespaces, restart after
the server is killed."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import pytest

from hakobune.network import dns, dns_table
from hakobune.network import dns_wire as W

pytestmark = pytest.mark.root

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUTSIDE_NAME = "outside.hakobune-test"
OUTSIDE_ADDRESS = "192.0.2.77"

# Runs inside a netns: sends each query to 127.0.0.11 and prints the replies.
CLIENT = r"""
import json, socket, sys
sys.path.insert(0, sys.argv[1])
from hakobune.network import dns_wire as W
results = []
for spec in json.loads(sys.argv[2]):
    name, qtype, transport = spec
    query = W.Message(0x4242, W.FLAG_RD, [W.Question(name, qtype)])
    raw = W.encode(query)
    try:
        if transport.startswith("udp"):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
            if ":" in transport:  # a fixed source port
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", int(transport.split(":")[1])))
            s.sendto(raw, ("127.0.0.11", 53)); data = s.recv(65535)
        else:
            s = socket.create_connection(("127.0.0.11", 53), timeout=5)
            s.sendall(len(raw).to_bytes(2, "big") + raw)
            head = b""
            while len(head) < 2: head += s.recv(2 - len(head))
            n = int.from_bytes(head, "big"); data = b""
            while len(data) < n: data += s.recv(n - len(data))
        s.close()
        reply = W.parse(data)
        results.append({"rcode": reply.rcode, "tc": reply.truncated, "aa": bool(reply.flags & W.FLAG_AA),
                        "id": reply.id, "answers": [[r.rtype, r.data] for r in reply.answers]})
    except OSError as e:
        results.append({"error": str(e)})
print(json.dumps(results))
"""


def query_from(netns_path: str, *specs) -> list[dict]:
    """Each spec is (name, qtype) or (name, qtype, "udp"|"tcp")."""
    specs = [list(spec) + ["udp"] if len(spec) == 2 else list(spec) for spec in specs]
    result = subprocess.run(["nsenter", f"--net={netns_path}", sys.executable, "-I", "-S", "-c", CLIENT, REPO,
                             json.dumps(specs)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def addresses(reply: dict) -> list[str]:
    assert reply.get("rcode") == W.RCODE_NOERROR, reply
    return sorted(data for rtype, data in reply["answers"] if rtype in (W.TYPE_A, W.TYPE_AAAA))


class StubUpstream:
    """A resolver on 127.0.0.1 (random port, UDP and TCP): OUTSIDE_NAME is
    OUTSIDE_ADDRESS, everything else NXDOMAIN; it records what it was asked."""

    def __init__(self, netns_path: str | None = None):
        if netns_path is None:
            self._bind()
        else:  # sockets made inside that netns stay there
            from hakobune.network.dns_server import in_netns

            in_netns(netns_path, dns_table.netns_id(netns_path), self._bind)
        self.asked: list[tuple[str, str]] = []
        self.stopping = False
        self.threads = [threading.Thread(target=self._serve_udp, daemon=True),
                        threading.Thread(target=self._serve_tcp, daemon=True)]
        for thread in self.threads:
            thread.start()

    def _bind(self):
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.port = self.udp.getsockname()[1]
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(8)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _answer(self, raw: bytes) -> bytes:
        query = W.parse(raw)
        question = query.questions[0]
        if question.name.lower() == OUTSIDE_NAME:
            reply = W.reply_to(query)  # NODATA for other types
            if question.qtype == W.TYPE_A:
                reply.answers.append(W.Record(question.name, W.TYPE_A, OUTSIDE_ADDRESS, 30))
        else:
            reply = W.reply_to(query, W.RCODE_NXDOMAIN)
        return W.encode(reply)

    def _serve_udp(self):
        while not self.stopping:
            try:
                raw, peer = self.udp.recvfrom(65535)
            except OSError:
                return
            if self.stopping or len(raw) < 12:
                continue
            self.asked.append(("udp", W.parse(raw).questions[0].name))
            self.udp.sendto(self._answer(raw), peer)

    def _serve_tcp(self):
        while not self.stopping:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                length = int.from_bytes(conn.recv(2), "big")
                raw = b""
                while len(raw) < length:
                    raw += conn.recv(length - len(raw))
                self.asked.append(("tcp", W.parse(raw).questions[0].name))
                reply = self._answer(raw)
                conn.sendall(len(reply).to_bytes(2, "big") + reply)

    def close(self):
        self.stopping = True
        for sock in (self.udp, self.tcp):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        for thread in self.threads:
            thread.join(timeout=5)


class Namespaces:
    """Named network namespaces (`ip netns add hk-dns-test-…`) with lo up;
    every one is deleted on cleanup."""

    def __init__(self):
        self.names: list[str] = []

    def add(self) -> str:
        name = f"hk-dns-test-{uuid.uuid4().hex[:10]}"
        subprocess.run(["ip", "netns", "add", name], check=True)
        self.names.append(name)
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        return f"/run/netns/{name}"

    def delete(self, path: str) -> None:
        name = os.path.basename(path)
        subprocess.run(["ip", "netns", "del", name], check=False)
        self.names.remove(name)

    def cleanup(self):
        for name in list(self.names):
            subprocess.run(["ip", "netns", "del", name], check=False)
        self.names.clear()


def server_pid(state_dir: str) -> int | None:
    try:
        with open(os.path.join(state_dir, "dns.pid")) as f:
            return int(f.read())
    except (FileNotFoundError, ValueError):
        return None


def is_our_server(pid: int, state_dir: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except FileNotFoundError:
        return False
    return state_dir.encode() in argv and any(b"dns_server" in arg for arg in argv)


def wait_until(predicate, timeout=10.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


@pytest.fixture
def upstream():
    stub = StubUpstream()
    yield stub
    stub.close()


@pytest.fixture
def netns():
    namespaces = Namespaces()
    yield namespaces
    namespaces.cleanup()


@pytest.fixture
def state_dir():
    path = tempfile.mkdtemp(prefix="hakobune-test-dns-", dir="/run")
    yield path
    try:
        dns.stop(path, timeout=5)
    except Exception:
        pass
    pid = server_pid(path)
    if pid and is_our_server(pid, path):
        os.kill(pid, signal.SIGKILL)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(params=["dnat", "direct"])
def mode(request):
    return request.param


def config_for(upstream: StubUpstream | None, **extra) -> dict:
    config = {"upstreams": [upstream.address] if upstream else [], "upstream_timeout": 1.0, "idle_exit": 0.5,
              "gc_interval": 0.2}
    config.update(extra)
    return config


def test_names_resolve_only_on_the_queriers_networks(state_dir, netns, upstream, mode):
    a, b, c = netns.add(), netns.add(), netns.add()
    config = config_for(upstream, listen_mode=mode)
    dns.register(state_dir, a, "a" * 64, "net1", ["alpha", "web-alias"], "10.89.0.2", network_name="front",
                 config=config)
    dns.register(state_dir, b, "b" * 64, "net1", ["Beta", "bbbbbbbbbbbb"], "10.89.0.3", ipv6="fd00:89::3",
                 network_name="front", config=config)
    dns.register(state_dir, c, "c" * 64, "net2", ["gamma"], "10.90.0.2", network_name="back", config=config)

    replies = query_from(a, ("beta", W.TYPE_A), ("BETA.", W.TYPE_A), ("web-alias", W.TYPE_A),
                         ("bbbbbbbbbbbb", W.TYPE_A), ("beta.front", W.TYPE_A), ("beta", W.TYPE_AAAA),
                         ("alpha", W.TYPE_AAAA), ("3.0.89.10.in-addr.arpa", W.TYPE_PTR), ("gamma", W.TYPE_A),
                         ("beta", W.TYPE_MX))
    assert addresses(replies[0]) == ["10.89.0.3"]
    assert replies[0]["aa"] and replies[0]["id"] == 0x4242
    assert addresses(replies[1]) == ["10.89.0.3"]
    assert addresses(replies[2]) == ["10.89.0.2"]
    assert addresses(replies[3]) == ["10.89.0.3"]
    assert addresses(replies[4]) == ["10.89.0.3"]
    assert addresses(replies[5]) == ["fd00:89::3"]
    assert replies[6] == {"rcode": 0, "tc": False, "aa": True, "id": 0x4242, "answers": []}  # NODATA
    assert replies[7]["answers"] == [[W.TYPE_PTR, "beta.front"]]
    # gamma is on another network: not answered locally, the upstream says NXDOMAIN.
    assert replies[8]["rcode"] == W.RCODE_NXDOMAIN and replies[8]["answers"] == []
    assert replies[9]["rcode"] == W.RCODE_NOERROR and replies[9]["answers"] == []

    replies = query_from(c, ("alpha", W.TYPE_A), ("beta", W.TYPE_A), ("gamma", W.TYPE_A),
                         ("2.0.89.10.in-addr.arpa", W.TYPE_PTR))
    assert [r["rcode"] for r in replies[:2]] == [W.RCODE_NXDOMAIN, W.RCODE_NXDOMAIN]
    assert addresses(replies[2]) == ["10.90.0.2"]
    assert replies[3]["rcode"] == W.RCODE_NXDOMAIN
    # Only a's query for gamma went upstream; c's was answered locally.
    assert upstream.asked.count(("udp", "gamma")) == 1 and ("udp", "alpha") in upstream.asked


def test_a_container_on_two_networks_sees_both(state_dir, netns, upstream):
    a, b, c = netns.add(), netns.add(), netns.add()
    config = config_for(upstream)
    dns.register(state_dir, a, "a" * 64, "net1", ["alpha"], "10.89.0.2", config=config)
    dns.register(state_dir, a, "a" * 64, "net2", ["alpha"], "10.90.0.2", config=config)
    dns.register(state_dir, b, "b" * 64, "net1", ["beta"], "10.89.0.3", config=config)
    dns.register(state_dir, c, "c" * 64, "net2", ["gamma"], "10.90.0.3", config=config)
    replies = query_from(a, ("beta", W.TYPE_A), ("gamma", W.TYPE_A))
    assert addresses(replies[0]) == ["10.89.0.3"] and addresses(replies[1]) == ["10.90.0.3"]
    # Each peer sees a's address on the network they share.
    assert addresses(query_from(b, ("alpha", W.TYPE_A))[0]) == ["10.89.0.2"]
    assert addresses(query_from(c, ("alpha", W.TYPE_A))[0]) == ["10.90.0.2"]
    # Disconnect a from net2: c no longer sees it, b still does.
    dns.unregister(state_dir, "a" * 64, "net2")
    assert query_from(c, ("alpha", W.TYPE_A))[0]["rcode"] == W.RCODE_NXDOMAIN
    assert addresses(query_from(b, ("alpha", W.TYPE_A))[0]) == ["10.89.0.2"]


def test_other_names_are_forwarded_over_udp_and_tcp(state_dir, netns, upstream, mode):
    a = netns.add()
    dns.register(state_dir, a, "a" * 64, "net1", ["alpha"], "10.89.0.2",
                 config=config_for(upstream, listen_mode=mode))
    replies = query_from(a, (OUTSIDE_NAME, W.TYPE_A, "udp"), (OUTSIDE_NAME, W.TYPE_A, "tcp"),
                         ("alpha", W.TYPE_A, "tcp"))
    assert addresses(replies[0]) == [OUTSIDE_ADDRESS] and not replies[0]["aa"]
    assert addresses(replies[1]) == [OUTSIDE_ADDRESS]
    assert addresses(replies[2]) == ["10.89.0.2"]
    assert ("udp", OUTSIDE_NAME) in upstream.asked and ("tcp", OUTSIDE_NAME) in upstream.asked


def test_busybox_nslookup_resolves_through_the_server(state_dir, netns, upstream):
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip("busybox is not installed on the host")
    a, b = netns.add(), netns.add()
    config = config_for(upstream)
    dns.register(state_dir, a, "a" * 64, "net1", ["alpha"], "10.89.0.2", config=config)
    dns.register(state_dir, b, "b" * 64, "net1", ["beta"], "10.89.0.3", config=config)
    result = subprocess.run(["nsenter", f"--net={a}", busybox, "nslookup", "beta", "127.0.0.11"],
                            capture_output=True, text=True, timeout=30)
    assert "10.89.0.3" in result.stdout, result.stdout + result.stderr
    result = subprocess.run(["nsenter", f"--net={a}", busybox, "nslookup", OUTSIDE_NAME, "127.0.0.11"],
                            capture_output=True, text=True, timeout=30)
    assert OUTSIDE_ADDRESS in result.stdout, result.stdout + result.stderr


def test_no_usable_upstream_is_servfail_and_logged(state_dir, netns):
    empty_resolv_conf = os.path.join(state_dir, "host-resolv.conf")
    with open(empty_resolv_conf, "w") as f:
        f.write("# nothing here\nsearch example.invalid\n")
    a = netns.add()
    config = config_for(None, upstreams=None, host_resolv_conf=empty_resolv_conf,
                        resolved_resolv_conf=os.path.join(state_dir, "absent"))
    dns.register(state_dir, a, "a" * 64, "net1", ["alpha"], "10.89.0.2", config=config)
    replies = query_from(a, (OUTSIDE_NAME, W.TYPE_A), ("alpha", W.TYPE_A))
    assert replies[0]["rcode"] == W.RCODE_SERVFAIL
    assert addresses(replies[1]) == ["10.89.0.2"]
    status = dns.status(state_dir)
    assert status["upstreams"]["servers"] == []
    assert "lists no nameserver" in status["upstreams"]["reason"]
    with open(os.path.join(state_dir, "dns.log")) as f:
        log = f.read()
    assert "no usable upstream resolver" in log and "lists no nameserver" in log


def test_internal_only_container_is_not_forwarded(state_dir, netns, upstream):
    a = netns.add()
    dns.register(state_dir, a, "a" * 64, "inet", ["alpha"], "10.91.0.2", internal=True,
                 config=config_for(upstream))
    replies = query_from(a, (OUTSIDE_NAME, W.TYPE_A), ("alpha", W.TYPE_A))
    assert replies[0]["rcode"] == W.RCODE_REFUSED
    assert addresses(replies[1]) == ["10.91.0.2"]
    assert upstream.asked == []


def test_container_dns_servers_are_asked_from_its_netns(state_dir, netns, upstream):
    a = netns.add()
    # A resolver on the container's own loopback (as a sidecar would run);
    # the server's host-side list is empty, and the host-side stub has the
    # same address only by chance of ports: it must not be asked.
    inside = StubUpstream(netns_path=a)
    try:
        dns.register(state_dir, a, "a" * 64, "net1", ["alpha"], "10.89.0.2",
                     upstreams=[inside.address], config=config_for(None))
        replies = query_from(a, (OUTSIDE_NAME, W.TYPE_A), (OUTSIDE_NAME, W.TYPE_A, "tcp"))
        assert addresses(replies[0]) == [OUTSIDE_ADDRESS] and addresses(replies[1]) == [OUTSIDE_ADDRESS]
        assert inside.asked == [("udp", OUTSIDE_NAME), ("tcp", OUTSIDE_NAME)]
        assert upstream.asked == []
    finally:
        inside.close()


def test_large_answer_is_truncated_over_udp_and_whole_over_tcp(state_dir, netns, upstream, mode):
    a = netns.add()
    config = config_for(upstream, listen_mode=mode)
    dns.register(state_dir, a, "a" * 64, "net1", ["alpha"], "10.89.0.2", config=config)
    # 60 replicas answering one service alias (as compose's scale does).
    for index in range(60):
        dns_table.add_endpoint(state_dir, dns_table.make_endpoint(
            a, f"replica{index:02d}", "net1", ["svc"], f"10.89.1.{index + 1}"))
    replies = query_from(a, ("svc", W.TYPE_A, "udp"), ("svc", W.TYPE_A, "tcp"))
    assert replies[0]["tc"] and replies[0]["answers"] == []
    assert not replies[1]["tc"] and len(addresses(replies[1])) == 60


def test_dead_namespaces_are_dropped_and_the_server_exits_when_unused(state_dir, netns, upstream):
    a, b = netns.add(), netns.add()
    config = config_for(upstream)
    dns.register(state_dir, a, "a" * 64, "net1", ["alpha"], "10.89.0.2", config=config)
    dns.register(state_dir, b, "b" * 64, "net1", ["beta"], "10.89.0.3", config=config)
    pid = server_pid(state_dir)
    assert pid and is_our_server(pid, state_dir)
    netns.delete(b)  # as a container killed without cleanup
    assert wait_until(lambda: [e["container_id"][0] for e in dns_table.read_endpoints(state_dir)] == ["a"])
    assert query_from(a, ("beta", W.TYPE_A))[0]["rcode"] == W.RCODE_NXDOMAIN
    assert dns.status(state_dir)["listening"] == 1
    dns.unregister(state_dir, "a" * 64)
    assert wait_until(lambda: not os.path.exists(f"/proc/{pid}"))
    assert not os.path.exists(os.path.join(state_dir, "dns.sock"))
    assert dns.status(state_dir) is None


def test_a_killed_server_is_replaced_and_listens_again(state_dir, netns, upstream):
    a, b = netns.add(), netns.add()
    config = config_for(upstream)
    dns.register(state_dir, a, "a" * 64, "net1", ["alpha"], "10.89.0.2", config=config)
    # A client that always uses one source port (a conntrack entry outlives the server).
    assert addresses(query_from(a, ("alpha", W.TYPE_A, "udp:5353"))[0]) == ["10.89.0.2"]
    first = server_pid(state_dir)
    os.kill(first, signal.SIGKILL)
    assert wait_until(lambda: not os.path.exists(f"/proc/{first}"))
    assert "error" in query_from(a, ("alpha", W.TYPE_A))[0]  # nobody answers
    # The next registration starts a new server, which serves every live netns.
    dns.register(state_dir, b, "b" * 64, "net1", ["beta"], "10.89.0.3", config=config)
    second = server_pid(state_dir)
    assert second != first and is_our_server(second, state_dir)
    assert addresses(query_from(a, ("beta", W.TYPE_A))[0]) == ["10.89.0.3"]
    assert addresses(query_from(a, ("beta", W.TYPE_A, "udp:5353"))[0]) == ["10.89.0.3"]


def test_prune_without_a_server_drops_dead_namespaces(state_dir, netns, upstream):
    a, b = netns.add(), netns.add()
    config = config_for(upstream)
    dns.register(state_dir, a, "a" * 64, "net1", ["alpha"], "10.89.0.2", config=config)
    dns.register(state_dir, b, "b" * 64, "net1", ["beta"], "10.89.0.3", config=config)
    pid = server_pid(state_dir)
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: not os.path.exists(f"/proc/{pid}"))
    netns.delete(b)
    assert [e["container_id"] for e in dns.prune(state_dir)] == ["b" * 64]
    assert [e["container_id"] for e in dns_table.read_endpoints(state_dir)] == ["a" * 64]
    assert dns.status(state_dir) is None  # prune never starts a server
    dns.ensure_running(state_dir, config)
    assert addresses(query_from(a, ("alpha", W.TYPE_A))[0]) == ["10.89.0.2"]


def test_concurrent_registrations_start_one_server(state_dir, netns, upstream):
    paths = [netns.add() for _ in range(4)]
    config = config_for(upstream)
    errors = []

    def register(index):
        try:
            dns.register(state_dir, paths[index], f"c{index}" * 32, "net1", [f"n{index}"], f"10.89.0.{index + 2}",
                         config=config)
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(dns_table.read_endpoints(state_dir)) == 4
    replies = query_from(paths[0], *[(f"n{i}", W.TYPE_A) for i in range(4)])
    assert [addresses(r) for r in replies] == [[f"10.89.0.{i + 2}"] for i in range(4)]
    pids = [int(p) for p in os.listdir("/proc") if p.isdigit() and is_our_server(int(p), state_dir)]
    assert len(pids) == 1


HOLDER = r"""
import socket, time
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(("0.0.0.0", 53))
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM); tcp.bind(("0.0.0.0", 53)); tcp.listen(1)
print("ok", flush=True)
udp.settimeout(60)
data, peer = udp.recvfrom(512)
udp.sendto(b"holder:" + data, peer)
time.sleep(60)
"""


def start_holder(netns_path: str) -> subprocess.Popen:
    """A process in the netns with its own DNS-like server on 0.0.0.0:53."""
    holder = subprocess.Popen(["nsenter", f"--net={netns_path}", sys.executable, "-I", "-S", "-c", HOLDER],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = holder.stdout.readline().strip()
    if line != "ok":
        holder.kill()
        holder.wait()
        pytest.fail(f"holder did not start: {line} {holder.stderr.read()}")
    return holder


def test_direct_mode_fails_clearly_when_the_port_is_taken(state_dir, netns, upstream):
    a = netns.add()
    holder = start_holder(a)
    try:
        from hakobune.errors import SystemFailure

        with pytest.raises(SystemFailure, match="Address already in use"):
            dns.register(state_dir, a, "a" * 64, "net1", ["alpha"], "10.89.0.2",
                         config=config_for(upstream, listen_mode="direct"))
        assert dns_table.read_endpoints(state_dir) == []  # nothing half-registered
    finally:
        holder.kill()
        holder.wait()


def test_dnat_mode_leaves_port_53_to_the_container(state_dir, netns, upstream):
    a = netns.add()
    holder = start_holder(a)
    try:
        dns.register(state_dir, a, "a" * 64, "net1", ["alpha"], "10.89.0.2", config=config_for(upstream))
        assert addresses(query_from(a, ("alpha", W.TYPE_A))[0]) == ["10.89.0.2"]
        probe = ("import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5); "
                 "s.sendto(b'ping', ('127.0.0.1', 53)); print(s.recv(100).decode())")
        result = subprocess.run(["nsenter", f"--net={a}", sys.executable, "-I", "-S", "-c", probe],
                                capture_output=True, text=True, timeout=30)
        assert result.stdout.strip() == "holder:ping", result.stderr
    finally:
        holder.kill()
        holder.wait()


def nft_tables(netns_path: str) -> str:
    return subprocess.run(["nsenter", f"--net={netns_path}", "nft", "list", "tables"], capture_output=True,
                          text=True, check=True).stdout


def test_the_redirect_goes_when_the_last_endpoint_of_a_live_netns_does(state_dir, netns, upstream):
    a = netns.add()
    config = config_for(upstream)
    dns.register(state_dir, a, "a" * 64, "net1", ["alpha"], "10.89.0.2", config=config)
    dns.register(state_dir, a, "a" * 64, "net2", ["alpha"], "10.90.0.2", config=config)
    assert "hakobune_dns" in nft_tables(a)
    dns.unregister(state_dir, "a" * 64, "net1")
    assert "hakobune_dns" in nft_tables(a)
    dns.unregister(state_dir, "a" * 64, "net2")
    assert "hakobune_dns" not in nft_tables(a)
    assert "error" in query_from(a, ("alpha", W.TYPE_A))[0]


def test_a_busybox_container_resolves_through_its_resolv_conf(state_dir, netns, upstream, make_bundle, runtime):
    """A real container (hakobune-runtime, busybox) in a registered netns,
    with the resolv.conf and hosts files written as for a user network."""
    from hakobune.network import hosts, resolvconf

    a, b = netns.add(), netns.add()
    config = config_for(upstream)
    dns.register(state_dir, a, "a" * 64, "net1", ["alpha"], "10.89.0.2", network_name="front", config=config)
    dns.register(state_dir, b, "b" * 64, "net1", ["beta", "db"], "10.89.0.3", network_name="front", config=config)
    bundle = make_bundle(["sh", "-c", f"nslookup beta; nslookup db.front; nslookup {OUTSIDE_NAME}; "
                                      f"nslookup gamma; cat /etc/resolv.conf /etc/hosts"])
    with open(os.path.join(bundle.rootfs, "etc/resolv.conf"), "w") as f:
        f.write(resolvconf.container_resolv_conf(
            "user", upstreams=resolvconf.Upstreams([upstream.address], "test", "the test's stub")))
    with open(os.path.join(bundle.rootfs, "etc/hosts"), "w") as f:
        f.write(hosts.container_hosts("aaaaaaaaaaaa", ["10.89.0.2"], [("gw", "host-gateway")],
                                      host_gateway=["10.89.0.1"]))
    for namespace in bundle.config["linux"]["namespaces"]:
        if namespace["type"] == "network":
            namespace["path"] = a
    result = runtime.run_bundle(bundle, "dns-c1", check=False, timeout=120)
    out = result.stdout
    assert "Address: 10.89.0.3" in out.split("db.front")[0], out + result.stderr
    assert out.count("Address: 10.89.0.3") == 2, out
    assert f"Address: {OUTSIDE_ADDRESS}" in out, out
    assert "can't find gamma" in out or "NXDOMAIN" in out, out
    assert "nameserver 127.0.0.11\noptions ndots:0\n" in out
    assert "10.89.0.1\tgw\n10.89.0.2\taaaaaaaaaaaa\n" in out


def test_the_nft_command_fallback_redirects_port_53(netns):
    """When libnftables cannot be loaded, `nft -f -` applies the same rules."""
    import select

    from hakobune.network import dns_server

    nft = shutil.which("nft")
    if nft is None:
        pytest.skip("nft is not installed")
    a = netns.add()
    udp, tcp = dns_server.open_listeners(a, dns_table.netns_id(a), "127.0.0.11", 53, dns_server.NftCommand(nft))
    try:
        assert "hakobune_dns" in nft_tables(a)
        assert udp.getsockname()[1] != 53
        sender = ("import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                  "s.sendto(b'hello', ('127.0.0.11', 53))")
        subprocess.run(["nsenter", f"--net={a}", sys.executable, "-I", "-S", "-c", sender], check=True, timeout=30)
        assert select.select([udp], [], [], 5)[0]
        assert udp.recvfrom(100)[0] == b"hello"
        dns_server.remove_redirect(a, dns_table.netns_id(a), dns_server.NftCommand(nft))
        assert "hakobune_dns" not in nft_tables(a)
    finally:
        udp.close()
        tcp.close()
