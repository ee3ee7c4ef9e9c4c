"""`hakobune serve` with the real docker CLI and docker-py as clients:
negotiation, errors, and the image endpoints, against the answers recorded
from Docker (shared/reference/engine-api/)."""

import http.client
import json
import os
import socket
import stat

import pytest

from api_server import DOCKER, api  # noqa: F401 - fixture

pytestmark = [pytest.mark.root, pytest.mark.skipif(DOCKER is None, reason="needs the docker CLI")]


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str):
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.path)


def request(api, method, path, body=None, headers=None):
    connection = UnixConnection(api.socket)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_the_socket_is_root_only(api):
    mode = os.stat(api.socket).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600


def test_ping_and_version_negotiation(api):
    status, headers, body = request(api, "HEAD", "/_ping")
    assert (status, body) == (200, b"")
    assert headers["Api-Version"] == "1.41" and headers["Ostype"] == "linux"
    assert headers["Cache-Control"] == "no-cache, no-store, must-revalidate"
    assert request(api, "GET", "/v1.41/_ping")[2] == b"OK"
    status, _, body = request(api, "GET", "/version")
    assert status == 200 and json.loads(body)["ApiVersion"] == "1.41"
    status, _, body = request(api, "GET", "/v1.99/version")
    assert status == 400
    assert json.loads(body) == {"message": "client version 1.99 is too new. Maximum supported API version is 1.41"}
    status, _, body = request(api, "GET", "/v1.41/nothing/here")
    assert (status, json.loads(body)) == (404, {"message": "page not found"})
    proc = api.docker("version", "--format", "{{.Server.APIVersion}} {{.Client.APIVersion}}")
    assert (proc.returncode, proc.stdout) == (0, "1.41 1.41\n"), proc.stderr


def test_errors_are_docker_shaped(api):
    status, headers, body = request(api, "GET", "/v1.41/images/nothing-here:v0/json")
    assert status == 404 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"message": "No such image: nothing-here:v0"}
    proc = api.docker("image", "inspect", "nothing-here:v0")
    assert proc.returncode == 1
    assert "No such image: nothing-here:v0" in proc.stderr


def test_images_through_the_docker_cli(api, tmp_path):
    rows = api.docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").stdout.splitlines()
    assert f"busybox:local {api.busybox_id[7:19]}" in rows
    assert api.docker("tag", "busybox:local", "copy:v1").returncode == 0
    inspected = json.loads(api.docker("image", "inspect", "copy:v1").stdout)
    assert inspected[0]["Id"] == api.busybox_id and "copy:v1" in inspected[0]["RepoTags"]
    history = api.docker("history", "--format", "{{.Comment}}", "copy:v1").stdout
    assert history.strip()
    archive = tmp_path / "save.tar"
    proc = api.docker("save", "-o", str(archive), "copy:v1")
    assert proc.returncode == 0, proc.stderr
    proc = api.docker("rmi", "copy:v1")
    assert (proc.returncode, proc.stdout) == (0, "Untagged: copy:v1\n"), proc.stderr
    proc = api.docker("load", "-i", str(archive))
    assert (proc.returncode, proc.stdout) == (0, "Loaded image: copy:v1\n"), proc.stderr
    proc = api.docker("import", api.tar, "imported:v1")
    assert proc.returncode == 0 and proc.stdout.startswith("sha256:"), proc.stderr
    assert api.docker("rmi", "copy:v1", "imported:v1").returncode == 0


def test_docker_py_pings_and_lists(api):
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=api.host, version="auto")
    try:
        assert client.ping() is True
        assert client.version()["ApiVersion"] == "1.41"
        tags = [tag for image in client.images.list() for tag in image.tags]
        assert "busybox:local" in tags
        with pytest.raises(docker.errors.ImageNotFound):
            client.images.get("nothing-here:v0")
    finally:
        client.close()
