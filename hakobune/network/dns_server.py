"""The embedded DNS server process (see hakobune.network.dns for how it is
started and stopped, and what survives which failure).

One process per state directory.  Its main thread runs an epoll loop over:
the control socket, and per registered network namespace one UDP and one
TCP socket bound to 127.0.0.11 *inside* that namespace (a short-lived
thread enters the netns with setns(2), creates and binds them, adds the
nftables DNAT from port 53 in "dnat" mode, and exits: a socket stays in the
namespace it was created in).  Local answers come from the names table;
other names are forwarded by one worker thread per query (in the host's
netns for the host's upstreams, inside the container's for its --dns
servers).  Once a second the loop reloads the table when it changed, drops
endpoints whose namespace is gone, and exits when no endpoint has been left
for `idle_exit` seconds.
"""

import os
import socket
import sys
import threading
import time

from hakobune import _fastjson
from hakobune.network import dns_table as T
from hakobune.network import dns_wire as W
from hakobune.network import resolvconf
from hakobune.network.dns import CONTROL_SOCKET, PID_FILE, SERVER_LOCK

LOCAL_TTL = 600
IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)
CLONE_NEWNET = 0x40000000
MAX_FORWARDS = 100
MAX_TCP_CLIENTS = 256
MAX_TCP_CLIENTS_PER_NETNS = 16  # so that one container cannot starve the others
TCP_IDLE_TIMEOUT = 10.0

DEFAULTS = {
    "listen_address": resolvconf.EMBEDDED_RESOLVER,
    "listen_port": 53,
    "listen_mode": "dnat",                  # "dnat": nftables redirect to free ports; "direct": bind :53
    "upstreams": None,                      # None: discover from the host's files
    "upstream_port": 53,                    # for upstreams given without a port
    "host_resolv_conf": resolvconf.HOST_RESOLV_CONF,
    "resolved_resolv_conf": resolvconf.RESOLVED_RESOLV_CONF,
    "upstream_timeout": 2.0,                # per upstream and attempt
    "idle_exit": 5.0,                       # seconds without endpoints before exiting
    "gc_interval": 2.0,                     # seconds between checks for dead namespaces
}


def log(message: str) -> None:
    sys.stderr.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} dns[{os.getpid()}]: {message}\n")
    sys.stderr.flush()


def split_server(server: str, default_port: int) -> tuple[str, int]:
    """"1.2.3.4", "1.2.3.4:5353", "::1", "[::1]:5353" -> (address, port)."""
    if server.startswith("["):
        address, _, rest = server[1:].partition("]")
        return address, int(rest[1:]) if rest.startswith(":") else default_port
    if server.count(":") == 1:
        address, _, port = server.partition(":")
        return address, int(port)
    return server, default_port


# --- answering -------------------------------------------------------------------

class Answerer:
    """Builds local answers from the names table; says when to forward."""

    def __init__(self, state_dir: str):
        self.state_dir = state_dir
        self.table = T.NamesTable([])
        self.table_stamp = None
        self.generation = 0  # counts reloads, so the loop knows when to reconcile
        self.lock = threading.Lock()

    def refresh(self) -> bool:
        """Reload the table when its file changed (one stat); True if it did."""
        stamp = _stamp(os.path.join(self.state_dir, T.TABLE_FILE))
        if stamp == self.table_stamp:
            return False
        with self.lock:
            try:
                endpoints = T.read_endpoints(self.state_dir)
            except ValueError as e:
                log(f"names table unreadable, keeping the previous one: {e}")
                return False
            self.table = T.NamesTable(endpoints)
            self.table_stamp = stamp
            self.generation += 1
        return True

    def answer(self, netns: str, query: W.Message) -> W.Message | None:
        """The local response, or None when the query must be forwarded."""
        if query.opcode != W.OPCODE_QUERY:
            return W.reply_to(query, W.RCODE_NOTIMP)
        if len(query.questions) != 1:
            return W.reply_to(query, W.RCODE_FORMERR)
        question = query.questions[0]
        if question.qclass != W.CLASS_IN:
            return None
        table = self.table
        if question.qtype == W.TYPE_PTR:
            address = W.address_of_reverse_name(question.name)
            target = table.reverse(netns, address) if address else None
            if target is None:
                return None
            response = W.reply_to(query, authoritative=True)
            response.answers.append(W.Record(question.name, W.TYPE_PTR, target, LOCAL_TTL))
            return response
        endpoints = table.lookup(netns, question.name)
        if endpoints is None:
            return None
        response = W.reply_to(query, authoritative=True)
        field = {W.TYPE_A: "ipv4", W.TYPE_AAAA: "ipv6"}.get(question.qtype)
        if field:
            for endpoint in endpoints:
                if endpoint.get(field):
                    response.answers.append(W.Record(question.name, question.qtype, endpoint[field], LOCAL_TTL))
        # Any other type of a known name, or AAAA of an IPv4-only one: NODATA.
        return response


def local_reply_bytes(response: W.Message, query: W.Message, over_udp: bool) -> bytes:
    if query.opt() is not None:
        response.additionals.append(W.opt_record())
    data = W.encode(response)
    return W.truncate_for_udp(data, query.udp_limit()) if over_udp else data


# --- forwarding ------------------------------------------------------------------

def _matches(query: W.Message, data: bytes) -> bool:
    try:
        reply = W.parse(data)
    except W.WireError:
        return False
    return reply.id == query.id and reply.is_response and reply.questions == query.questions


def forward_udp(raw: bytes, query: W.Message, server: tuple[str, int], timeout: float) -> bytes | None:
    family = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.connect(server)
        sock.send(raw)
        deadline = time.monotonic() + timeout
        while True:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            data = sock.recv(65535)
            if _matches(query, data):
                return data
            if time.monotonic() >= deadline:
                raise TimeoutError("no matching reply")


def _recv_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("connection closed mid-message")
        data += chunk
    return data


def forward_tcp(raw: bytes, query: W.Message, server: tuple[str, int], timeout: float) -> bytes | None:
    family = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(server)
        sock.sendall(len(raw).to_bytes(2, "big") + raw)
        length = int.from_bytes(_recv_exactly(sock, 2), "big")
        data = _recv_exactly(sock, length)
        return data if _matches(query, data) else None


class Forwarder:
    def __init__(self, config: dict):
        self.config = config
        self.slots = threading.BoundedSemaphore(MAX_FORWARDS)
        self._host = None
        self._host_stamp = None
        self._logged: dict[str, float] = {}

    def host_upstreams(self) -> resolvconf.Upstreams:
        if self.config["upstreams"] is not None:
            return resolvconf.Upstreams(self.config["upstreams"], "configuration", "upstreams given to the server")
        stamp = tuple(_stamp(self.config[k]) for k in ("host_resolv_conf", "resolved_resolv_conf"))
        if stamp != self._host_stamp:
            self._host = resolvconf.host_upstreams(self.config["host_resolv_conf"],
                                                   self.config["resolved_resolv_conf"])
            self._host_stamp = stamp
            log(f"upstreams: {self._host.servers or 'none'} ({self._host.reason})")
        return self._host

    def say_once(self, message: str) -> None:
        now = time.monotonic()
        if now - self._logged.get(message, -1e9) > 60:
            self._logged[message] = now
            log(message)

    def resolve(self, raw: bytes, query: W.Message, own_upstreams, over_tcp: bool,
                netns: tuple[str, str] | None = None) -> bytes:
        """The upstream's reply to raw, or SERVFAIL (with the reason logged).
        The host's upstreams are asked from the host's netns; a container's
        own (--dns) servers from inside its netns (`netns`: path and id), as
        Docker does, so `--dns 127.0.0.1` means the container's loopback."""
        if own_upstreams:
            servers, why = own_upstreams, "the container's --dns servers"
        else:
            upstreams = self.host_upstreams()
            servers, why = upstreams.servers, upstreams.reason
        if not servers:
            self.say_once(f"SERVFAIL for {query.questions[0].name!r}: no usable upstream resolver: {why}")
            return W.encode(W.reply_to(query, W.RCODE_SERVFAIL))

        def ask_each():
            return self._ask(raw, query, servers, over_tcp)

        if own_upstreams and netns is not None:
            try:
                reply, failures = in_netns(netns[0], netns[1], ask_each)
            except OSError as e:
                reply, failures = None, [f"cannot enter {netns[0]}: {e}"]
        else:
            reply, failures = ask_each()
        if reply is not None:
            return reply
        self.say_once(f"SERVFAIL for {query.questions[0].name!r}: every upstream failed ({'; '.join(failures)})")
        return W.encode(W.reply_to(query, W.RCODE_SERVFAIL))

    def _ask(self, raw: bytes, query: W.Message, servers, over_tcp: bool) -> tuple[bytes | None, list[str]]:
        timeout = self.config["upstream_timeout"]
        failures = []
        for server in servers:
            try:
                address = split_server(server, self.config["upstream_port"])
                reply = (forward_tcp if over_tcp else forward_udp)(raw, query, address, timeout)
                if reply is not None:
                    return reply, failures
                failures.append(f"{server}: mismatched reply")
            except (OSError, ValueError) as e:
                failures.append(f"{server}: {e}")
        return None, failures


def _stamp(path: str):
    try:
        st = os.stat(path)
        return st.st_ino, st.st_mtime_ns, st.st_size
    except OSError:
        return None


# --- listening inside a netns -------------------------------------------------------

NFT_TABLE = "hakobune_dns"


def in_netns(netns_path: str, expected_id: str, work):
    """work() run by a thread inside the netns at netns_path (which must still
    be the namespace expected_id); its result, or its exception re-raised.
    The thread ends inside that netns: the calling thread never moves."""
    from hakobune import _sys

    result: dict = {}

    def enter_and_work():
        try:
            fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                st = os.fstat(fd)
                if f"{st.st_dev}:{st.st_ino}" != expected_id:
                    raise OSError(f"{netns_path} no longer leads to the namespace registered")
                _sys.setns(fd, CLONE_NEWNET)
            finally:
                os.close(fd)
            result["value"] = work()
        except BaseException as e:  # handed back to the caller
            result["error"] = e

    worker = threading.Thread(target=enter_and_work, name="dns-setns")
    worker.start()
    worker.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def preferred_port(netns: str) -> int:
    """The port the server first tries for a netns in "dnat" mode: derived
    from the netns's identity, so a restarted server binds the same port
    again and conntrack entries of flows already redirected still lead to
    it; in the ephemeral range, as Docker's random ports."""
    import zlib

    return 32768 + zlib.crc32(netns.encode()) % 28000


def _bind(sock: socket.socket, address: str, ports) -> None:
    for port in ports:
        try:
            sock.bind((address, port))
            return
        except OSError as e:
            if e.errno != 98 or port == ports[-1]:  # EADDRINUSE: try the next
                raise


def _bound_sockets(address: str, ports) -> tuple[socket.socket, socket.socket]:
    """A UDP and a listening TCP socket on address, each on the first free
    port of `ports` (0: any)."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        for sock in (udp, tcp):
            # Bind even while the namespace's lo is still down.
            sock.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        _bind(udp, address, ports)
        _bind(tcp, address, ports)
        tcp.listen(64)
        udp.setblocking(False)
        tcp.setblocking(False)
    except BaseException:
        udp.close()
        tcp.close()
        raise
    return udp, tcp


class NftLibrary:
    """libnftables through ctypes (Debian's nftables package ships it with
    `nft`): in process, so no spawn per netns.  A context opens its netlink
    socket in the netns of the thread that creates it, so each run makes
    its own context in the calling thread."""

    def __init__(self, name: str = "libnftables.so.1"):
        import ctypes

        lib = ctypes.CDLL(name)
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = (ctypes.c_uint32,)
        lib.nft_ctx_free.argtypes = (ctypes.c_void_p,)
        lib.nft_ctx_buffer_output.argtypes = (ctypes.c_void_p,)
        lib.nft_ctx_buffer_error.argtypes = (ctypes.c_void_p,)
        lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
        lib.nft_ctx_get_error_buffer.argtypes = (ctypes.c_void_p,)
        lib.nft_run_cmd_from_buffer.argtypes = (ctypes.c_void_p, ctypes.c_char_p)
        self.lib = lib

    def __call__(self, script: str) -> None:
        ctx = self.lib.nft_ctx_new(0)
        if not ctx:
            raise OSError("libnftables: cannot create a context")
        try:
            self.lib.nft_ctx_buffer_output(ctx)
            self.lib.nft_ctx_buffer_error(ctx)
            if self.lib.nft_run_cmd_from_buffer(ctx, script.encode()) != 0:
                error = (self.lib.nft_ctx_get_error_buffer(ctx) or b"").decode(errors="replace").strip()
                raise OSError(f"nftables refused the DNS redirect: {error}")
        finally:
            # Freeing a context (closing its netlink socket) takes 7-15 ms
            # here, ten times the rest: done off the caller's path (ctypes
            # releases the GIL meanwhile).
            threading.Thread(target=self.lib.nft_ctx_free, args=(ctx,), name="nft-free", daemon=True).start()


class NftCommand:
    """`nft -f -`, when libnftables cannot be loaded."""

    def __init__(self, path: str):
        self.path = path

    def __call__(self, script: str) -> None:
        import subprocess

        # Forked from the thread inside the netns, so nft runs there too.
        done = subprocess.run([self.path, "-f", "-"], input=script.encode(), capture_output=True, timeout=10)
        if done.returncode != 0:
            raise OSError(f"nft refused the DNS redirect: {done.stderr.decode(errors='replace').strip()}")


def dnat_rules(address: str, port: int, udp_port: int, tcp_port: int) -> str:
    """nftables rules sending address:port (UDP and TCP) to the server's
    ports, as Docker's DOCKER_OUTPUT chain does; conntrack maps the replies
    back to port.  Replaces any earlier table of the same name."""
    return (f"table ip {NFT_TABLE} {{}}\n"
            f"delete table ip {NFT_TABLE}\n"
            f"table ip {NFT_TABLE} {{\n"
            f"  chain output {{\n"
            f"    type nat hook output priority -100; policy accept;\n"
            f"    ip daddr {address} udp dport {port} dnat to {address}:{udp_port}\n"
            f"    ip daddr {address} tcp dport {port} dnat to {address}:{tcp_port}\n"
            f"  }}\n"
            f"}}\n")


def open_listeners(netns_path: str, expected_id: str, address: str, port: int, nft=None
                   ) -> tuple[socket.socket, socket.socket]:
    """A UDP and a listening TCP socket inside the netns at netns_path for
    queries to address:port: bound to it directly (nft None), or bound to
    other ports with nftables DNAT rules from address:port (nft: a
    NftLibrary or NftCommand)."""
    if nft is None:
        return in_netns(netns_path, expected_id, lambda: _bound_sockets(address, (port,)))

    def bind_and_redirect():
        udp, tcp = _bound_sockets(address, (preferred_port(expected_id), 0))
        try:
            nft(dnat_rules(address, port, udp.getsockname()[1], tcp.getsockname()[1]))
        except BaseException:
            udp.close()
            tcp.close()
            raise
        return udp, tcp

    return in_netns(netns_path, expected_id, bind_and_redirect)


def remove_redirect(netns_path: str, expected_id: str, nft) -> None:
    """Delete the DNAT rules from a netns that is still alive."""
    in_netns(netns_path, expected_id, lambda: nft(f"table ip {NFT_TABLE} {{}}\ndelete table ip {NFT_TABLE}\n"))


def find_nft(mode: str):
    """How to apply nftables rules for mode "dnat": libnftables, else the
    nft command; None for "direct" or when neither is there."""
    import shutil

    if mode == "direct":
        return None
    try:
        return NftLibrary()
    except OSError:
        pass
    found = shutil.which("nft") or next((p for p in ("/usr/sbin/nft", "/sbin/nft") if os.access(p, os.X_OK)), None)
    if found is not None:
        return NftCommand(found)
    log("neither libnftables nor nft found: binding 127.0.0.11:53 directly in each netns (a container's own "
        "server on 0.0.0.0:53 will then get EADDRINUSE)")
    return None


# --- the server ---------------------------------------------------------------------

class Server:
    def __init__(self, state_dir: str, config: dict):
        import selectors

        self.state_dir = state_dir
        self.config = config
        self.answerer = Answerer(state_dir)
        self.forwarder = Forwarder(config)
        self.selector = selectors.DefaultSelector()
        self.listeners: dict[str, tuple[socket.socket, socket.socket]] = {}
        self.paths: dict[str, str] = {}  # netns id -> the path its sockets were opened through
        self.nft = find_nft(config["listen_mode"])
        self.errors: dict[str, str] = {}
        self.tcp_slots = threading.BoundedSemaphore(MAX_TCP_CLIENTS)
        self.tcp_clients: dict[str, int] = {}
        self.tcp_lock = threading.Lock()
        self.running = True
        self.empty_since = time.monotonic()
        self.last_gc = 0.0
        self.reconciled_generation = -1
        self.control = None

    # setup and teardown
    def bind_control(self) -> None:
        path = os.path.join(self.state_dir, CONTROL_SOCKET)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        self.control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.control.bind(path)
        os.chmod(path, 0o600)
        self.control.listen(16)
        self.selector.register(self.control, 1, ("control", None))

    def close(self) -> None:
        for netns in list(self.listeners):
            self.close_netns(netns)
        if self.control is not None:
            try:
                os.unlink(os.path.join(self.state_dir, CONTROL_SOCKET))
            except FileNotFoundError:
                pass
            self.control.close()

    # netns sockets
    def reconcile(self) -> None:
        """Listen in every registered, live netns; stop listening in the others."""
        self.reconciled_generation = self.answerer.generation
        wanted = self.answerer.table.netns_ids()
        for netns in list(self.listeners):
            if netns not in wanted:
                self.close_netns(netns)
        for netns in list(self.errors):
            if netns not in wanted:
                del self.errors[netns]
        for netns, path in wanted.items():
            if netns in self.listeners:
                continue
            try:
                udp, tcp = open_listeners(path, netns, self.config["listen_address"], self.config["listen_port"],
                                          self.nft)
            except OSError as e:
                message = f"cannot listen on {self.config['listen_address']}:{self.config['listen_port']} in {path}: " \
                          f"{e.strerror or e}"
                if self.errors.get(netns) != message:
                    log(message)
                self.errors[netns] = message
                continue
            self.errors.pop(netns, None)
            self.listeners[netns] = (udp, tcp)
            self.paths[netns] = path
            self.selector.register(udp, 1, ("udp", netns))
            self.selector.register(tcp, 1, ("tcp", netns))
            log(f"listening in {path} ({netns})")

    def close_netns(self, netns: str) -> None:
        for sock in self.listeners.pop(netns, ()):
            try:
                self.selector.unregister(sock)
            except (KeyError, ValueError):
                pass
            sock.close()
        path = self.paths.pop(netns, None)
        if self.nft and path:
            # A live netns (network disconnect) loses the redirect too; a dead
            # one's rules went with it.
            try:
                remove_redirect(path, netns, self.nft)
            except OSError:
                pass
        log(f"stopped listening in {netns}")

    def collect_dead(self) -> None:
        dead = [e for e in self.answerer.table.endpoints if not T.netns_alive(e)]
        if dead:
            removed = T.remove_endpoints(self.state_dir, lambda e: not T.netns_alive(e))
            for endpoint in removed:
                log(f"removed {endpoint['container_id'][:12]} on {endpoint['network_name']}: its namespace is gone")

    # the loop
    def run(self) -> None:
        while self.running:
            for key, _ in self.selector.select(timeout=1.0):
                kind, netns = key.data
                try:
                    if kind == "udp":
                        self.on_udp(key.fileobj, netns)
                    elif kind == "tcp":
                        self.on_tcp_accept(key.fileobj, netns)
                    else:
                        self.on_control()
                except OSError as e:
                    if e.errno not in (11, 9):  # EAGAIN, EBADF (closed meanwhile)
                        log(f"{kind} error: {e}")
                except Exception as e:  # one bad query must not end the server
                    log(f"{kind} failure: {e!r}")
            self.tick()

    def tick(self) -> None:
        if not os.path.isdir(self.state_dir):
            log(f"{self.state_dir} is gone; exiting")
            self.running = False
            return
        try:
            self.housekeeping()
        except Exception as e:  # never let one bad pass end the server
            log(f"housekeeping failed: {e!r}")

    def housekeeping(self) -> None:
        self.answerer.refresh()
        if self.answerer.generation != self.reconciled_generation:
            self.reconcile()
        now = time.monotonic()
        if now - self.last_gc >= self.config["gc_interval"]:
            self.last_gc = now
            self.collect_dead()
        if self.answerer.table.endpoints:
            self.empty_since = now
        elif now - self.empty_since >= self.config["idle_exit"]:
            self.exit_if_still_unused()

    def exit_if_still_unused(self) -> None:
        with T.locked(self.state_dir):
            if T.read_endpoints(self.state_dir):
                return
            # Under the table's lock: a register() after this finds no
            # control socket and starts a new server.
            try:
                os.unlink(os.path.join(self.state_dir, CONTROL_SOCKET))
            except FileNotFoundError:
                pass
            self.running = False
        log("no endpoint left; exiting")

    # UDP
    def on_udp(self, sock: socket.socket, netns: str) -> None:
        for _ in range(64):
            try:
                raw, peer = sock.recvfrom(65535)
            except BlockingIOError:
                return
            self.answerer.refresh()
            self.handle_udp(sock, netns, raw, peer)

    def handle_udp(self, sock, netns, raw, peer) -> None:
        try:
            query = W.parse(raw)
        except W.WireError:
            reply = W.error_reply(raw, W.RCODE_FORMERR)
            if reply:
                sock.sendto(reply, peer)
            return
        if query.is_response:
            return
        response = self.answerer.answer(netns, query)
        if response is not None:
            sock.sendto(local_reply_bytes(response, query, over_udp=True), peer)
            return
        self.forward_in_background(sock, netns, raw, query, peer)

    def forward_in_background(self, sock, netns, raw, query, peer) -> None:
        allowed, own = self.answerer.table.forwarding(netns)
        if not allowed:
            sock.sendto(W.encode(W.reply_to(query, W.RCODE_REFUSED)), peer)
            return
        if not self.forwarder.slots.acquire(blocking=False):
            self.forwarder.say_once("too many queries being forwarded; answering SERVFAIL")
            sock.sendto(W.encode(W.reply_to(query, W.RCODE_SERVFAIL)), peer)
            return

        def work():
            try:
                reply = self.forwarder.resolve(raw, query, own, over_tcp=False, netns=self.netns_ref(netns))
                sock.sendto(W.truncate_for_udp(reply, query.udp_limit()), peer)
            except OSError:
                pass  # the netns's sockets were closed meanwhile
            except Exception as e:
                log(f"forward failure: {e!r}")
            finally:
                self.forwarder.slots.release()

        threading.Thread(target=work, name="dns-forward", daemon=True).start()

    # TCP
    def on_tcp_accept(self, listener: socket.socket, netns: str) -> None:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return
        with self.tcp_lock:
            if self.tcp_clients.get(netns, 0) >= MAX_TCP_CLIENTS_PER_NETNS or not self.tcp_slots.acquire(False):
                conn.close()
                return
            self.tcp_clients[netns] = self.tcp_clients.get(netns, 0) + 1
        threading.Thread(target=self.serve_tcp, args=(conn, netns), name="dns-tcp", daemon=True).start()

    def serve_tcp(self, conn: socket.socket, netns: str) -> None:
        try:
            conn.setblocking(True)
            conn.settimeout(TCP_IDLE_TIMEOUT)
            while True:
                head = conn.recv(2)
                if not head:
                    return
                if len(head) == 1:
                    head += _recv_exactly(conn, 1)
                raw = _recv_exactly(conn, int.from_bytes(head, "big"))
                reply = self.answer_tcp(netns, raw)
                if reply is None:
                    return
                conn.sendall(len(reply).to_bytes(2, "big") + reply)
        except (OSError, ConnectionError):
            pass
        except Exception as e:
            log(f"tcp failure: {e!r}")
        finally:
            conn.close()
            with self.tcp_lock:
                self.tcp_clients[netns] -= 1
                if not self.tcp_clients[netns]:
                    del self.tcp_clients[netns]
            self.tcp_slots.release()

    def answer_tcp(self, netns: str, raw: bytes) -> bytes | None:
        self.answerer.refresh()
        try:
            query = W.parse(raw)
        except W.WireError:
            return W.error_reply(raw, W.RCODE_FORMERR)
        if query.is_response:
            return None
        response = self.answerer.answer(netns, query)
        if response is not None:
            return local_reply_bytes(response, query, over_udp=False)
        allowed, own = self.answerer.table.forwarding(netns)
        if not allowed:
            return W.encode(W.reply_to(query, W.RCODE_REFUSED))
        return self.forwarder.resolve(raw, query, own, over_tcp=True, netns=self.netns_ref(netns))

    def netns_ref(self, netns: str) -> tuple[str, str] | None:
        path = self.paths.get(netns)
        return (path, netns) if path else None

    # control
    def on_control(self) -> None:
        conn, _ = self.control.accept()
        with conn:
            conn.settimeout(2.0)
            try:
                line = conn.makefile("rb").readline()
                request = _fastjson.loads(line) if line else {}
                reply = self.control_request(request)
            except (OSError, ValueError) as e:
                reply = {"ok": False, "error": str(e)}
            try:
                conn.sendall((_fastjson.dumps(reply) + "\n").encode())
            except OSError:
                pass

    def control_request(self, request: dict) -> dict:
        command = request.get("cmd")
        if command == "sync":
            self.answerer.refresh()
            self.reconcile()
            self.empty_since = time.monotonic()
            return {"ok": True, "errors": self.errors_by_path(), "listening": len(self.listeners)}
        if command == "status":
            upstreams = self.forwarder.host_upstreams()
            return {"ok": True, "pid": os.getpid(), "listening": len(self.listeners),
                    "endpoints": len(self.answerer.table.endpoints), "upstreams": upstreams.to_dict(),
                    "errors": self.errors_by_path()}
        if command == "stop":
            self.running = False
            return {"ok": True}
        return {"ok": False, "error": f"unknown command {command!r}"}

    def errors_by_path(self) -> dict:
        paths = self.answerer.table.netns_ids()
        return {paths.get(netns, netns): message for netns, message in self.errors.items()}


def main(state_dir: str, config_json: str, report_fd: int = 3) -> None:
    """The server process: daemonize, take the server lock, report, serve."""
    import fcntl
    import signal

    if os.fork():
        os._exit(0)  # the launcher waits for this; the server is nobody's child
    os.chdir("/")  # pin no mount the CLI happened to be in
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    _raise_file_limit()
    config = dict(DEFAULTS)
    config.update(_fastjson.loads(config_json))
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    lock = os.open(os.path.join(state_dir, SERVER_LOCK), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    # A server that is exiting still holds it: wait for it to go.
    fcntl.flock(lock, fcntl.LOCK_EX)
    server = Server(state_dir, config)
    try:
        server.bind_control()
        _write_pid(state_dir)
    except OSError as e:
        _report(report_fd, {"ok": False, "error": f"cannot bind the DNS control socket: {e}"})
        raise SystemExit(1)
    signal.signal(signal.SIGTERM, lambda *_: setattr(server, "running", False))
    log(f"started for {state_dir}")
    try:
        # Ready means: listening in every live netns of the table already.
        server.answerer.refresh()
        server.reconcile()
        _report(report_fd, {"ok": True, "pid": os.getpid()})
        server.run()
    finally:
        server.close()
        try:
            os.unlink(os.path.join(state_dir, PID_FILE))
        except FileNotFoundError:
            pass
        log("stopped")


def _raise_file_limit() -> None:
    """Two sockets per container netns: lift the soft limit on descriptors
    (1024 by default) to the hard one."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass


def _write_pid(state_dir: str) -> None:
    path = os.path.join(state_dir, PID_FILE)
    temporary = path + ".tmp"
    with open(temporary, "w") as f:
        f.write(f"{os.getpid()}\n")
    os.replace(temporary, path)


def _report(fd: int, message: dict) -> None:
    try:
        os.write(fd, (_fastjson.dumps(message) + "\n").encode())
        os.close(fd)
    except OSError:
        pass
