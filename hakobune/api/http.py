"""HTTP/1.1 for the Engine API: a request's parts and body, and the ways a
handler answers (a JSON document, nothing, a chunked stream, or a hijacked
connection for attach and exec).

Headers on every answer are the ones Docker's daemon sends and clients
read: Api-Version, Docker-Experimental, Ostype, Server.
"""

from __future__ import annotations

import json
import urllib.parse

from hakobune import __version__
from hakobune.api import API_VERSION
from hakobune.errors import HakobuneError, InvalidArgument

COMMON_HEADERS = (("Api-Version", API_VERSION), ("Docker-Experimental", "false"), ("Ostype", "linux"),
                  ("Server", f"hakobune/{__version__} (linux)"))
_READ_LIMIT = 1 << 20
JSON_LIMIT = 8 << 20  # a JSON request body (create, update, exec, networks...) larger than this is refused


class RequestTooLarge(InvalidArgument):
    """A request body over the limit of its endpoint: 413."""

    http_status = 413


class Request:
    def __init__(self, method: str, path: str, query: str, headers, body, version: str | None,
                 params: dict | None = None):
        self.method = method
        self.path = path
        self.query = urllib.parse.parse_qs(query, keep_blank_values=True)
        self.headers = headers
        self.body = body  # a binary reader of the request's body (b"" at its end)
        self.version = version  # the /v1.xx prefix's version, None when unversioned
        self.params = params or {}

    # --- query parameters, as Docker reads them --------------------------------------
    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        return list(self.query.get(name, ()))

    def flag(self, name: str, default: bool = False) -> bool:
        """Docker's boolean parameters: "", "0", "false", "no" are false."""
        value = self.arg(name)
        if value is None:
            return default
        return value.strip().lower() not in ("", "0", "false", "no", "off")

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.arg(name)
        if value in (None, ""):
            return default
        try:
            return int(value)
        except ValueError:
            raise InvalidArgument(f"invalid value for {name}: {value!r}") from None

    def filters(self) -> dict:
        """The `filters` parameter: {"name": ["a", "b"]}; the old map form
        ({"name": {"a": true}}) is accepted too."""
        text = self.arg("filters")
        if not text:
            return {}
        try:
            raw = json.loads(text)
        except ValueError:
            raise InvalidArgument(f"invalid filter: {text}") from None
        if not isinstance(raw, dict):
            raise InvalidArgument(f"invalid filter: {text}")
        filters = {}
        for key, values in raw.items():
            if isinstance(values, dict):
                values = [value for value, on in values.items() if on]
            elif isinstance(values, str):
                values = [values]
            filters[key] = list(values)
        return filters

    # --- the body -----------------------------------------------------------------------
    def read(self, limit: int = JSON_LIMIT) -> bytes:
        """The whole body, refused (413) beyond `limit` bytes: at once when
        its Content-Length says so, else as soon as it has gone over."""
        declared = getattr(self.body, "left", 0)
        if declared > limit:
            raise RequestTooLarge(f"request body too large: {declared} bytes, the limit is {limit}")
        chunks, size = [], 0
        while chunk := self.body.read(_READ_LIMIT):
            size += len(chunk)
            if size > limit:
                raise RequestTooLarge(f"request body too large: over {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def json(self, default=None):
        data = self.read()
        if not data.strip():
            return default
        try:
            return json.loads(data)
        except ValueError as e:
            raise InvalidArgument(f"invalid JSON: {e}") from None


class Response:
    """A complete answer: status, headers and bytes."""

    def __init__(self, status: int, body: bytes = b"", content_type: str | None = None, headers=()):
        self.status = status
        self.body = body
        self.headers = list(headers)
        if content_type:
            self.headers.append(("Content-Type", content_type))


class Stream:
    """An answer sent as it is produced (chunked): `chunks` is an iterable of
    bytes; the connection may be reused afterwards.  A stream that can stay
    quiet for long (events, logs -f) takes a `ClientWatch` as `watch`: the
    server gives it the connection, and the producer asks it whether the
    client has gone."""

    def __init__(self, status: int, chunks, content_type: str = "application/json", headers=(), watch=None):
        self.status = status
        self.chunks = chunks
        self.headers = [("Content-Type", content_type), *headers]
        self.watch = watch


class ClientWatch:
    """Whether the client of a streamed answer has closed its connection
    (it sends nothing while it reads a stream: readable means EOF)."""

    def __init__(self):
        self.sock = None

    def gone(self) -> bool:
        import select
        import socket

        if self.sock is None:
            return False
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
            if not readable:
                return False
            return self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except (OSError, ValueError):
            return True


class Hijack:
    """The connection itself, after a `101 UPGRADED` (or a 200 for old
    clients): `run(sock)` owns the socket until it returns."""

    def __init__(self, run, content_type: str = "application/vnd.docker.raw-stream"):
        self.run = run
        self.content_type = content_type


def json_response(document, status: int = 200, headers=()) -> Response:
    return Response(status, (json.dumps(document, separators=(",", ":")) + "\n").encode(), "application/json",
                    headers)


def no_content(status: int = 204) -> Response:
    return Response(status)


def text_response(text: str, status: int = 200) -> Response:
    return Response(status, text.encode(), "text/plain; charset=utf-8")


def error_response(error: BaseException) -> Response:
    """The one mapping of errors to answers: the engine's kinds carry their
    status; anything else is a 500 with its text."""
    if isinstance(error, HakobuneError):
        return json_response({"message": error.message}, error.http_status)
    return json_response({"message": f"{type(error).__name__}: {error}"}, 500)


def json_lines(documents):
    """A stream of JSON documents, one per line (pull, push, load, build, events)."""
    for document in documents:
        yield (json.dumps(document, separators=(",", ":")) + "\r\n").encode()


class ChunkedReader:
    """The body of a request sent with Transfer-Encoding: chunked."""

    def __init__(self, raw):
        self.raw = raw
        self.left = 0
        self.done = False

    def read(self, size: int = -1) -> bytes:
        out = []
        wanted = size if size >= 0 else 1 << 62
        while wanted > 0 and not self.done:
            if self.left == 0:
                line = self.raw.readline(1024)
                if not line:
                    raise InvalidArgument("request body ended inside a chunk")
                length = line.split(b";", 1)[0].strip()
                try:
                    self.left = int(length, 16)
                except ValueError:
                    raise InvalidArgument("bad chunk length in the request body") from None
                if self.left == 0:
                    while self.raw.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    self.done = True
                    break
            data = self.raw.read(min(self.left, wanted))
            if not data:
                raise InvalidArgument("request body ended inside a chunk")
            out.append(data)
            self.left -= len(data)
            wanted -= len(data)
            if self.left == 0:
                self.raw.readline(1024)  # the CRLF after a chunk
        return b"".join(out)


class LengthReader:
    def __init__(self, raw, length: int):
        self.raw = raw
        self.left = length

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        count = self.left if size < 0 else min(size, self.left)
        data = self.raw.read(count)
        self.left -= len(data)
        if not data:
            self.left = 0
        return data
