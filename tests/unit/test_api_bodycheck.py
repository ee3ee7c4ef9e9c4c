"""The create body's JSON types (hakobune.api.bodycheck) and the server's
address forms (fd:// for socket activation), without a server."""

import pytest

from hakobune.api.bodycheck import check_create_body
from hakobune.api.server import parse_address
from hakobune.errors import InvalidArgument


def test_a_well_typed_body_passes():
    check_create_body({"Image": "busybox", "Cmd": ["sh", "-c", "true"], "Entrypoint": "sh", "Tty": False,
                       "Env": ["A=1"], "Labels": {"a": "b"}, "StopTimeout": None,
                       "HostConfig": {"Memory": 1 << 30, "Binds": ["/a:/b"], "PortBindings": {},
                                      "RestartPolicy": {"Name": "no"}, "PidsLimit": None, "Init": True}})


@pytest.mark.parametrize("body, message", [
    ({"HostConfig": {"Memory": "lots"}},
     "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Memory of type int64"),
    ({"HostConfig": {"CpuShares": 1.5}},
     "json: cannot unmarshal number 1.5 into Go struct field HostConfig.HostConfig.CpuShares of type int64"),
    ({"HostConfig": {"BlkioWeight": 70000}},
     "json: cannot unmarshal number 70000 into Go struct field HostConfig.HostConfig.BlkioWeight of type uint16"),
    ({"Tty": "yes"}, "json: cannot unmarshal string into Go struct field ContainerConfigWrapper.Tty of type bool"),
    ({"Cmd": ["a", 1]}, "json: cannot unmarshal array into Go struct field ContainerConfigWrapper.Cmd of type string"),
    ({"Env": ["A=1", 2]}, "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Env of type "
                          "string"),
    ({"Labels": ["a"]}, "json: cannot unmarshal array into Go struct field ContainerConfigWrapper.Labels of type "
                        "map[string]interface {}"),
])
def test_a_field_of_the_wrong_type_is_refused_with_gos_words(body, message):
    with pytest.raises(InvalidArgument) as refused:
        check_create_body({"Image": "busybox", **body})
    assert refused.value.message == message


def test_daemon_addresses():
    assert parse_address("fd://") == ("fd", None)
    assert parse_address("fd://3") == ("fd", 3)
    assert parse_address("unix:///run/x.sock") == ("unix", "/run/x.sock")
    assert parse_address("tcp://127.0.0.1:2375") == ("tcp", ("127.0.0.1", 2375))
    with pytest.raises(InvalidArgument):
        parse_address("fd://three")
