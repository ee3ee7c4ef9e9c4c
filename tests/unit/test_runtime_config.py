"""config.json checks name the field that is wrong."""

import json

import pytest

from hakobune.errors import InvalidArgument
from hakobune.oci.defaults import default_spec
from hakobune.oci.runtime_config import check_config, load_config


def test_the_default_spec_is_valid():
    check_config(default_spec())
    check_config(default_spec(rootless=True))


@pytest.mark.parametrize("mutate, message", [
    (lambda c: c.pop("root"), "root: expected an object, got nothing"),
    (lambda c: c["root"].__setitem__("path", 3), "root.path: expected a string, got int"),
    (lambda c: c["process"]["args"].append(7), "process.args[1]: expected a string, got int"),
    (lambda c: c["process"].__setitem__("cwd", "tmp"), "process.cwd: must be an absolute path"),
    (lambda c: c["process"].__setitem__("terminal", "yes"), "process.terminal: expected true or false"),
    (lambda c: c["process"]["rlimits"][0].pop("hard"), "process.rlimits[0].hard"),
    (lambda c: c["process"]["capabilities"]["effective"].append("CAP_NOPE"), "unknown capability 'CAP_NOPE'"),
    (lambda c: c.__setitem__("hooks", {"prestart": [{"path": "rel"}]}), "hooks.prestart[0].path"),
    (lambda c: c.__setitem__("hooks", {"later": []}), "hooks.later: unknown hook kind"),
    (lambda c: c["linux"].__setitem__("uidMappings", [{"containerID": 0}]), "linux.uidMappings[0].hostID"),
    (lambda c: c["linux"].__setitem__("rootfsPropagation", "weird"), "linux.rootfsPropagation"),
    (lambda c: c["linux"].__setitem__("devices", [{"path": "/dev/x", "type": "z"}]), "linux.devices[0].type"),
])
def test_errors_name_the_field(mutate, message):
    config = default_spec()
    mutate(config)
    with pytest.raises(InvalidArgument) as error:
        check_config(config)
    assert message in str(error.value)


def test_malformed_json(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("{")
    with pytest.raises(InvalidArgument, match="malformed JSON"):
        load_config(str(path))
    with pytest.raises(InvalidArgument, match="no such file"):
        load_config(str(tmp_path / "none.json"))
    path.write_text(json.dumps(default_spec()))
    assert load_config(str(path))["ociVersion"] == "1.0.2-dev"
