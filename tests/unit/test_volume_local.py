"""hakobune.volume.local's option handling and the store's pure rules (names, times, filters)."""

import time

import pytest

from hakobune import _sys as S
from hakobune.errors import InvalidArgument
from hakobune.volume import local, store


def test_mount_arguments_of_the_local_driver():
    assert local.mount_arguments({"type": "tmpfs", "device": "tmpfs", "o": "size=100m,uid=1000,noexec"}) == \
        ("tmpfs", "tmpfs", S.MS_NOEXEC, "size=100m,uid=1000")
    assert local.mount_arguments({"type": "none", "device": "/srv/x", "o": "bind,ro"}) == \
        ("/srv/x", None, S.MS_BIND | S.MS_RDONLY, None)
    assert local.mount_arguments({"type": "none", "device": "/srv/x", "o": "rbind"})[2] == S.MS_BIND | S.MS_REC
    assert local.mount_arguments({"type": "nfs", "device": ":/export", "o": "addr=10.0.0.1,rw"}) == \
        (":/export", "nfs", 0, "addr=10.0.0.1")


def test_mounts_device():
    assert local.mounts_device({"type": "tmpfs", "device": "tmpfs"})
    assert not local.mounts_device(None) and not local.mounts_device({})


@pytest.mark.parametrize("options, message", [
    ({"bogus": "1"}, 'invalid option: "bogus"'),
    ({"device": "/x"}, 'missing required option: "type"'),
    ({"type": "none"}, 'missing required option: "device"'),
    ({"o": "bind", "type": "none"}, 'missing required option: "device"'),
    ({"size": "10g"}, "quota size requested but no quota support"),
])
def test_option_errors(options, message):
    with pytest.raises(InvalidArgument) as caught:
        local.validate_options(options)
    assert str(caught.value) == message


@pytest.mark.parametrize("name, ok", [
    ("ab", True), ("a.b-c_d", True), ("0x", True), ("a", False), ("", False), (".a", False), ("-a", False),
    ("a/b", False), ("..", False), ("../x", False), ("a b", False), ("a\n", False), ("é1", False),
])
def test_names(name, ok):
    assert store.is_valid_name(name) == ok


def test_created_at_is_rfc3339_in_the_local_zone():
    text = store.created_at(0)
    assert text.startswith(time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(0)))
    assert text.endswith("Z") or text[-6] in "+-"


def test_label_filters():
    volume = {"Name": "web-data", "Driver": "local", "Labels": {"tier": "web", "empty": ""}}
    assert store._matches(volume, {"label": ["tier"], "name": ["web"]})
    assert store._matches(volume, {"label": ["empty="]})
    assert not store._matches(volume, {"label": ["tier=db"]})
    assert not store._matches(volume, {"label!": ["tier"]})
    assert store._matches(volume, {"label!": ["tier=db"]})
    assert not store._matches(volume, {"name": ["^data"]})
    assert store._matches(volume, {"name": ["data$"]})
    assert store._matches(volume, {"name": ["[bad"]}) is False
