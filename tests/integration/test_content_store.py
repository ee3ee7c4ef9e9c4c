"""The blob store: verified, durable, safe for concurrent processes and kill -9."""

import hashlib
import io
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from hakobune.errors import InvalidArgument, NotFound, SystemFailure
from hakobune.image.content import Blob, ContentStore


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def store(tmp_path):
    return ContentStore(str(tmp_path / "root"))


def ingest_files(store) -> list[str]:
    return os.listdir(os.path.join(store.directory, "ingest"))


def test_put_bytes_stream_and_chunks(store):
    data = os.urandom(3 * 1024 * 1024 + 7)
    assert store.put(data) == Blob(sha256(data), len(data))
    assert store.put(io.BytesIO(b"stream")) == Blob(sha256(b"stream"), 6)
    assert store.put(iter([b"ch", b"unks"])) == Blob(sha256(b"chunks"), 6)
    assert store.read(sha256(data)) == data
    expected_path = os.path.join(store.directory, "sha256", hashlib.sha256(b"stream").hexdigest())
    assert store.path(sha256(b"stream")) == expected_path
    assert store.exists(sha256(b"chunks")) and store.size(sha256(b"chunks")) == 6
    assert sorted(store.walk()) == sorted([Blob(sha256(data), len(data)), Blob(sha256(b"stream"), 6),
                                           Blob(sha256(b"chunks"), 6)])
    assert ingest_files(store) == []


def test_blobs_are_read_only(store):
    blob = store.put(b"content")
    assert os.stat(store.path(blob.digest)).st_mode & 0o777 == 0o444


def test_empty_blob(store):
    assert store.put(b"") == Blob(sha256(b""), 0)
    assert store.read(sha256(b"")) == b""


def test_sha512(store):
    data = b"sha512 content"
    digest = "sha512:" + hashlib.sha512(data).hexdigest()
    assert store.put(data, expected_digest=digest) == Blob(digest, len(data))
    assert store.read(digest) == data
    assert Blob(digest, len(data)) in list(store.walk())
    store.verify(digest)


def test_digest_mismatch_is_refused_and_leaves_nothing(store):
    wrong = sha256(b"other")
    with pytest.raises(InvalidArgument) as error:
        store.put(b"content", expected_digest=wrong)
    assert wrong in str(error.value) and sha256(b"content") in str(error.value)
    assert not store.exists(sha256(b"content")) and not store.exists(wrong)
    assert ingest_files(store) == []


def test_size_mismatch(store):
    with pytest.raises(InvalidArgument, match="expected 3"):
        store.put(b"four", expected_size=3)
    with pytest.raises(InvalidArgument, match="has 4 bytes, expected 5"):
        store.put(b"four", expected_size=5)
    assert list(store.walk()) == [] and ingest_files(store) == []


def test_an_endless_stream_stops_at_the_expected_size(store):
    def endless():
        while True:
            yield b"x" * 4096

    with pytest.raises(InvalidArgument, match="larger than"):
        store.put(endless(), expected_size=10_000)
    assert ingest_files(store) == []


def test_a_failing_source_leaves_nothing(store):
    def failing():
        yield b"part"
        raise ConnectionResetError("peer went away")

    with pytest.raises(ConnectionResetError):
        store.put(failing())
    assert ingest_files(store) == [] and list(store.walk()) == []


def test_a_stored_blob_is_not_read_again(store):
    blob = store.put(b"content")

    class Unreadable:
        def read(self, size=-1):
            raise AssertionError("read although the blob is stored")

    assert store.put(Unreadable(), expected_digest=blob.digest) == blob
    assert store.put(Unreadable(), expected_digest=blob.digest, expected_size=7) == blob


def test_putting_twice_is_harmless(store):
    assert store.put(b"same") == store.put(b"same")
    assert len(list(store.walk())) == 1


def test_missing_blobs(store):
    missing = sha256(b"missing")
    for operation in (store.open, store.read, store.size, store.delete, store.verify):
        with pytest.raises(NotFound, match=missing):
            operation(missing)
    assert not store.exists(missing)


def test_delete(store):
    blob = store.put(b"to delete")
    store.delete(blob.digest)
    assert not store.exists(blob.digest)
    assert list(store.walk()) == []


@pytest.mark.parametrize("digest", ["sha256:../../../etc/passwd", "sha256:" + "A" * 64, "md5:" + "a" * 32,
                                    "sha256/" + "a" * 64, "../sha256:" + "a" * 64])
def test_malformed_digests_never_reach_the_file_system(store, digest):
    for operation in (store.open, store.exists, store.size, store.delete, store.path):
        with pytest.raises(InvalidArgument):
            operation(digest)
    with pytest.raises(InvalidArgument):
        store.put(b"x", expected_digest=digest)


def test_verify_finds_corruption(store):
    blob = store.put(b"original content")
    store.verify(blob.digest)
    path = store.path(blob.digest)
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.write(b"O")
    with pytest.raises(SystemFailure, match="is corrupt"):
        store.verify(blob.digest)


def test_put_fsyncs_the_file_before_the_rename_and_the_directory_after(store, monkeypatch):
    events = []
    real_fsync, real_rename = os.fsync, os.rename

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def rename(source, target):
        events.append(("rename", target))
        real_rename(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    blob = store.put(b"durable")
    final = store.path(blob.digest)
    kinds = [(kind, path.startswith(os.path.join(store.directory, "ingest")) or path) for kind, path in events]
    assert kinds == [("fsync", True), ("rename", final), ("fsync", os.path.dirname(final))]


KILLED_INGEST = textwrap.dedent("""
    import sys, time
    from hakobune.image.content import ContentStore
    store = ContentStore(sys.argv[1])
    def chunks():
        yield b"x" * 1_000_000
        print("writing", flush=True)
        time.sleep(120)
        yield b"never"
    store.put(chunks())
""")


def test_kill_9_during_an_ingest_leaves_no_blob_and_a_temporary_for_gc(tmp_path):
    root = str(tmp_path / "root")
    child = subprocess.Popen([sys.executable, "-c", KILLED_INGEST, root], stdout=subprocess.PIPE)
    try:
        assert child.stdout.readline() == b"writing\n"
        store = ContentStore(root)
        assert len(ingest_files(store)) == 1
        assert store.gc_temporaries() == 0, "removed the temporary of a live ingest"
        assert len(ingest_files(store)) == 1
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    assert list(store.walk()) == []
    assert store.gc_temporaries() == 1
    assert ingest_files(store) == []


def _put_in_process(root: str, data: bytes, queue) -> None:
    queue.put(ContentStore(root).put(io.BytesIO(data)).digest)


def test_concurrent_processes_storing_the_same_blob(tmp_path):
    root = str(tmp_path / "root")
    data = os.urandom(8 * 1024 * 1024)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    workers = [context.Process(target=_put_in_process, args=(root, data, queue)) for _ in range(4)]
    for worker in workers:
        worker.start()
    digests = [queue.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    store = ContentStore(root)
    assert set(digests) == {sha256(data)}
    assert store.read(sha256(data)) == data
    assert ingest_files(store) == []
