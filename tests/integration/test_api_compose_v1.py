"""docker-compose v1 (Debian's 1.29.2, on docker-py) against `hakobune serve`:
a two-service project (a busybox httpd `web` and a `client` that fetches it
by service name over a user network, a named volume mounted by both) taken
through up, ps, logs, exec, run, stop, start and down -v; nothing may be
left in hakobune's store afterwards (shared/reference/engine-api/compose-*.md
are the same commands recorded against dockerd)."""

import os
import subprocess
import time

import pytest

from api_server import api  # noqa: F401 - fixture

COMPOSE = "/usr/bin/docker-compose"

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(not os.path.exists(COMPOSE),
                                 reason="needs docker-compose v1 (/usr/bin/docker-compose)")]

PROJECT_FILE = """\
version: "3.8"
services:
  web:
    image: busybox:local
    command: ["sh", "-c", "echo hello-from-web > /srv/index.html && echo web-started && exec httpd -f -v -p 80 -h /srv"]
    networks: [backend]
    volumes:
      - shared:/srv
  client:
    image: busybox:local
    command: ["sh", "-c", "until wget -q -O - http://web/index.html; do sleep 0.2; done; exec sleep 600"]
    depends_on: [web]
    networks: [backend]
    volumes:
      - shared:/data
networks:
  backend: {}
volumes:
  shared: {}
"""


class Compose:
    def __init__(self, api, directory, project: str):
        self.api, self.directory, self.project = api, directory, project

    def __call__(self, *args, timeout=120):
        environment = {**os.environ, "DOCKER_HOST": self.api.host, "DOCKER_CONFIG": os.path.join(self.api.base, "cfg"),
                       "COMPOSE_PROJECT_NAME": self.project, "COMPOSE_INTERACTIVE_NO_CLI": "1"}
        return subprocess.run([COMPOSE, "--no-ansi", *args], cwd=self.directory, capture_output=True, text=True,
                              timeout=timeout, env=environment)

    def ok(self, *args, timeout=120):
        proc = self(*args, timeout=timeout)
        assert proc.returncode == 0, f"compose {args}: {proc.stdout}\n{proc.stderr}"
        return proc


@pytest.fixture
def compose(api, tmp_path):
    (tmp_path / "docker-compose.yml").write_text(PROJECT_FILE)
    project = Compose(api, str(tmp_path), f"hkv1{os.getpid()}")
    try:
        yield project
    finally:
        project("down", "-v", "-t", "1")


def _eventually(check, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def _store_is_empty(api) -> None:
    containers = api.hakobune("ps", "-aq").stdout.split()
    volumes = api.hakobune("volume", "ls", "-q").stdout.split()
    networks = api.hakobune("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert containers == [] and volumes == [], (containers, volumes)
    assert sorted(networks) == ["bridge", "host", "none"], networks


def test_compose_v1_project_life_cycle(api, compose):
    project = compose.project
    proc = compose.ok("up", "-d")
    assert f'Creating network "{project}_backend" with the default driver' in proc.stderr
    assert f'Creating volume "{project}_shared" with default driver' in proc.stderr
    assert f"Creating {project}_client_1 ... done" in proc.stderr

    listing = compose.ok("ps").stdout
    rows = [line.split() for line in listing.splitlines()[2:]]
    assert {row[0]: row[-1] for row in rows} == {f"{project}_client_1": "Up", f"{project}_web_1": "Up"}, listing
    # the same objects through hakobune's own CLI
    names = api.hakobune("ps", "--format", "{{.Names}}").stdout.split()
    assert sorted(names) == [f"{project}_client_1", f"{project}_web_1"]

    # the client reached web by its service name on the project's network
    logs = _eventually(lambda: (lambda text: "client_1  | hello-from-web" in text and text)(
        compose.ok("logs", "--no-color").stdout))
    assert logs, compose.ok("logs", "--no-color").stdout
    assert "web_1     | web-started" in logs and "response:200" in logs

    proc = compose.ok("exec", "-T", "client", "wget", "-q", "-O", "-", "http://web/index.html")
    assert proc.stdout == "hello-from-web\n"
    proc = compose("exec", "-T", "client", "sh", "-c", "cat /data/index.html; exit 3")
    assert (proc.returncode, proc.stdout) == (3, "hello-from-web\n"), proc.stderr

    proc = compose.ok("run", "--rm", "-T", "client", "sh", "-c", "wget -q -O - http://web/index.html; echo run-ok")
    assert proc.stdout == "hello-from-web\nrun-ok\n"
    # the one-off container is gone, the project's two remain
    assert len(api.hakobune("ps", "-aq").stdout.split()) == 2

    compose.ok("stop", "-t", "1")
    states = compose.ok("ps").stdout
    assert states.count("Exit 137") == 2, states
    assert api.hakobune("ps", "-q").stdout.split() == []

    compose.ok("start")
    proc = _eventually(lambda: (lambda p: p.returncode == 0 and p)(
        compose("exec", "-T", "client", "wget", "-q", "-O", "-", "http://web/index.html")))
    assert proc and proc.stdout == "hello-from-web\n"

    proc = compose.ok("down", "-v", "-t", "1")
    assert f"Removing network {project}_backend" in proc.stderr
    assert f"Removing volume {project}_shared" in proc.stderr
    _store_is_empty(api)


def test_compose_v1_up_twice_keeps_the_containers(api, compose):
    """`up` twice is idempotent (compose finds its containers by labels and
    config hash) and a changed command recreates the service."""
    compose.ok("up", "-d")
    first = api.hakobune("ps", "-q", "--no-trunc").stdout.split()
    proc = compose.ok("up", "-d")
    assert f"{compose.project}_web_1 is up-to-date" in proc.stderr, proc.stderr
    assert sorted(api.hakobune("ps", "-q", "--no-trunc").stdout.split()) == sorted(first)
    compose.ok("down", "-v", "-t", "1")
    _store_is_empty(api)
