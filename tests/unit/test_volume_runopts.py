"""run/create's mount flags (-v, --mount, --tmpfs, --volumes-from) → the
create body, against the bodies the real docker CLI sent
(shared/reference/engine-api/docker-run-{bind,mount,tmpfs,volume-named}.md)."""

import json
import os
import re
import shlex

import pytest

from hakobune.cli.args.command import parse
from hakobune.cli.main import build_root
from hakobune.createbody.runopts import OptionError, body_of
from hakobune.createbody.mounts import client_volume_spec

REFERENCE = "/work/shared/reference/engine-api"
MOUNT_FIELDS = ("Binds", "Mounts", "Tmpfs", "VolumesFrom", "VolumeDriver")


def body(*flags, command=("true",)):
    inv = parse(build_root(), ["run", *flags, "busybox", *command])
    return body_of(inv.opts, "busybox", list(command))


def recorded(name: str) -> tuple[list[str], dict]:
    """(the docker command's run flags, the create body it sent) of a recording."""
    path = os.path.join(REFERENCE, name + ".md")
    if not os.path.exists(path):
        pytest.skip(f"no recording {path}")
    with open(path) as f:
        text = f.read()
    command = shlex.split(re.search(r"Command: `docker run (.*?) busybox:local", text).group(1))
    create = text.index("POST /v1.41/containers/create HTTP/1.1")
    start = text.index("\n{", create)
    end = text.index("\n```", start)
    return command, json.loads(text[start:end])


@pytest.mark.parametrize("name", ["docker-run-bind", "docker-run-mount", "docker-run-tmpfs",
                                  "docker-run-volume-named"])
def test_mount_flags_as_the_docker_cli_sends_them(name, tmp_path):
    command, expected = recorded(name)
    command = [word.replace("<tmpdir>", str(tmp_path)) for word in command]
    got = body(*command)
    assert got["Volumes"] == expected["Volumes"]
    expected_host = json.loads(json.dumps(expected["HostConfig"]).replace("<tmpdir>", str(tmp_path)))
    for field in MOUNT_FIELDS:
        assert got["HostConfig"].get(field) == expected_host.get(field), field
    keys = [k for k in got["HostConfig"] if k in expected_host]
    assert keys == list(expected_host), "HostConfig's fields in the docker CLI's order"


def test_anonymous_v_goes_to_config_volumes_and_relative_binds_are_made_absolute():
    b = body("-v", "/anon", "-v", "./here:/x:ro", "-v", "name:/n", "--volumes-from", "web:ro",
             "--volume-driver", "local")
    assert b["Volumes"] == {"/anon": {}}
    host = b["HostConfig"]
    assert host["Binds"] == [os.path.abspath("here") + ":/x:ro", "name:/n"]
    assert (host["VolumesFrom"], host["VolumeDriver"]) == (["web:ro"], "local")
    assert "Mounts" not in host and "Tmpfs" not in host


def test_no_mount_flags():
    b = body()
    host = b["HostConfig"]
    assert (b["Volumes"], host["Binds"], host["VolumesFrom"], host["VolumeDriver"]) == ({}, None, None, "")
    assert "Mounts" not in host and "Tmpfs" not in host


@pytest.mark.parametrize("spec, message", [
    ("", "invalid empty volume spec"),
    ("a::b", "invalid spec: a::b: empty section between colons"),
    ("a:b:c:d", "invalid spec: a:b:c:d: too many colons"),
    (":/x", "invalid spec: :/x: empty section between colons"),
])
def test_client_side_volume_spec_errors(spec, message):
    with pytest.raises(OptionError) as error:
        client_volume_spec(spec)
    assert str(error.value) == message


def test_mount_flag_errors_are_the_parsers():
    from hakobune.cli.args.command import UsageError

    with pytest.raises(UsageError) as error:
        parse(build_root(), ["run", "--mount", "type=bind", "busybox"])
    assert 'invalid argument "type=bind" for "--mount" flag: target is required' in str(error.value)
