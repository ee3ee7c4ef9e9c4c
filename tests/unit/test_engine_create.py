"""The daemon's side of `create`: the body merged with the image's config,
and HostConfig's defaults, as Docker records them."""

import pytest

from hakobune.engine.create import container_config, host_config
from hakobune.errors import InvalidArgument
from hakobune.oci.image_config import Healthcheck, RunConfig

IMAGE = RunConfig(env=["PATH=/bin"], entrypoint=None, cmd=["sh"], working_dir="/srv", user="daemon",
                  exposed_ports=["80/tcp"], volumes=["/data"], labels={"a": "1"}, stop_signal="SIGQUIT",
                  healthcheck=Healthcheck(["CMD", "true"], interval=10**9))


def test_image_cmd_only_without_cmd_and_entrypoint():
    assert container_config({"Image": "x"}, IMAGE, "x")["Cmd"] == ["sh"]
    assert container_config({"Image": "x", "Cmd": ["ls"]}, IMAGE, "x")["Cmd"] == ["ls"]
    with_entrypoint = container_config({"Image": "x", "Entrypoint": ["env"]}, IMAGE, "x")
    assert (with_entrypoint["Entrypoint"], with_entrypoint["Cmd"]) == (["env"], None)


def test_empty_entrypoint_clears_the_images():
    image = RunConfig(entrypoint=["/init"], cmd=["serve"])
    assert container_config({"Image": "x"}, image, "x")["Entrypoint"] == ["/init"]
    cleared = container_config({"Image": "x", "Entrypoint": [""], "Cmd": ["ls"]}, image, "x")
    assert (cleared["Entrypoint"], cleared["Cmd"]) == (None, ["ls"])


def test_image_defaults_and_body_wins():
    config = container_config({"Image": "x", "Labels": {"b": "2"}, "ExposedPorts": {"53/udp": {}}}, IMAGE, "x")
    assert (config["User"], config["WorkingDir"]) == ("daemon", "/srv")
    assert config["Labels"] == {"a": "1", "b": "2"}
    assert config["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert config["Volumes"] == {"/data": {}}
    assert config["StopSignal"] == "SIGQUIT"
    assert config["Healthcheck"] == {"Test": ["CMD", "true"], "Interval": 10**9}
    mine = container_config({"Image": "x", "User": "root", "WorkingDir": "/", "StopSignal": "SIGINT"}, IMAGE, "x")
    assert (mine["User"], mine["WorkingDir"], mine["StopSignal"]) == ("root", "/", "SIGINT")


def test_relative_workdir_is_refused():
    with pytest.raises(InvalidArgument, match="needs to be an absolute path"):
        container_config({"Image": "x", "WorkingDir": "srv"}, IMAGE, "x")


def test_host_config_defaults_as_docker_records_them():
    config = host_config({"HostConfig": {"LogConfig": {"Type": "", "Config": {}}, "ShmSize": 0,
                                         "RestartPolicy": {"Name": "", "MaximumRetryCount": 0}}})
    assert config["LogConfig"] == {"Type": "json-file", "Config": {}}
    assert config["ShmSize"] == 64 << 20
    assert config["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert (config["IpcMode"], config["CgroupnsMode"], config["NetworkMode"]) == ("private", "host", "default")


@pytest.mark.parametrize("host, message", [
    ({"RestartPolicy": {"Name": "sometimes"}}, "invalid restart policy 'sometimes'"),
    ({"RestartPolicy": {"Name": "always", "MaximumRetryCount": 3}}, "maximum retry count"),
    ({"AutoRemove": True, "RestartPolicy": {"Name": "always"}}, "AutoRemove"),
])
def test_bad_host_config(host, message):
    with pytest.raises(InvalidArgument, match=message):
        host_config({"HostConfig": host})
