"""The layer store adopting an overlay upper directory (`LayerStore.adopt`)
gives the very tree that packing it and unpacking the tar gives
(`register`): same entries, content, ownership, modes, times, extended
attributes, hard links, whiteouts and opaque directories, and the same diff
id when packed again (what `save` and `push` do)."""

import io
import os
import socket
import stat

import pytest

from cli_store import hk, store  # noqa: F401 - fixtures
from hakobune import _sys
from hakobune.image.adoption import survey
from hakobune.image.difftar import layer_diff_id, pack_layer
from hakobune.image.layers import LayerStore

pytestmark = pytest.mark.root  # overlay mounts, whiteouts, trusted.* attributes, chown


def _write(path: str, data: bytes, mode: int = 0o644) -> None:
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def _make_lower(lower: str) -> None:
    os.makedirs(os.path.join(lower, "etc"))
    os.makedirs(os.path.join(lower, "opaque/old"))
    os.makedirs(os.path.join(lower, "kept"))
    _write(os.path.join(lower, "etc/passwd"), b"root:x:0:0::/root:/bin/sh\n")
    _write(os.path.join(lower, "gone"), b"deleted by the layer\n")
    _write(os.path.join(lower, "opaque/old/file"), b"hidden by the opaque directory\n")
    _write(os.path.join(lower, "kept/copied-up"), b"chmod copies me up\n")


def _change_merged(merged: str) -> None:
    """A step's changes: each kind of entry the layer tar can hold."""
    os.makedirs(os.path.join(merged, "app/sub/deeper"))
    new = os.path.join(merged, "app/setuid")
    _write(new, b"#!/bin/sh\necho hi\n")
    os.chown(new, 1000, 1001)
    os.chmod(new, 0o4755)  # after chown, which clears it
    os.setxattr(new, "user.note", b"a note")
    os.setxattr(new, "user.binary", b"\x01\x02\x7f")
    os.utime(new, ns=(1_700_000_000_123_456_789, 1_600_000_000_987_654_321))
    os.link(new, os.path.join(merged, "app/sub/hardlink"))
    os.symlink("../setuid", os.path.join(merged, "app/sub/symlink"))
    os.chown(os.path.join(merged, "app/sub/symlink"), 7, 8, follow_symlinks=False)
    os.mkfifo(os.path.join(merged, "app/fifo"), 0o640)
    os.mknod(os.path.join(merged, "app/null"), stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.chmod(os.path.join(merged, "app/sub"), 0o1777)
    for index in range(30):
        _write(os.path.join(merged, f"app/sub/deeper/f{index}"), b"x" * index)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(os.path.join(merged, "app/socket"))
    listener.close()
    os.unlink(os.path.join(merged, "gone"))
    os.chmod(os.path.join(merged, "kept/copied-up"), 0o600)
    import shutil

    shutil.rmtree(os.path.join(merged, "opaque"))
    os.mkdir(os.path.join(merged, "opaque"))
    _write(os.path.join(merged, "opaque/new"), b"new\n")
    _write(os.path.join(merged, "etc/hosts"), b"127.0.0.1 localhost\n")  # the engine's: left out
    os.utime(os.path.join(merged, "app/sub/deeper"), ns=(5_000_000_500, 6_000_000_600))


@pytest.fixture
def upper(tmp_path):
    """An overlay upper directory after a step's changes, unmounted."""
    lower, upper, work, merged = (str(tmp_path / name) for name in ("lower", "upper", "work", "merged"))
    for path in (lower, upper, work, merged):
        os.mkdir(path)
    _make_lower(lower)
    _sys.mount("overlay", merged, "overlay", 0, f"lowerdir={lower},upperdir={upper},workdir={work}")
    try:
        _change_merged(merged)
    finally:
        _sys.umount(merged, 0)
    return upper


def _tree(top: str) -> dict:
    """Every entry's metadata (times too, but the top's and whiteouts':
    both are made when the layer is stored), then every file's content."""
    entries = {}
    inodes = {}
    pending = [top]
    while pending:  # not os.walk: it follows symlinks to tell directories, which sets their access times
        directory = pending.pop()
        for name in sorted(os.listdir(directory)):
            path = os.path.join(directory, name)
            entries[os.path.relpath(path, top)] = _metadata(path, inodes)
            if stat.S_ISDIR(entries[os.path.relpath(path, top)]["mode"]):
                pending.append(path)
    entries["."] = _metadata(top, inodes, with_times=False)
    for relative, record in entries.items():
        path = os.path.join(top, relative)
        if stat.S_ISREG(record["mode"]):
            with open(path, "rb") as f:
                record["content"] = f.read()
        elif stat.S_ISLNK(record["mode"]):
            record["target"] = os.readlink(path)
    return entries


def _metadata(path: str, inodes: dict, with_times: bool = True) -> dict:
    info = os.lstat(path)
    whiteout = stat.S_ISCHR(info.st_mode) and info.st_rdev == 0
    record = {"mode": info.st_mode, "uid": info.st_uid, "gid": info.st_gid, "nlink": info.st_nlink,
              "rdev": info.st_rdev, "xattrs": {name: os.getxattr(path, name, follow_symlinks=False)
                                               for name in sorted(os.listxattr(path, follow_symlinks=False))},
              "inode": inodes.setdefault((info.st_dev, info.st_ino), len(inodes))}
    if not stat.S_ISDIR(info.st_mode):
        record["size"] = info.st_size
    if with_times and not whiteout:
        record["times"] = (info.st_atime_ns, info.st_mtime_ns)
    return record


def test_adopted_layer_is_the_unpacked_layer(tmp_path, upper):
    skip = frozenset({"etc/hosts"})
    tarball = io.BytesIO()
    pack_layer(upper, tarball, skip)
    unpacking = LayerStore(str(tmp_path / "unpacked"))
    tarball.seek(0)
    unpacked_id = unpacking.register(tarball)

    found = survey(upper, skip)
    assert found.faithful
    adopting = LayerStore(str(tmp_path / "adopted"))
    adopted_id = adopting.adopt(found)

    assert adopted_id == unpacked_id
    assert adopting.diff_id(adopted_id) == unpacking.diff_id(unpacked_id) == found.diff_id
    assert adopting.size(adopted_id) == unpacking.size(unpacked_id)
    unpacked_tree, adopted_tree = _tree(unpacking.diff_dir(unpacked_id)), _tree(adopting.diff_dir(adopted_id))
    assert sorted(adopted_tree) == sorted(unpacked_tree)
    for relative in unpacked_tree:
        assert adopted_tree[relative] == unpacked_tree[relative], relative
    # what the test means to cover is there
    assert adopted_tree["opaque"]["xattrs"] == {"trusted.overlay.opaque": b"y"}
    assert stat.S_ISCHR(adopted_tree["gone"]["mode"]) and adopted_tree["gone"]["rdev"] == 0
    assert "app/socket" not in adopted_tree and "etc/hosts" not in adopted_tree
    assert adopted_tree["app/setuid"]["inode"] == adopted_tree["app/sub/hardlink"]["inode"]
    assert adopted_tree["app/setuid"]["times"] == (1_600_000_000_000_000_000,) * 2
    assert adopted_tree["app/setuid"]["mode"] == stat.S_IFREG | 0o4755
    assert adopted_tree["kept/copied-up"]["xattrs"] == {}  # overlayfs's origin is gone
    # packed again (save, push): the same diff id
    assert layer_diff_id(adopting.diff_dir(adopted_id))[0] == found.diff_id
    assert os.listdir(os.path.join(adopting.directory, "tmp")) == []


def test_a_layer_already_stored_is_not_adopted_again(tmp_path, upper):
    store = LayerStore(str(tmp_path / "store"))
    tarball = io.BytesIO()
    pack_layer(upper, tarball)
    tarball.seek(0)
    chain_id = store.register(tarball)
    assert store.adopt(survey(upper)) == chain_id
    assert os.path.isdir(os.path.join(upper, "app"))  # left where it was


def test_a_name_the_unpacker_reads_as_a_whiteout_is_not_adopted(tmp_path):
    directory = tmp_path / "upper"
    directory.mkdir()
    (directory / ".wh.name").write_bytes(b"")
    found = survey(str(directory))
    assert not found.faithful
    assert LayerStore(str(tmp_path / "store")).adopt(found) is None
    assert (directory / ".wh.name").exists()


def test_parent_layer(tmp_path, upper):
    store = LayerStore(str(tmp_path / "store"))
    base = tmp_path / "base"
    (base / "bin").mkdir(parents=True)
    (base / "bin" / "sh").write_bytes(b"sh")
    parent = store.adopt(survey(str(base)))
    child = store.adopt(survey(upper, frozenset({"etc/hosts"})), parent)
    assert store.parent(child) == parent
    assert store.lower_dirs(child) == [store.diff_dir(child), store.diff_dir(parent)]


# --- through a real build: the steps' layers are adopted, save gives their diff ids ---

ADOPTED_DOCKERFILE = """\
FROM busybox:latest
RUN mkdir -p /app/data && echo setup > /app/data/setup && chmod 4750 /app/data/setup && rm /etc/group
COPY src/ /app/src/
RUN rm /app/src/d1/f1 && rm -rf /app/src/d0 && mkdir /app/src/d0 && echo new > /app/src/d0/new
"""


def test_built_layers_save_with_their_diff_ids(hk, tmp_path):
    import hashlib
    import json
    import tarfile

    context = tmp_path / "ctx"
    for index in range(60):
        path = context / "src" / f"d{index % 3}" / f"f{index}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"file {index}\n")
    (context / "Dockerfile").write_text(ADOPTED_DOCKERFILE)
    hk.ok("build", "--no-cache", "-t", "adopted:1", str(context), timeout=180)
    listing = hk.ok("run", "--rm", "adopted:1", "sh", "-c",
                    "ls /app/src/d0; ls /app/src/d1 | wc -l; stat -c %a /app/data/setup; test -e /etc/group || echo no-group")
    assert listing.split() == ["new", "19", "4750", "no-group"]
    archive = str(tmp_path / "adopted.tar")
    hk.ok("save", "-o", archive, "adopted:1")
    with tarfile.open(archive) as saved:
        manifest = json.load(saved.extractfile("manifest.json"))[0]
        config = json.load(saved.extractfile(manifest["Config"]))
        digests = ["sha256:" + hashlib.sha256(saved.extractfile(layer).read()).hexdigest()
                   for layer in manifest["Layers"]]
    assert digests == config["rootfs"]["diff_ids"]
    assert len(digests) == 4
    hk.ok("rmi", "adopted:1")


def test_a_failed_adoption_leaves_no_layer(tmp_path, upper):
    """A directory that changed after its survey (so that it is not what its
    diff id says) is refused midway: no layer under the chain id, nothing
    left in tmp/."""
    from hakobune.errors import SystemFailure

    found = survey(upper, frozenset({"etc/hosts"}))
    os.unlink(os.path.join(upper, "app/sub/deeper/f3"))
    store = LayerStore(str(tmp_path / "store"))
    with pytest.raises(SystemFailure):
        store.adopt(found)
    assert store.chain_ids() == []
    assert os.listdir(os.path.join(store.directory, "tmp")) == []
