"""attach through `hakobune serve` as `docker run` and `docker start -a`
use it: nothing a short-lived container writes is lost, --rm included, and
a stopped container can be attached to before it is started again
(shared/reference/engine-api/docker-run-rm.md, docker-start-attach.md)."""

import os

import pytest

from api_server import DOCKER, api, under_script  # noqa: F401 - fixture

pytestmark = [pytest.mark.root, pytest.mark.skipif(DOCKER is None, reason="needs the docker CLI")]


def test_run_rm_output_is_never_lost(api):
    for number in range(5):
        proc = api.docker("run", "--rm", "busybox:local", "echo", f"hi{number}")
        assert (proc.returncode, proc.stdout) == (0, f"hi{number}\n"), proc.stderr


def test_run_attached_then_start_attached_again(api):
    name = f"apiattach-{os.getpid()}"
    try:
        proc = api.docker("run", "--name", name, "busybox:local", "sh", "-c", "echo out; echo err >&2; exit 2")
        assert (proc.returncode, proc.stdout, proc.stderr) == (2, "out\n", "err\n")
        for _ in range(2):
            proc = api.docker("start", "-a", name)
            assert (proc.returncode, proc.stdout, proc.stderr) == (2, "out\n", "err\n")
        proc = api.docker("attach", name)
        assert proc.returncode == 1 and "You cannot attach to a stopped container" in proc.stderr
    finally:
        api.docker("rm", "-f", name)


def test_run_with_piped_stdin_and_with_a_tty(api):
    proc = api.docker("run", "--rm", "-i", "busybox:local", "cat", input="piped\n")
    assert (proc.returncode, proc.stdout) == (0, "piped\n"), proc.stderr
    env = {**os.environ, "DOCKER_HOST": api.host, "DOCKER_CONFIG": os.path.join(api.base, "cfg")}
    proc = under_script("docker run --rm -it busybox:local sh -c 'tty; exit 3'", env)
    assert proc.returncode == 3 and b"/dev/pts/0\r\n" in proc.stdout, proc.stdout
