"""The engine's part for diff, commit, cp (archive) and export: a container's filesystem.

- `container_changes`: GET /containers/{id}/changes, read from the
  container's upper directory (no mount needed);
- `commit_container`: POST /commit, the container's image plus one layer
  packed from the upper directory (`difftar`, without what the engine put
  there: `container_fs.hidden_entries`), the container's Config with
  `--change`s applied, optionally frozen meanwhile;
- `archive_stat` / `archive_get` / `archive_put`: HEAD / GET / PUT
  /containers/{id}/archive, with paths resolved inside the container's root;
- `export_container`: GET /containers/{id}/export.

A stopped container's root is mounted for the time of the operation (under
the container's lock, so that nobody starts or removes it meanwhile) and
unmounted after; a running container's mount is used as it is.
"""

from __future__ import annotations

import contextlib
import os


class FilesystemOperations:
    """Mixed into hakobune.engine.Engine: uses self.lifecycle, self.image_store, self.root, self.runroot."""

    # --- diff ---------------------------------------------------------------------

    def container_changes(self, name: str) -> list[dict]:
        """GET /containers/{id}/changes: [{"Path": "/etc", "Kind": 0}, ...] (0 changed, 1 added, 2 deleted)."""
        from hakobune.engine import container_fs, rootfs

        record = self.lifecycle.store.lookup(name)
        upper = os.path.join(self.lifecycle.store.path(record["Id"]), rootfs.UPPER)
        found = container_fs.changes(upper, self._lower_dirs(record))
        return [{"Path": path, "Kind": kind} for path, kind in found]

    def _lower_dirs(self, record: dict) -> list[str]:
        chain_id = record.get("ImageChainId")
        return self.image_store.layers.lower_dirs(chain_id) if chain_id else []

    # --- commit -------------------------------------------------------------------

    def commit_container(self, name: str, reference: str | None = None, *, author: str = "",
                         comment: str = "", changes=(), pause: bool = True) -> str:
        """POST /commit: a new image of the container's changes; its id."""
        from hakobune.engine import container_fs, rootfs
        from hakobune.image.archive import add_child_image
        from hakobune.image.changes import apply_changes
        from hakobune.image.difftar import pack_layer

        record = self.lifecycle.store.lookup(name)
        run_config = apply_changes(record["Config"], list(changes))
        if reference:
            self.image_store.tag_reference(reference)  # refuse a bad name before any work
        upper = os.path.join(self.lifecycle.store.path(record["Id"]), rootfs.UPPER)
        lower_dirs = self._lower_dirs(record)
        with self._frozen(record, pause):
            hidden = container_fs.hidden_entries(upper, lower_dirs)
            empty = not (set(os.listdir(upper)) - hidden)
            base = self.image_store.get(record["Image"])

            def make_config(diff_id):
                return _commit_config(base.config.raw, record, run_config, diff_id, author, comment)

            return add_child_image(self.image_store, base.id, lambda out: pack_layer(upper, out, hidden),
                                   make_config, reference or None, empty=empty)

    @contextlib.contextmanager
    def _frozen(self, record: dict, pause: bool):
        """The container frozen (its freezer cgroup) while inside, if running and `pause`."""
        if not pause or not self.lifecycle.state(record)["Running"]:
            yield
            return
        self._runtime_call("pause", record["Id"])
        try:
            yield
        finally:
            self._runtime_call("resume", record["Id"])

    def _runtime_call(self, command: str, container_id: str) -> None:
        import subprocess

        from hakobune.errors import SystemFailure
        from hakobune.monitor.spec import default_runtime

        done = subprocess.run([default_runtime(), "--root", self.lifecycle.runtime_root, command, container_id],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise SystemFailure(f"cannot {command} container {container_id}: {done.stderr.strip()}")

    # --- the merged root ---------------------------------------------------------------

    @contextlib.contextmanager
    def _container_root(self, record: dict, engine_files: bool = False):
        """The container's merged root (`container_fs.InRoot`), mounted while inside;
        with `engine_files`, its hostname, hosts and resolv.conf in their places."""
        from hakobune.engine import container_fs, rootfs

        container_id = record["Id"]
        container_dir = self.lifecycle.store.path(container_id)
        with self.lifecycle._container_lock(container_id):
            mounted_here = not rootfs.is_mounted(container_dir)
            merged = rootfs.mount(container_dir, self._lower_dirs(record)) if mounted_here \
                else rootfs.merged_dir(container_dir)
            try:
                with container_fs.InRoot(merged) as root, contextlib.ExitStack() as stack:
                    if engine_files:
                        stack.enter_context(container_fs.engine_files_shown(root, container_dir))
                    yield root
            finally:
                if mounted_here:
                    rootfs.unmount(container_dir)

    @contextlib.contextmanager
    def _located(self, root, name: str, path: str):
        """(descriptor of the directory, last component, absolute path, its lstat)
        of the container path `path`; Docker's ResolvePath and StatPath."""
        import errno

        from hakobune.engine import container_fs
        from hakobune.errors import InvalidArgument

        absolute = container_fs.absolute(path)
        try:
            directory_fd, base = root.split(absolute)
        except OSError as e:
            if e.errno == errno.ENOTDIR:
                raise InvalidArgument(f"lstat {absolute}: not a directory") from None
            raise container_fs.not_found(path, name) from None
        try:
            try:
                info = os.stat(base, dir_fd=directory_fd, follow_symlinks=False)
            except FileNotFoundError:
                raise container_fs.not_found(path, name) from None
            yield directory_fd, base, absolute, info
        finally:
            os.close(directory_fd)

    @staticmethod
    def _path_stat(root, absolute: str, info) -> dict:
        import posixpath
        import stat

        from hakobune.engine import container_fs

        link_target = root.link_target(absolute) if stat.S_ISLNK(info.st_mode) else ""
        trimmed = absolute.rstrip("/") or "/"
        return container_fs.stat_of(posixpath.basename(trimmed) or "/", info, link_target)

    # --- cp -------------------------------------------------------------------------------

    def archive_stat(self, name: str, path: str) -> dict:
        """HEAD /containers/{id}/archive: the X-Docker-Container-Path-Stat document."""
        record = self.lifecycle.store.lookup(name)
        with self._container_root(record, engine_files=True) as root, self._located(root, name, path) as located:
            _, _, absolute, info = located
            return self._path_stat(root, absolute, info)

    @contextlib.contextmanager
    def archive_get(self, name: str, path: str):
        """GET /containers/{id}/archive: yields (stat, write) where `write(output)`
        writes the tar of `path` (its top entry named after `path`'s last
        component) to the binary file object `output`."""
        from hakobune.engine import container_fs

        record = self.lifecycle.store.lookup(name)
        with self._container_root(record, engine_files=True) as root, self._located(root, name, path) as located:
            directory_fd, base, absolute, info = located
            stat_doc = self._path_stat(root, absolute, info)

            def write(output) -> None:
                writer = container_fs.TreeWriter(output)
                writer.add(directory_fd, base, stat_doc["name"] if stat_doc["name"] != "/" else ".")
                writer.close()

            yield stat_doc, write

    def archive_put(self, name: str, path: str, stream, *, no_overwrite_dir_non_dir: bool = False,
                    copy_uid_gid: bool = False) -> None:
        """PUT /containers/{id}/archive: extract the tar read from `stream` into the
        directory `path` of the container (a symlink followed inside the root)."""
        import errno
        import tempfile

        from hakobune.engine import container_fs
        from hakobune.errors import InvalidArgument
        from hakobune.image.tarlayer import apply_layer

        record = self.lifecycle.store.lookup(name)
        if record["HostConfig"].get("ReadonlyRootfs"):
            raise InvalidArgument("container rootfs is marked read-only")
        with self._container_root(record, engine_files=True) as root:
            try:
                destination = root.open_directory(container_fs.absolute(path))
            except OSError as e:
                if e.errno == errno.ENOTDIR:
                    raise InvalidArgument("extraction point is not a directory") from None
                raise container_fs.not_found(path, name) from None
            try:
                owner = self._copy_owner(root, record) if copy_uid_gid else None
                with tempfile.TemporaryFile(dir=self.lifecycle.store.path(record["Id"])) as spool:
                    container_fs.filter_archive(stream, spool, destination, no_overwrite_dir_non_dir, owner)
                    spool.seek(0)
                    apply_layer(spool, f"/proc/self/fd/{destination}", for_overlay=False)
            finally:
                os.close(destination)

    @staticmethod
    def _copy_owner(root, record: dict) -> tuple[int, int] | None:
        """`cp -a`: the container's user (looked up in the container's own
        /etc/passwd), or None for the tar's own owners when it has none."""
        from hakobune.engine.specgen import resolve_user

        user = record["Config"].get("User") or ""
        if not user:
            return None
        resolved = resolve_user(root.merged, user)["user"]
        return resolved["uid"], resolved["gid"]

    # --- export -----------------------------------------------------------------------

    def export_container(self, name: str, output) -> None:
        """GET /containers/{id}/export: the tar of the container's merged root to `output`."""
        from hakobune.engine import container_fs

        record = self.lifecycle.store.lookup(name)
        with self._container_root(record) as root:
            writer = container_fs.TreeWriter(output)
            writer.add_children(root.fd, "")
            writer.close()


def _commit_config(base: dict, record: dict, run_config: dict, diff_id: str | None, author: str,
                   comment: str) -> bytes:
    """The committed image's config, its keys in Docker's order (image.NewChildImage)."""
    import json

    from hakobune.image import _timefmt
    from hakobune.image.views import container_config

    created = _timefmt.now()
    doc = {"created": created, "container": record["Id"], "container_config": container_config(record["Config"])}
    if author:
        doc["author"] = author
    doc["config"] = container_config(run_config)
    for key in ("architecture", "variant", "os", "os.version", "os.features"):
        if base.get(key):
            doc[key] = base[key]
    diff_ids = list((base.get("rootfs") or {}).get("diff_ids") or [])
    if diff_id is not None:
        diff_ids.append(diff_id)
    doc["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
    entry = {"created": created}
    if author:
        entry["author"] = author
    created_by = " ".join(record["Config"].get("Cmd") or [])
    if created_by:
        entry["created_by"] = created_by
    if comment:
        entry["comment"] = comment
    if diff_id is None:
        entry["empty_layer"] = True
    doc["history"] = list(base.get("history") or []) + [entry]
    return json.dumps(doc, separators=(",", ":")).encode()
