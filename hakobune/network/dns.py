"""The embedded DNS server for user-defined networks (Docker's 127.0.0.11).

    register(state_dir, netns_path, container_id, network_id, names, ipv4, ...)
    unregister(state_dir, container_id, network_id=None) -> endpoints removed
    prune(state_dir) -> endpoints removed because their netns is gone
    status(state_dir) -> dict | None        stop(state_dir) -> bool
    check_upstreams() -> Upstreams           # which resolvers, and why (a self-test)
    python -m hakobune.network.dns upstreams | status STATE_DIR

What answers.  One process per state directory (the engine uses
`<runroot>/dns`, so one per host), `hakobune.network.dns_server`.  It is
in the host's network namespace and holds, for every registered container
netns, a UDP and a TCP socket bound to 127.0.0.11 *inside* that netns
(opened by a thread that setns(2)s into it, binds, and ends; a socket stays
in the namespace it was created in).  A query arriving on a netns's socket
is answered from the endpoints registered for that same netns: names
(container name, --network-alias, compose service aliases, short id:
whatever the caller registers) on the networks of that container only, as
A (AAAA: the IPv6 address, or NODATA), PTR (`name.network`), and
`name.network`.  Other names go to the upstream resolvers, from the host
side (resolvconf.host_upstreams: the host's nameservers, systemd-resolved's
own upstreams when the host lists only its stub; never a public fallback),
or to the container's --dns servers (asked from inside its netns, as
Docker does: `--dns 127.0.0.1` is the container's loopback).  With no
usable upstream the answer is SERVFAIL and dns.log says why; a container
only on --internal networks gets REFUSED for outside names.  UDP answers
over the client's limit (512, or its EDNS size) come back truncated (TC)
and the client retries over TCP, which is served and forwarded over TCP.

How queries reach it: `listen_mode` "dnat" (the default, as Docker) binds
two ports on 127.0.0.11 (first choice derived from the netns's identity, so
a restarted server takes the same ones and conntrack entries of earlier
flows still lead somewhere) and adds, inside the netns, an nftables table
`hakobune_dns` whose nat/output chain DNATs 127.0.0.11:53 (UDP and TCP) to
them; conntrack maps the replies back.  A container can then run its own
DNS server on 0.0.0.0:53, as under Docker.  The rules go in through
libnftables (ctypes, in the setns thread: a context's netlink socket lives
in the netns of the thread that makes it), ~1 ms; freeing the context costs
7-15 ms here and is done by a background thread.  Without libnftables, the
`nft` command (forked from the setns thread): 4-16 ms.  "direct" binds
127.0.0.11:53 itself (no nftables at all), but a process in the container
that binds 0.0.0.0:53 then gets EADDRINUSE; with neither libnftables nor
nft, "dnat" falls back to it and says so in dns.log.

How it is started and stopped.  register() writes the endpoint to the names
table (`<state_dir>/names.json`, see dns_table), then asks the server over
its control socket (`dns.sock`) to `sync`, starting it first when no server
answers: posix_spawn of `python -I -S`, which forks the server and exits, so
the server is in its own session and nobody's child (as the monitors).
`sync` returns once the netns's sockets are bound, so names resolve from the
container's first instruction.  Starts are serialized by `dns.start.lock`; a
server holds `dns.lock` while it lives.  The server reloads the table when
its file changes (one stat per query, and once a second), and exits by
itself once no endpoint has been left for a few seconds (`idle_exit`);
that exit happens under the table's lock after re-reading it, so a
concurrent register() either keeps it alive or starts a new one.

What survives which failure.
- The CLI that started the server exits or is killed: the server carries on.
- A container dies without unregister (kill -9 of its monitor): its netns
  path no longer leads to the registered namespace (the table keeps the
  namespace's dev:ino), and the server removes its endpoints within
  `gc_interval`; prune() does the same from a CLI.  Note the server's
  sockets keep a dead container's namespace object alive until then.
- The server is killed (SIGKILL, crash): containers' queries to 127.0.0.11
  go unanswered (their sockets die with it) until the next register()
  starts a new server, which reads the table and listens again in every
  live netns; status() reports None meanwhile.  Call ensure_running() to
  restart it without registering anything.
- The table file survives every process's death (written to a temp name
  and renamed, never half-written); it is not fsynced, like the rest of the
  runroot's volatile state: only a reboot could lose a write, and a reboot
  leaves no container, so an empty table is then right.
- A netns that loses its last endpoint while it lives (network disconnect)
  loses its sockets and its nftables table; a dead one took both with it.
- SIGTERM: the server closes its sockets, removes its control socket, exits.
"""

import os
import sys

from hakobune import _fastjson
from hakobune.errors import SystemFailure
from hakobune.network import dns_table

# Files of the server in its state directory (besides the names table).
CONTROL_SOCKET = "dns.sock"
SERVER_LOCK = "dns.lock"        # held by the running server
START_LOCK = "dns.start.lock"   # serializes starts
PID_FILE = "dns.pid"
LOG_FILE = "dns.log"

_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_ENTRY = ("import sys; sys.path.insert(0, sys.argv[1]); "
          "from hakobune.network.dns_server import main; main(sys.argv[2], sys.argv[3])")


def register(state_dir: str, netns_path: str, container_id: str, network_id: str, names, ipv4: str | None,
             ipv6: str | None = None, network_name: str | None = None, internal: bool = False, upstreams=None,
             config: dict | None = None, links=()) -> None:
    """Make `names` of the container on network_id resolve, inside every netns
    on that network, to ipv4/ipv6; and serve 127.0.0.11 inside netns_path.
    Returns once the server listens in that netns.  config: server options
    (see dns_server.DEFAULTS), used only when this call starts the server.
    links: Docker's `CONTAINER:ALIAS` links, ALIAS resolving (inside
    netns_path only) to CONTAINER's address on that network."""
    try:
        endpoint = dns_table.make_endpoint(netns_path, container_id, network_id, names, ipv4, ipv6, network_name,
                                           internal, upstreams, links)
    except OSError as e:
        raise SystemFailure(f"cannot register DNS names: network namespace {netns_path}: {e.strerror}") from None
    dns_table.add_endpoint(state_dir, endpoint)
    try:
        reply = _sync(state_dir, config, start=True)
        error = reply.get("errors", {}).get(netns_path)
        if error:
            raise SystemFailure(f"embedded DNS server: {error}")
    except BaseException:
        # Leave nothing half-registered.
        unregister(state_dir, container_id, network_id)
        raise


def unregister(state_dir: str, container_id: str, network_id: str | None = None) -> list[dict]:
    """Forget the container's names on network_id (on every network when
    None); the server stops listening in a netns with no endpoint left."""
    removed = dns_table.remove_endpoints(
        state_dir, lambda e: e["container_id"] == container_id and network_id in (None, e["network_id"]))
    if removed:
        try:
            _sync(state_dir, None, start=False)
        except SystemFailure:
            pass  # no server: nothing listens anyway
    return removed


def prune(state_dir: str) -> list[dict]:
    """Remove the endpoints whose network namespace is gone."""
    removed = dns_table.remove_endpoints(state_dir, lambda e: not dns_table.netns_alive(e))
    if removed:
        try:
            _sync(state_dir, None, start=False)
        except SystemFailure:
            pass
    return removed


def status(state_dir: str) -> dict | None:
    """The running server's status (pid, listening namespaces, upstreams and
    why), or None when none runs."""
    try:
        return _request(state_dir, {"cmd": "status"})
    except SystemFailure:
        return None


def stop(state_dir: str, timeout: float = 5) -> bool:
    """Ask the server to exit; True when one was running."""
    import time

    try:
        _request(state_dir, {"cmd": "stop"})
    except SystemFailure:
        return False
    _wait_for_exit(state_dir, time.monotonic() + timeout)
    return True


def _wait_for_exit(state_dir: str, deadline: float) -> None:
    import fcntl
    import time

    lock = os.open(os.path.join(state_dir, SERVER_LOCK), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise SystemFailure("the embedded DNS server did not exit") from None
                time.sleep(0.02)
    finally:
        os.close(lock)


def check_upstreams(host_path: str | None = None, resolved_path: str | None = None):
    """The resolvers the server would forward to and why (resolvconf.Upstreams)."""
    from hakobune.network import resolvconf

    return resolvconf.host_upstreams(host_path or resolvconf.HOST_RESOLV_CONF,
                                     resolved_path or resolvconf.RESOLVED_RESOLV_CONF)


def ensure_running(state_dir: str, config: dict | None = None) -> int:
    """Start the server unless one answers; returns its pid."""
    try:
        return _request(state_dir, {"cmd": "status"})["pid"]
    except SystemFailure:
        pass
    return _start(state_dir, config)


# --- the control socket ------------------------------------------------------------

def _request(state_dir: str, message: dict, timeout: float = 30) -> dict:
    import socket

    path = os.path.join(state_dir, CONTROL_SOCKET)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(path)
            sock.sendall((_fastjson.dumps(message) + "\n").encode())
            with sock.makefile("rb") as reader:
                line = reader.readline()
        except OSError as e:
            raise SystemFailure(f"the embedded DNS server does not answer: {e.strerror or e}") from None
    if not line:
        raise SystemFailure("the embedded DNS server closed the connection")
    reply = _fastjson.loads(line)
    if not reply.get("ok"):
        raise SystemFailure(f"embedded DNS server: {reply.get('error')}")
    return reply


def _sync(state_dir: str, config: dict | None, start: bool) -> dict:
    for attempt in range(3):
        try:
            return _request(state_dir, {"cmd": "sync"})
        except SystemFailure:
            # No server, or one that was exiting as we asked.
            if not start or attempt == 2:
                raise
            _start(state_dir, config)
    raise AssertionError("unreachable")


def _start(state_dir: str, config: dict | None) -> int:
    import fcntl

    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    lock = os.open(os.path.join(state_dir, START_LOCK), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:  # someone else may have started it while we waited
            return _request(state_dir, {"cmd": "status"})["pid"]
        except SystemFailure:
            pass
        return _spawn(state_dir, config or {})
    finally:
        os.close(lock)


def _spawn(state_dir: str, config: dict) -> int:
    import select

    report_r, report_w = os.pipe()
    devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    log = os.open(os.path.join(state_dir, LOG_FILE), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        argv = [sys.executable, "-I", "-S", "-c", _ENTRY, _PACKAGE_PARENT, state_dir, _fastjson.dumps(config)]
        intermediate = os.posix_spawn(sys.executable, argv, os.environ, setsid=True, file_actions=[
            (os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, log, 1), (os.POSIX_SPAWN_DUP2, log, 2),
            (os.POSIX_SPAWN_DUP2, report_w, 3)])
    except OSError as e:
        os.close(report_r)
        raise SystemFailure(f"cannot start the embedded DNS server with {sys.executable}: {e.strerror}") from None
    finally:
        os.close(report_w)
        os.close(devnull)
        os.close(log)
    try:
        os.waitpid(intermediate, 0)
        ready, _, _ = select.select([report_r], [], [], 30)
        line = os.read(report_r, 4096).split(b"\n", 1)[0] if ready else b""
    finally:
        os.close(report_r)
    if not line:
        raise SystemFailure(f"the embedded DNS server did not start: see {os.path.join(state_dir, LOG_FILE)}")
    report = _fastjson.loads(line)
    if not report.get("ok"):
        raise SystemFailure(f"the embedded DNS server did not start: {report.get('error')}")
    return report["pid"]


def _main(argv: list[str]) -> int:
    """`python -m hakobune.network.dns upstreams [HOST_RESOLV_CONF [RESOLVED_RESOLV_CONF]]`:
    which resolvers the server would forward to, and why (exit 1: none);
    `python -m hakobune.network.dns status STATE_DIR`: the running server's status."""
    if argv[:1] == ["upstreams"] and len(argv) <= 3:
        upstreams = check_upstreams(*argv[1:3])
        print(f"upstreams: {' '.join(upstreams.servers) or 'none'}\nwhy: {upstreams.reason}")
        return 0 if upstreams.servers else 1
    if argv[:1] == ["status"] and len(argv) == 2:
        state = status(argv[1])
        print(_fastjson.dumps(state) if state else f"no embedded DNS server answers in {argv[1]}")
        return 0 if state else 1
    print(_main.__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
