"""`hakobune serve -H fd://` under socket activation (LISTEN_FDS, as
contrib/systemd/hakobune.socket starts it), driven by systemd's own
systemd-socket-activate, and the units themselves."""

import configparser
import os
import shutil
import signal
import subprocess
import time

import pytest

from api_server import DOCKER, HAKOBUNE, api  # noqa: F401 - fixture

ACTIVATE = shutil.which("systemd-socket-activate")
UNITS = os.path.join(os.path.dirname(__file__), "..", "..", "contrib", "systemd")

pytestmark = [pytest.mark.root, pytest.mark.skipif(DOCKER is None, reason="needs the docker CLI")]


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(os.path.join(UNITS, name))
    return parser


def test_the_units_serve_by_socket_activation_and_spare_the_containers():
    socket_unit, service, restore = _unit("hakobune.socket"), _unit("hakobune.service"), \
        _unit("hakobune-restore.service")
    assert socket_unit["Socket"]["ListenStream"] == "/run/hakobune/hakobune.sock"
    assert socket_unit["Socket"]["SocketMode"] == "0600"
    assert service["Service"]["ExecStart"].endswith("hakobune serve -H fd://")
    assert service["Service"]["KillMode"] == "process"  # the monitors outlive the server
    assert restore["Service"]["ExecStart"].endswith("hakobune system restore")


@pytest.mark.skipif(ACTIVATE is None, reason="needs systemd-socket-activate")
def test_serve_takes_the_socket_systemd_passes(api):
    path = os.path.join(api.base, "activated.sock")
    log = open(os.path.join(api.base, "activated.log"), "w")
    server = subprocess.Popen([ACTIVATE, "-l", path, HAKOBUNE,
                               "--root", api.root, "--runroot", api.runroot, "serve", "-H", "fd://"],
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.05)
        host = {"DOCKER_HOST": f"unix://{path}"}
        proc = api.docker("version", "--format", "{{.Server.APIVersion}}", env=host)
        assert (proc.returncode, proc.stdout) == (0, "1.41\n"), proc.stderr + open(log.name).read()
        # the same store as the test's own server: one container seen by both
        proc = api.docker("run", "-d", "--name", "activated-one", "busybox:local", "sleep", "60", env=host)
        assert proc.returncode == 0, proc.stderr
        assert api.docker("inspect", "-f", "{{.State.Running}}", "activated-one").stdout == "true\n"
        server.send_signal(signal.SIGTERM)
        server.wait(10)
        assert os.path.exists(path)  # systemd's socket: not ours to remove
        # stopping the server stopped no container
        assert api.docker("inspect", "-f", "{{.State.Running}}", "activated-one").stdout == "true\n"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        log.close()
        api.docker("rm", "-f", "activated-one")


def test_fd_without_activation_is_refused(api):
    proc = api.hakobune("serve", "-H", "fd://")
    assert proc.returncode != 0
    assert "fd://: no sockets were passed" in proc.stderr
