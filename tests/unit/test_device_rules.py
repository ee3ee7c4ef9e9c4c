"""The device rules the runtime gives a container's cgroup: the config's
own rules decide the access to a device they name; a linux.devices node
that no rule names gets full access; the always-allowed devices come last."""

from hakobune.runtime.container import _ALWAYS_ALLOWED_DEVICES, _with_default_devices

KMSG = {"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11}
DENY_ALL = {"allow": False, "access": "rwm"}


def test_a_named_device_keeps_the_access_asked_for():
    read_only = {"allow": True, "type": "c", "major": 1, "minor": 11, "access": "r"}
    resources = _with_default_devices({"devices": [KMSG], "resources": {"devices": [DENY_ALL, read_only]}})
    assert resources["devices"] == [DENY_ALL, read_only, *_ALWAYS_ALLOWED_DEVICES]


def test_an_unnamed_device_gets_full_access():
    resources = _with_default_devices({"devices": [KMSG], "resources": {"devices": [DENY_ALL]}})
    assert resources["devices"][1] == {"allow": True, "type": "c", "major": 1, "minor": 11, "access": "rwm"}


def test_a_wildcard_rule_does_not_name_a_device():
    any_char = {"allow": True, "type": "c", "major": -1, "minor": -1, "access": "r"}
    resources = _with_default_devices({"devices": [KMSG], "resources": {"devices": [any_char]}})
    assert resources["devices"][1]["access"] == "rwm"


def test_the_config_is_left_unchanged():
    linux = {"devices": [KMSG], "resources": {"devices": [DENY_ALL]}}
    _with_default_devices(linux)
    assert linux == {"devices": [KMSG], "resources": {"devices": [DENY_ALL]}}
