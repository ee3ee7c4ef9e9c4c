"""The local driver's volumes: ``<root>/volumes/<name>/_data`` and a record beside it.

    store = VolumeStore(root, runroot, users=engine_supplied_users)
    store.create("data", labels={"a": "1"})         # POST /volumes/create
    store.create(anonymous=True)                      # a container's `-v /path`
    store.list({"dangling": ["true"]})                # GET /volumes
    store.get("data"); store.remove("data")           # GET, DELETE /volumes/{name}
    store.prune(all=False)                            # POST /volumes/prune

Each volume's directory holds ``volume.json`` (Name, Driver, Labels, Options,
Scope, CreatedAt) and ``_data``.  A volume is created whole in a hidden
temporary directory (record fsynced) and renamed into place, so a crash
leaves either no volume or a complete one; mutations hold an exclusive flock
on ``<root>/volumes/.lock`` against concurrent CLI processes, readers take
none (every file they read is replaced atomically).

Names are validated as Docker's local driver does (``[a-zA-Z0-9][a-zA-Z0-9_.-]+``)
before any path is built from them, so no name reaches outside ``volumes/``.
The store knows nothing of containers: `VolumeUsers` (given by the engine)
says which containers use which volume; errors are Docker's ("get X: no such
volume", "remove X: volume is in use - [ids]").
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time

from hakobune.errors import Conflict, InvalidArgument, NotFound, SystemFailure
from hakobune.volume import local
from hakobune.volume._files import fsync_directory, is_mount_point, locked, tree_size, write_durably

DRIVER = "local"
ANONYMOUS_LABEL = "com.docker.volume.anonymous"
RESTRICTED_NAME_CHARS = "[a-zA-Z0-9][a-zA-Z0-9_.-]"
_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+\Z")
LIST_FILTERS = ("dangling", "driver", "label", "name")
PRUNE_FILTERS = ("all", "label", "label!")
RECORD = "volume.json"
DATA = "_data"


class VolumeUsers:
    """What the engine tells the volume store about containers; nobody by default.
    Called with the store's lock held: it must not call back into the store."""

    def references(self) -> dict[str, list[str]]:
        """Volume name -> ids of the containers that use it (running or not)."""
        return {}

    def containers_using(self, name: str) -> list[str]:
        return self.references().get(name, [])


def is_valid_name(name: str) -> bool:
    return bool(_NAME.match(name))


def validate_name(name: str) -> None:
    """The local driver's rule, with its messages (the caller adds "create NAME: ")."""
    if len(name) == 1:
        raise InvalidArgument("volume name is too short, names should be at least two alphanumeric characters")
    if not is_valid_name(name):
        raise InvalidArgument(f"{json.dumps(name, ensure_ascii=False)} includes invalid characters for a local volume name, only "
                              f'"{RESTRICTED_NAME_CHARS}" are allowed. If you intended to pass a host directory, '
                              "use absolute path")


def created_at(unix: float) -> str:
    """Go's time.Format(time.RFC3339) in the local zone: "2026-11-28T20:23:40Z"."""
    t = time.localtime(int(unix))
    offset = t.tm_gmtoff or 0
    if offset == 0:
        zone = "Z"
    else:
        zone = f"{'+' if offset > 0 else '-'}{abs(offset) // 3600:02d}:{abs(offset) % 3600 // 60:02d}"
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + zone


def is_anonymous(volume: dict) -> bool:
    return ANONYMOUS_LABEL in (volume.get("Labels") or {})


class VolumeStore:
    def __init__(self, root: str, runroot: str | None = None, users: VolumeUsers | None = None):
        """`root` is hakobune's --root, `runroot` its --runroot (device mounts' use counts)."""
        self.directory = os.path.join(root, "volumes")
        self.active = local.ActiveMounts(runroot or os.path.join(root, "run"))
        self.users = users or VolumeUsers()
        self._lock_depth = 0

    # --- paths and records -------------------------------------------------------

    def path(self, name: str) -> str:
        """The directory of a volume; only for valid names."""
        if not is_valid_name(name):
            raise NotFound(f"get {name}: no such volume")
        return os.path.join(self.directory, name)

    def data_dir(self, name: str) -> str:
        """The volume's mount point on the host (its Mountpoint)."""
        return os.path.join(self.path(name), DATA)

    @contextlib.contextmanager
    def locked(self):
        """The store's exclusive lock, re-entrant within this store object: the
        engine holds it across `attach.prepare_mounts` and writing the
        container's record, so that no prune sees the new volumes unused."""
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        os.makedirs(self.directory, mode=0o701, exist_ok=True)
        with locked(os.path.join(self.directory, ".lock")):
            self._lock_depth = 1
            try:
                yield
            finally:
                self._lock_depth = 0

    _lock = locked

    def _read(self, name: str) -> dict | None:
        if not is_valid_name(name):
            return None
        try:
            with open(os.path.join(self.directory, name, RECORD), "rb") as f:
                record = json.loads(f.read())
        except (OSError, ValueError):
            return None
        return self._as_api(record)

    def _as_api(self, record: dict) -> dict:
        """The API's Volume (keys in Docker's order)."""
        name = record["Name"]
        return {"CreatedAt": record["CreatedAt"], "Driver": record.get("Driver", DRIVER),
                "Labels": record.get("Labels"), "Mountpoint": os.path.join(self.directory, name, DATA),
                "Name": name, "Options": record.get("Options"), "Scope": "local"}

    def names(self) -> list[str]:
        try:
            entries = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        return sorted(e for e in entries if is_valid_name(e))

    def exists(self, name: str) -> bool:
        return self._read(name) is not None

    # --- create ----------------------------------------------------------------------

    def create(self, name: str | None = None, driver: str | None = None, labels: dict | None = None,
               options: dict | None = None, anonymous: bool = False) -> dict:
        """POST /volumes/create: a new volume, or the existing one of that name."""
        driver = driver or DRIVER
        if anonymous or not name:
            import secrets

            name = secrets.token_hex(32)
            labels = {**(labels or {}), ANONYMOUS_LABEL: ""}
        try:
            validate_name(name)
            if driver != DRIVER:
                raise NotFound(f'error looking up volume plugin {driver}: plugin "{driver}" not found')
            local.validate_options(options)
        except (InvalidArgument, NotFound) as e:
            raise type(e)(f"create {name}: {e}") from None
        existing = self._read(name)
        if existing is not None:
            return existing
        with self._lock():
            existing = self._read(name)
            if existing is not None:
                return existing
            record = {"Name": name, "Driver": DRIVER, "Labels": dict(labels) if labels else None,
                      "Options": dict(options) if options else None, "Scope": "local",
                      "CreatedAt": created_at(time.time())}
            self._materialize(record)
        return self._as_api(record)

    def _materialize(self, record: dict) -> None:
        """Build the volume in a temporary directory, then rename it into place."""
        name = record["Name"]
        staging = os.path.join(self.directory, f".create-{name}-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        os.mkdir(staging, 0o755)
        try:
            os.mkdir(os.path.join(staging, DATA), 0o755)
            write_durably(os.path.join(staging, RECORD), json.dumps(record).encode())
            fsync_directory(staging)
            os.rename(staging, os.path.join(self.directory, name))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        fsync_directory(self.directory)

    # --- read ------------------------------------------------------------------------

    def get(self, name: str) -> dict:
        """GET /volumes/{name}."""
        volume = self._read(name)
        if volume is None:
            raise NotFound(f"get {name}: no such volume")
        return volume

    def list(self, filters: dict | None = None) -> list[dict]:  # noqa: A003 - the API's name
        """GET /volumes: every volume that passes `filters` (dangling, driver, label, name)."""
        filters = filters or {}
        _check_filters(filters, LIST_FILTERS)
        dangling = _bool_filter(filters, "dangling")
        references = self.users.references() if dangling is not None else {}
        volumes = []
        for name in self.names():
            volume = self._read(name)
            if volume is None:
                continue
            if dangling is not None and (not references.get(name)) != dangling:
                continue
            if not _matches(volume, filters):
                continue
            volumes.append(volume)
        return volumes

    # --- remove and prune --------------------------------------------------------------

    def remove(self, name: str, force: bool = False) -> None:
        """DELETE /volumes/{name}: refused while a container uses it; `force`
        ignores a missing volume (it never removes one in use)."""
        with self._lock():
            if self._read(name) is None:
                if force:
                    return
                raise NotFound(f"get {name}: no such volume")
            users = self.users.containers_using(name)
            if users:
                raise Conflict(f"remove {name}: volume is in use - [{', '.join(users)}]")
            self._destroy(name)

    def _destroy(self, name: str) -> None:
        """Unmount the volume's device if mounted, then take its directory away
        (renamed first, so that it disappears at once), never through a mount."""
        path = os.path.join(self.directory, name)
        data = os.path.join(path, DATA)
        local.unmount_data(data)
        if _mounts_under(path):
            raise SystemFailure(f"remove {name}: something is still mounted under {path}")
        doomed = os.path.join(self.directory, f".remove-{name}-{os.getpid()}")
        os.rename(path, doomed)
        fsync_directory(self.directory)
        self.active.forget(name)
        shutil.rmtree(doomed, ignore_errors=True)

    def prune(self, all: bool = False, filters: dict | None = None) -> dict:  # noqa: A002
        """POST /volumes/prune: unused anonymous volumes (all unused ones with
        `all` or the filter all=true), with label/label! filters; also what
        interrupted creates and removes left."""
        filters = dict(filters or {})
        _check_filters(filters, PRUNE_FILTERS)
        all_filter = _bool_filter(filters, "all")
        everything = all or bool(all_filter)
        deleted, reclaimed = [], 0
        with self._lock():
            self._remove_abandoned()
            references = self.users.references()
            for name in self.names():
                volume = self._read(name)
                if volume is None or references.get(name):
                    continue
                if not everything and not is_anonymous(volume):
                    continue
                if not _matches(volume, {k: v for k, v in filters.items() if k in ("label", "label!")}):
                    continue
                size = tree_size(os.path.join(self.directory, name, DATA))
                self._destroy(name)
                deleted.append(name)
                reclaimed += size
        return {"VolumesDeleted": deleted or None, "SpaceReclaimed": reclaimed}

    def _remove_abandoned(self) -> None:
        """Take away what a create or remove interrupted by a crash left (``.create-NAME-PID``,
        ``.remove-NAME-PID`` of processes gone), never through a mount."""
        for entry in os.listdir(self.directory):
            if not entry.startswith((".create-", ".remove-")):
                continue
            pid = entry.rpartition("-")[2]
            if pid.isdigit() and (int(pid) == os.getpid() or os.path.exists(f"/proc/{pid}")):
                continue
            path = os.path.join(self.directory, entry)
            local.unmount_data(os.path.join(path, DATA))
            if not _mounts_under(path):
                shutil.rmtree(path, ignore_errors=True)

    # --- use by containers -----------------------------------------------------------

    def mount(self, name: str, user: str) -> str:
        """A container `user` starts using the volume: mount its device if it
        has one (first user only); the host path to bind into the container."""
        volume = self.get(name)
        data = volume["Mountpoint"]
        if local.mounts_device(volume.get("Options")):
            self.active.acquire(name, data, volume["Options"], user)
        return data

    def unmount(self, name: str, user: str) -> None:
        """A container `user` stopped using the volume: unmount its device after the last user."""
        volume = self._read(name)
        if volume is not None and local.mounts_device(volume.get("Options")):
            self.active.release(name, volume["Mountpoint"], user)

    # --- sizes (system df) ---------------------------------------------------------------

    def usage(self) -> list[dict]:
        """GET /system/df's Volumes: each volume with UsageData {Size, RefCount}."""
        references = self.users.references()
        result = []
        for name in self.names():
            volume = self._read(name)
            if volume is None:
                continue
            size = tree_size(volume["Mountpoint"])
            result.append({**volume, "UsageData": {"Size": size, "RefCount": len(references.get(name, ()))}})
        return result


def volume_usage(volumes_with_usage: list[dict]) -> dict:
    """The `system df` row's numbers from `VolumeStore.usage()`: TotalCount, ActiveCount, Size, Reclaimable."""
    active = [v for v in volumes_with_usage if v["UsageData"]["RefCount"] > 0]
    size = sum(v["UsageData"]["Size"] for v in volumes_with_usage)
    return {"TotalCount": len(volumes_with_usage), "ActiveCount": len(active), "Size": size,
            "Reclaimable": size - sum(v["UsageData"]["Size"] for v in active)}


# --- filters -----------------------------------------------------------------------------

def _check_filters(filters: dict, accepted) -> None:
    for name in filters:
        if name not in accepted:
            raise InvalidArgument(f"Invalid filter '{name}'")


def _bool_filter(filters: dict, name: str) -> bool | None:
    values = filters.get(name)
    if not values:
        return None
    if any(v in ("true", "1") for v in values):
        return True
    if any(v in ("false", "0") for v in values):
        return False
    raise InvalidArgument(f"Invalid filter '{name}=[{' '.join(values)}]'")


def _label_matches(labels: dict, wanted: str) -> bool:
    key, sep, value = wanted.partition("=")
    if key not in labels:
        return False
    return not sep or labels[key] == value


def _matches(volume: dict, filters: dict) -> bool:
    labels = volume.get("Labels") or {}
    for wanted in filters.get("label") or ():
        if not _label_matches(labels, wanted):
            return False
    for unwanted in filters.get("label!") or ():
        if _label_matches(labels, unwanted):
            return False
    drivers = filters.get("driver")
    if drivers and volume["Driver"] not in drivers:
        return False
    names = filters.get("name")
    if names and not any(_name_matches(pattern, volume["Name"]) for pattern in names):
        return False
    return True


def _name_matches(pattern: str, name: str) -> bool:
    if pattern == name:
        return True
    try:
        return re.search(pattern, name) is not None
    except re.error:
        return False


def _mounts_under(path: str) -> bool:
    prefix = os.path.realpath(path) + "/"
    try:
        with open("/proc/self/mountinfo") as f:
            return any(line.split()[4].startswith(prefix) for line in f)
    except OSError:
        return is_mount_point(os.path.join(path, DATA))
