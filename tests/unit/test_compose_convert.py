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


def test_links_become_endpoint_links_and_start_order(tmp_path):
    from hakobune.compose.services import startup_order

    model = _model(tmp_path, """\
        services:
          web:
            image: busybox
            links: ["db:database", "cache"]
            external_links: ["outside", "legacy-db:old"]
          db: {image: busybox, scale: 2}
          cache: {image: busybox}
        """)
    endpoint = create_body(model, "web", 1)["NetworkingConfig"]["EndpointsConfig"]["proj_default"]
    assert endpoint["Links"] == ["proj-db-1:database", "proj-db-2:database", "proj-cache-1:cache",
                                 "outside:outside", "legacy-db:old"]
    assert create_body(model, "db", 1)["NetworkingConfig"]["EndpointsConfig"]["proj_default"]["Links"] is None
    assert startup_order(model) == ["cache", "db", "web"]


def test_an_undefined_link_and_a_link_cycle_are_errors(tmp_path):
    import pytest

    from hakobune.compose.loader import ComposeError

    with pytest.raises(ComposeError, match='services.web.links: service "web" has a link to service "nope" which '
                                           "is undefined"):
        _model(tmp_path, "services:\n  web:\n    image: busybox\n    links: ['nope:db']\n")
    with pytest.raises(ComposeError, match="dependency cycle detected: a -> b -> a"):
        _model(tmp_path, "services:\n  a: {image: x, links: [b]}\n  b: {image: x, depends_on: [a]}\n")


def test_kept_anonymous_volumes_replace_new_ones_at_their_paths(tmp_path):
    from hakobune.compose.convert import keep_anonymous_volumes

    model = _model(tmp_path, "services:\n  a:\n    image: busybox\n    volumes: ['/cache', 'data:/data']\n"
                             "volumes:\n  data: {}\n")
    body = create_body(model, "a", 1)
    keep_anonymous_volumes(body, {"/cache": "f00d", "/data": "beef", "/image-volume": "cafe"})
    assert body["HostConfig"]["Binds"] == ["proj_data:/data", "f00d:/cache", "cafe:/image-volume"]
    assert body["Volumes"] == {}


def test_a_link_alias_resolves_only_inside_the_linking_namespace():
    from hakobune.network.dns_table import NamesTable, links_by_alias

    def endpoint(container, netns, names, ipv4, links=()):
        entry = {"container_id": container, "network_id": "n1", "network_name": "net", "netns": "/x",
                 "netns_id": netns, "names": names, "ipv4": ipv4, "ipv6": None}
        if links:
            entry["links"] = links_by_alias(links)
        return entry

    table = NamesTable([endpoint("db", "ns-db", ["p-db-1", "db"], "10.0.0.2"),
                        endpoint("web", "ns-web", ["p-web-1", "web"], "10.0.0.3", ["p-db-1:database", "/Outside"]),
                        endpoint("other", "ns-other", ["p-other-1"], "10.0.0.4")])
    assert [e["ipv4"] for e in table.lookup("ns-web", "database")] == ["10.0.0.2"]
    assert [e["ipv4"] for e in table.lookup("ns-web", "DATABASE.")] == ["10.0.0.2"]
    assert table.lookup("ns-other", "database") is None
    assert table.lookup("ns-web", "outside") is None  # linked, but not on this network
    assert links_by_alias(["a:x", "b:x", "c"]) == {"x": ["a", "b"], "c": ["c"]}


def test_joining_another_services_namespaces(tmp_path):
    import pytest

    from hakobune.compose.loader import ComposeError
    from hakobune.compose.services import startup_order

    model = _model(tmp_path, """\
        services:
          a: {image: busybox, network_mode: "service:web", ipc: "service:web", pid: "service:web"}
          web: {image: busybox}
        """)
    body = create_body(model, "a", 1)
    assert body["HostConfig"]["NetworkMode"] == "container:proj-web-1"
    assert body["HostConfig"]["IpcMode"] == "container:proj-web-1"
    assert body["HostConfig"]["PidMode"] == "container:proj-web-1"
    assert body["NetworkingConfig"] == {"EndpointsConfig": {}}
    assert startup_order(model) == ["web", "a"]
    with pytest.raises(ComposeError, match='services.a.network_mode: service "a" refers to undefined service "x"'):
        _model(tmp_path, "services:\n  a: {image: busybox, network_mode: 'service:x'}\n")
