"""hakobune.volume.spec and the CLI's --mount parser: what the daemon
receives about mounts, as plain mount dicts, with Docker's error messages."""

import os

import pytest

from hakobune.createbody.mounts import parse_mount_flag, tmpfs_map
from hakobune.errors import InvalidArgument
from hakobune.volume import spec
from hakobune.volume.attach import bind_entry, merge_tmpfs_options, mount_point, tmpfs_entry


def error_of(function, *args) -> str:
    with pytest.raises(InvalidArgument) as caught:
        function(*args)
    return str(caught.value)


# --- HostConfig.Binds ----------------------------------------------------------------

def test_named_volume_bind():
    m = spec.parse_bind("data:/srv/data")
    assert m["Type"] == "volume" and m["Source"] == "data" and m["Target"] == "/srv/data"
    assert not m["ReadOnly"] and m["Mode"] == "" and m["CopyData"] and m["Propagation"] == ""


def test_named_volume_read_only_and_nocopy():
    m = spec.parse_bind("data:/srv/:ro,nocopy")
    assert m["ReadOnly"] and not m["CopyData"] and m["Target"] == "/srv" and m["Mode"] == "ro,nocopy"


def test_host_path_is_a_bind():
    m = spec.parse_bind("/host//dir/:/x:rw,z")
    assert m["Type"] == "bind" and m["Source"] == "/host/dir" and m["Target"] == "/x"
    assert not m["ReadOnly"] and m["Propagation"] == "rprivate" and m["CreateSource"]
    m = spec.parse_bind("/host:/x:ro,rshared")
    assert m["ReadOnly"] and m["Propagation"] == "rshared"


def test_anonymous_volume_in_binds():
    m = spec.parse_bind("/just/a/path")
    assert m["Type"] == "volume" and m["Source"] == "" and m["Target"] == "/just/a/path"


@pytest.mark.parametrize("raw, message", [
    (":/x", "invalid volume specification: ':/x'"),
    ("/x:ro", "invalid volume specification: '/x:ro'"),
    ("a:b:c:d", "invalid volume specification: 'a:b:c:d'"),
    ("data:/x:bogus", "invalid mode: bogus"),
    ("data:/x:ro,rw", "invalid mode: ro,rw"),
    ("data:/x:z,Z", "invalid mode: z,Z"),
    ("data:relative", "invalid volume specification: 'data:relative': invalid mount config for type "
                      "\"volume\": invalid mount path: 'relative' mount path must be absolute"),
    ("/host:/", "invalid volume specification: '/host:/': invalid mount config for type \"bind\": "
                "invalid specification: destination can't be '/'"),
    ("data:/x:shared", "invalid volume specification: 'data:/x:shared': invalid mount config for type "
                       "\"volume\": field BindOptions must not be specified"),
    ("a:/x", "create a: volume name is too short, names should be at least two alphanumeric characters"),
    ("../etc:/x", 'create ../etc: "../etc" includes invalid characters for a local volume name, only '
                  '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, '
                  "use absolute path"),
])
def test_bad_binds(raw, message):
    assert error_of(spec.parse_bind, raw) == message


# --- HostConfig.Mounts ---------------------------------------------------------------

def test_mount_volume_with_options():
    m = spec.parse_mount({"Type": "volume", "Source": "v1", "Target": "/data",
                          "VolumeOptions": {"Labels": {"a": "1"}, "NoCopy": True,
                                            "DriverConfig": {"Options": {"type": "tmpfs"}}}})
    assert m["Type"] == "volume" and m["Source"] == "v1" and not m["CopyData"]
    assert m["VolumeOptions"] == {"Driver": "local", "Labels": {"a": "1"}, "DriverOptions": {"type": "tmpfs"}}


def test_mount_bind_needs_an_existing_source(tmp_path):
    m = spec.parse_mount({"Type": "bind", "Source": str(tmp_path), "Target": "/x", "ReadOnly": True,
                          "BindOptions": {"Propagation": "rslave"}})
    assert m["ReadOnly"] and m["Propagation"] == "rslave" and not m["CreateSource"]
    missing = str(tmp_path / "missing")
    assert error_of(spec.parse_mount, {"Type": "bind", "Source": missing, "Target": "/x"}) == \
        f'invalid mount config for type "bind": bind source path does not exist: {missing}'
    assert not os.path.exists(missing)


def test_mount_tmpfs_options():
    m = spec.parse_mount({"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1048576, "Mode": 0o1777}})
    assert m["Data"] == "mode=1777,size=1m"
    assert spec.tmpfs_data(3 << 30, 0, True) == "ro,size=3g"
    assert spec.tmpfs_data(1000, 0, False) == "size=1000"


@pytest.mark.parametrize("mount, message", [
    ({"Type": "bind", "Target": "/x"}, 'invalid mount config for type "bind": field Source must not be empty'),
    ({"Type": "bind", "Source": "/", "Target": ""},
     'invalid mount config for type "bind": field Target must not be empty'),
    ({"Type": "bind", "Source": "rel", "Target": "/x"},
     "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute"),
    ({"Type": "bind", "Source": "/", "Target": "/x", "BindOptions": {"Propagation": "sideways"}},
     'invalid mount config for type "bind": invalid propagation mode: sideways'),
    ({"Type": "bind", "Source": "/", "Target": "/x", "VolumeOptions": {}},
     'invalid mount config for type "bind": field VolumeOptions must not be specified'),
    ({"Type": "volume", "Target": "/x", "BindOptions": {}},
     'invalid mount config for type "volume": field BindOptions must not be specified'),
    ({"Type": "volume", "Target": "/x", "ReadOnly": True},
     'invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes'),
    ({"Type": "volume", "Target": "/"},
     "invalid mount config for type \"volume\": invalid specification: destination can't be '/'"),
    ({"Type": "tmpfs", "Source": "x", "Target": "/t"},
     'invalid mount config for type "tmpfs": field Source must not be specified'),
    ({"Type": "nfs", "Target": "/t"}, 'invalid mount config for type "nfs": mount type unknown'),
])
def test_bad_mounts(mount, message):
    assert error_of(spec.parse_mount, mount) == message


# --- Tmpfs, Volumes, VolumesFrom ----------------------------------------------------------

def test_tmpfs():
    m = spec.parse_tmpfs("/scratch", "rw,size=1m,mode=1777")
    assert m["Type"] == "tmpfs" and m["Data"] == "rw,size=1m,mode=1777" and not m["ReadOnly"]
    assert error_of(spec.parse_tmpfs, "/", "") == "invalid specification: destination can't be '/'"
    assert error_of(spec.parse_tmpfs, "rel", "") == "invalid mount path: 'rel' mount path must be absolute"
    assert error_of(spec.parse_tmpfs, "/t", "size=lots") == "invalid tmpfs option 'size=lots'"
    assert error_of(spec.parse_tmpfs, "/t", "frobnicate") == "invalid tmpfs option 'frobnicate'"


def test_anonymous_and_volumes_from():
    m = spec.parse_anonymous("/var/lib/x/")
    assert m["Type"] == "volume" and m["Source"] == "" and m["Target"] == "/var/lib/x"
    assert error_of(spec.parse_anonymous, "x") == ("invalid volume specification: 'x': invalid mount config for "
                                                   "type \"volume\": invalid mount path: 'x' mount path must be "
                                                   "absolute")
    assert spec.parse_volumes_from("web") == ("web", "rw")
    assert spec.parse_volumes_from("web:ro") == ("web", "ro")
    assert error_of(spec.parse_volumes_from, "") == "volumes-from specification cannot be an empty string"
    assert error_of(spec.parse_volumes_from, "web:bad") == "invalid mode for volumes-from: bad"
    assert error_of(spec.parse_volumes_from, "web:shared") == \
        "propagation property shared is not allowed in --volumes-from specification"


def test_create_body_precedence_and_duplicates(tmp_path):
    inherited = spec.inherit([spec.parse_bind("shared:/data"), spec.parse_tmpfs("/t", "")], "ro")
    assert len(inherited) == 1 and inherited[0]["ReadOnly"] and inherited[0]["Origin"] == "volumes-from"
    mounts = spec.mounts_of_create(
        {"Volumes": {"/data": {}, "/cache": {}, "/run/x": {}}},
        {"Binds": ["other:/data"], "Mounts": [{"Type": "bind", "Source": str(tmp_path), "Target": "/host"}],
         "Tmpfs": {"/run/x": "size=1m"}},
        inherited)
    by_target = {m["Target"]: m for m in mounts}
    assert by_target["/data"]["Source"] == "other"          # a bind overrides --volumes-from
    assert by_target["/cache"]["Source"] == ""              # anonymous where nothing else is
    assert by_target["/run/x"]["Type"] == "tmpfs"           # an image VOLUME under a tmpfs is skipped
    assert by_target["/host"]["Type"] == "bind"
    assert error_of(spec.mounts_of_create, {}, {"Binds": ["a1:/x", "/h:/x/"]}) == "Duplicate mount point: /x"
    assert error_of(spec.mounts_of_create, {}, {"Binds": ["a1:/x"], "Tmpfs": {"/x": ""}}) == \
        "Duplicate mount point: /x"
    assert error_of(spec.mounts_of_create, {}, {"Binds": ["a1:/x"], "Mounts": [{"Type": "volume",
                                                                                 "Target": "/x"}]}) == \
        "Duplicate mount point: /x"


# --- OCI entries and inspect shapes --------------------------------------------------------

def test_oci_entries():
    m = spec.parse_bind("/h:/x:ro")
    assert bind_entry("/h", "/x", m) == {"destination": "/x", "type": "bind", "source": "/h",
                                         "options": ["rbind", "ro", "rprivate"]}
    t = spec.parse_tmpfs("/scratch", "rw,size=1m,exec")
    assert tmpfs_entry("/scratch", t) == {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                                          "options": ["nosuid", "nodev", "rprivate", "rw", "size=1m", "exec"]}
    assert merge_tmpfs_options(["size=1m", "ro", "size=2m", "rw"]) == ["size=2m", "rw"]


def test_mount_points_as_docker_shows_them():
    m = {**spec.parse_bind("webdata:/www:rw"), "Source": "webdata"}
    assert mount_point(m) == {"Type": "volume", "Name": "webdata", "Source": "", "Destination": "/www",
                              "Driver": "local", "Mode": "rw", "RW": True, "Propagation": ""}
    assert mount_point({**spec.parse_bind("v1:/d"), "Source": "v1"})["Mode"] == "z"
    assert mount_point(spec.parse_bind("/h:/x:ro")) == {"Type": "bind", "Source": "/h", "Destination": "/x",
                                                        "Mode": "ro", "RW": False, "Propagation": "rprivate"}


# --- the CLI's --mount -----------------------------------------------------------------------

def test_mount_flag_shapes_as_recorded():
    """docker-run-mount.md: the HostConfig.Mounts the docker CLI sends."""
    assert parse_mount_flag("type=volume,src=apirec-vol2,dst=/data,volume-label=apirec=1") == {
        "Type": "volume", "Source": "apirec-vol2", "Target": "/data",
        "VolumeOptions": {"Labels": {"apirec": "1"}, "DriverConfig": {}}}
    assert parse_mount_flag("type=bind,src=/tmp/hostdir,dst=/x,readonly") == {
        "Type": "bind", "Source": "/tmp/hostdir", "Target": "/x", "ReadOnly": True}
    assert parse_mount_flag("type=tmpfs,dst=/t,tmpfs-size=1048576") == {
        "Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1048576}}


def test_mount_flag_options():
    m = parse_mount_flag("Type=BIND,source=/s,destination=/d,ro=false,bind-propagation=RSHARED")
    assert m == {"Type": "bind", "Source": "/s", "Target": "/d", "BindOptions": {"Propagation": "rshared"}}
    m = parse_mount_flag("target=/d,volume-opt=type=tmpfs,volume-opt=o=size=1m,volume-nocopy")
    assert m["Type"] == "volume" and m["VolumeOptions"]["NoCopy"]
    assert m["VolumeOptions"]["DriverConfig"] == {"Options": {"type": "tmpfs", "o": "size=1m"}}
    assert parse_mount_flag("type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1770")["TmpfsOptions"] == {
        "SizeBytes": 64 << 20, "Mode": 0o1770}
    assert parse_mount_flag('type=bind,"src=/a,b",dst=/d')["Source"] == "/a,b"
    assert parse_mount_flag("src=./rel,dst=/d")["Source"] == os.path.abspath("./rel")


@pytest.mark.parametrize("text, message", [
    ("type=volume", "target is required"),
    ("type=,dst=/x", "type is required"),
    ("dst=/x,bogus", "invalid field 'bogus' must be a key=value pair"),
    ("dst=/x,colour=red", "unexpected key 'colour' in 'colour=red'"),
    ("dst=/x,readonly=maybe", "invalid value for readonly: maybe"),
    ("type=tmpfs,dst=/x,tmpfs-size=lots", "invalid value for tmpfs-size: lots"),
    ("type=tmpfs,dst=/x,tmpfs-mode=999", "invalid value for tmpfs-mode: 999"),
    ("type=bind,src=/a,dst=/x,volume-label=a=1", "cannot mix 'volume-*' options with mount type 'bind'"),
    ("type=volume,dst=/x,bind-propagation=shared", "cannot mix 'bind-*' options with mount type 'volume'"),
    ("type=bind,src=/a,dst=/x,tmpfs-size=1m", "cannot mix 'tmpfs-*' options with mount type 'bind'"),
])
def test_mount_flag_errors(text, message):
    with pytest.raises(ValueError) as caught:
        parse_mount_flag(text)
    assert str(caught.value) == message


def test_tmpfs_flag():
    assert tmpfs_map(["/scratch:rw,size=1m", "/run"]) == {"/scratch": "rw,size=1m", "/run": ""}
