"""run's network flags as the docker CLI parses them (hakobune.createbody.netopts),
and ps's PORTS text (hakobune.engine.netsetup.ports_text)."""

import pytest

from hakobune.createbody.netopts import endpoints_of, parse_expose, parse_port_spec
from hakobune.createbody.runopts import OptionError
from hakobune.engine.netsetup import attachments, port_requests, ports_text


def test_port_specs():
    assert parse_port_spec("80") == [("80/tcp", {"HostIp": "", "HostPort": ""})]
    assert parse_port_spec("8080:80/udp") == [("80/udp", {"HostIp": "", "HostPort": "8080"})]
    assert parse_port_spec("127.0.0.1:18080:80") == [("80/tcp", {"HostIp": "127.0.0.1", "HostPort": "18080"})]
    assert parse_port_spec("127.0.0.1::80") == [("80/tcp", {"HostIp": "127.0.0.1", "HostPort": ""})]
    assert parse_port_spec("8000-8001:80-81") == [("80/tcp", {"HostIp": "", "HostPort": "8000"}),
                                                  ("81/tcp", {"HostIp": "", "HostPort": "8001"})]
    assert parse_port_spec("8000-8010:80") == [("80/tcp", {"HostIp": "", "HostPort": "8000-8010"})]
    assert parse_port_spec("[::1]:80:80") == [("80/tcp", {"HostIp": "::1", "HostPort": "80"})]


@pytest.mark.parametrize("text,message", [
    ("80:abc", "invalid containerPort: abc"), ("x:80", "invalid hostPort: x"),
    ("80/icmp", "invalid proto: icmp"), ("1.2.3:80:80", "invalid IP address: 1.2.3"),
    ("8000-8002:80-81", "invalid ranges specified for container and host Ports: 80-81 and 8000-8002"),
    ("70000", "invalid containerPort: 70000")])
def test_bad_port_specs(text, message):
    with pytest.raises(OptionError) as e:
        parse_port_spec(text)
    assert str(e.value) == message


def test_expose():
    assert parse_expose("80") == ["80/tcp"]
    assert parse_expose("7000-7002/udp") == ["7000/udp", "7001/udp", "7002/udp"]
    with pytest.raises(OptionError):
        parse_expose("80:80")


def test_endpoints_as_docker_28_sends_them():
    assert list(endpoints_of([], [], "")) == ["default"]
    assert endpoints_of(["mynet"], [], "") == {}
    mine = endpoints_of(["mynet"], ["web"], "10.0.0.5")
    assert mine["mynet"]["Aliases"] == ["web"] and mine["mynet"]["IPAMConfig"] == {"IPv4Address": "10.0.0.5"}
    with pytest.raises(OptionError):
        endpoints_of(["host", "mynet"], [], "")


def test_attachments_put_the_mode_first():
    record = {"HostConfig": {"NetworkMode": "default"},
              "NetworkingConfig": {"EndpointsConfig": {"extra": {"Aliases": ["x"]}, "default": {}}}}
    assert attachments(record) == [("bridge", [], ""), ("extra", ["x"], "")]


def test_port_requests_with_publish_all():
    record = {"Config": {"ExposedPorts": {"80/tcp": {}, "53/udp": {}}},
              "HostConfig": {"PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]},
                             "PublishAllPorts": True}}
    assert port_requests(record) == [
        {"proto": "tcp", "host_ip": "127.0.0.1", "host_port": "8080", "container_port": 80},
        {"proto": "udp", "host_ip": "", "host_port": "", "container_port": 53}]


def test_ports_text_as_docker_ps():
    assert ports_text({"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18080"}]}) == "127.0.0.1:18080->80/tcp"
    assert ports_text({"443/tcp": None, "80/tcp": None, "81/tcp": None}) == "80-81/tcp, 443/tcp"
    assert ports_text({"8000/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8000"}],
                       "8001/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8001"}],
                       "53/udp": [{"HostIp": "0.0.0.0", "HostPort": "5353"}], "22/tcp": None}) == \
        "22/tcp, 0.0.0.0:8000-8001->8000-8001/tcp, 0.0.0.0:5353->53/udp"
