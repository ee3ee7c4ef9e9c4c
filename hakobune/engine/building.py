"""The engine's part of `build`: the Executor the builder runs its steps with.

`BuildOperations.build_image(...)` is the facade the shells call; it hands
the builder (hakobune.build.builder) an `_EngineExecutor`, which:

- mounts a step's root as a container's: an overlay of the image's layers
  under a fresh upper directory, in ``<root>/build/steps/<id>/`` (`rootfs`);
- runs a RUN step through ``hakobune-runtime run`` with a private state root
  (``<runroot>/build-runtime``) and a cgroup ``/hakobune/build-<id>``: an
  OCI spec from Docker's defaults (`specgen`), the build's env, user and
  working directory, /etc/hosts, /etc/resolv.conf and /etc/hostname
  bind-mounted (left out of the layer as `commit` leaves them out), and the
  RUN --mounts.  Network ``none`` is a private namespace with loopback only;
  ``default`` and ``host`` share the host's network namespace for now (no
  bridge is attached to build steps yet);
- hands the upper directory, unmounted, to the layer store, which adopts
  its files as the step's layer (`LayerStore.adopt`: renamed in, not packed
  and unpacked again); the layer's tar is still what `difftar` packs (as
  `commit`), for its diff id and for save and push.

Every mount, runtime state and cgroup is removed when a step ends, also
when it fails or the build is interrupted.
"""

from __future__ import annotations

import contextlib
import os


class BuildOperations:
    """Mixed into hakobune.engine.Engine: uses self.image_store, self.root, self.runroot."""

    def build_image(self, options, output) -> str:
        """Build the image `options` (a hakobune.build.builder.BuildOptions)
        describes, writing the classic builder's stream to `output`; its id."""
        from hakobune.build.builder import Builder

        return Builder(self.image_store, _EngineExecutor(self), os.path.join(self.root, "build"),
                       options, output).build()


    def prune_build_cache(self, all: bool = False) -> dict:  # noqa: A002 - Docker's parameter name
        """POST /build/prune: forget the cache entries whose image is gone (all
        of them with `all`) and remove the RUN --mount=type=cache directories;
        {"CachesDeleted": [...], "SpaceReclaimed": bytes}."""
        from hakobune.build.cache import BuildCache

        build_dir = os.path.join(self.root, "build")
        cache = BuildCache(os.path.join(build_dir, "cache"), self.image_store)
        deleted, reclaimed = cache.prune(all)
        mounts = os.path.join(build_dir, "cache-mounts")
        for name in sorted(os.listdir(mounts)) if os.path.isdir(mounts) else []:
            reclaimed += _tree_size(os.path.join(mounts, name))
            _remove_tree(os.path.join(mounts, name))
            deleted.append(name)
        return {"CachesDeleted": deleted, "SpaceReclaimed": reclaimed}


    def build_cache_usage(self) -> list[dict]:
        """GET /system/df's BuildCache: a record per cached step (its layer's
        size; Shared when an image still holds that layer, so that only what
        `builder prune` can free counts) and per RUN --mount=type=cache
        directory ("exec.cachemount")."""
        from hakobune.build.cache import BuildCache
        from hakobune.image._timefmt import format_ns

        build_dir = os.path.join(self.root, "build")
        store = self.image_store
        records = []
        for key, image_id, parent, text, mtime in BuildCache(os.path.join(build_dir, "cache"), store).entries():
            image = store.read_record(image_id)
            parent_record = store.read_record(parent) if parent != "scratch" else None
            parent_layers = len(parent_record.chain_ids) if parent_record is not None else 0
            made_a_layer = image is not None and len(image.chain_ids) > parent_layers
            size = store.layers.size(image.chain_ids[-1]) if made_a_layer else 0
            shared = image is not None
            stamp = format_ns(int(mtime * 1e9))
            records.append({"ID": key[:25], "Parent": "", "Type": "regular",
                            "Description": text.split("\n", 1)[0][:200], "InUse": False, "Shared": shared,
                            "Size": size, "CreatedAt": stamp, "LastUsedAt": stamp, "UsageCount": 1})
        mounts = os.path.join(build_dir, "cache-mounts")
        for name in sorted(os.listdir(mounts)) if os.path.isdir(mounts) else []:
            path = os.path.join(mounts, name)
            stamp = format_ns(os.stat(path).st_mtime_ns)
            records.append({"ID": name[:25], "Parent": "", "Type": "exec.cachemount",
                            "Description": "cached mount from exec", "InUse": False, "Shared": False,
                            "Size": _tree_size(path), "CreatedAt": stamp, "LastUsedAt": stamp, "UsageCount": 1})
        return records


def _tree_size(path: str) -> int:
    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(directory, name)).st_size
            except OSError:
                pass
    return total


def _remove_tree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


class _EngineExecutor:
    """hakobune.build.executor.Executor over the engine's pieces."""

    def __init__(self, engine):
        self.engine = engine
        self.steps_dir = os.path.join(engine.root, "build", "steps")
        self.runtime_root = os.path.join(engine.runroot, "build-runtime")

    # --- roots -----------------------------------------------------------------------

    @contextlib.contextmanager
    def step_root(self, image_id: str | None):
        import secrets
        import shutil

        from hakobune.build.executor import StepRoot
        from hakobune.engine import rootfs

        store = self.engine.image_store
        lower_dirs = []
        if image_id:
            chain_id = store.get(image_id).top_chain_id
            lower_dirs = store.layers.lower_dirs(chain_id) if chain_id else []
        os.makedirs(self.steps_dir, mode=0o700, exist_ok=True)
        directory = os.path.join(self.steps_dir, secrets.token_hex(16))
        os.mkdir(directory, 0o700)
        try:
            with store.lease() as lease:
                if image_id:
                    lease.hold(*store.get(image_id).record.chain_ids)
                merged = rootfs.mount(directory, lower_dirs)
                try:
                    yield StepRoot(directory, merged, os.path.join(directory, rootfs.UPPER), image_id, lower_dirs)
                finally:
                    rootfs.unmount(directory)
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def _hidden(self, root) -> frozenset:
        from hakobune.engine.container_fs import hidden_entries

        return hidden_entries(root.upper, root.lower_dirs)

    def has_changes(self, root) -> bool:
        return bool(set(os.listdir(root.upper)) - self._hidden(root))

    def write_layer(self, root, out) -> None:
        from hakobune.image.difftar import pack_layer

        pack_layer(root.upper, out, self._hidden(root))

    def layer_directory(self, root):
        """Unmount the step's overlay and give (its upper directory, what the
        engine put there): the layer store adopts those files as the layer.
        None when the overlay is busy (it is then unmounted lazily on exit,
        and the layer packed from the upper directory as before)."""
        from hakobune import _sys as S
        from hakobune.engine import rootfs

        hidden = self._hidden(root)
        try:
            S.umount(root.merged, 0)
        except OSError:
            return None
        if rootfs.is_mounted(root.directory):
            return None
        return root.upper, hidden

    def resolve_user(self, root, user: str) -> tuple[int, int]:
        from hakobune.engine.specgen import resolve_user

        resolved = resolve_user(root.merged, user)["user"]
        return resolved["uid"], resolved["gid"]

    def pull(self, reference: str, platform: str = "") -> str:
        return self.engine.pull(reference, platform or None)

    # --- RUN ---------------------------------------------------------------------------

    def run(self, root, request, output) -> int:
        import secrets

        from hakobune.engine import specgen

        step_id = secrets.token_hex(32)
        spec = self._spec(root, request, step_id)
        created = [m.target for m in request.mounts if not _exists_in(root.merged, m.target)]
        bundle = specgen.write_bundle(os.path.join(root.directory, "bundle"), spec)
        try:
            return self._run_runtime(bundle, step_id, output)
        finally:
            _remove_mount_stubs(root.upper, created)

    def _spec(self, root, request, step_id: str) -> dict:
        """A container's spec (`specgen.generate`, as `run` makes it) for the
        step, with its mounts, network and a build cgroup."""
        from hakobune.engine import specgen

        hostname = step_id[:12]
        config = {"Hostname": hostname, "Cmd": list(request.args), "User": request.user,
                  "Env": specgen.container_env(list(request.env), [], hostname), "WorkingDir": request.workdir}
        spec = specgen.generate({"Id": step_id, "Config": config, "HostConfig": {}}, root.merged, root.directory)
        spec["mounts"].extend(_oci_mount(mount) for mount in request.mounts)
        if request.network in ("default", "host", ""):
            spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"] if n["type"] != "network"]
            if os.path.exists("/etc/resolv.conf"):  # the host's resolvers, loopback ones included
                spec["mounts"] = [m for m in spec["mounts"] if m["destination"] != "/etc/resolv.conf"]
                spec["mounts"].append({"destination": "/etc/resolv.conf", "type": "bind",
                                       "source": os.path.realpath("/etc/resolv.conf"),
                                       "options": ["rbind", "rprivate", "ro"]})
        spec["linux"]["cgroupsPath"] = f"/hakobune/build-{step_id}"  # the shared parent goes with its last child
        return spec

    def _run_runtime(self, bundle: str, step_id: str, output) -> int:
        import subprocess

        from hakobune.monitor.spec import default_runtime

        runtime = default_runtime()
        os.makedirs(self.runtime_root, mode=0o700, exist_ok=True)
        process = subprocess.Popen([runtime, "--root", self.runtime_root, "run", "--bundle", bundle, step_id],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            for line in iter(process.stdout.readline, b""):
                output(line.decode(errors="replace"))
            return process.wait()
        finally:
            process.stdout.close()
            if process.poll() is None:
                subprocess.run([runtime, "--root", self.runtime_root, "delete", "--force", step_id],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _oci_mount(mount) -> dict:
    if mount.kind == "tmpfs":
        options = ["nosuid", "nodev"] + ([f"size={mount.size}"] if mount.size else [])
        return {"destination": mount.target, "type": "tmpfs", "source": "tmpfs", "options": options}
    options = ["rbind", "rprivate"] + (["ro"] if mount.readonly else [])
    return {"destination": mount.target, "type": "bind", "source": mount.source, "options": options}


def _exists_in(merged: str, path: str) -> bool:
    from hakobune.build.context import SourceTree

    return SourceTree(merged, is_context=False).host_path(path.strip("/")) is not None


def _remove_mount_stubs(upper: str, targets: list[str]) -> None:
    """Remove the empty mount points the runtime made for RUN --mounts that the
    image did not have (and their parents it made, when empty)."""
    for target in targets:
        path = os.path.join(upper, target.strip("/"))
        while path.startswith(upper + "/"):
            try:
                if os.path.islink(path) or not os.path.isdir(path) or os.listdir(path):
                    break
                os.rmdir(path)
            except OSError:
                break
            path = os.path.dirname(path)

