"""The API's error cases, over plain HTTP on the server's socket: unknown
objects (404), name conflicts (409), bad JSON and bad parameters (400 with
a message), unsupported API versions (400), an oversized request (413,
refused before its body is read), and clients that hang up in the middle
of a stream (the server lets go of everything: threads, the container)."""

import http.client
import json
import os
import socket
import time

import pytest

from api_server import DOCKER, api, sleeper  # noqa: F401 - fixtures

pytestmark = [pytest.mark.root, pytest.mark.skipif(DOCKER is None, reason="needs the docker CLI")]


def _connect(api) -> http.client.HTTPConnection:
    connection = http.client.HTTPConnection("localhost", timeout=30)
    connection.sock = socket.socket(socket.AF_UNIX)
    connection.sock.connect(api.socket)
    return connection


def call(api, method, path, body=None):
    """(status, the decoded JSON body or the raw bytes)."""
    connection = _connect(api)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        try:
            return response.status, json.loads(data)
        except ValueError:
            return response.status, data
    finally:
        connection.close()


def test_unknown_objects_are_404(api):
    for path, message in [("/v1.41/containers/no-such-thing/json", "No such container: no-such-thing"),
                          ("/v1.41/containers/no-such-thing/logs?stdout=1", "No such container: no-such-thing"),
                          ("/v1.41/exec/" + "0" * 64 + "/json", "No such exec instance: " + "0" * 64),
                          ("/v1.41/nothing/here", "page not found")]:
        assert call(api, "GET", path) == (404, {"message": message}), path
    assert call(api, "POST", "/v1.41/containers/no-such-thing/start") == \
        (404, {"message": "No such container: no-such-thing"})
    assert call(api, "DELETE", "/v1.41/containers/no-such-thing")[0] == 404


def test_a_taken_name_is_409(api, sleeper):
    container_id = call(api, "GET", f"/v1.41/containers/{sleeper}/json")[1]["Id"]
    status, body = call(api, "POST", f"/v1.41/containers/create?name={sleeper}", {"Image": "busybox:local"})
    assert status == 409
    assert body == {"message": f'Conflict. The container name "/{sleeper}" is already in use by container '
                               f'"{container_id}". You have to remove (or rename) that container to be able to '
                               "reuse that name."}
    status, body = call(api, "DELETE", f"/v1.41/containers/{sleeper}")
    assert (status, body) == (409, {"message": f"You cannot remove a running container {container_id}. Stop the "
                                               "container before attempting removal or force remove"})


def test_bad_json_and_bad_parameters_are_400_with_a_message(api):
    status, body = call(api, "POST", "/v1.41/containers/create", b"{not json")
    assert status == 400 and body["message"].startswith("invalid JSON")
    status, body = call(api, "POST", "/v1.41/containers/create", [1, 2])
    assert status == 400 and body["message"]
    status, body = call(api, "POST", "/v1.41/containers/create",
                        {"Image": "busybox:local", "HostConfig": {"Memory": "lots"}})
    assert (status, body) == (400, {"message": "json: cannot unmarshal string into Go struct field "
                                               "HostConfig.HostConfig.Memory of type int64"})
    status, body = call(api, "POST", "/v1.41/containers/create", {"Image": "busybox:local", "Tty": "yes"})
    assert (status, body) == (400, {"message": "json: cannot unmarshal string into Go struct field "
                                               "ContainerConfigWrapper.Tty of type bool"})
    status, body = call(api, "GET", "/v1.41/containers/json?filters=notjson")
    assert status == 400 and "notjson" in body["message"]
    status, body = call(api, "GET", "/v1.41/containers/json?filters=" + '{"bogus":["x"]}'.replace('"', "%22"))
    assert (status, body) == (400, {"message": "Invalid filter 'bogus'"})
    status, body = call(api, "GET", "/v1.41/containers/json?limit=many")
    assert status == 400 and "limit" in body["message"]
    # nothing was created by the refused requests
    assert api.hakobune("ps", "-aq").stdout.split() == []


def test_unsupported_api_versions_are_400(api):
    assert call(api, "GET", "/v1.99/version") == \
        (400, {"message": "client version 1.99 is too new. Maximum supported API version is 1.41"})
    status, body = call(api, "GET", "/v1.12/containers/json")
    assert status == 400 and body["message"].startswith("client version 1.12 is too old")


def test_an_oversized_request_is_refused_before_its_body_is_read(api):
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(api.socket)
        started = time.monotonic()
        sock.sendall(b"POST /v1.41/containers/create HTTP/1.1\r\nHost: localhost\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n{\"Image\":")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        assert time.monotonic() - started < 5
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert json.loads(body)["message"] == "request body too large: 1073741824 bytes, the limit is 8388608"
    # a body that goes over the limit without saying so (chunked) is cut off too
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(api.socket)
        size = 10 << 20
        sock.sendall(b"POST /v1.41/containers/create HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json"
                     b"\r\nTransfer-Encoding: chunked\r\n\r\n" + b"%x\r\n[" % size)
        try:
            for _ in range(size // (1 << 20)):
                sock.sendall(b"1," * (1 << 19))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading once over the limit
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413 ") and b"request body too large: over 8388608 bytes" in answer
    # the server still answers
    assert call(api, "GET", "/_ping") == (200, b"OK")


def _threads(api) -> int:
    with open(f"/proc/{api.process.pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Threads:"))


def _settles_at(api, baseline: int, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while (count := _threads(api)) > baseline and time.monotonic() < deadline:
        time.sleep(0.1)
    return count


def _open_stream(api, path: str, method: str = "GET", upgrade: bool = False) -> socket.socket:
    """Send a request and read the answer's head; the socket is left open."""
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(10)
    sock.connect(api.socket)
    extra = b"Connection: Upgrade\r\nUpgrade: tcp\r\n" if upgrade else b""
    sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n".encode() + extra + b"\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        assert chunk, head
        head += chunk
    assert head.split(b" ")[1] in (b"200", b"101"), head
    return sock


def test_clients_that_hang_up_mid_stream_leave_nothing_behind(api):
    name = f"api-hangup-{os.getpid()}"
    proc = api.docker("run", "-d", "--name", name, "busybox:local", "sh", "-c",
                      "while true; do echo tick; sleep 0.1; done")
    assert proc.returncode == 0, proc.stderr
    try:
        assert call(api, "GET", "/_ping")[0] == 200
        baseline = _threads(api)
        streams = [
            _open_stream(api, f"/v1.41/containers/{name}/logs?stdout=1&follow=1"),
            _open_stream(api, "/v1.41/events"),
            _open_stream(api, f"/v1.41/containers/{name}/stats"),
            _open_stream(api, f"/v1.41/containers/{name}/attach?stream=1&stdout=1", "POST", upgrade=True),
            _open_stream(api, f"/v1.41/containers/{name}/export"),
        ]
        for sock in streams[:1] + streams[3:]:
            assert sock.recv(1)  # the stream is flowing
        assert _threads(api) > baseline
        for sock in streams:
            sock.close()
        assert _settles_at(api, baseline) <= baseline
        # the container is not held by an abandoned export or attach
        started = time.monotonic()
        assert api.docker("rm", "-f", name).returncode == 0
        assert time.monotonic() - started < 10
        assert call(api, "GET", f"/v1.41/containers/{name}/json")[0] == 404
    finally:
        api.docker("rm", "-f", name)
