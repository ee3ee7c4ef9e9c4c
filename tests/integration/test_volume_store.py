"""hakobune.volume on the real kernel: the store's records and rules, the
local driver's device volumes mounted and unmounted with use counting,
copy-up, mount targets resolved inside a rootfs, and real containers (the
runtime, busybox) using what resolve_mounts hands out."""

import json
import os
import subprocess

import pytest

from hakobune.errors import Conflict, InvalidArgument, NotFound
from hakobune.volume import attach, spec
from hakobune.volume._files import is_mount_point
from hakobune.volume.store import ANONYMOUS_LABEL, VolumeStore, VolumeUsers

pytestmark = pytest.mark.root


class Users(VolumeUsers):
    def __init__(self):
        self.using: dict[str, list[str]] = {}

    def references(self):
        return {k: v for k, v in self.using.items() if v}


@pytest.fixture
def store(tmp_path):
    users = Users()
    s = VolumeStore(str(tmp_path / "root"), str(tmp_path / "run"), users=users)
    yield s
    with open("/proc/self/mountinfo") as f:
        mounted = [line.split()[4] for line in f if str(tmp_path) in line.split()[4]]
    for target in sorted(mounted, key=len, reverse=True):
        subprocess.run(["umount", "-l", target], capture_output=True)
    assert not mounted, f"mounts left: {mounted}"


# --- records and rules ----------------------------------------------------------------------

def test_create_record_and_layout(store, tmp_path):
    volume = store.create("data", labels={"a": "1"})
    assert volume["Mountpoint"] == str(tmp_path / "root" / "volumes" / "data" / "_data")
    assert os.path.isdir(volume["Mountpoint"])
    assert list(volume) == ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"]
    assert volume["Driver"] == "local" and volume["Scope"] == "local" and volume["Options"] is None
    assert len(volume["CreatedAt"]) == 20 and volume["CreatedAt"].endswith("Z")
    with open(tmp_path / "root" / "volumes" / "data" / "volume.json") as f:
        assert json.load(f)["Labels"] == {"a": "1"}
    assert store.create("data", labels={"b": "2"}) == volume  # the existing one, as it is
    assert store.get("data") == volume


def test_anonymous_volumes(store):
    volume = store.create(anonymous=True)
    assert len(volume["Name"]) == 64 and int(volume["Name"], 16) >= 0
    assert volume["Labels"] == {ANONYMOUS_LABEL: ""}


def test_names_cannot_leave_the_volumes_directory(store, tmp_path):
    for name in ("../escape", "a/b", "..", ".hidden", "x"):
        with pytest.raises(InvalidArgument):
            store.create(name)
        with pytest.raises(NotFound):
            store.get(name)
        with pytest.raises(NotFound):
            store.remove(name)
    assert not os.path.exists(tmp_path / "root" / "escape")


def test_list_filters(store):
    store.create("alpha", labels={"tier": "db", "x": ""})
    store.create("beta", labels={"tier": "web"})
    anonymous = store.create(anonymous=True)["Name"]
    store.users.using["alpha"] = ["c1"]
    names = lambda f: [v["Name"] for v in store.list(f)]  # noqa: E731
    assert names({}) == sorted(["alpha", "beta", anonymous])
    assert names({"dangling": ["true"]}) == sorted(["beta", anonymous])
    assert names({"dangling": ["0"]}) == ["alpha"]
    assert names({"label": ["tier=db"]}) == ["alpha"]
    assert names({"label": ["tier"]}) == ["alpha", "beta"]
    assert names({"label": ["tier", "x"]}) == ["alpha"]
    assert names({"name": ["lph"]}) == ["alpha"]
    assert names({"name": ["^b"]}) == ["beta"]
    assert names({"driver": ["local"]}) == sorted(["alpha", "beta", anonymous])
    assert names({"driver": ["nfs"]}) == []
    with pytest.raises(InvalidArgument, match=r"^Invalid filter 'dangling=\[maybe\]'$"):
        store.list({"dangling": ["maybe"]})
    with pytest.raises(InvalidArgument, match=r"^Invalid filter 'until'$"):
        store.list({"until": ["1h"]})


def test_remove_refused_while_used(store):
    store.create("busy")
    store.users.using["busy"] = ["c1", "c2"]
    with pytest.raises(Conflict) as caught:
        store.remove("busy", force=True)
    assert str(caught.value) == "remove busy: volume is in use - [c1, c2]"
    store.users.using["busy"] = []
    store.remove("busy")
    with pytest.raises(NotFound, match="^get busy: no such volume$"):
        store.remove("busy")
    store.remove("busy", force=True)


def test_prune(store):
    store.create("named")
    store.create("labelled", labels={"keep": "no"})
    a1 = store.create(anonymous=True)["Name"]
    a2 = store.create(anonymous=True)["Name"]
    store.users.using[a2] = ["c1"]
    with open(os.path.join(store.data_dir(a1), "f"), "wb") as f:
        f.write(b"x" * 1000)
    report = store.prune()
    assert report == {"VolumesDeleted": [a1], "SpaceReclaimed": 1000}
    assert store.prune(filters={"label": ["keep=no"]})["VolumesDeleted"] is None
    report = store.prune(all=True, filters={"label!": ["keep"]})
    assert report["VolumesDeleted"] == ["named"]
    assert store.prune(filters={"all": ["true"]})["VolumesDeleted"] == ["labelled"]
    assert [v["Name"] for v in store.list()] == [a2]
    with pytest.raises(InvalidArgument, match="^Invalid filter 'until'$"):
        store.prune(filters={"until": ["1h"]})


def test_usage(store):
    store.create("v1")
    store.create("v2")
    with open(os.path.join(store.data_dir("v1"), "f"), "wb") as f:
        f.write(b"y" * 300)
    os.link(os.path.join(store.data_dir("v1"), "f"), os.path.join(store.data_dir("v1"), "g"))
    store.users.using["v1"] = ["c1"]
    usage = {v["Name"]: v["UsageData"] for v in store.usage()}
    assert usage == {"v1": {"Size": 300, "RefCount": 1}, "v2": {"Size": 0, "RefCount": 0}}
    from hakobune.volume.store import volume_usage

    assert volume_usage(store.usage()) == {"TotalCount": 2, "ActiveCount": 1, "Size": 300, "Reclaimable": 0}


def test_local_driver_options_are_checked(store):
    for options, message in (({"bogus": "1"}, 'create vol: invalid option: "bogus"'),
                             ({"type": "tmpfs"}, 'create vol: missing required option: "device"'),
                             ({"o": "size=1m", "device": "tmpfs"}, 'create vol: missing required option: "type"'),
                             ({"size": "1g"}, "create vol: quota size requested but no quota support")):
        with pytest.raises(InvalidArgument) as caught:
            store.create("vol", options=options)
        assert str(caught.value) == message
    with pytest.raises(NotFound, match='^create vol: error looking up volume plugin nfs: plugin "nfs" not found$'):
        store.create("vol", driver="nfs")
    assert store.list() == []


# --- device volumes: mounted at first use, unmounted after the last ----------------------------

def test_tmpfs_volume_use_counting(store):
    store.create("scratch", options={"type": "tmpfs", "device": "tmpfs", "o": "size=1m"})
    data = store.data_dir("scratch")
    assert not is_mount_point(data)
    assert store.mount("scratch", "c1") == data
    assert is_mount_point(data)
    assert _fstype(data) == "tmpfs" and os.statvfs(data).f_blocks * os.statvfs(data).f_frsize == 1 << 20
    store.mount("scratch", "c2")
    store.mount("scratch", "c2")  # twice for one container changes nothing
    store.unmount("scratch", "c1")
    assert is_mount_point(data)
    store.unmount("scratch", "c2")
    assert not is_mount_point(data)
    store.unmount("scratch", "c2")  # harmless


def test_bind_volume_keeps_the_device_contents(store, tmp_path):
    device = tmp_path / "device"
    device.mkdir()
    (device / "kept").write_text("host data")
    store.create("hostdir", options={"type": "none", "device": str(device), "o": "bind"})
    data = store.mount("hostdir", "c1")
    assert os.listdir(data) == ["kept"]
    with open(os.path.join(data, "new"), "w") as f:
        f.write("from the volume")
    # removed while still mounted (a crashed user): unmounted first, the device untouched
    store.remove("hostdir")
    assert sorted(os.listdir(device)) == ["kept", "new"]
    assert not is_mount_point(data)


def test_device_mount_failure_is_clear(store, tmp_path):
    store.create("broken", options={"type": "none", "device": str(tmp_path / "absent"), "o": "bind"})
    with pytest.raises(Exception, match="failed to mount local volume: mount .*absent"):
        store.mount("broken", "c1")
    assert not is_mount_point(store.data_dir("broken"))


def _fstype(path: str) -> str:
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == path:
                return fields[fields.index("-") + 1]
    return ""


# --- copy-up -----------------------------------------------------------------------------------

def test_copy_up_keeps_ownership_modes_links_and_xattrs(store, tmp_path):
    image = tmp_path / "image" / "etc" / "app"
    (image / "sub").mkdir(parents=True)
    (image / "conf").write_text("setting=1")
    os.chown(image / "conf", 1234, 5678)
    os.chmod(image / "conf", 0o640)
    os.chmod(image / "sub", 0o710)
    os.chown(image / "sub", 42, 43)
    os.symlink("conf", image / "link")
    os.link(image / "conf", image / "hard")
    os.chown(image, 7, 8)
    os.chmod(image, 0o750)
    xattrs = True
    try:
        os.setxattr(image / "conf", "user.origin", b"image")
    except OSError:
        xattrs = False
    data = store.create("app")["Mountpoint"]
    assert attach.copy_up(str(image), data)
    conf = os.stat(os.path.join(data, "conf"))
    assert (conf.st_uid, conf.st_gid, conf.st_mode & 0o7777) == (1234, 5678, 0o640)
    sub = os.stat(os.path.join(data, "sub"))
    assert (sub.st_uid, sub.st_gid, sub.st_mode & 0o7777) == (42, 43, 0o710)
    assert os.readlink(os.path.join(data, "link")) == "conf"
    assert os.stat(os.path.join(data, "hard")).st_ino == conf.st_ino
    top = os.stat(data)
    assert (top.st_uid, top.st_gid, top.st_mode & 0o7777) == (7, 8, 0o750)
    if xattrs:
        assert os.getxattr(os.path.join(data, "conf"), "user.origin") == b"image"
    # once: a volume with content is left as it is
    os.unlink(os.path.join(data, "hard"))
    assert not attach.copy_up(str(image), data)
    assert not os.path.exists(os.path.join(data, "hard"))
    assert not attach.copy_up(str(tmp_path / "image" / "nothing-here"), store.create("other")["Mountpoint"])


# --- targets inside a rootfs -----------------------------------------------------------------------

def test_symlink_target_does_not_escape(tmp_path):
    rootfs = tmp_path / "rootfs"
    (rootfs / "etc").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(f"../../../../../../..{outside}", rootfs / "relative")
    os.symlink(str(outside), rootfs / "absolute")
    os.symlink("/etc", rootfs / "etclink")
    assert attach.resolve_target(str(rootfs), "/relative/x") == f"{outside}/x"
    assert os.path.isdir(f"{rootfs}{outside}/x")
    assert attach.resolve_target(str(rootfs), "/absolute/y/z") == f"{outside}/y/z"
    assert os.path.isdir(f"{rootfs}{outside}/y/z")
    assert attach.resolve_target(str(rootfs), "/etclink/../../../etc/conf", as_file=True) == "/etc/conf"
    assert os.path.isfile(rootfs / "etc" / "conf")
    assert os.listdir(outside) == []


def test_file_over_directory_is_refused(tmp_path):
    rootfs = tmp_path / "rootfs"
    (rootfs / "dir").mkdir(parents=True)
    (rootfs / "file").write_text("")
    with pytest.raises(NotADirectoryError):
        attach.resolve_target(str(rootfs), "/dir", as_file=True)
    with pytest.raises(NotADirectoryError):
        attach.resolve_target(str(rootfs), "/file", as_file=False)
    with pytest.raises(NotADirectoryError):
        attach.resolve_target(str(rootfs), "/file/below")
    assert sorted(os.listdir(rootfs)) == ["dir", "file"]


# --- real containers ----------------------------------------------------------------------------

def _run(runtime, make_bundle, store, mounts, container_id, script):
    bundle = make_bundle(["sh", "-c", script])
    entries = attach.resolve_mounts(store, mounts, container_id, bundle.rootfs)
    try:
        bundle.config["mounts"] += entries
        bundle.config["process"]["terminal"] = False
        return runtime.run_bundle(bundle, container_id, check=False)
    finally:
        runtime("delete", "--force", container_id, check=False)
        attach.release_mounts(store, mounts, container_id)


def test_containers_share_a_named_volume_and_copy_up(runtime, make_bundle, store):
    mounts = attach.prepare_mounts(store, spec.mounts_of_create({}, {"Binds": ["shared:/etc"]}), "c1")
    first = _run(runtime, make_bundle, store, mounts, "c1", "ls /etc; echo hello > /etc/greeting")
    assert first.returncode == 0, first.stderr
    assert "passwd" in first.stdout  # the image's /etc was copied into the empty volume
    second = _run(runtime, make_bundle, store, mounts, "c2", "cat /etc/greeting")
    assert second.stdout == "hello\n"
    with open(os.path.join(store.data_dir("shared"), "greeting")) as f:
        assert f.read() == "hello\n"


def test_read_only_tmpfs_and_bind_in_a_container(runtime, make_bundle, store, tmp_path):
    host = tmp_path / "created-by-v"
    mounts = spec.mounts_of_create({"Volumes": {"/anon": {}}}, {
        "Binds": ["ro-data:/ro:ro", f"{host}:/host"],
        "Mounts": [{"Type": "tmpfs", "Target": "/small", "TmpfsOptions": {"SizeBytes": 65536}}],
    })
    mounts = attach.prepare_mounts(store, mounts, "c3")
    anonymous = attach.anonymous_volumes(mounts)
    assert len(anonymous) == 1 and store.get(anonymous[0])["Labels"] == {ANONYMOUS_LABEL: ""}
    result = _run(runtime, make_bundle, store, mounts, "c3",
                  "touch /ro/x 2>/dev/null && echo ro-writable; "
                  "dd if=/dev/zero of=/small/big bs=1024 count=128 2>/dev/null || echo tmpfs-full; "
                  "echo from-container > /host/f; echo anon > /anon/a; echo done")
    assert result.stdout.split() == ["tmpfs-full", "done"], result.stderr
    assert (host / "f").read_text() == "from-container\n"
    with open(os.path.join(store.data_dir(anonymous[0]), "a")) as f:
        assert f.read() == "anon\n"


def test_device_volume_in_a_container(runtime, make_bundle, store):
    store.create("ramdisk", options={"type": "tmpfs", "device": "tmpfs", "o": "size=2m"})
    mounts = attach.prepare_mounts(store, spec.mounts_of_create({}, {"Binds": ["ramdisk:/r"]}), "c4")
    result = _run(runtime, make_bundle, store, mounts, "c4", "df -k /r | tail -1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1] == "2048"
    assert not is_mount_point(store.data_dir("ramdisk"))


def test_symlinked_target_in_an_image_stays_inside(runtime, make_bundle, store, tmp_path):
    outside = tmp_path / "host-secret"
    outside.mkdir()
    mounts = attach.prepare_mounts(store, spec.mounts_of_create({}, {"Binds": ["v2:/escape/inner"]}), "c5")
    bundle = make_bundle(["true"])
    os.symlink(f"../../../../../../../..{outside}", os.path.join(bundle.rootfs, "escape"))
    entries = attach.resolve_mounts(store, mounts, "c5", bundle.rootfs)
    try:
        assert entries[0]["destination"] == f"{outside}/inner"
        assert os.path.isdir(f"{bundle.rootfs}{outside}/inner")
        assert os.listdir(outside) == []
    finally:
        attach.release_mounts(store, mounts, "c5")


def test_mount_order_and_the_store_lock_across_create(store, tmp_path):
    """Entries come shallowest first; the engine may hold the store's lock
    around prepare_mounts and its own record write (the lock is re-entrant)."""
    mounts = spec.mounts_of_create({"Volumes": {"/a/b/c": {}}}, {"Binds": ["deep:/a/b", f"{tmp_path}:/a"],
                                                                 "Tmpfs": {"/z": ""}})
    with store.locked():
        prepared = attach.prepare_mounts(store, mounts, "c6")
        assert len(store.list()) == 2
    entries = attach.resolve_mounts(store, prepared, "c6")
    assert [e["destination"] for e in entries] == ["/a", "/z", "/a/b", "/a/b/c"]
    attach.release_mounts(store, prepared, "c6")
    for name in attach.anonymous_volumes(prepared):
        store.remove(name)
    assert [v["Name"] for v in store.list()] == ["deep"]


def test_prune_takes_away_what_a_crash_left(store, tmp_path):
    store.create("kept")
    volumes = tmp_path / "root" / "volumes"
    (volumes / ".create-lost-999999999" / "_data").mkdir(parents=True)
    (volumes / ".remove-gone-999999998").mkdir()
    assert store.prune()["VolumesDeleted"] is None
    assert sorted(os.listdir(volumes)) == [".lock", "kept"]
