"""The layer store: every layer unpacked once, into its own directory, keyed by
its chain id (the identity of the layer *and* everything below it), ready to
be an overlayfs lower directory.

    <root>/image/layers/<chain-id hex>/diff/     the layer's files, overlayfs whiteouts
                                       diff_id   sha256 of the layer's uncompressed tar
                                       parent    the chain id below (absent for a base layer)
                                       size      bytes of the layer's regular files
    <root>/image/layers/tmp/                     layers being unpacked or removed
    <root>/image/layers/locks/<hex>              one flock file per chain id

Durability: a layer is unpacked under tmp/ (same file system) with its
metadata files, then syncfs(2) flushes the whole file system once (one call
instead of an fsync per file), then the directory is renamed onto its chain
id and the layers directory is fsynced.  A chain id's directory therefore
only exists complete and on disk; a kill -9 leaves at most a directory in
tmp/, which `gc_temporaries` removes.  Removal renames the layer into tmp/
first, so a half-removed layer is never visible under its chain id.

Concurrency between processes: `register` takes the chain id's lock
(exclusive) to publish a layer, and the parent's lock (shared) so that the
parent cannot be removed meanwhile; `remove` takes the chain id's lock
exclusively and refuses while a child layer or a mount uses the layer.  With
the expected diff id, the lock is taken before unpacking, so concurrent
registrations of one layer unpack it once; without it each unpacks and the
first to publish wins.  Reference counting and garbage collection of layers
no image uses are the engine's (later).
"""

import contextlib
import io
import os

from hakobune.errors import Conflict, InvalidArgument, NotFound, SystemFailure
from hakobune.image._fsutil import fsync_dir, locked, make_dirs, syncfs, try_lock
from hakobune.oci.digest import check_digest, split_digest
from hakobune.oci.image_spec import chain_id_of

TYPE_CHECKING = False  # not `typing`: its import costs every CLI start
if TYPE_CHECKING:
    from hakobune.image.tarlayer import AppliedLayer


class LayerStore:
    def __init__(self, root: str):
        """`root` is hakobune's --root; the store lives in `root`/image/layers."""
        self.directory = os.path.join(root, "image", "layers")
        self._temporary = os.path.join(self.directory, "tmp")
        self._locks = os.path.join(self.directory, "locks")
        self._store_lock = os.path.join(self.directory, "store.lock")
        try:
            make_dirs(self._temporary)
            make_dirs(self._locks)
        except OSError as e:
            raise SystemFailure(f"cannot create the layer store in {self.directory}: {e.strerror}") from None

    # --- registering ------------------------------------------------------------

    def register(self, tarball, parent: str | None = None, expected_diff_id: str | None = None) -> str:
        """Unpack the layer tarball (a binary file object or bytes) on `parent`
        (a chain id, None for a base layer); returns the new layer's chain id.

        With `expected_diff_id` (from the image config), a layer already
        stored is not read again, and a tarball whose diff id differs is refused."""
        if isinstance(tarball, (bytes, bytearray)):
            tarball = io.BytesIO(tarball)
        if parent is not None:
            self._check_exists(parent)
        if expected_diff_id is None:
            return self._register_then_publish(tarball, parent)
        _check_sha256(expected_diff_id, "expected diff id")
        chain_id = chain_id_of(parent, expected_diff_id)
        with locked(self._lock_path(chain_id)):
            if not self.exists(chain_id):
                with self._staging() as staging:
                    applied = self._unpack_checked(tarball, staging, expected_diff_id)
                    self._publish(staging, chain_id, parent, applied)
        return chain_id

    def adopt(self, found, parent: str | None = None) -> str | None:
        """Store a surveyed directory (`adoption.survey`: an overlay upper
        directory, on this file system) as the layer of its diff id on
        `parent` by moving its files in, instead of unpacking its tar; the
        tree is the one unpacking would make (`adoption`).  Returns the chain
        id, or None when the directory cannot be adopted (on another file
        system, or a tree its own tar would not give back): `register` its
        tar then.  A layer already stored leaves the directory untouched."""
        from hakobune.image.adoption import make_diff_dir, same_file_system

        if not found.faithful or not same_file_system(found.directory, self._temporary):
            return None
        if parent is not None:
            self._check_exists(parent)
        chain_id = chain_id_of(parent, found.diff_id)
        with locked(self._lock_path(chain_id)):
            if not self.exists(chain_id):
                with self._staging() as staging:
                    try:
                        make_diff_dir(found, os.path.join(staging, "diff"))
                    except OSError as e:
                        raise SystemFailure(f"cannot store layer {chain_id}: {e.strerror or e}") from None
                    self._publish(staging, chain_id, parent, found)
        return chain_id

    @contextlib.contextmanager
    def staged(self, tarball, expected_diff_id: str):
        """Unpack a layer tarball whose diff id is known, before its parent
        is stored (a pull unpacks layers as they download, in parallel);
        yields `publish(parent)`, which stores it on `parent` once the
        caller has checked what it must (the blob's digest, the parent's
        presence).  Discarded unless published."""
        _check_sha256(expected_diff_id, "expected diff id")
        with self._staging() as staging:
            applied = self._unpack_checked(tarball, staging, expected_diff_id)

            def publish(parent: str | None) -> str:
                chain_id = chain_id_of(parent, expected_diff_id)
                with locked(self._lock_path(chain_id)):
                    if not self.exists(chain_id):
                        self._publish(staging, chain_id, parent, applied)
                return chain_id

            yield publish

    def _unpack_checked(self, tarball, staging: str, expected_diff_id: str) -> "AppliedLayer":
        applied = self._unpack(tarball, staging)
        if applied.diff_id != expected_diff_id:
            raise InvalidArgument(f"layer content does not match its diff id: expected "
                                  f"{expected_diff_id}, got {applied.diff_id}")
        return applied

    def _register_then_publish(self, tarball, parent: str | None) -> str:
        with self._staging() as staging:
            applied = self._unpack(tarball, staging)
            chain_id = chain_id_of(parent, applied.diff_id)
            with locked(self._lock_path(chain_id)):
                if not self.exists(chain_id):
                    self._publish(staging, chain_id, parent, applied)
        return chain_id

    @contextlib.contextmanager
    def _staging(self):
        """A locked directory in tmp/, removed unless it was published."""
        with locked(self._store_lock, shared=True):
            import tempfile  # only unpacking pays for it

            path = tempfile.mkdtemp(prefix="layer-", dir=self._temporary)
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try_lock(fd)
        try:
            yield path
        finally:
            import shutil

            shutil.rmtree(path, ignore_errors=True)  # nothing is left there once published
            os.close(fd)

    @staticmethod
    def _unpack(tarball, staging: str) -> "AppliedLayer":
        diff = os.path.join(staging, "diff")
        os.mkdir(diff, 0o755)
        from hakobune.image.tarlayer import apply_layer  # the unpacker: only when a layer arrives

        return apply_layer(tarball, diff, for_overlay=True)

    def _publish(self, staging: str, chain_id: str, parent: str | None, applied: "AppliedLayer") -> None:
        try:
            _write_text(staging, "diff_id", applied.diff_id)
            _write_text(staging, "size", str(applied.size))
            with contextlib.ExitStack() as stack:
                if parent is not None:
                    _write_text(staging, "parent", parent)
                    stack.enter_context(locked(self._lock_path(parent), shared=True))
                    self._check_exists(parent)
                fd = os.open(staging, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                try:
                    syncfs(fd)
                finally:
                    os.close(fd)
                os.rename(staging, self._path(chain_id))
                fsync_dir(self.directory)
        except OSError as e:
            raise SystemFailure(f"cannot store layer {chain_id}: {e.strerror or e}") from None

    # --- reading -----------------------------------------------------------------

    def exists(self, chain_id: str) -> bool:
        return os.path.isdir(self._path(chain_id))

    def chain_ids(self) -> list[str]:
        """The chain ids of all stored layers."""
        names = os.listdir(self.directory)
        return [f"sha256:{name}" for name in names if len(name) == 64 and _is_sha256(f"sha256:{name}")]

    def diff_dir(self, chain_id: str) -> str:
        self._check_exists(chain_id)
        return os.path.join(self._path(chain_id), "diff")

    def lower_dirs(self, chain_id: str) -> list[str]:
        """The diff directories of the layer and all below it, top first, as
        overlayfs's lowerdir= lists them."""
        directories = []
        current: str | None = chain_id
        while current is not None:
            directories.append(self.diff_dir(current))
            current = self.parent(current)
        return directories

    def diff_id(self, chain_id: str) -> str:
        return self._read_text(chain_id, "diff_id")

    def parent(self, chain_id: str) -> str | None:
        self._check_exists(chain_id)
        try:
            return self._read_text(chain_id, "parent")
        except FileNotFoundError:
            return None

    def size(self, chain_id: str) -> int:
        """Bytes of this layer's own regular files."""
        return int(self._read_text(chain_id, "size"))

    # --- removing ----------------------------------------------------------------

    def remove(self, chain_id: str) -> None:
        """Remove a layer no other layer is stacked on and no mount uses."""
        with locked(self._lock_path(chain_id), remove_after=True):
            self._check_exists(chain_id)
            children = [child for child in self.chain_ids() if self._parent_or_none(child) == chain_id]
            if children:
                raise Conflict(f"layer {chain_id} is the parent of layer {children[0]}: remove that first")
            if _is_mounted(self._path(chain_id)):
                raise Conflict(f"layer {chain_id} is in use by a mount")
            self._discard(self._path(chain_id))

    def _discard(self, path: str) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            try_lock(fd)  # so that gc_temporaries leaves it to us
            doomed = os.path.join(self._temporary, f"removing-{os.path.basename(path)}-{os.urandom(4).hex()}")
            os.rename(path, doomed)
            fsync_dir(self.directory)
            import shutil

            shutil.rmtree(doomed)
        except OSError as e:
            raise SystemFailure(f"cannot remove layer directory {path}: {e.strerror or e}") from None
        finally:
            os.close(fd)

    def gc_temporaries(self) -> int:
        """Remove what interrupted registrations and removals left in tmp/."""
        removed = 0
        with locked(self._store_lock):
            for name in os.listdir(self._temporary):
                removed += _remove_if_abandoned(os.path.join(self._temporary, name))
        return removed

    # --- helpers -----------------------------------------------------------------

    def _path(self, chain_id: str) -> str:
        return os.path.join(self.directory, _check_sha256(chain_id, "chain id"))

    def _lock_path(self, chain_id: str) -> str:
        return os.path.join(self._locks, _check_sha256(chain_id, "chain id"))

    def _check_exists(self, chain_id: str) -> None:
        if not self.exists(chain_id):
            raise NotFound(f"layer {chain_id} is not in the layer store")

    def _read_text(self, chain_id: str, name: str) -> str:
        try:
            with open(os.path.join(self._path(chain_id), name)) as f:
                return f.read().strip()
        except FileNotFoundError:
            self._check_exists(chain_id)
            raise

    def _parent_or_none(self, chain_id: str) -> str | None:
        try:
            return self.parent(chain_id)
        except NotFound:
            return None  # removed meanwhile


def _check_sha256(digest: str, what: str) -> str:
    """The hex of a sha256 digest: layers are identified by sha256 only."""
    algorithm, encoded = split_digest(check_digest(digest, what))
    if algorithm != "sha256":
        raise InvalidArgument(f"{what} {digest}: layers are identified by sha256 digests")
    return encoded


def _is_sha256(text: str) -> bool:
    try:
        _check_sha256(text, "chain id")
        return True
    except InvalidArgument:
        return False


def _write_text(directory: str, name: str, text: str) -> None:
    with open(os.path.join(directory, name), "w") as f:
        f.write(text + "\n")


def _remove_if_abandoned(path: str) -> bool:
    """Remove a directory of tmp/ unless a live process holds its lock."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            os.unlink(path)  # nothing but directories belongs there
        return False
    try:
        if not try_lock(fd):
            return False
        import shutil

        shutil.rmtree(path)
        return True
    finally:
        os.close(fd)


def _is_mounted(path: str) -> bool:
    """Whether a mount in this mount namespace names `path` (as its lowerdir, say)."""
    with open("/proc/self/mountinfo") as f:
        return path + "/" in f.read()
