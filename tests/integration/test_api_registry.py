"""pull, push and login through `hakobune serve` with the docker CLI,
against Debian's docker-registry on 127.0.0.1 (shared/reference/engine-api/
docker-push.md, docker-pull.md, docker-login*.md)."""

import base64
import json
import os

import pytest

from api_server import DOCKER, api  # noqa: F401 - fixture
from registry_server import REGISTRY, Registry

pytestmark = [pytest.mark.root, pytest.mark.skipif(DOCKER is None, reason="needs the docker CLI"),
              pytest.mark.skipif(not os.path.exists(REGISTRY), reason="needs Debian's docker-registry")]


@pytest.fixture(scope="module")
def private_registry():
    with Registry(users={"alice": "s3cret"}) as server:
        yield server


def test_push_and_pull_with_the_docker_cli(api):
    with Registry() as registry:
        reference = f"{registry.address}/apipush:v1"
        assert api.docker("tag", "busybox:local", reference).returncode == 0
        try:
            proc = api.docker("push", reference)
            assert proc.returncode == 0, proc.stderr
            assert "v1: digest: sha256:" in proc.stdout
            assert api.docker("rmi", reference).returncode == 0
            proc = api.docker("pull", reference)
            assert proc.returncode == 0, proc.stderr
            assert proc.stdout.splitlines()[-1] == reference
            assert json.loads(api.docker("image", "inspect", reference).stdout)[0]["Id"] == api.busybox_id
        finally:
            api.docker("rmi", reference)


def test_push_stream_ends_with_the_aux_message(api):
    import http.client
    import socket

    with Registry() as registry:
        reference = f"{registry.address}/apiaux"
        assert api.docker("tag", "busybox:local", f"{reference}:v2").returncode == 0
        try:
            connection = http.client.HTTPConnection("localhost", timeout=60)
            connection.sock = socket.socket(socket.AF_UNIX)
            connection.sock.connect(api.socket)
            auth = base64.urlsafe_b64encode(json.dumps({"username": "", "password": ""}).encode()).decode()
            connection.request("POST", f"/v1.41/images/{reference}/push?tag=v2", headers={"X-Registry-Auth": auth})
            response = connection.getresponse()
            messages = [json.loads(line) for line in response.read().splitlines() if line.strip()]
            connection.close()
            assert response.status == 200
            aux = messages[-1]["aux"]
            assert aux["Tag"] == "v2" and aux["Digest"].startswith("sha256:") and aux["Size"] > 0
            assert messages[-2]["status"] == f"v2: digest: {aux['Digest']} size: {aux['Size']}"
        finally:
            api.docker("rmi", f"{reference}:v2")


def test_a_malformed_registry_auth_header_is_a_400(api):
    import http.client
    import socket

    connection = http.client.HTTPConnection("localhost", timeout=30)
    connection.sock = socket.socket(socket.AF_UNIX)
    connection.sock.connect(api.socket)
    connection.request("POST", "/v1.41/images/create?fromImage=nothing&tag=v1",
                       headers={"X-Registry-Auth": "%%%not-base64"})
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()
    assert response.status == 400 and "X-Registry-Auth" in body["message"]


def test_login_against_a_private_registry(api, private_registry):
    address = private_registry.address
    proc = api.docker("login", "-u", "alice", "--password-stdin", address, input="wrong\n")
    assert proc.returncode == 1
    assert f"login attempt to http://{address}/v2/ failed with status: 401 Unauthorized" in proc.stderr
    proc = api.docker("login", "-u", "alice", "--password-stdin", address, input="s3cret\n")
    assert proc.returncode == 0 and "Login Succeeded" in proc.stdout, proc.stderr
    reference = f"{address}/apiprivate:v1"
    assert api.docker("tag", "busybox:local", reference).returncode == 0
    try:
        proc = api.docker("push", reference)
        assert proc.returncode == 0, proc.stderr
    finally:
        api.docker("rmi", reference)
        api.docker("logout", address)
