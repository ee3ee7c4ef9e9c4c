"""The content-addressed blob store: manifests, indexes, configs and layer
tarballs as they came from a registry or an archive, each under its digest
at ``<root>/image/blobs/<algorithm>/<hex>`` (sha256, or sha512 when a
descriptor says so).

Durability and crashes: `put` writes to a temporary file in
``blobs/ingest/`` (same file system), hashing as it writes; it fsyncs the
file, checks the digest (and size) it was told to expect, renames the file
onto its digest and fsyncs the algorithm's directory.  A blob name therefore
only ever appears for complete, verified, on-disk content: a kill -9 at any
moment leaves at most a temporary file, which `gc_temporaries` removes.
Blobs are read-only (0444) once stored.

Concurrency between hakobune processes sharing the store:
- each ingest holds an exclusive flock on its own temporary file for its
  whole life, so `gc_temporaries` (which takes the store lock exclusively and
  removes only temporaries it can lock) never removes a live ingest; an
  ingest creates and locks its temporary under the store lock held shared,
  so there is no window in which a new temporary is unlocked;
- two processes storing the same content both write a temporary and both
  rename it onto the same name: rename is atomic and the contents are
  identical, so readers see one complete blob either way;
- `delete` is a single unlink.  Keeping a blob alive between "it exists" and
  "it is referenced" is the job of the garbage collector (later), which will
  take the store lock exclusively.
"""

import os
from collections import namedtuple
from collections.abc import Iterator

from hakobune.errors import InvalidArgument, NotFound, SystemFailure
from hakobune.image._fsutil import fsync_dir, locked, make_dirs, try_lock, write_all
from hakobune.oci.digest import (ALGORITHMS, CANONICAL, check_digest, digest_of, is_digest, new_hasher,
                                 split_digest)

CHUNK = 1 << 20


Blob = namedtuple("Blob", "digest size")  # not typing.NamedTuple: typing costs every CLI start


class ContentStore:
    def __init__(self, root: str):
        """`root` is hakobune's --root; the store lives in `root`/image/blobs."""
        self.directory = os.path.join(root, "image", "blobs")
        self._ingest_dir = os.path.join(self.directory, "ingest")
        self._lock_path = os.path.join(self.directory, "store.lock")
        try:
            make_dirs(self._ingest_dir)
            for algorithm in ALGORITHMS:
                make_dirs(os.path.join(self.directory, algorithm))
        except OSError as e:
            raise SystemFailure(f"cannot create the content store in {self.directory}: {e.strerror}") from None

    def path(self, digest: str) -> str:
        algorithm, encoded = split_digest(digest)
        return os.path.join(self.directory, algorithm, encoded)

    def put(self, source, expected_digest: str | None = None, expected_size: int | None = None) -> Blob:
        """Store bytes, a binary file object or an iterable of byte chunks.

        With `expected_digest`, content that hashes otherwise is refused
        (InvalidArgument naming both digests), and a blob already stored is
        not read again.  Without it the blob is hashed with sha256."""
        if expected_digest is not None:
            check_digest(expected_digest, "expected digest")
            stored = self._stat(expected_digest)
            if stored is not None and expected_size in (None, stored.st_size):
                return Blob(expected_digest, stored.st_size)
        with self.writer(expected_digest, expected_size) as writer:
            for chunk in _chunks(source):
                writer.write(chunk)
            return writer.commit()

    def writer(self, expected_digest: str | None = None, expected_size: int | None = None) -> "BlobWriter":
        """A blob written chunk by chunk (`write`), stored by `commit`, which
        checks the expected digest and size; a writer left without commit
        (an error, a kill) leaves only a temporary that is removed.  Use it
        as a context manager."""
        if expected_digest is not None:
            check_digest(expected_digest, "expected digest")
        return BlobWriter(self, expected_digest, expected_size)

    def _commit(self, fd: int, temp: str, digest: str) -> None:
        final = self.path(digest)
        try:
            os.fchmod(fd, 0o444)
            os.fsync(fd)
            os.rename(temp, final)
            fsync_dir(os.path.dirname(final))
        except OSError as e:
            raise SystemFailure(f"cannot store blob {digest} in {self.directory}: {e.strerror}") from None

    def open(self, digest: str):
        """The blob as a binary file object (the caller closes it)."""
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise self._not_found(digest) from None

    def read(self, digest: str) -> bytes:
        """A small blob's bytes: a manifest, an index, a config."""
        with self.open(digest) as f:
            return f.read()

    def exists(self, digest: str) -> bool:
        return self._stat(digest) is not None

    def size(self, digest: str) -> int:
        stat = self._stat(digest)
        if stat is None:
            raise self._not_found(digest)
        return stat.st_size

    def delete(self, digest: str) -> None:
        path = self.path(digest)
        try:
            os.unlink(path)
        except FileNotFoundError:
            raise self._not_found(digest) from None
        fsync_dir(os.path.dirname(path))

    def walk(self) -> Iterator[Blob]:
        """Every stored blob, in no particular order."""
        for algorithm in ALGORITHMS:
            with os.scandir(os.path.join(self.directory, algorithm)) as entries:
                for entry in entries:
                    digest = f"{algorithm}:{entry.name}"
                    if entry.is_file(follow_symlinks=False) and is_digest(digest):
                        yield Blob(digest, entry.stat(follow_symlinks=False).st_size)

    def verify(self, digest: str) -> None:
        """Hash the stored blob again; SystemFailure if it no longer matches its name."""
        algorithm = split_digest(digest)[0]
        hasher = new_hasher(algorithm)
        with self.open(digest) as f:
            while chunk := f.read(CHUNK):
                hasher.update(chunk)
        actual = digest_of(hasher)
        if actual != digest:
            raise SystemFailure(f"blob {digest} is corrupt: its content hashes to {actual}",
                                hint="delete it and pull the image again")

    def gc_temporaries(self) -> int:
        """Remove the temporary files of ingests whose process died; returns how many."""
        removed = 0
        with locked(self._lock_path):
            for name in os.listdir(self._ingest_dir):
                path = os.path.join(self._ingest_dir, name)
                if _remove_if_abandoned(path):
                    removed += 1
        return removed

    def _stat(self, digest: str):
        try:
            return os.stat(self.path(digest))
        except FileNotFoundError:
            return None

    @staticmethod
    def _not_found(digest: str) -> NotFound:
        return NotFound(f"blob {digest} is not in the content store")


class BlobWriter:
    """See ContentStore.writer.  Its temporary file in ingest/ (same file
    system) is flock'd for the writer's whole life, and created under the
    store lock held shared, so `gc_temporaries` never removes a live one."""

    def __init__(self, store: ContentStore, expected_digest: str | None, expected_size: int | None):
        self.store = store
        self.expected_digest = expected_digest
        self.expected_size = expected_size
        self.hasher = new_hasher(split_digest(expected_digest)[0] if expected_digest else CANONICAL)
        self.size = 0
        self.blob = None

    def __enter__(self) -> "BlobWriter":
        directory = self.store._ingest_dir
        try:
            with locked(self.store._lock_path, shared=True):
                import tempfile  # only writers pay for it

                self.fd, self.temp = tempfile.mkstemp(prefix="blob-", dir=directory)
                try_lock(self.fd)
        except OSError as e:
            raise SystemFailure(f"cannot start storing a blob in {directory}: {e.strerror}") from None
        return self

    def __exit__(self, kind, value, traceback):
        if self.blob is None:  # not committed: an error, or abandoned
            try:
                os.unlink(self.temp)
            except FileNotFoundError:
                pass
        os.close(self.fd)
        return False

    def write(self, chunk) -> None:
        self.size += len(chunk)
        if self.expected_size is not None and self.size > self.expected_size:
            raise InvalidArgument(f"blob is larger than the expected {self.expected_size} bytes")
        self.hasher.update(chunk)
        try:
            write_all(self.fd, chunk)
        except OSError as e:
            raise SystemFailure(f"cannot write a blob: {e.strerror}") from None

    def commit(self) -> Blob:
        digest = digest_of(self.hasher)
        _check_expected(digest, self.size, self.expected_digest, self.expected_size)
        self.store._commit(self.fd, self.temp, digest)
        self.blob = Blob(digest, self.size)
        return self.blob


def _chunks(source) -> Iterator:
    if isinstance(source, (bytes, bytearray, memoryview)):
        view = memoryview(source)
        for start in range(0, len(view), CHUNK):
            yield view[start:start + CHUNK]
    elif hasattr(source, "read"):
        while chunk := source.read(CHUNK):
            yield chunk
    else:
        yield from source


def _check_expected(digest: str, size: int, expected_digest: str | None, expected_size: int | None) -> None:
    if expected_size is not None and size != expected_size:
        raise InvalidArgument(f"blob has {size} bytes, expected {expected_size} (digest {digest})")
    if expected_digest is not None and digest != expected_digest:
        raise InvalidArgument(f"blob content does not match its digest: expected {expected_digest}, got {digest}")


def _remove_if_abandoned(path: str) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        if not try_lock(fd):
            return False
        os.unlink(path)
        return True
    finally:
        os.close(fd)
