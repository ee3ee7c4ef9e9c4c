"""Listeners and the connection loop of `hakobune serve`.

Addresses as dockerd takes them (`-H`): ``unix:///run/hakobune/hakobune.sock``
(the default), ``tcp://127.0.0.1:2375``, and ``fd://`` for the sockets
systemd passes by socket activation (LISTEN_FDS, LISTEN_PID; ``fd://N``
takes only descriptor N): contrib/systemd/hakobune.socket.  An activated
socket is systemd's: its mode is the unit's, and it is not removed at exit.

The unix socket is created mode 0600, owned by root: access to it is root
access on this host (whoever can create a container can mount / into it).
`group` opens it (0660) to the members of that group, as dockerd's --group.
TCP is refused on anything but a loopback address unless `tls_verify` is
set (mutual TLS: the server requires a client certificate signed by
`tls_ca`); `tls` alone is server-side TLS.

One thread per connection; each connection serves requests until the
client closes it (HTTP/1.1 keep-alive).  A hijacked connection (attach,
exec start) belongs to its handler until the handler returns.
"""

from __future__ import annotations

import contextlib
import grp
import ipaddress
import os
import socket
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler

from hakobune.api import http as H
from hakobune.errors import InvalidArgument, SystemFailure

DEFAULT_SOCKET = "/run/hakobune/hakobune.sock"
_DRAIN_LIMIT = 4 << 20  # bytes of an unread request body read away to keep the connection
_LINGER_SECONDS = 2.0  # how long a connection closed on a sending client reads on


class TLSOptions:
    def __init__(self, tls: bool = False, verify: bool = False, ca: str | None = None, cert: str | None = None,
                 key: str | None = None):
        self.tls = tls or verify
        self.verify = verify
        self.ca, self.cert, self.key = ca, cert, key

    def context(self):
        import ssl

        if not (self.cert and self.key):
            raise InvalidArgument("TLS needs --tlscert and --tlskey")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert, self.key)
        if self.verify:
            if not self.ca:
                raise InvalidArgument("--tlsverify needs --tlscacert")
            context.load_verify_locations(self.ca)
            context.verify_mode = ssl.CERT_REQUIRED
        return context


def parse_address(text: str) -> tuple[str, object]:
    """("unix", path), ("tcp", (host, port)) or ("fd", number or None)."""
    if text.startswith("fd://"):
        number = text[len("fd://"):]
        if number and not number.isdigit():
            raise InvalidArgument(f"invalid daemon address {text}: fd:// or fd://NUMBER expected")
        return "fd", int(number) if number else None
    if text.startswith("unix://"):
        path = text[len("unix://"):] or DEFAULT_SOCKET
        if not path.startswith("/"):
            raise InvalidArgument(f"unix socket path must be absolute: {text}")
        return "unix", path
    if text.startswith("tcp://"):
        rest = text[len("tcp://"):].rstrip("/")
        host, _, port = rest.rpartition(":")
        host = host.strip("[]") or "127.0.0.1"
        if not port.isdigit():
            raise InvalidArgument(f"invalid tcp address {text}: a port is needed")
        return "tcp", (host, int(port))
    if text.startswith("/"):
        return "unix", text
    raise InvalidArgument(f"invalid daemon address {text}: unix://, tcp:// or fd:// expected")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class _TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


_activated: list[int] | None = None


def activated_fds() -> list[int]:
    """The listening sockets systemd passed this process (SD_LISTEN_FDS_START
    = 3), taken once: the variables are removed so that no child takes them."""
    global _activated
    if _activated is None:
        _activated = []
        if os.environ.get("LISTEN_PID") == str(os.getpid()):
            try:
                count = int(os.environ.get("LISTEN_FDS") or 0)
            except ValueError:
                count = 0
            _activated = list(range(3, 3 + count))
        for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
            os.environ.pop(name, None)
        for fd in _activated:
            os.set_inheritable(fd, False)
    return _activated


def open_listeners(address: str, handler_class, group: str | None = None, tls: TLSOptions | None = None) -> list:
    """The servers for one -H address: one, or one per activated socket for fd://."""
    kind, where = parse_address(address)
    if kind != "fd":
        return [open_listener(address, handler_class, group, tls)]
    fds = activated_fds()
    if where is not None:
        if where not in fds:
            raise InvalidArgument(f"fd://{where}: not a socket passed by systemd (LISTEN_FDS)")
        fds = [where]
    if not fds:
        raise InvalidArgument("fd://: no sockets were passed (start it from a systemd socket unit)")
    return [_activated_listener(fd, handler_class, tls or TLSOptions()) for fd in fds]


def _activated_listener(fd: int, handler_class, tls: TLSOptions):
    listening = socket.socket(fileno=fd)
    if listening.family == socket.AF_UNIX:
        server = _UnixServer(listening.getsockname(), handler_class, bind_and_activate=False)
    else:
        host, port = listening.getsockname()[:2]
        if not _is_loopback(host) and not tls.verify:
            listening.close()
            raise InvalidArgument(f"refusing to serve the activated socket {host}:{port} without --tlsverify")
        server = _TCPServer((host, port), handler_class, bind_and_activate=False)
    server.socket.close()
    server.socket = listening
    if tls.tls and listening.family != socket.AF_UNIX:
        server.socket = tls.context().wrap_socket(listening, server_side=True)
    server.activated = True
    return server


def open_listener(address: str, handler_class, group: str | None = None, tls: TLSOptions | None = None):
    kind, where = parse_address(address)
    tls = tls or TLSOptions()
    if kind == "unix":
        return _unix_listener(where, handler_class, group)
    if kind == "fd":
        raise InvalidArgument("fd:// gives several listeners: use open_listeners")
    host, port = where
    if not _is_loopback(host) and not tls.verify:
        raise InvalidArgument(f"refusing to listen on {host}:{port} without --tlsverify: anyone who can reach "
                              "the API is root on this host (use 127.0.0.1, or mutual TLS)")
    server = _TCPServer((host, port), handler_class)
    if tls.tls:
        server.socket = tls.context().wrap_socket(server.socket, server_side=True)
    return server


def _unix_listener(path: str, handler_class, group: str | None):
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o711, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        probe = socket.socket(socket.AF_UNIX)
        try:
            probe.connect(path)
            raise SystemFailure(f"another server is listening on {path}")
        except ConnectionRefusedError:
            os.unlink(path)  # a stale socket of a server that died
        finally:
            probe.close()
    old = os.umask(0o177)  # never a moment with a socket others can open
    try:
        server = _UnixServer(path, handler_class)
    finally:
        os.umask(old)
    if group:
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            server.server_close()
            os.unlink(path)
            raise InvalidArgument(f"group {group} does not exist") from None
        os.chown(path, 0, gid)
        os.chmod(path, 0o660)
    else:
        os.chmod(path, 0o600)
    return server


def make_handler(router):
    class Handler(_ConnectionHandler):
        pass

    Handler.router = router
    return Handler


class _ConnectionHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    router = None  # set by make_handler
    server_version = "hakobune"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def address_string(self) -> str:
        return "unix" if isinstance(self.client_address, (str, bytes)) else super().address_string()

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

    # --- one request -------------------------------------------------------------------
    def _dispatch(self) -> None:
        path, _, query = self.path.partition("?")
        body = self._body()
        try:
            answer = self.router.handle(self.command, path, query, self.headers, body)
        except Exception as e:  # noqa: BLE001 - every error answers, none kills the connection
            answer = H.error_response(e)
            if isinstance(e, H.RequestTooLarge):  # the rest of the body is not read: the connection ends
                self.close_connection = True
                body = None
            if not isinstance(e, (InvalidArgument,)) and not hasattr(e, "http_status"):
                import traceback

                traceback.print_exc(file=sys.stderr)
        if isinstance(answer, H.Hijack):
            self._hijack(answer)
            return
        self._drain(body)
        if isinstance(answer, H.Stream):
            self._stream(answer)
        else:
            self._send(answer)
        if self.unread_body:
            self._linger()

    def _linger(self) -> None:
        """Before closing on a client that may still be sending (an oversized
        body): end our side, then read and discard for a short while, so the
        close does not reset the connection before the client has read the
        answer."""
        import time

        try:
            self.connection.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + _LINGER_SECONDS
            while (left := deadline - time.monotonic()) > 0:
                self.connection.settimeout(left)
                if not self.connection.recv(1 << 16):
                    break
        except OSError:
            pass

    def _body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return H.ChunkedReader(self.rfile)
        length = self.headers.get("Content-Length")
        return H.LengthReader(self.rfile, int(length) if length and length.isdigit() else 0)

    unread_body = False  # set when a request's body was left unread: the connection ends

    def _drain(self, body) -> None:
        """What the handler left of the body, so the next request parses;
        more than _DRAIN_LIMIT left (a refused oversized body) is not read:
        the connection is closed after the answer instead."""
        if body is None or getattr(body, "left", 0) > _DRAIN_LIMIT:
            self.close_connection = self.unread_body = True
            return
        drained = 0
        try:
            while data := body.read(1 << 20):
                drained += len(data)
                if drained > _DRAIN_LIMIT:
                    self.close_connection = self.unread_body = True
                    return
        except (InvalidArgument, OSError):
            self.close_connection = True

    def _head(self, status: int, headers) -> None:
        self.send_response_only(status)
        for name, value in H.COMMON_HEADERS:
            self.send_header(name, value)
        self.send_header("Date", self.date_time_string())
        for name, value in headers:
            self.send_header(name, value)

    def _send(self, response: H.Response) -> None:
        self._head(response.status, response.headers)
        if response.status not in (204, 304):
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.status not in (204, 304):
            self.wfile.write(response.body)
        self.wfile.flush()

    def _stream(self, stream: H.Stream) -> None:
        if stream.watch is not None:
            stream.watch.sock = self.connection
        self._head(stream.status, stream.headers)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        try:
            for chunk in stream.chunks:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            close = getattr(stream.chunks, "close", None)
            if close:
                close()

    def _hijack(self, hijack: H.Hijack) -> None:
        upgrade = (self.headers.get("Upgrade") or "").lower() == "tcp"
        if upgrade:
            self._head(101, [("Content-Type", hijack.content_type), ("Connection", "Upgrade"), ("Upgrade", "tcp")])
        else:
            self._head(200, [("Content-Type", hijack.content_type)])
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        try:
            hijack.run(self.connection, self.rfile)
        except (BrokenPipeError, ConnectionResetError):
            pass
        # what the client sent and nobody read would turn our close into a
        # reset, which the client may see before the end of the output
        self._linger()


def serve(router, addresses, group: str | None = None, tls: TLSOptions | None = None, ready=None) -> None:
    """Serve the API on every address until SIGTERM or SIGINT; `ready()`
    is called once every listener is open."""
    import signal

    handler = make_handler(router)
    servers = [server for address in addresses for server in open_listeners(address, handler, group, tls)]
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threads = [threading.Thread(target=server.serve_forever, daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    if ready:
        ready()
    try:
        stop.wait()
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
            if isinstance(server, _UnixServer) and not getattr(server, "activated", False):
                with contextlib.suppress(OSError):
                    os.unlink(server.server_address)
