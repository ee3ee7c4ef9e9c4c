"""The layer store: chain ids, overlayfs lower dirs, concurrency, kill -9, removal."""

import hashlib
import io
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap

import pytest

from hakobune import _sys
from hakobune.errors import Conflict, InvalidArgument, NotFound
from hakobune.image import layers as layers_module
from hakobune.image.layers import LayerStore
from hakobune.oci.image_spec import chain_id_of
from layer_tars import directory, file, gz, opaque, tar, whiteout

pytestmark = pytest.mark.root  # overlayfs whiteouts are device nodes and trusted.* attributes

BASE = tar(directory("etc"), file("etc/conf", b"base conf"), file("gone", b"to be deleted"),
           directory("opq"), file("opq/lower1", b"1"), file("opq/lower2", b"2"), directory("shared"),
           file("shared/lower", b"l"))
TOP = tar(whiteout("gone"), opaque("opq"), file("opq/upper", b"u"), file("shared/upper", b"u"),
          file("etc/conf", b"top conf"))


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def root():
    path = tempfile.mkdtemp(prefix="hakobune-test-layers-")
    yield path
    shutil.rmtree(path)


@pytest.fixture
def store(root):
    return LayerStore(root)


def temporaries(store) -> list[str]:
    return os.listdir(os.path.join(store.directory, "tmp"))


def test_register_a_base_and_a_child(store):
    base = store.register(io.BytesIO(gz(BASE)))
    top = store.register(TOP, parent=base)
    assert base == sha256(BASE)
    assert top == chain_id_of(base, sha256(TOP))
    assert store.diff_id(top) == sha256(TOP) and store.diff_id(base) == sha256(BASE)
    assert store.parent(top) == base and store.parent(base) is None
    assert store.lower_dirs(top) == [store.diff_dir(top), store.diff_dir(base)]
    assert store.lower_dirs(top)[0] == os.path.join(store.directory, top.split(":")[1], "diff")
    assert store.size(base) == len(b"base conf") + len(b"to be deleted") + 3
    assert sorted(store.chain_ids()) == sorted([base, top])
    assert store.exists(top) and temporaries(store) == []


def test_registering_twice_stores_one_layer(store):
    assert store.register(BASE) == store.register(gz(BASE))
    assert len(store.chain_ids()) == 1 and temporaries(store) == []


def test_a_stored_layer_is_not_read_again(store):
    base = store.register(BASE)

    class Unreadable:
        def read(self, size=-1):
            raise AssertionError("read although the layer is stored")

    assert store.register(Unreadable(), expected_diff_id=sha256(BASE)) == base


def test_the_expected_diff_id_is_checked(store):
    with pytest.raises(InvalidArgument) as error:
        store.register(BASE, expected_diff_id=sha256(b"something else"))
    assert sha256(BASE) in str(error.value) and sha256(b"something else") in str(error.value)
    assert store.chain_ids() == [] and temporaries(store) == []


def test_a_bad_layer_leaves_nothing(store):
    with pytest.raises(InvalidArgument):
        store.register(BASE[:1000])
    assert store.chain_ids() == [] and temporaries(store) == []


def test_unknown_and_malformed_chain_ids(store):
    missing = sha256(b"missing")
    with pytest.raises(NotFound, match=missing):
        store.register(TOP, parent=missing)
    for operation in (store.diff_dir, store.lower_dirs, store.diff_id, store.parent, store.size, store.remove):
        with pytest.raises(NotFound):
            operation(missing)
        with pytest.raises(InvalidArgument):
            operation("sha256:../../etc")
    with pytest.raises(InvalidArgument, match="sha256"):
        store.exists("sha512:" + "a" * 128)


def test_remove(store):
    base = store.register(BASE)
    top = store.register(TOP, parent=base)
    with pytest.raises(Conflict, match="parent"):
        store.remove(base)
    store.remove(top)
    store.remove(base)
    assert store.chain_ids() == [] and temporaries(store) == []
    assert os.listdir(os.path.join(store.directory, "locks")) == []
    assert store.register(BASE) == base, "a removed layer can be registered again"


def test_publishing_syncs_the_file_system_before_the_rename(store, monkeypatch):
    events = []
    real_syncfs, real_rename = layers_module.syncfs, os.rename
    monkeypatch.setattr(layers_module, "syncfs", lambda fd: (events.append("syncfs"), real_syncfs(fd)))
    monkeypatch.setattr(os, "rename", lambda a, b: (events.append("rename"), real_rename(a, b)))
    store.register(BASE)
    assert events == ["syncfs", "rename"]


def overlay(lower_dirs: list[str]):
    """Mount a read-only overlay of `lower_dirs` in a temporary directory; returns (merged, cleanup)."""
    mountpoint = tempfile.mkdtemp(prefix="hakobune-test-overlay-")
    _sys.mount("overlay", mountpoint, "overlay", _sys.MS_RDONLY, "lowerdir=" + ":".join(lower_dirs))

    def cleanup():
        try:
            _sys.umount(mountpoint)
        finally:
            os.rmdir(mountpoint)

    return mountpoint, cleanup


def test_an_overlay_of_two_layers(store):
    top = store.register(TOP, parent=store.register(gz(BASE)))
    merged, cleanup = overlay(store.lower_dirs(top))
    try:
        assert sorted(os.listdir(merged)) == ["etc", "opq", "shared"], "the whited-out file is gone"
        assert os.listdir(os.path.join(merged, "opq")) == ["upper"], "the opaque directory hides the lower one"
        assert sorted(os.listdir(os.path.join(merged, "shared"))) == ["lower", "upper"]
        with open(os.path.join(merged, "etc/conf"), "rb") as f:
            assert f.read() == b"top conf"
        with pytest.raises(Conflict, match="mount"):
            store.remove(top)
    finally:
        cleanup()
    assert merged not in open("/proc/self/mountinfo").read()
    store.remove(top)


KILLED_REGISTRATION = textwrap.dedent("""
    import sys, time
    from hakobune.image.layers import LayerStore
    class Slow:
        def __init__(self):
            self.data = open(sys.argv[2], "rb").read()
            self.sent = 0
        def read(self, size=-1):
            if self.sent >= len(self.data) // 2:
                print("unpacking", flush=True)
                time.sleep(120)
            chunk = self.data[self.sent:self.sent + 512]
            self.sent += len(chunk)
            return chunk
    LayerStore(sys.argv[1]).register(Slow())
""")


def test_kill_9_during_a_registration_leaves_only_a_temporary(store, root, tmp_path):
    tarball = tmp_path / "layer.tar"
    tarball.write_bytes(tar(*[file(f"f{i}", os.urandom(1000)) for i in range(20)]))
    child = subprocess.Popen([sys.executable, "-c", KILLED_REGISTRATION, root, str(tarball)], stdout=subprocess.PIPE)
    try:
        assert child.stdout.readline() == b"unpacking\n"
        assert len(temporaries(store)) == 1
        assert store.gc_temporaries() == 0, "removed the directory of a live registration"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    assert store.chain_ids() == []
    assert store.gc_temporaries() == 1
    assert temporaries(store) == []


def _register_in_process(root: str, data: bytes, queue) -> None:
    queue.put(LayerStore(root).register(data))


def test_concurrent_registrations_of_one_layer(root):
    data = tar(*[file(f"d{i // 50}/f{i}", os.urandom(2000)) for i in range(300)])
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    workers = [context.Process(target=_register_in_process, args=(root, data, queue)) for _ in range(4)]
    for worker in workers:
        worker.start()
    chain_ids = [queue.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    store = LayerStore(root)
    assert set(chain_ids) == {sha256(data)} and store.chain_ids() == [sha256(data)]
    assert len(os.listdir(store.diff_dir(sha256(data)))) == 6
    assert temporaries(store) == []
