"""Registries for the registry client's tests, all on 127.0.0.1:

- `Registry`: Debian's docker-registry (distribution 2.8) run by the test,
  storage in a temporary directory, optionally behind htpasswd basic auth;
- `Proxy`: a small HTTP proxy in front of it that counts requests and bytes,
  injects faults (statuses, resets, truncated or corrupted bodies, a hang)
  and can demand bearer tokens, which it issues itself at ``/token``.

Both are context managers that stop their process or threads and remove
their files whatever happens.
"""

import base64
import http.client
import http.server
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse

from hakobune.testing.registry import REGISTRY, start_registry, tail  # noqa: F401


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def htpasswd_line(user: str, password: str) -> str:
    import bcrypt
    return f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()}"


class Registry:
    def __init__(self, users: dict[str, str] | None = None):
        self.users = users
        self.directory = tempfile.mkdtemp(prefix="hakobune-registry-")
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.process = None

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self) -> None:
        storage = os.path.join(self.directory, "storage")
        os.mkdir(storage)
        auth = ""
        if self.users:
            path = os.path.join(self.directory, "htpasswd")
            with open(path, "w") as f:
                f.write("".join(htpasswd_line(u, p) + "\n" for u, p in self.users.items()))
            auth = f"auth:\n  htpasswd:\n    realm: hakobune-test\n    path: {path}\n"
        self.process, self.log_path = start_registry(self.directory, storage, self.address,
                                                     "hakobune-test-secret", auth)

    def logs(self) -> str:
        return tail(self.log_path)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


class Proxy:
    """Forwards to `upstream` (host:port).  `fault(method, path, n)` (n: how
    many requests for that method and path came before) may return None
    (forward), an int status, ("status", code, headers), "reset",
    ("truncate", bytes), "corrupt" or "hang"."""

    def __init__(self, upstream: str, bearer: dict | None = None):
        self.upstream = upstream
        self.bearer = bearer  # {"user": ..., "password": ...} or {} for anonymous tokens
        self.requests: list[tuple[str, str]] = []
        self.body_bytes = 0
        self.token_requests: list[dict] = []
        self.tokens: dict[str, str] = {}  # token → scope
        self.fault = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                proxy._handle(self)

            do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.address = f"127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()

    def gets(self, kind: str) -> list[str]:
        """The paths of the GET requests for `kind` ("blobs" or "manifests")."""
        return [path for method, path in self.requests if method == "GET" and f"/{kind}/" in path]

    def _handle(self, handler) -> None:
        path = handler.path
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        if path.startswith("/token"):
            return self._token(handler)
        with self._lock:
            n = sum(1 for m, p in self.requests if (m, p) == (handler.command, path))
            self.requests.append((handler.command, path))
        if self.bearer is not None and path.startswith("/v2/") and not self._authorized(handler, path):
            return
        action = self.fault(handler.command, path, n) if self.fault else None
        if isinstance(action, int):
            action = ("status", action, {})
        if action == "reset":
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            handler.connection.close()
            handler.close_connection = True
            return
        if isinstance(action, tuple) and action[0] == "status":
            _, code, extra = action
            data = b'{"errors":[{"code":"UNAVAILABLE","message":"injected failure"}]}'
            handler.send_response(code)
            for key, value in extra.items():
                handler.send_header(key, value)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            if handler.command != "HEAD":  # a HEAD answer has no body (the connection may be reused)
                handler.wfile.write(data)
            return
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("authorization", "connection")}
        connection = http.client.HTTPConnection(self.upstream, timeout=60)
        connection.request(handler.command, path, body=body if body or handler.command in ("PUT", "POST", "PATCH")
                           else None, headers=headers)
        response = connection.getresponse()
        data = response.read()
        connection.close()
        with self._lock:
            self.body_bytes += len(data)
        send = data
        if isinstance(action, tuple) and action[0] == "truncate":
            send = data[:action[1]]
        elif action == "corrupt" and data:
            send = bytes([data[0] ^ 0xFF]) + data[1:]
        handler.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("connection", "transfer-encoding", "content-length"):
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        if handler.command != "HEAD":
            if action == "hang":
                handler.wfile.write(send[:len(send) // 2])
                handler.wfile.flush()
                self._stop.wait(60)
            else:
                handler.wfile.write(send)
        handler.close_connection = True

    def _authorized(self, handler, path: str) -> bool:
        auth = handler.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        repository = path[len("/v2/"):].split("/blobs/")[0].split("/manifests/")[0]
        wanted = "pull" if handler.command in ("GET", "HEAD") else "push"
        granted = self.tokens.get(token or "", "")
        ok = path == "/v2/" and token is not None and token in self.tokens
        for scope in granted.split(" "):
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind == "repository" and name == repository and wanted in actions.split(","):
                ok = True
        if ok:
            return True
        challenge = f'Bearer realm="http://{self.address}/token",service="hakobune-test"'
        if path != "/v2/":
            challenge += f',scope="repository:{repository}:{wanted}"'
        data = b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'
        handler.send_response(401)
        handler.send_header("WWW-Authenticate", challenge)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if handler.command != "HEAD":  # a HEAD answer has no body (the connection may be reused)
            handler.wfile.write(data)
        return False

    def _token(self, handler) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(handler.path).query)
        self.token_requests.append(query)
        wanted = self.bearer or {}
        if wanted:
            expected = "Basic " + base64.b64encode(f"{wanted['user']}:{wanted['password']}".encode()).decode()
            if handler.headers.get("Authorization") != expected:
                data = b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}'
                handler.send_response(401)
                handler.send_header("Content-Length", str(len(data)))
                handler.end_headers()
                handler.wfile.write(data)
                return
        token = base64.urlsafe_b64encode(os.urandom(12)).decode()
        self.tokens[token] = " ".join(query.get("scope", []))
        data = f'{{"token": "{token}", "expires_in": 300}}'.encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
