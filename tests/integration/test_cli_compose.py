"""`hakobune compose` through the real binary, from a project directory:
two services talking by service name over the project's network, depends_on
conditions, named volumes kept across `down`, scale, builds, exec/run, and
`down -v` leaving no container, network or volume behind."""

import json
import os
import subprocess
import textwrap
import time

import pytest
from cli_store import HAKOBUNE, hk, store  # noqa: F401

pytestmark = pytest.mark.root


class Compose:
    """Runs `hakobune compose` in a project directory against the hk store."""

    def __init__(self, hk, directory):  # noqa: F811
        self.hk = hk
        self.directory = directory

    def run(self, *args, timeout=120, env=None):
        return subprocess.run([HAKOBUNE, "--root", self.hk.root, "--runroot", self.hk.runroot, "compose", *args],
                              cwd=self.directory, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=timeout,
                              env=dict(os.environ, **(env or {})))

    def ok(self, *args, **kw):
        proc = self.run(*args, **kw)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return proc

    def write(self, name, text):
        path = os.path.join(self.directory, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text))


@pytest.fixture
def project(hk, tmp_path):  # noqa: F811
    directory = tmp_path / "Demo.App"
    directory.mkdir()
    compose = Compose(hk, str(directory))
    try:
        yield compose
    finally:
        for name in ("demoapp", "other"):
            compose.run("-p", name, "down", "-v", "--remove-orphans")
        for network in hk.run("network", "ls", "--format", "{{.Name}}").stdout.split():
            if network not in ("bridge", "host", "none"):
                hk.run("network", "rm", network)
        for volume in hk.run("volume", "ls", "-q").stdout.split():
            hk.run("volume", "rm", "-f", volume)


WEB_AND_CLIENT = """\
    services:
      web:
        image: busybox:latest
        command: ["sh", "-c", "echo hello-from-web > /www/index.html && exec httpd -f -p 80 -h /www"]
        volumes:
          - webdata:/www
      client:
        image: busybox:latest
        command: sleep 300
        depends_on: [web]
    volumes:
      webdata:
    """


def _fetch(project, service, url, attempts=50):
    for _ in range(attempts):
        proc = project.run("exec", "-T", service, "wget", "-q", "-O-", url)
        if proc.returncode == 0:
            return proc.stdout
        time.sleep(0.1)
    raise AssertionError(proc.stderr)


def _names(hk, *args):  # noqa: F811
    return set(hk.ok(*args).split())


def test_web_and_client_by_service_name_then_down_leaves_nothing(project, hk):  # noqa: F811
    project.write("compose.yaml", WEB_AND_CLIENT)
    up = project.ok("up", "-d")
    assert " Network demoapp_default  Created" in up.stderr
    assert ' Volume "demoapp_webdata"  Created' in up.stderr
    assert up.stderr.index("Container demoapp-web-1  Started") < up.stderr.index("Container demoapp-client-1  Started")
    ps = project.ok("ps").stdout.splitlines()
    assert ps[0].split() == ["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"]
    assert [line.split()[0] for line in ps[1:]] == ["demoapp-client-1", "demoapp-web-1"]
    assert all(" Up " in line for line in ps[1:])
    assert _fetch(project, "client", "http://web/") == "hello-from-web\n"
    assert _fetch(project, "client", "http://demoapp-web-1/") == "hello-from-web\n"
    labels = json.loads(hk.ok("inspect", "demoapp-web-1"))[0]["Config"]["Labels"]
    assert labels["com.docker.compose.project"] == "demoapp"
    assert labels["com.docker.compose.service"] == "web"
    assert labels["com.docker.compose.container-number"] == "1"
    assert labels["com.docker.compose.oneoff"] == "False"
    assert len(labels["com.docker.compose.config-hash"]) == 64
    assert "demoapp" in project.ok("ls").stdout
    project.ok("exec", "-T", "web", "sh", "-c", "echo from-exec")
    assert "exit 3" not in project.run("exec", "-T", "web", "sh", "-c", "exit 3").stderr
    assert project.run("exec", "-T", "web", "sh", "-c", "exit 3").returncode == 3
    logs = project.ok("logs", "--no-color").stdout
    assert logs == "" or "web-1" in logs
    down = project.ok("down", "-v")
    assert "Container demoapp-client-1  Removed" in down.stderr
    assert down.stderr.index("demoapp-client-1  Removed") < down.stderr.index("demoapp-web-1  Removed")
    assert hk.ok("ps", "-aq") == ""
    assert "demoapp_default" not in _names(hk, "network", "ls", "--format", "{{.Name}}")
    assert _names(hk, "volume", "ls", "-q") == set()


def test_up_twice_keeps_unchanged_and_recreates_changed(project, hk):  # noqa: F811
    project.write("compose.yaml", """\
        services:
          a:
            image: busybox:latest
            command: sleep 300
            environment:
              COLOR: ${COLOR:-red}
          b:
            image: busybox:latest
            command: sleep 300
        """)
    project.ok("up", "-d")
    first = {name: json.loads(hk.ok("inspect", name))[0]["Id"] for name in ("demoapp-a-1", "demoapp-b-1")}
    again = project.ok("up", "-d", env={"COLOR": "blue"})
    assert "Container demoapp-b-1  Running" in again.stderr
    assert "Container demoapp-a-1  Recreate" in again.stderr
    second = {name: json.loads(hk.ok("inspect", name))[0]["Id"] for name in ("demoapp-a-1", "demoapp-b-1")}
    assert second["demoapp-b-1"] == first["demoapp-b-1"]
    assert second["demoapp-a-1"] != first["demoapp-a-1"]
    env = json.loads(hk.ok("inspect", "demoapp-a-1"))[0]["Config"]["Env"]
    assert "COLOR=blue" in env
    project.ok("down")
    assert hk.ok("ps", "-aq") == ""


def test_depends_on_conditions_wait(project, hk):  # noqa: F811
    project.write("compose.yaml", """\
        services:
          init:
            image: busybox:latest
            command: ["sh", "-c", "sleep 1; echo done > /shared/init"]
            volumes: [shared:/shared]
          db:
            image: busybox:latest
            command: ["sh", "-c", "sleep 2; touch /tmp/ready; exec sleep 300"]
            healthcheck:
              test: ["CMD", "test", "-f", "/tmp/ready"]
              interval: 1s
              retries: 30
          app:
            image: busybox:latest
            command: ["sh", "-c", "cat /shared/init; exec sleep 300"]
            volumes: [shared:/shared]
            depends_on:
              db:
                condition: service_healthy
              init:
                condition: service_completed_successfully
        volumes:
          shared: {}
        """)
    up = project.ok("up", "-d")
    err = up.stderr
    assert err.index("Container demoapp-db-1  Healthy") < err.index("Container demoapp-app-1  Started")
    assert err.index("Container demoapp-init-1  Exited") < err.index("Container demoapp-app-1  Started")
    health = json.loads(hk.ok("inspect", "demoapp-db-1"))[0]["State"]["Health"]["Status"]
    assert health == "healthy"
    for _ in range(50):
        if "done" in project.ok("logs", "app").stdout:
            break
        time.sleep(0.1)
    assert "app-1  | done" in project.ok("logs", "--no-color", "app").stdout
    project.ok("down", "-v")
    assert hk.ok("ps", "-aq") == ""


def test_failed_completion_condition_stops_the_up(project, hk):  # noqa: F811
    project.write("compose.yaml", """\
        services:
          init:
            image: busybox:latest
            command: ["sh", "-c", "exit 4"]
          app:
            image: busybox:latest
            command: sleep 300
            depends_on:
              init: {condition: service_completed_successfully}
        """)
    proc = project.run("up", "-d")
    assert proc.returncode == 1
    assert 'service "init" didn\'t complete successfully: exit 4' in proc.stderr
    assert "demoapp-app-1" not in hk.ok("ps", "-a", "--format", "{{.Names}}")
    project.ok("down")


def test_named_volume_persists_across_down_without_v(project, hk):  # noqa: F811
    project.write("compose.yaml", """\
        services:
          store:
            image: busybox:latest
            command: sleep 300
            volumes:
              - data:/data
        volumes:
          data:
            labels:
              purpose: test
        """)
    project.ok("up", "-d")
    project.ok("exec", "-T", "store", "sh", "-c", "echo kept > /data/file")
    project.ok("down")
    assert _names(hk, "volume", "ls", "-q") == {"demoapp_data"}
    volume = json.loads(hk.ok("volume", "inspect", "demoapp_data"))[0]
    assert volume["Labels"]["com.docker.compose.volume"] == "data"
    assert volume["Labels"]["purpose"] == "test"
    project.ok("up", "-d")
    assert project.ok("exec", "-T", "store", "cat", "/data/file").stdout == "kept\n"
    project.ok("down", "-v")
    assert _names(hk, "volume", "ls", "-q") == set()


def test_scale_and_two_projects_side_by_side(project, hk):  # noqa: F811
    project.write("compose.yaml", """\
        services:
          worker:
            image: busybox:latest
            command: sleep 300
        """)
    project.ok("up", "-d", "--scale", "worker=3")
    project.ok("-p", "other", "up", "-d")
    names = _names(hk, "ps", "--format", "{{.Names}}")
    assert names == {"demoapp-worker-1", "demoapp-worker-2", "demoapp-worker-3", "other-worker-1"}
    second = json.loads(hk.ok("inspect", "demoapp-worker-2"))[0]["Config"]["Hostname"]
    assert project.ok("exec", "-T", "--index", "2", "worker", "hostname").stdout == second + "\n"
    project.ok("up", "-d", "--scale", "worker=1")
    assert _names(hk, "ps", "--format", "{{.Names}}") == {"demoapp-worker-1", "other-worker-1"}
    listing = project.ok("ls").stdout
    assert "demoapp" in listing and "other" in listing
    project.ok("-p", "other", "down")
    project.ok("down")
    assert hk.ok("ps", "-aq") == ""
    assert {"demoapp_default", "other_default"}.isdisjoint(_names(hk, "network", "ls", "--format", "{{.Name}}"))


def test_build_service_and_run_rm(project, hk):  # noqa: F811
    project.write("app/Dockerfile", """\
        FROM busybox:latest
        ARG GREETING=hi
        RUN echo "$GREETING built" > /built
        CMD ["sleep", "300"]
        """)
    project.write("compose.yaml", """\
        services:
          app:
            build:
              context: ./app
              args:
                GREETING: hello
        """)
    project.ok("up", "-d")
    assert project.ok("exec", "-T", "app", "cat", "/built").stdout == "hello built\n"
    assert hk.ok("images", "--format", "{{.Repository}}", "demoapp-app").strip() == "demoapp-app"
    first = json.loads(hk.ok("inspect", "demoapp-app-1"))[0]["Id"]
    assert "Running" in project.ok("up", "-d").stderr  # an unchanged image: kept
    project.write("app/Dockerfile", """\
        FROM busybox:latest
        ARG GREETING=hi
        RUN echo "$GREETING rebuilt" > /built
        CMD ["sleep", "300"]
        """)
    project.ok("up", "-d", "--build")
    assert json.loads(hk.ok("inspect", "demoapp-app-1"))[0]["Id"] != first
    assert project.ok("exec", "-T", "app", "cat", "/built").stdout == "hello rebuilt\n"
    run = project.ok("run", "--rm", "-T", "app", "cat", "/built")
    assert run.stdout == "hello rebuilt\n"
    assert _names(hk, "ps", "-a", "--format", "{{.Names}}") == {"demoapp-app-1"}
    project.ok("down", "--rmi", "local")
    assert hk.run("image", "inspect", "demoapp-app").returncode != 0
    assert hk.ok("ps", "-aq") == ""


def test_profiles_interpolation_and_config(project, hk):  # noqa: F811
    project.write(".env", "TAG=latest\nPORT=8081\n")
    project.write("compose.yaml", """\
        version: "3.9"
        services:
          web:
            image: busybox:${TAG}
            command: sleep ${SLEEP:-300}
            ports: ["${PORT}:80"]
          debug:
            image: busybox:latest
            profiles: [tools]
        """)
    assert project.ok("config", "--services").stdout == "web\n"
    assert project.ok("--profile", "tools", "config", "--services").stdout == "web\ndebug\n"  # the file's order
    import yaml

    model = yaml.safe_load(project.ok("config").stdout)
    assert model["name"] == "demoapp"
    assert model["services"]["web"]["image"] == "busybox:latest"
    assert model["services"]["web"]["command"] == ["sleep", "300"]
    assert model["services"]["web"]["ports"] == [{"target": 80, "published": "8081", "protocol": "tcp",
                                                  "mode": "ingress"}]
    assert model["networks"] == {"default": {"name": "demoapp_default"}}
    project.ok("up", "-d")
    assert _names(hk, "ps", "--format", "{{.Names}}") == {"demoapp-web-1"}
    assert project.ok("port", "web", "80").stdout == "0.0.0.0:8081\n"
    assert "0.0.0.0:8081->80/tcp" in project.ok("ps").stdout
    project.ok("down")
    bad = project.run("config", env={"TAG": ""}, )
    assert bad.returncode == 0
    project.write("compose.yaml", "services:\n  web:\n    image: busybox:${NEED:?set NEED}\n")
    bad = project.run("config")
    assert bad.returncode == 1
    assert "required variable NEED is missing a value: set NEED" in bad.stderr


def test_stop_start_restart_kill_rm(project, hk):  # noqa: F811
    project.write("compose.yaml", """\
        services:
          s:
            image: busybox:latest
            command: sleep 300
            stop_grace_period: 1s
        """)
    project.ok("up", "-d")
    project.ok("stop")
    assert "Exited" in project.ok("ps", "-a").stdout
    project.ok("start")
    assert " Up " in project.ok("ps").stdout
    project.ok("kill")
    assert "Exited (137)" in project.ok("ps", "-a").stdout
    project.ok("rm", "-f")
    assert hk.ok("ps", "-aq") == ""
    project.ok("down")


def test_restart(project, hk):  # noqa: F811
    project.write("compose.yaml", """\
        services:
          s:
            image: busybox:latest
            command: sleep 300
            stop_grace_period: 1s
        """)
    project.ok("up", "-d")
    started = json.loads(hk.ok("inspect", "demoapp-s-1"))[0]["State"]["StartedAt"]
    project.ok("restart")
    state = json.loads(hk.ok("inspect", "demoapp-s-1"))[0]["State"]
    assert state["Running"] and state["StartedAt"] != started
    project.ok("down")
    assert hk.ok("ps", "-aq") == ""


def test_attached_up_prefixes_output_and_exit_code_from(project, hk):  # noqa: F811
    project.write("compose.yaml", """\
        services:
          talker:
            image: busybox:latest
            command: ["sh", "-c", "echo one; echo two; exit 5"]
          sleeper:
            image: busybox:latest
            command: sleep 300
            stop_grace_period: 1s
        """)
    proc = project.run("up", "--no-color", "--exit-code-from", "talker")
    assert proc.returncode == 5, proc.stderr
    assert "talker-1   | one\ntalker-1   | two\n" in proc.stdout
    assert "talker-1 exited with code 5" in proc.stdout
    assert "sleeper-1" in proc.stderr
    assert "Up" not in hk.ok("ps", "-a", "--format", "{{.Status}}")
    project.ok("down")


def test_ctrl_c_on_attached_up_stops_the_services(project, hk):  # noqa: F811
    import signal

    project.write("compose.yaml", """\
        services:
          ticker:
            image: busybox:latest
            command: ["sh", "-c", "echo tick; exec sleep 300"]
            stop_grace_period: 1s
        """)
    process = subprocess.Popen([HAKOBUNE, "--root", hk.root, "--runroot", hk.runroot, "compose", "up", "--no-color"],
                               cwd=project.directory, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline() == "ticker-1  | tick\n"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "Gracefully stopping... (press Ctrl+C again to force)" in err
    assert "Container demoapp-ticker-1  Stopped" in err
    assert process.returncode == 130
    assert json.loads(hk.ok("inspect", "demoapp-ticker-1"))[0]["State"]["Running"] is False
    project.ok("down")


def test_wait_orphans_logs_follow_images_top(project, hk):  # noqa: F811
    project.write("compose.yaml", """\
        services:
          a:
            image: busybox:latest
            command: ["sh", "-c", "echo started; touch /tmp/ok; exec sleep 300"]
            healthcheck:
              test: ["CMD", "test", "-f", "/tmp/ok"]
              interval: 1s
          b:
            image: busybox:latest
            command: sleep 300
        """)
    project.ok("up", "-d", "--wait")
    assert json.loads(hk.ok("inspect", "demoapp-a-1"))[0]["State"]["Health"]["Status"] == "healthy"
    images = project.ok("images").stdout.splitlines()
    assert images[0].split() == ["CONTAINER", "REPOSITORY", "TAG", "IMAGE", "ID", "SIZE"]
    assert images[1].split()[:3] == ["demoapp-a-1", "busybox", "latest"]
    top = project.ok("top", "b").stdout
    assert top.startswith("demoapp-b-1\n") and "sleep 300" in top
    follower = subprocess.Popen([HAKOBUNE, "--root", hk.root, "--runroot", hk.runroot, "compose", "logs", "-f",
                                 "--no-color", "a"], cwd=project.directory, stdout=subprocess.PIPE, text=True)
    try:
        assert follower.stdout.readline() == "a-1  | started\n"
        project.ok("kill", "a")  # the follower ends when the container does
        assert follower.wait(timeout=30) == 0
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    project.write("compose.yaml", """\
        services:
          b:
            image: busybox:latest
            command: sleep 300
        """)
    down = project.ok("down")
    assert "Found orphan containers ([demoapp-a-1])" in down.stderr
    assert _names(hk, "ps", "-a", "--format", "{{.Names}}") == {"demoapp-a-1"}
    project.ok("up", "-d", "--remove-orphans")
    assert _names(hk, "ps", "-a", "--format", "{{.Names}}") == {"demoapp-b-1"}
    project.ok("down")
    assert hk.ok("ps", "-aq") == ""


def test_networks_with_ipam_aliases_addresses_and_external(project, hk):  # noqa: F811
    hk.ok("network", "create", "sharednet")
    project.write("compose.yaml", """\
        services:
          server:
            image: busybox:latest
            command: ["sh", "-c", "echo served > /tmp/index.html && exec httpd -f -p 80 -h /tmp"]
            networks:
              back:
                aliases: [api]
                ipv4_address: 10.77.0.10
              outside:
          probe:
            image: busybox:latest
            command: sleep 300
            networks: [back]
          lonely:
            image: busybox:latest
            command: sleep 300
            network_mode: none
        networks:
          back:
            internal: true
            labels: {tier: back}
            ipam:
              config:
                - subnet: 10.77.0.0/24
          outside:
            external: true
            name: sharednet
        """)
    project.ok("up", "-d")
    back = json.loads(hk.ok("network", "inspect", "demoapp_back"))[0]
    assert back["Internal"] is True
    assert back["IPAM"]["Config"][0]["Subnet"] == "10.77.0.0/24"
    assert back["Labels"]["com.docker.compose.network"] == "back"
    assert back["Labels"]["tier"] == "back"
    server = json.loads(hk.ok("inspect", "demoapp-server-1"))[0]
    networks = server["NetworkSettings"]["Networks"]
    assert networks["demoapp_back"]["IPAddress"] == "10.77.0.10"
    assert "sharednet" in networks
    assert _fetch(project, "probe", "http://api/") == "served\n"
    assert _fetch(project, "probe", "http://server/") == "served\n"
    lonely = json.loads(hk.ok("inspect", "demoapp-lonely-1"))[0]
    assert lonely["HostConfig"]["NetworkMode"] == "none"
    project.ok("down")
    remaining = _names(hk, "network", "ls", "--format", "{{.Name}}")
    assert "sharednet" in remaining and "demoapp_back" not in remaining
    hk.ok("network", "rm", "sharednet")


def test_dual_stack_network_with_fixed_ipv6_and_mac_address(project, hk):  # noqa: F811
    project.write("compose.yaml", """\
        services:
          server:
            image: busybox:latest
            command: sleep 300
            networks:
              dual:
                ipv6_address: fd42:77::10
                mac_address: 02:42:0a:4d:01:99
        networks:
          dual:
            enable_ipv6: true
            ipam:
              config:
                - subnet: 10.77.1.0/24
                - subnet: fd42:77::/64
        """)
    project.ok("up", "-d")
    network = json.loads(hk.ok("network", "inspect", "demoapp_dual"))[0]
    assert network["EnableIPv6"] is True
    assert [pool["Subnet"] for pool in network["IPAM"]["Config"]] == ["10.77.1.0/24", "fd42:77::/64"]
    endpoint = json.loads(hk.ok("inspect", "demoapp-server-1"))[0]["NetworkSettings"]["Networks"]["demoapp_dual"]
    assert endpoint["GlobalIPv6Address"] == "fd42:77::10"
    assert endpoint["MacAddress"] == "02:42:0a:4d:01:99"
    addresses = hk.ok("exec", "demoapp-server-1", "ip", "addr", "show", "eth0")
    assert "fd42:77::10/64" in addresses and "02:42:0a:4d:01:99" in addresses
    project.ok("down")
    assert "demoapp_dual" not in _names(hk, "network", "ls", "--format", "{{.Name}}")


def test_volumes_from_a_service_read_only_and_runtime(project, hk):  # noqa: F811
    project.write("compose.yaml", """\
        services:
          reader:
            image: busybox:latest
            command: sleep 300
            runtime: runc
            volumes_from: ["data:ro"]
          data:
            image: busybox:latest
            command: ["sh", "-c", "echo shared > /data/note && sleep 300"]
            volumes: ["/data"]
        """)
    project.ok("up", "-d")
    reader = json.loads(hk.ok("inspect", "demoapp-reader-1"))[0]
    assert reader["HostConfig"]["VolumesFrom"] == ["demoapp-data-1:ro"]
    assert reader["HostConfig"]["Runtime"] == "runc"
    for _ in range(50):
        if hk.run("exec", "demoapp-reader-1", "cat", "/data/note").stdout == "shared\n":
            break
        time.sleep(0.1)
    assert hk.ok("exec", "demoapp-reader-1", "cat", "/data/note") == "shared\n"
    denied = hk.run("exec", "demoapp-reader-1", "touch", "/data/other")
    assert denied.returncode != 0 and "Read-only file system" in denied.stderr + denied.stdout
    project.ok("down", "-v")
    assert hk.ok("volume", "ls", "-q") == ""


def test_volumes_from_an_undefined_service_is_an_error_before_anything_is_created(project, hk):  # noqa: F811
    project.write("compose.yaml", """\
        services:
          reader:
            image: busybox:latest
            volumes_from: [ghost]
        """)
    result = project.run("up", "-d")
    assert result.returncode != 0
    assert 'refers to undefined service "ghost"' in result.stderr
    assert hk.ok("ps", "-aq") == "" and "demoapp_default" not in hk.ok("network", "ls")


def test_secrets_configs_env_file_and_bind_mounts(project, hk):  # noqa: F811
    project.write("token.txt", "s3cret\n")
    project.write("site/index.html", "from-the-host\n")
    project.write("app.env", "FROM_FILE=yes\n")
    project.write("compose.yaml", """\
        services:
          app:
            image: busybox:latest
            command: sleep 300
            env_file: app.env
            secrets: [token]
            configs: [{source: conf, target: /etc/app.conf}]
            volumes: ["./site:/site:ro"]
        secrets:
          token: {file: ./token.txt}
        configs:
          conf: {file: ./token.txt}
        """)
    project.ok("up", "-d")
    out = project.ok("exec", "-T", "app", "sh", "-c",
                     "cat /run/secrets/token /etc/app.conf /site/index.html; echo $FROM_FILE").stdout
    assert out == "s3cret\ns3cret\nfrom-the-host\nyes\n"
    assert project.run("exec", "-T", "app", "sh", "-c", "echo x > /site/new").returncode != 0
    project.ok("down")


def test_up_failing_half_way_names_the_service_and_keeps_the_rest(project, hk):  # noqa: F811
    hk.ok("run", "-d", "--name", "squatter", "-p", "18089:80", "busybox:latest", "sleep", "300")
    project.write("compose.yaml", """\
        services:
          first:
            image: busybox:latest
            command: sleep 300
          second:
            image: busybox:latest
            command: sleep 300
            ports: ["18089:80"]
            depends_on: [first]
        """)
    proc = project.run("up", "-d")
    assert proc.returncode == 1
    assert "service second" in proc.stderr
    rows = project.ok("ps", "-a").stdout.splitlines()[1:]
    assert [row.split()[0] for row in rows] == ["demoapp-first-1", "demoapp-second-1"]
    assert " Up " in rows[0]
    project.ok("down")
    hk.ok("rm", "-f", "squatter")


@pytest.fixture(scope="module")
def registry():
    from registry_server import Registry

    with Registry() as server:
        yield server


def test_build_push_pull_through_a_registry(project, hk, registry):  # noqa: F811
    image = f"{registry.address}/demo/app:1"
    project.write("app/Dockerfile", "FROM busybox:latest\nRUN echo pushed > /mark\nCMD [\"sleep\", \"300\"]\n")
    project.write("compose.yaml", f"""\
        services:
          app:
            image: {image}
            build: ./app
        """)
    project.ok("build", "-q")
    built = json.loads(hk.ok("image", "inspect", image))[0]["Id"]
    assert "Image " + image + "  Pushed" in project.ok("push", "app").stderr
    hk.ok("rmi", image)
    assert "Image " + image + "  Pulled" in project.ok("pull", "app").stderr
    assert json.loads(hk.ok("image", "inspect", image))[0]["Id"] == built
    project.ok("up", "-d", "--no-build")
    assert project.ok("exec", "-T", "app", "cat", "/mark").stdout == "pushed\n"
    project.ok("down", "--rmi", "all")
    assert hk.run("image", "inspect", image).returncode != 0
    assert hk.run("image", "inspect", "busybox:latest").returncode == 0


def test_links_resolve_for_the_linking_service_only_and_order_the_start(project, hk):  # noqa: F811
    project.write("compose.yaml", """\
        services:
          web:
            image: busybox:latest
            command: sleep 300
            links: ["db:database", "cache"]
            external_links: ["loner:legacy"]
          db:
            image: busybox:latest
            command: ["sh", "-c", "echo from-db > /tmp/index.html && exec httpd -f -p 80 -h /tmp"]
          cache:
            image: busybox:latest
            command: sleep 300
          other:
            image: busybox:latest
            command: sleep 300
        """)
    hk.ok("network", "create", "demoapp_default")  # the project's network, with an outside container on it
    hk.ok("run", "-d", "--name", "loner", "--network", "demoapp_default", "busybox:latest", "sleep", "300")
    up = project.ok("up", "-d")
    assert "is not supported" not in up.stderr
    err = up.stderr
    assert err.index("demoapp-db-1  Started") < err.index("demoapp-web-1  Started")
    assert err.index("demoapp-cache-1  Started") < err.index("demoapp-web-1  Started")
    assert _fetch(project, "web", "http://database/") == "from-db\n"
    db_address = json.loads(hk.ok("inspect", "demoapp-db-1"))[0]["NetworkSettings"]["Networks"][
        "demoapp_default"]["IPAddress"]
    loner_address = json.loads(hk.ok("inspect", "loner"))[0]["NetworkSettings"]["Networks"][
        "demoapp_default"]["IPAddress"]
    lookup = project.ok("exec", "-T", "web", "nslookup", "legacy").stdout
    assert loner_address in lookup
    other = project.run("exec", "-T", "other", "nslookup", "database")
    assert db_address not in other.stdout  # a link's alias is the linking container's only
    endpoint = json.loads(hk.ok("inspect", "demoapp-web-1"))[0]["NetworkSettings"]["Networks"]["demoapp_default"]
    assert endpoint["Links"] == ["demoapp-db-1:database", "demoapp-cache-1:cache", "loner:legacy"]
    hk.ok("rm", "-f", "loner")
    project.ok("down")


def test_a_recreated_service_keeps_its_anonymous_volumes_unless_renewed(project, hk):  # noqa: F811
    project.write("compose.yaml", """\
        services:
          keeper:
            image: busybox:latest
            command: sleep 300
            environment: {ROUND: "${ROUND:-1}"}
            volumes: ["/cache"]
        """)
    project.ok("up", "-d")
    project.ok("exec", "-T", "keeper", "sh", "-c", "echo cached > /cache/file")
    (anonymous,) = _names(hk, "volume", "ls", "-q")
    recreated = project.ok("up", "-d", env={"ROUND": "2"})
    assert "Container demoapp-keeper-1  Recreate" in recreated.stderr
    assert project.ok("exec", "-T", "keeper", "cat", "/cache/file").stdout == "cached\n"
    assert _names(hk, "volume", "ls", "-q") == {anonymous}
    project.ok("up", "-d", "-V", env={"ROUND": "3"})
    assert project.run("exec", "-T", "keeper", "cat", "/cache/file").returncode != 0
    volumes = _names(hk, "volume", "ls", "-q")
    assert anonymous in volumes and len(volumes) == 2  # the old one is left behind, as docker-compose leaves it
    project.ok("up", "-d", env={"ROUND": "4"})  # the new one inherited by the next container ...
    project.ok("down", "-v")  # ... and removed with it
    assert _names(hk, "volume", "ls", "-q") == {anonymous}
    hk.ok("volume", "rm", anonymous)


BAD_PROJECTS = [
    ("services:\n  a:\n    image: [busybox\n", "yaml: "),
    ("services:\n  a:\n    image: busybox\n    colour: red\n", "services.a additional properties 'colour' not allowed"),
    ("services:\n  a:\n    image: busybox\n    tty: maybe\n", "services.a.tty must be a boolean"),
    ("services:\n  a:\n    image: busybox:${NEED:?set NEED}\n",
     "services.a.image: required variable NEED is missing a value: set NEED"),
    ("services:\n  a: {image: busybox, depends_on: [b]}\n  b: {image: busybox, links: [a]}\n",
     "dependency cycle detected: a -> b -> a"),
    ("services:\n  a: {image: busybox, networks: [nowhere]}\nvolumes:\n  v: {}\n",
     'services.a.networks: service "a" refers to undefined network nowhere'),
    ("services:\n  a: {image: busybox, volumes: ['missing:/m']}\nnetworks:\n  n: {}\n",
     'service "a" refers to undefined volume missing'),
    ("services:\n  a: {image: busybox, ports: ['18088:80']}\n  b: {image: busybox, ports: ['18088:81']}\n"
     "volumes:\n  v: {}\n", 'services.b.ports: host port 18088/tcp on 0.0.0.0 is already published by service "a"'),
]


def test_bad_input_is_refused_before_anything_is_created(project, hk):  # noqa: F811
    for text, message in BAD_PROJECTS:
        project.write("compose.yaml", text)
        proc = project.run("up", "-d")
        assert proc.returncode == 1, (text, proc.stderr)
        assert message in proc.stderr, (text, proc.stderr)
        assert os.path.join(project.directory, "compose.yaml") in proc.stderr  # the file is named
        assert hk.ok("ps", "-aq") == ""
        assert _names(hk, "network", "ls", "--format", "{{.Name}}") == {"bridge", "host", "none"}
        assert _names(hk, "volume", "ls", "-q") == set()
    project.write("compose.yaml", "services:\n  a:\n    image: busybox\n"
                                  "    deploy: {placement: {constraints: []}}\n    logging: {driver: syslog}\n")
    warned = project.ok("config", "-q").stderr
    assert "services.a.deploy.placement is not supported on hakobune, ignored" in warned
    assert "services.a.logging.driver: hakobune has no log driver named 'syslog'" in warned


def test_a_sidecar_joins_a_services_network_namespace(project, hk):  # noqa: F811
    project.write("compose.yaml", """\
        services:
          sidecar:
            image: busybox:latest
            command: sleep 300
            network_mode: "service:web"
          web:
            image: busybox:latest
            command: ["sh", "-c", "echo local > /tmp/index.html && exec httpd -f -p 8000 -h /tmp"]
        """)
    up = project.ok("up", "-d")
    assert up.stderr.index("demoapp-web-1  Started") < up.stderr.index("demoapp-sidecar-1  Started")
    assert _fetch(project, "sidecar", "http://127.0.0.1:8000/") == "local\n"
    mode = json.loads(hk.ok("inspect", "demoapp-sidecar-1"))[0]["HostConfig"]["NetworkMode"]
    assert mode == "container:demoapp-web-1"
    project.ok("down")
    assert hk.ok("ps", "-aq") == ""
