"""docker-py end to end against `hakobune serve`: run detached, logs, wait,
remove; run in the foreground with remove=True; exec_run with a stream
(shared/reference/engine-api/dockerpy-*.md)."""

import os

import pytest

from api_server import DOCKER, api  # noqa: F401 - fixture

docker = pytest.importorskip("docker")
pytestmark = [pytest.mark.root, pytest.mark.skipif(DOCKER is None, reason="needs the docker CLI")]


@pytest.fixture
def client(api):
    client = docker.DockerClient(base_url=api.host, version="auto")
    made = []
    client.made = made
    try:
        yield client
    finally:
        for container_id in made:
            try:
                client.containers.get(container_id).remove(force=True)
            except docker.errors.NotFound:
                pass
        client.close()


def test_run_detached_logs_wait_remove(client):
    container = client.containers.run("busybox:local", ["sh", "-c", "echo out; echo err >&2; exit 3"], detach=True,
                                      name=f"pydetached-{os.getpid()}", labels={"py": "1"})
    client.made.append(container.id)
    assert container.wait(timeout=30) == {"Error": None, "StatusCode": 3}
    assert container.logs() == b"out\nerr\n"
    assert container.logs(stderr=False) == b"out\n"
    container.reload()
    assert container.status == "exited" and container.labels == {"py": "1"}
    assert container.id in [c.id for c in client.containers.list(all=True, filters={"label": "py=1"})]
    container.remove()
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(container.id)


def test_run_in_the_foreground_with_remove(client):
    before = {c.id for c in client.containers.list(all=True)}
    output = client.containers.run("busybox:local", ["sh", "-c", "echo hello; echo world"], remove=True)
    assert output == b"hello\nworld\n"
    assert {c.id for c in client.containers.list(all=True)} == before
    with pytest.raises(docker.errors.ContainerError) as raised:
        client.containers.run("busybox:local", ["sh", "-c", "echo bad >&2; exit 4"], remove=True)
    assert raised.value.exit_status == 4


def test_exec_run_streaming(client):
    container = client.containers.run("busybox:local", ["sleep", "600"], detach=True)
    client.made.append(container.id)
    result = container.exec_run(["sh", "-c", "echo one; echo two"], stream=True)
    assert b"".join(result.output) == b"one\ntwo\n"
    code, output = container.exec_run("cat", stdin=False, environment={"A": "b"}, workdir="/tmp")
    assert code == 0
    code, output = container.exec_run(["sh", "-c", "echo $A; pwd"], environment={"A": "b"}, workdir="/tmp")
    assert (code, output) == (0, b"b\n/tmp\n")
    code, output = container.exec_run(["tty"], tty=True)
    assert code == 0 and output.startswith(b"/dev/pts/")
