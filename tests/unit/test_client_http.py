"""hakobune.client.http: responses, chunked bodies, the multiplexed stream
framing and JSON message streams, parsed from bytes written to a real
socket pair (in pieces that cut through headers, sizes and frames)."""

import socket
import threading

import pytest

from hakobune.client import http
from hakobune.client.connection import filters_json, path_of, version_tuple
from hakobune.client.endpoint import Endpoint, EndpointError, resolve
from hakobune.client.engine import split_reference
from hakobune.errors import Conflict, InvalidArgument, NotFound, SystemFailure


def _reader(data: bytes, piece: int = 3):
    """A Reader over a socket pair whose other end writes `data` in `piece`-byte sends."""
    ours, theirs = socket.socketpair()

    def feed():
        for start in range(0, len(data), piece):
            theirs.sendall(data[start:start + piece])
        theirs.close()

    threading.Thread(target=feed, daemon=True).start()
    return ours, http.Reader(ours)


def _frame(stream: int, payload: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


def test_content_length_response():
    sock, reader = _reader(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n"
                           b'{"Id": "abc"}')
    response = http.read_response(sock, reader, "GET")
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"Id": "abc"}


def test_chunked_response_with_extensions_and_trailers():
    body = b"5;name=x\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: 1\r\n\r\n"
    sock, reader = _reader(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body, piece=2)
    response = http.read_response(sock, reader, "GET")
    assert response.read() == b"hello world"


def test_truncated_chunked_response_is_an_error():
    sock, reader = _reader(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
    response = http.read_response(sock, reader, "GET")
    with pytest.raises(http.ProtocolError):
        response.read()


def test_body_to_the_end_of_the_connection_and_none_for_head_and_204():
    sock, reader = _reader(b"HTTP/1.1 200 OK\r\n\r\nall of it")
    assert http.read_response(sock, reader, "GET").read() == b"all of it"
    sock, reader = _reader(b"HTTP/1.1 204 No Content\r\n\r\n")
    assert http.read_response(sock, reader, "POST").read() == b""
    sock, reader = _reader(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
    assert http.read_response(sock, reader, "HEAD").read() == b""


def test_informational_answers_are_skipped_but_not_101():
    sock, reader = _reader(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert http.read_response(sock, reader, "POST").read() == b"ok"
    sock, reader = _reader(b"HTTP/1.1 101 UPGRADED\r\nUpgrade: tcp\r\n\r\n" + _frame(1, b"raw"))
    response = http.read_response(sock, reader, "POST")
    assert response.status == 101
    hijacked = http.Hijacked(response.sock, response.reader)
    assert list(http.iter_frames(hijacked.pieces())) == [(1, b"raw")]


def test_frames_split_across_pieces():
    data = _frame(1, b"out\n") + _frame(2, b"err\n") + _frame(1, b"") + _frame(1, b"x" * 70000)
    pieces = [data[i:i + 5] for i in range(0, len(data), 5)]
    frames = list(http.iter_frames(pieces))
    assert frames == [(1, b"out\n"), (2, b"err\n"), (1, b""), (1, b"x" * 70000)]


def test_a_stream_ending_inside_a_frame_is_an_error():
    with pytest.raises(http.ProtocolError):
        list(http.iter_frames([_frame(1, b"hello")[:-2]]))


def test_json_messages_across_pieces_and_characters():
    text = '{"status":"Pulling"}\r\n{"status":"Done \u00e9t\u00e9","id":"x"}\n  {"a": [1, {"b": 2}]}'.encode()
    pieces = [text[i:i + 4] for i in range(0, len(text), 4)]
    assert list(http.iter_json_messages(pieces)) == [{"status": "Pulling"}, {"status": "Done \u00e9t\u00e9", "id": "x"},
                                                     {"a": [1, {"b": 2}]}]
    with pytest.raises(http.ProtocolError):
        list(http.iter_json_messages([b'{"status": "cut']))


def test_errors_map_to_kinds_with_the_servers_message():
    assert isinstance(http.error_of(404, b'{"message":"No such container: x"}'), NotFound)
    assert str(http.error_of(404, b'{"message":"No such container: x"}')) == "No such container: x"
    assert isinstance(http.error_of(409, b'{"message":"in use"}'), Conflict)
    assert isinstance(http.error_of(400, b"plain text\n"), InvalidArgument)
    assert str(http.error_of(400, b"plain text\n")) == "plain text"
    assert isinstance(http.error_of(500, b""), SystemFailure)


def test_chunked_request_body():
    import io

    ours, theirs = socket.socketpair()
    http.send_body(ours, io.BytesIO(b"a" * 70000))
    ours.close()
    reader = http.Reader(theirs)
    assert b"".join(http.iter_chunked(reader)) == b"a" * 70000


class _Globals:
    def __init__(self, host=(), context=""):
        self.host, self.context = list(host), context
        self.tls = self.tlsverify = False
        self.tlscacert = self.tlscert = self.tlskey = ""
        self.config = ""


def test_endpoint_resolution():
    assert resolve(_Globals(), environ={}) is None
    assert resolve(_Globals(), environ={"DOCKER_CONTEXT": "default"}) is None
    endpoint = resolve(_Globals(["unix:///tmp/x.sock"]), environ={"DOCKER_HOST": "tcp://1.2.3.4:5"})
    assert (endpoint.scheme, endpoint.path, endpoint.context) == ("unix", "/tmp/x.sock", "default")
    endpoint = resolve(_Globals(), environ={"DOCKER_HOST": "tcp://127.0.0.1"})
    assert (endpoint.hostname, endpoint.port, endpoint.http_host) == ("127.0.0.1", 2375, "127.0.0.1:2375")
    endpoint = resolve(_Globals(context="default"), environ={"DOCKER_HOST": "unix:///a"})
    assert endpoint.path == "/a"
    with pytest.raises(EndpointError, match="cannot specify both --host and --context"):
        resolve(_Globals(["unix:///a"], "x"), environ={})
    with pytest.raises(EndpointError, match="Specify only one -H"):
        resolve(_Globals(["unix:///a", "unix:///b"]), environ={})
    with pytest.raises(EndpointError, match="invalid bind address format: foo://x"):
        Endpoint("foo://x")


def test_context_from_the_store(tmp_path):
    import hashlib
    import json

    meta = tmp_path / "contexts" / "meta" / hashlib.sha256(b"mine").hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({"Name": "mine", "Endpoints": {"docker": {"Host": "unix:///s"}}}))
    globals_ = _Globals(context="mine")
    globals_.config = str(tmp_path)
    endpoint = resolve(globals_, environ={})
    assert (endpoint.path, endpoint.context) == ("/s", "mine")
    with pytest.raises(EndpointError, match='context "other": context not found'):
        resolve(_Globals(), environ={"DOCKER_CONTEXT": "other", "DOCKER_CONFIG": str(tmp_path)})


def test_small_helpers():
    assert version_tuple("1.41") < version_tuple("1.50")
    assert path_of("/images/{}/json", "127.0.0.1:5000/a b:1") == "/images/127.0.0.1:5000/a%20b:1/json"
    assert filters_json({"label": ["a=1"], "empty": []}) == '{"label": {"a=1": true}}'
    assert filters_json({}) is None
    assert split_reference("127.0.0.1:5000/bb:v1") == ("127.0.0.1:5000/bb", "v1")
    assert split_reference("127.0.0.1:5000/bb") == ("127.0.0.1:5000/bb", "")
    assert split_reference("bb@sha256:ab") == ("bb", "sha256:ab")
