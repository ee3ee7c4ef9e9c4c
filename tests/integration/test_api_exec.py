"""exec through `hakobune serve` with the real docker CLI and docker-py:
output framing, exit codes, stdin, a pty, detached, and the 409 of a
stopped container (shared/reference/engine-api/docker-exec*.md)."""

import json
import os
import time

import pytest

from api_server import DOCKER, api, sleeper, under_script  # noqa: F401 - fixtures

pytestmark = [pytest.mark.root, pytest.mark.skipif(DOCKER is None, reason="needs the docker CLI")]


def test_exec_output_and_exit_code(api, sleeper):
    proc = api.docker("exec", sleeper, "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "out\n", "err\n")


def test_exec_options(api, sleeper):
    proc = api.docker("exec", "-u", "1000:1000", "-w", "/tmp", "-e", "FOO=bar", sleeper,
                      "sh", "-c", "id -u; pwd; echo $FOO")
    assert (proc.returncode, proc.stdout) == (0, "1000\n/tmp\nbar\n"), proc.stderr


def test_exec_with_piped_stdin(api, sleeper):
    proc = api.docker("exec", "-i", sleeper, "cat", input="piped\nsecond\n")
    assert (proc.returncode, proc.stdout) == (0, "piped\nsecond\n"), proc.stderr


def test_exec_missing_program(api, sleeper):
    proc = api.docker("exec", sleeper, "no-such-program")
    assert proc.returncode == 127
    assert "no-such-program" in proc.stdout + proc.stderr


def test_exec_with_a_tty(api, sleeper):
    command = f"stty rows 30 cols 100; docker exec -it {sleeper} sh -c 'echo in-tty; tty; stty size'"
    env = {**os.environ, "DOCKER_HOST": api.host, "DOCKER_CONFIG": os.path.join(api.base, "cfg")}
    proc = under_script(command, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert b"in-tty\r\n/dev/pts/" in proc.stdout
    assert b"30 100\r\n" in proc.stdout  # the client's size, given at the start


def test_exec_tty_exit_code(api, sleeper):
    command = f"docker exec -t {sleeper} sh -c 'exit 5'"
    env = {**os.environ, "DOCKER_HOST": api.host, "DOCKER_CONFIG": os.path.join(api.base, "cfg")}
    proc = under_script(command, env)
    assert proc.returncode == 5, proc.stdout


def test_exec_detached(api, sleeper):
    proc = api.docker("exec", "-d", sleeper, "sh", "-c", "echo detached > /tmp/mark")
    assert (proc.returncode, proc.stdout) == (0, ""), proc.stderr
    deadline = time.monotonic() + 10
    while True:
        out = api.docker("exec", sleeper, "cat", "/tmp/mark").stdout
        if out == "detached\n" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert out == "detached\n"


def test_exec_in_a_stopped_container_is_409(api):
    name = f"exec-stopped-{os.getpid()}"
    assert api.docker("create", "--name", name, "busybox:local", "true").returncode == 0
    try:
        proc = api.docker("exec", name, "true")
        assert proc.returncode == 1
        container_id = json.loads(api.docker("inspect", name).stdout)[0]["Id"]
        assert f"Container {container_id} is not running" in proc.stderr
    finally:
        api.docker("rm", "-f", name)


def test_exec_inspect_and_docker_py_exec_run(api, sleeper):
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=api.host, version="auto")
    try:
        container = client.containers.get(sleeper)
        code, output = container.exec_run(["sh", "-c", "echo hello; exit 2"])
        assert (code, output) == (2, b"hello\n")
        code, (out, err) = container.exec_run(["sh", "-c", "echo o; echo e >&2"], demux=True)
        assert (code, out, err) == (0, b"o\n", b"e\n")
        created = client.api.exec_create(sleeper, ["true"])
        client.api.exec_start(created["Id"])
        inspected = client.api.exec_inspect(created["Id"])
        assert inspected["ExitCode"] == 0 and inspected["Running"] is False
        assert inspected["ProcessConfig"]["entrypoint"] == "true"
        with pytest.raises(docker.errors.NotFound):
            client.api.exec_inspect("0" * 64)
    finally:
        client.close()


def test_exec_ids_and_the_programs_pid(api, sleeper):
    """Container inspect lists the live exec instances (null when none), and
    an exec's Pid is its program's host pid, without a TTY too."""
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=api.host, version="auto")
    try:
        assert client.api.inspect_container(sleeper)["ExecIDs"] is None
        created = client.api.exec_create(sleeper, ["sleep", "2"])["Id"]
        assert client.api.inspect_container(sleeper)["ExecIDs"] == [created]
        output = client.api.exec_start(created, stream=True)
        deadline = time.monotonic() + 10
        while not (inspected := client.api.exec_inspect(created))["Pid"] and time.monotonic() < deadline:
            time.sleep(0.05)
        pid = inspected["Pid"]
        assert inspected["Running"] is True and pid > 0
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            assert f.read() == b"sleep\x002\x00"
        container_pid = client.api.inspect_container(sleeper)["State"]["Pid"]
        assert os.readlink(f"/proc/{pid}/ns/pid") == os.readlink(f"/proc/{container_pid}/ns/pid")
        for _ in output:
            pass
        finished = client.api.exec_inspect(created)
        assert (finished["Running"], finished["ExitCode"], finished["Pid"]) == (False, 0, pid)
        assert client.api.inspect_container(sleeper)["ExecIDs"] is None
    finally:
        client.close()
