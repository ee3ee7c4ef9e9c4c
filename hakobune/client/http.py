"""HTTP/1.1 as the Docker Engine API speaks it, over a unix socket or TCP
(optionally TLS): requests with JSON or streamed (chunked) bodies,
responses read by Content-Length, chunked transfer coding or to the end of
the connection, the multiplexed stream framing of logs/attach/exec (an
8-byte header: stream, 3 zero bytes, big-endian size), concatenated JSON
messages (pull, push, events, load), and the hijacked `Upgrade: tcp`
connection of attach and exec start.

Everything here works on a `Reader` over anything with `recv`, so the
parsers are tested on a socket pair (tests/unit/test_client_http.py)."""

import json
import socket

from hakobune.errors import (Conflict, HakobuneError, InvalidArgument, NotFound, SystemFailure,
                             Unauthorized)

STDIN, STDOUT, STDERR, SYSTEM_ERROR = 0, 1, 2, 3
READ_SIZE = 65536


class ProtocolError(HakobuneError):
    """The server broke HTTP or the stream framing."""


class Reader:
    """A buffered reader over a socket (or anything with `recv`)."""

    def __init__(self, sock, initial: bytes = b""):
        self.sock = sock
        self.buffer = bytearray(initial)

    def _fill(self) -> bool:
        data = self.sock.recv(READ_SIZE)
        if not data:
            return False
        self.buffer += data
        return True

    def readline(self, limit: int = 65536) -> bytes:
        """A line with its end (b"" at the end of the stream)."""
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0:
                line = bytes(self.buffer[:end + 1])
                del self.buffer[:end + 1]
                return line
            if len(self.buffer) > limit:
                raise ProtocolError("a line of the response is too long")
            if not self._fill():
                line = bytes(self.buffer)
                self.buffer.clear()
                return line

    def read_exact(self, size: int) -> bytes:
        """`size` bytes, or fewer only when the stream ends first."""
        while len(self.buffer) < size:
            if not self._fill():
                break
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def read_some(self, limit: int = READ_SIZE) -> bytes:
        """What is buffered, else one receive (b"" at the end)."""
        if not self.buffer and not self._fill():
            return b""
        data = bytes(self.buffer[:limit])
        del self.buffer[:limit]
        return data


# --- bodies -------------------------------------------------------------------------------

def iter_chunked(reader: Reader):
    """The pieces of a chunked body (RFC 9112 7.1), trailers skipped."""
    while True:
        line = reader.readline()
        if not line:
            raise ProtocolError("the chunked response ended early")
        text = line.split(b";", 1)[0].strip()
        try:
            size = int(text, 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size {text!r}") from None
        if size == 0:
            while reader.readline().strip():
                pass
            return
        remaining = size
        while remaining:
            piece = reader.read_some(remaining)
            if not piece:
                raise ProtocolError("the chunked response ended early")
            remaining -= len(piece)
            yield piece
        if reader.read_exact(2).strip():
            raise ProtocolError("a chunk does not end with CRLF")


def iter_sized(reader: Reader, size: int):
    while size > 0:
        piece = reader.read_some(min(size, READ_SIZE))
        if not piece:
            raise ProtocolError("the response ended early")
        size -= len(piece)
        yield piece


def iter_to_end(reader: Reader):
    while True:
        piece = reader.read_some()
        if not piece:
            return
        yield piece


def iter_frames(pieces):
    """(stream, payload) of the multiplexed stream framing, from byte pieces."""
    buffer = bytearray()
    for piece in pieces:
        buffer += piece
        while len(buffer) >= 8:
            size = int.from_bytes(buffer[4:8], "big")
            if len(buffer) < 8 + size:
                break
            stream = buffer[0]
            payload = bytes(buffer[8:8 + size])
            del buffer[:8 + size]
            yield stream, payload
    if buffer:
        raise ProtocolError("the stream ended inside a frame")


def iter_json_messages(pieces):
    """The JSON values of a stream of concatenated (usually newline-separated) messages."""
    decoder = json.JSONDecoder()
    text = ""
    pending = b""
    for piece in pieces:
        pending += piece
        try:
            text += pending.decode("utf-8")
            pending = b""
        except UnicodeDecodeError:  # a piece ended inside a character
            continue
        while True:
            text = text.lstrip()
            if not text:
                break
            try:
                value, end = decoder.raw_decode(text)
            except json.JSONDecodeError:
                break  # incomplete: wait for more
            yield value
            text = text[end:]
    if text.strip() or pending.strip():
        raise ProtocolError("the stream ended inside a JSON message")


# --- errors -------------------------------------------------------------------------------

_KINDS = {400: InvalidArgument, 401: Unauthorized, 403: Unauthorized, 404: NotFound, 409: Conflict}


def error_of(status: int, body: bytes) -> HakobuneError:
    """The error kind of an API answer (404 NotFound, 409 Conflict, 400
    InvalidArgument, else SystemFailure), with the server's message."""
    text = body.decode("utf-8", "replace")
    try:
        message = json.loads(text).get("message") or text
    except (ValueError, AttributeError):
        message = text.strip() or f"status {status}"
    return _KINDS.get(status, SystemFailure)(message.rstrip("\n"))


# --- requests and responses ---------------------------------------------------------------------

class Response:
    """A response's status and headers; the body read by `pieces()`, `read()` or `json()`."""

    def __init__(self, sock, reader: Reader, status: int, reason: str, headers: dict, method: str):
        self.sock = sock
        self.reader = reader
        self.status = status
        self.reason = reason
        self.headers = headers
        self.method = method

    def pieces(self):
        """The body in pieces as they arrive."""
        if self.method == "HEAD" or self.status in (204, 304) or 100 <= self.status < 200:
            return iter(())
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            return iter_chunked(self.reader)
        length = self.headers.get("content-length")
        if length is not None:
            return iter_sized(self.reader, int(length))
        return iter_to_end(self.reader)

    def read(self) -> bytes:
        try:
            return b"".join(self.pieces())
        finally:
            self.close()

    def json(self):
        body = self.read()
        return json.loads(body) if body.strip() else None

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def read_response(sock, reader: Reader, method: str) -> Response:
    """The status line and headers (1xx other than 101 skipped)."""
    while True:
        line = reader.readline()
        if not line:
            raise ProtocolError("the server closed the connection without a response")
        parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise ProtocolError(f"malformed status line {line!r}")
        status = int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers: dict[str, str] = {}
        while True:
            header = reader.readline()
            if header in (b"\r\n", b"\n", b""):
                break
            name, _, value = header.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if 100 <= status < 200 and status != 101:
            continue
        return Response(sock, reader, status, reason, headers, method)


def format_request(method: str, target: str, host: str, headers: dict) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def send_body(sock, body) -> None:
    """bytes as they are; a file-like object in chunks (the chunked coding)."""
    if body is None:
        return
    if isinstance(body, (bytes, bytearray)):
        sock.sendall(body)
        return
    while True:
        data = body.read(READ_SIZE)
        if not data:
            break
        sock.sendall(b"%x\r\n" % len(data) + data + b"\r\n")
    sock.sendall(b"0\r\n\r\n")


class Hijacked:
    """The raw connection after `101 UPGRADED`: the stream's bytes come
    first from what the reader buffered, then from the socket."""

    def __init__(self, sock, reader: Reader):
        self.sock = sock
        self.reader = reader

    def pieces(self):
        return iter_to_end(self.reader)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close_write(self) -> None:
        """Half-close: the server sees the end of stdin."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
