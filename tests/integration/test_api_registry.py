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


def _forget_the_servers_login(api) -> None:
    """`docker login` through the API also stores the login in the server's
    own Docker config (the hakobune CLI as a client relies on that): removed,
    so that only what the client sends can work."""
    path = os.path.join(api.base, "server-cfg", "config.json")
    if os.path.exists(path):
        os.unlink(path)


def test_push_and_pull_with_the_clients_credentials_only(api, private_registry, tmp_path):
    address = private_registry.address
    reference = f"{address}/apiclientauth:v1"
    proc = api.docker("login", "-u", "alice", "--password-stdin", address, input="s3cret\n")
    assert proc.returncode == 0, proc.stderr
    _forget_the_servers_login(api)
    assert api.docker("tag", "busybox:local", reference).returncode == 0
    try:
        proc = api.docker("push", reference)
        assert proc.returncode == 0, proc.stderr
        assert "v1: digest: sha256:" in proc.stdout
        assert api.docker("rmi", reference).returncode == 0
        proc = api.docker("pull", reference)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.splitlines()[-1] == reference
        assert not os.path.exists(os.path.join(api.base, "server-cfg", "config.json"))

        # the client's config now holds a wrong password: Docker's errors, no login prompt
        api.docker("logout", address)
        config = os.path.join(api.base, "cfg", "config.json")
        with open(config, "w") as f:
            json.dump({"auths": {address: {"auth": base64.b64encode(b"alice:wrong").decode()}}}, f)
        proc = api.docker("pull", reference, input="")
        assert proc.returncode == 1
        assert "unauthorized: authentication required" in proc.stderr, proc.stderr
        assert "Login prior to pull" not in proc.stderr + proc.stdout
        proc = api.docker("push", reference)
        assert proc.returncode == 1
        assert proc.stderr.strip() == "unauthorized: authentication required", proc.stderr
    finally:
        api.docker("logout", address)
        api.docker("rmi", reference)


def _post(api, path: str, auth: dict | None):
    import http.client
    import socket

    connection = http.client.HTTPConnection("localhost", timeout=60)
    connection.sock = socket.socket(socket.AF_UNIX)
    connection.sock.connect(api.socket)
    headers = {}
    if auth is not None:
        headers["X-Registry-Auth"] = base64.urlsafe_b64encode(json.dumps(auth).encode()).decode()
    connection.request("POST", path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body


def test_registry_auth_forms_docker_accepts(api, private_registry):
    """"auth" (base64 user:password) as docker-py may send it, and a
    registrytoken sent to a registry as a bearer token."""
    from registry_server import Proxy

    address = private_registry.address
    _forget_the_servers_login(api)
    reference = f"{address}/apiauthforms"
    assert api.docker("tag", "busybox:local", f"{reference}:v1").returncode == 0
    try:
        encoded = base64.b64encode(b"alice:s3cret").decode()
        status, body = _post(api, f"/v1.41/images/{reference}/push?tag=v1", {"auth": encoded})
        assert status == 200 and b'"aux"' in body, body
        status, body = _post(api, f"/v1.41/images/create?fromImage={reference}&tag=v1", {"auth": encoded})
        assert status == 200 and b"Status: " in body, body
        status, body = _post(api, f"/v1.41/images/create?fromImage={reference}&tag=v1",
                             {"username": "alice", "password": "wrong"})
        assert (status, json.loads(body)["message"].endswith("unauthorized: authentication required")) == (500, True)
    finally:
        api.docker("rmi", f"{reference}:v1")

    with Registry() as upstream, Proxy(upstream.address, bearer={"user": "bob", "password": "pw"}) as proxy:
        proxy.tokens["granted-token"] = "repository:apitoken:pull,push"
        reference = f"{proxy.address}/apitoken"
        assert api.docker("tag", "busybox:local", f"{reference}:v1").returncode == 0
        try:
            status, body = _post(api, f"/v1.41/images/{reference}/push?tag=v1", {"registrytoken": "granted-token"})
            assert status == 200 and b'"aux"' in body, body
            assert proxy.token_requests == []  # the token went to the registry as it was
            status, body = _post(api, f"/v1.41/images/{reference}/push?tag=v1", {"registrytoken": "other"})
            assert b'"errorDetail"' in body and b'"aux"' not in body, body
        finally:
            api.docker("rmi", f"{reference}:v1")


def _oauth_token_server(proxy, refresh_token: str) -> None:
    """Make the proxy's token endpoint an OAuth2 one too: a POST with
    grant_type=refresh_token and the right refresh token gets an access
    token for the scopes asked (as Docker Hub's auth server answers an
    identity token)."""
    import urllib.parse

    forward = proxy._handle

    def handle(handler):
        if not (handler.command == "POST" and handler.path.startswith("/token")):
            return forward(handler)
        length = int(handler.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(handler.rfile.read(length).decode())
        proxy.token_requests.append(form)
        if form.get("grant_type") != ["refresh_token"] or form.get("refresh_token") != [refresh_token]:
            data, status = b'{"error": "invalid_grant"}', 400
        else:
            token = base64.urlsafe_b64encode(os.urandom(12)).decode()
            proxy.tokens[token] = " ".join(form.get("scope", []))
            data, status = json.dumps({"access_token": token, "expires_in": 300}).encode(), 200
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    proxy._handle = handle


def test_an_identity_token_is_traded_for_an_access_token(api):
    from registry_server import Proxy

    with Registry() as upstream, Proxy(upstream.address, bearer={"user": "bob", "password": "pw"}) as proxy:
        _oauth_token_server(proxy, "refresh-secret")
        reference = f"{proxy.address}/apioauth"
        assert api.docker("tag", "busybox:local", f"{reference}:v1").returncode == 0
        try:
            status, body = _post(api, f"/v1.41/images/{reference}/push?tag=v1", {"identitytoken": "refresh-secret"})
            assert status == 200 and b'"aux"' in body, body
            assert all(form["grant_type"] == ["refresh_token"] for form in proxy.token_requests)
            status, body = _post(api, f"/v1.41/images/{reference}/push?tag=v1", {"identitytoken": "stolen"})
            assert b'"errorDetail"' in body and b'"aux"' not in body, body
        finally:
            api.docker("rmi", f"{reference}:v1")


def test_pull_errors_before_progress_and_all_tags(api):
    """A pull that fails before any progress is a plain error response, as
    dockerd's (shared/reference/engine-api/docker-pull-missing.md); a
    repository without a tag pushes and pulls every tag (`-a`)."""
    with Registry() as registry:
        proc = api.docker("pull", f"{registry.address}/nothing:v1")
        assert proc.returncode == 1
        assert proc.stderr.strip() == (f"Error response from daemon: manifest for {registry.address}/nothing:v1 "
                                       "not found: manifest unknown: manifest unknown")
        repository = f"{registry.address}/apitags"
        for tag in ("a", "b"):
            assert api.docker("tag", "busybox:local", f"{repository}:{tag}").returncode == 0
        try:
            proc = api.docker("push", "-a", repository)
            assert proc.returncode == 0, proc.stderr
            assert "a: digest: sha256:" in proc.stdout and "b: digest: sha256:" in proc.stdout
            assert api.docker("rmi", f"{repository}:a", f"{repository}:b").returncode == 0
            proc = api.docker("pull", "-a", repository)
            assert proc.returncode == 0, proc.stderr
            assert proc.stdout.splitlines()[-1] == repository
            tags = api.docker("images", repository, "--format", "{{.Tag}}").stdout.split()
            assert sorted(tags) == ["a", "b"]
        finally:
            api.docker("rmi", f"{repository}:a", f"{repository}:b")
