"""A client of one Engine API endpoint: the version negotiated through
`/_ping` as the docker CLI does (the lower of the server's `Api-Version`
and ours, 1.41, the version whose shapes we know), requests under
`/v<version>`, answers other than 2xx/304/101 raised as hakobune.errors
kinds with the server's message, and the hijacked connections of attach
and exec.  A connection per request (unix sockets are cheap; the waits and
streams of `run` need their own anyway)."""

import json
from urllib.parse import quote, urlencode

from hakobune.client import http
from hakobune.client.errors import CannotConnect

API_VERSION = "1.41"


def version_tuple(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return (0,)


def path_of(template: str, *names: str) -> str:
    """`template` with each {} replaced by a name quoted for a path (its / and : kept)."""
    return template.format(*(quote(name, safe="/:@") for name in names))


def filters_json(filters: dict | None) -> str | None:
    """Docker's filter arguments as the API takes them: {"name": {"value": true}}."""
    filters = {k: v for k, v in (filters or {}).items() if v}
    if not filters:
        return None
    return json.dumps({name: {value: True for value in values} for name, values in filters.items()})


class Client:
    def __init__(self, endpoint, timeout: float | None = None):
        self.endpoint = endpoint
        self.timeout = timeout
        self._version = None
        self.server_version = None

    @property
    def version(self) -> str:
        if self._version is None:
            self._version = self._negotiate()
        return self._version

    def _negotiate(self) -> str:
        """HEAD /_ping as the docker CLI sends it (GET when HEAD is refused)."""
        response = self._send("HEAD", "/_ping", None, {}, versioned=False)
        response.read()
        if response.status != 200:
            response = self._send("GET", "/_ping", None, {}, versioned=False)
            response.read()
        self.server_version = response.headers.get("api-version")
        if response.status != 200 or not self.server_version:
            return API_VERSION
        if version_tuple(self.server_version) < version_tuple(API_VERSION):
            return self.server_version
        return API_VERSION

    def _connect(self):
        try:
            return self.endpoint.connect(self.timeout)
        except PermissionError:
            where = f"unix {self.endpoint.path}" if self.endpoint.scheme == "unix" else "tcp"
            raise CannotConnect(f"permission denied while trying to connect to the Docker daemon socket at "
                                f"{self.endpoint.host}: dial {where}: connect: permission denied") from None
        except OSError as e:
            if self.endpoint.tls is not None and type(e).__name__.startswith("SSL"):
                raise CannotConnect(f"error during connect: {self.endpoint.host}: {e}") from None
            raise CannotConnect(f"Cannot connect to the Docker daemon at {self.endpoint.host}. "
                                "Is the docker daemon running?") from None

    def _send(self, method: str, path: str, query: dict | None, headers: dict, body=None,
              versioned: bool = True) -> http.Response:
        target = (f"/v{self.version}{path}" if versioned else path)
        query = {k: v for k, v in (query or {}).items() if v is not None}
        if query:
            target += "?" + urlencode(query)
        sock = self._connect()
        try:
            headers = {"User-Agent": f"hakobune-client/{API_VERSION}", **headers}
            if isinstance(body, (bytes, bytearray)):
                headers["Content-Length"] = str(len(body))
            elif body is not None:
                headers["Transfer-Encoding"] = "chunked"
            elif method in ("POST", "PUT"):
                headers["Content-Length"] = "0"
            sock.sendall(http.format_request(method, target, self.endpoint.http_host, headers))
            http.send_body(sock, body)
            reader = http.Reader(sock)
            return http.read_response(sock, reader, method)
        except (ConnectionError, TimeoutError) as e:
            sock.close()
            raise CannotConnect(f"error during connect: {e}") from None
        except BaseException:
            sock.close()
            raise

    def request(self, method: str, path: str, query: dict | None = None, body=None,
                headers: dict | None = None) -> http.Response:
        """The response (its body unread) of a request; an error kind on an error status.
        `body`: a dict (sent as JSON), bytes, or a file object (streamed)."""
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif body is not None and not isinstance(body, (bytes, bytearray)):
            headers.setdefault("Content-Type", "application/x-tar")
        response = self._send(method, path, query, headers, body)
        if response.status >= 400:
            raise http.error_of(response.status, response.read())
        return response

    def request_quietly(self, method: str, path: str, query: dict | None = None) -> http.Response:
        """The response whatever its status (HEAD: errors have no body to read a message from)."""
        return self._send(method, path, query, {}, None)

    def call(self, method: str, path: str, query: dict | None = None, body=None, headers: dict | None = None):
        """The JSON answer of a request (None for an empty body)."""
        return self.request(method, path, query, body, headers).json()

    def hijack(self, path: str, query: dict | None = None, body=None) -> http.Hijacked:
        """POST with `Upgrade: tcp`: the raw two-way stream of attach or exec start."""
        headers = {"Connection": "Upgrade", "Upgrade": "tcp"}
        if body is not None:
            body = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        response = self._send("POST", path, query, headers, body)
        if response.status >= 400:
            raise http.error_of(response.status, response.read())
        return http.Hijacked(response.sock, response.reader)
