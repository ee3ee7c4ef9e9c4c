"""A service of the model as Docker's create body (what the engine receives),
its labels and its config hash."""

import os
import textwrap

from hakobune.compose.convert import config_hash, container_name, create_body
from hakobune.compose.loader import LoadOptions, load


def _model(tmp_path, text, **kw):
    with open(os.path.join(str(tmp_path), "compose.yaml"), "w") as f:
        f.write(textwrap.dedent(text))
    return load(LoadOptions(workdir=str(tmp_path), environ={}, project_name="proj", **kw))


SERVICE = """\
    services:
      web:
        image: busybox:latest
        command: httpd -f
        entrypoint: ["/bin/sh", "-c"]
        environment: {A: "1"}
        ports: ["8080:80"]
        expose: ["90"]
        volumes: ["data:/data:ro", "./site:/site", "/anon"]
        tmpfs: /run
        networks:
          front: {aliases: [www], ipv4_address: 10.5.0.9}
        healthcheck:
          test: ["CMD", "true"]
          interval: 2s
          retries: 3
        restart: unless-stopped
        deploy: {resources: {limits: {memory: 64m, cpus: "0.5", pids: 40}}}
        shm_size: 1m
        stop_grace_period: 7s
        stop_signal: SIGUSR1
        cap_add: [NET_ADMIN]
        ulimits: {nofile: {soft: 100, hard: 200}, nproc: 50}
        sysctls: {net.core.somaxconn: "100"}
        labels: {mine: "yes"}
        init: true
        read_only: true
        hostname: h
        user: "1000"
        working_dir: /w
        tty: true
        extra_hosts: ["gw:10.0.0.1"]
        dns: [1.1.1.1]
        logging: {driver: json-file, options: {max-size: 1m}}
    networks:
      front: {}
    volumes:
      data: {}
    """


def test_create_body(tmp_path):
    model = _model(tmp_path, SERVICE)
    body = create_body(model, "web", 1)
    host = body["HostConfig"]
    assert body["Image"] == "busybox:latest"
    assert body["Cmd"] == ["httpd", "-f"]
    assert body["Entrypoint"] == ["/bin/sh", "-c"]
    assert body["Env"] == ["A=1"]
    assert body["ExposedPorts"] == {"80/tcp": {}, "90/tcp": {}}
    assert host["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}
    assert host["Binds"] == ["proj_data:/data:ro", f"{tmp_path}/site:/site"]
    assert body["Volumes"] == {"/anon": {}}
    assert host["Tmpfs"] == {"/run": ""}
    assert host["NetworkMode"] == "proj_front"
    endpoint = body["NetworkingConfig"]["EndpointsConfig"]["proj_front"]
    assert endpoint["Aliases"] == ["web", "proj-web-1", "www"]
    assert endpoint["IPAMConfig"] == {"IPv4Address": "10.5.0.9"}
    assert body["Healthcheck"] == {"Test": ["CMD", "true"], "Interval": 2_000_000_000, "Retries": 3}
    assert host["RestartPolicy"] == {"Name": "unless-stopped", "MaximumRetryCount": 0}
    assert (host["Memory"], host["NanoCpus"], host["PidsLimit"], host["ShmSize"]) == (64 << 20, 500_000_000, 40,
                                                                                      1 << 20)
    assert body["StopTimeout"] == 7 and body["StopSignal"] == "SIGUSR1"
    assert host["CapAdd"] == ["CAP_NET_ADMIN"]
    assert sorted(host["Ulimits"], key=lambda u: u["Name"]) == [{"Name": "nofile", "Hard": 200, "Soft": 100},
                                                                 {"Name": "nproc", "Hard": 50, "Soft": 50}]
    assert host["Sysctls"] == {"net.core.somaxconn": "100"}
    assert host["Init"] is True and host["ReadonlyRootfs"] is True
    assert (body["Hostname"], body["User"], body["WorkingDir"], body["Tty"]) == ("h", "1000", "/w", True)
    assert host["ExtraHosts"] == ["gw:10.0.0.1"] and host["Dns"] == ["1.1.1.1"]
    assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m"}}
    labels = body["Labels"]
    assert labels["mine"] == "yes"
    assert labels["com.docker.compose.project"] == "proj"
    assert labels["com.docker.compose.service"] == "web"
    assert labels["com.docker.compose.container-number"] == "1"
    assert labels["com.docker.compose.oneoff"] == "False"
    assert labels["com.docker.compose.config-hash"] == config_hash(model["services"]["web"])


def test_default_network_and_names(tmp_path):
    model = _model(tmp_path, "services:\n  a:\n    image: busybox\n  b:\n    image: busybox\n"
                             "    container_name: fixed\n    network_mode: host\n")
    body = create_body(model, "a", 2)
    assert body["Cmd"] is None and body["Entrypoint"] is None
    assert body["HostConfig"]["NetworkMode"] == "proj_default"
    assert body["NetworkingConfig"]["EndpointsConfig"]["proj_default"]["Aliases"] == ["a", "proj-a-2"]
    assert container_name(model, "a", 2) == "proj-a-2"
    assert container_name(model, "b", 1) == "fixed"
    assert create_body(model, "b", 1)["HostConfig"]["NetworkMode"] == "host"


def test_config_hash_follows_the_configuration(tmp_path):
    first = _model(tmp_path, "services:\n  a:\n    image: busybox\n    environment: {X: '1'}\n")
    same = _model(tmp_path, "services:\n  a:\n    environment: [X=1]\n    image: busybox\n")
    other = _model(tmp_path, "services:\n  a:\n    image: busybox\n    environment: {X: '2'}\n")
    assert config_hash(first["services"]["a"]) == config_hash(same["services"]["a"])
    assert config_hash(first["services"]["a"]) != config_hash(other["services"]["a"])
