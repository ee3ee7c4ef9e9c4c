"""Published TCP ports on the host's IPv6 loopback ([::1]:PORT), which
nftables cannot serve: the kernel drops IPv6 packets whose source is ::1
once they leave `lo`, and IPv6 has no route_localnet, so a DNAT from ::1 to
a container's address goes nowhere.  Docker reaches ::1 through docker-proxy;
hakobune runs one small proxy per root for these ports only (everything
else is DNAT'd in the kernel, see hakobune.network.ports), and only while
some port of the root is published on all addresses and the host has ::1.

    sync(table, mappings)   under the network lock, after the rules: the
                            proxy's list of ports rewritten, the proxy
                            started or told to reload (SIGHUP), or stopped
    stop(table)             the proxy of that root ended (teardown)

    /run/hakobune-portproxy/<table>.json   [[host port, container address, container port], ...]
    /run/hakobune-portproxy/<table>.pid    the running proxy
    /run/hakobune-portproxy/<table>.log    what it could not do (a port taken, ...)

The proxy (`main`) listens on [::1]:PORT (IPV6_V6ONLY) for each entry,
connects each accepted connection to the container (its IPv6 address when
it has one, else IPv4) and moves the bytes with splice(2) through a pipe,
one thread per direction; the container sees the proxy's address, as
behind docker-proxy.  It runs in its own session, nobody's child (the
spawner's intermediate process exits at once), reloads its list on SIGHUP,
and exits once the list is empty or gone.  If it is killed, the next sync
(any start, stop or publish of the root) starts it again.
"""

import os
import sys

STATE_DIR = "/run/hakobune-portproxy"
_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_ENTRY = ("import sys; sys.path.insert(0, sys.argv[1]); "
          "from hakobune.network.portproxy import daemonize; daemonize(sys.argv[2], sys.argv[3])")


def _paths(table: str) -> tuple[str, str, str]:
    base = os.path.join(STATE_DIR, table)
    return base + ".json", base + ".pid", base + ".log"


def host_has_ipv6_loopback(path: str = "/proc/net/if_inet6") -> bool:
    try:
        with open(path) as f:
            return any(line.startswith("00000000000000000000000000000001 ") for line in f)
    except OSError:
        return False


def entries_of(mappings) -> list[list]:
    """The proxy's list: TCP ports published on every address (or on ::/::1)."""
    out = []
    for m in mappings:
        if m.get("proto") == "tcp" and (m.get("host_ip") or "") in ("", "0.0.0.0", "::", "::1"):
            out.append([int(m["host_port"]), m.get("container_ip6") or m["container_ip"], int(m["container_port"])])
    return sorted(out)


def running_pid(table: str) -> int | None:
    _, pid_path, _ = _paths(table)
    try:
        with open(pid_path) as f:
            pid = int(f.read().strip())
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"hakobune.network.portproxy" not in f.read():
                return None
        return pid
    except (OSError, ValueError):
        return None


def sync(table: str, mappings) -> None:
    """Make the root's proxy serve `mappings` ([::1] for the TCP ones on all addresses)."""
    entries = entries_of(mappings) if host_has_ipv6_loopback() else []
    config_path, _, _ = _paths(table)
    pid = running_pid(table)
    if not entries:
        if pid is not None or os.path.exists(config_path):
            stop(table)
        return
    from hakobune import _fastjson

    os.makedirs(STATE_DIR, mode=0o700, exist_ok=True)
    temporary = f"{config_path}.{os.getpid()}.tmp"
    with open(temporary, "wb") as f:
        f.write(_fastjson.dumps(entries).encode())
    os.replace(temporary, config_path)
    if pid is not None:
        import signal

        os.kill(pid, signal.SIGHUP)
        return
    _spawn(table)


def stop(table: str, timeout: float = 3) -> None:
    import signal
    import time

    config_path, pid_path, log_path = _paths(table)
    pid = running_pid(table)
    for path in (config_path, pid_path, log_path):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
        time.sleep(0.01)


def _spawn(table: str) -> None:
    config_path, _, log_path = _paths(table)
    devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        argv = [sys.executable, "-I", "-S", "-c", _ENTRY, _PACKAGE_PARENT, table, config_path]
        intermediate = os.posix_spawn(sys.executable, argv, os.environ, setsid=True, file_actions=[
            (os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, log, 1), (os.POSIX_SPAWN_DUP2, log, 2)])
    except OSError:
        return  # ::1 goes unserved; nothing else depends on it
    finally:
        os.close(devnull)
        os.close(log)
    os.waitpid(intermediate, 0)  # it has written the proxy's pid file


# --- the proxy ----------------------------------------------------------------------------------------

def daemonize(table: str, config_path: str) -> None:
    """The intermediate: fork the proxy, write its pid file, exit."""
    pid = os.fork()
    if pid:
        _, pid_path, _ = _paths(table)
        with open(pid_path + ".tmp", "w") as f:
            f.write(str(pid))
        os.replace(pid_path + ".tmp", pid_path)
        os._exit(0)
    try:
        main(config_path)
    finally:
        os._exit(0)


def _pump(source, destination) -> None:
    """Bytes from one socket to the other through a pipe (splice: no copy into Python)."""
    import socket

    read_end, write_end = os.pipe()
    try:
        while True:
            moved = os.splice(source.fileno(), write_end, 1 << 20)
            if not moved:
                break
            while moved:
                moved -= os.splice(read_end, destination.fileno(), moved)
    except OSError:
        pass
    finally:
        os.close(read_end)
        os.close(write_end)
        for sock, how in ((destination, socket.SHUT_WR), (source, socket.SHUT_RD)):
            try:
                sock.shutdown(how)
            except OSError:
                pass


def _serve_connection(client, target: tuple[str, int]) -> None:
    import socket
    import threading

    try:
        upstream = socket.create_connection(target, timeout=5)
        upstream.settimeout(None)
    except OSError:
        client.close()
        return
    other = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
    other.start()
    _pump(client, upstream)
    other.join()
    client.close()
    upstream.close()


def main(config_path: str) -> None:
    import selectors
    import signal
    import socket
    import threading

    from hakobune import _fastjson

    reload_wanted = [True]
    signal.signal(signal.SIGHUP, lambda *_: reload_wanted.__setitem__(0, True))
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    selector = selectors.DefaultSelector()
    wake_read, wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_write)  # a SIGHUP ends the select at once
    selector.register(wake_read, selectors.EVENT_READ, None)
    listeners: dict[int, tuple[socket.socket, list]] = {}
    while True:
        if reload_wanted[0]:
            reload_wanted[0] = False
            try:
                with open(config_path, "rb") as f:
                    entries = {port: [address, container_port] for port, address, container_port
                               in _fastjson.loads(f.read())}
            except (OSError, ValueError):
                entries = {}
            if not entries:
                return
            for port in [p for p in listeners if p not in entries]:
                sock, _ = listeners.pop(port)
                selector.unregister(sock)
                sock.close()
            for port, target in entries.items():
                if port in listeners:
                    listeners[port][1][:] = target
                    continue
                sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind(("::1", port))
                    sock.listen(128)
                except OSError as e:
                    print(f"portproxy: cannot listen on [::1]:{port}: {e.strerror}", flush=True)
                    sock.close()
                    continue
                listeners[port] = (sock, list(target))
                selector.register(sock, selectors.EVENT_READ, port)
        try:
            events = selector.select(timeout=5)
        except InterruptedError:
            continue
        for key, _ in events:
            if key.data is None:
                try:
                    os.read(wake_read, 512)
                except BlockingIOError:
                    pass
                continue
            sock, target = listeners.get(key.data, (None, None))
            if sock is None:
                continue
            try:
                client, _ = sock.accept()
            except OSError:
                continue
            threading.Thread(target=_serve_connection, args=(client, (target[0], target[1])), daemon=True).start()
