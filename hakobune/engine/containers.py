"""Container records: what `create` decided about a container, kept durably.

    <root>/containers/<id>/config.json   the record (temp + fsync + rename)
    <root>/containers/<id>/...           hostname, hosts, resolv.conf, the
                                         overlay's upper/work/merged dirs,
                                         the OCI bundle, the json-file log
    <root>/containers/.lock              flock'd while records change

Ids are 64 hex digits; names are unique (Docker's "/name" form is kept in
the record), generated as adjective_surname when none is given.  Lookups
take a full id, a name, or a unique id prefix (an ambiguous prefix is an
error), in that order, as Docker's daemon does.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets

from hakobune import _fastjson
from hakobune.errors import Conflict, InvalidArgument, NotFound

RECORD = "config.json"
STATE_KEY = 32  # hex digits of the id naming its volatile state directory
_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
_HEX = re.compile(r"[0-9a-f]{1,64}")

_ADJECTIVES = (
    "admiring", "agitated", "amazing", "angry", "awesome", "bold", "brave", "busy", "clever", "cool",
    "dazzling", "determined", "eager", "ecstatic", "elastic", "elegant", "epic", "festive", "focused",
    "friendly", "gallant", "gifted", "happy", "hopeful", "jolly", "keen", "kind", "laughing", "loving",
    "lucid", "magical", "modest", "nice", "nostalgic", "objective", "peaceful", "pensive", "quirky",
    "relaxed", "serene", "sharp", "silly", "stoic", "sweet", "tender", "trusting", "upbeat", "vibrant",
    "wizardly", "youthful", "zealous",
)
_SURNAMES = (
    "agnesi", "babbage", "bohr", "curie", "darwin", "dijkstra", "einstein", "euler", "fermat", "feynman",
    "galileo", "gauss", "goodall", "hopper", "hypatia", "kepler", "knuth", "lamarr", "lovelace", "meitner",
    "newton", "noether", "pasteur", "pike", "ritchie", "shannon", "tesla", "thompson", "turing", "wozniak",
    "yalow",
)


def generate_name(taken) -> str:
    for attempt in range(100):
        name = f"{secrets.choice(_ADJECTIVES)}_{secrets.choice(_SURNAMES)}"
        if attempt >= 10:
            name += str(secrets.randbelow(10))
        if name not in taken:
            return name
    raise Conflict("could not generate a unique container name")


def check_name(name: str) -> str:
    bare = name[1:] if name.startswith("/") else name
    if not _NAME.fullmatch(bare):
        raise InvalidArgument(f'Invalid container name ({bare}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed')
    return bare


def write_durably(path: str, data: bytes) -> None:
    directory = os.path.dirname(path)
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        with open(fd, "wb", closefd=True) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


class ContainerStore:
    def __init__(self, root: str):
        self.root = root
        self.directory = os.path.join(root, "containers")

    # --- locking and paths ----------------------------------------------------
    @contextlib.contextmanager
    def locked(self):
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        fd = os.open(os.path.join(self.directory, ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def path(self, container_id: str, *names: str) -> str:
        return os.path.join(self.directory, container_id, *names)

    # --- records ---------------------------------------------------------------
    def ids(self) -> list[str]:
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        return [n for n in names if len(n) == 64 and _HEX.fullmatch(n)
                and os.path.exists(os.path.join(self.directory, n, RECORD))]

    def read(self, container_id: str) -> dict:
        try:
            with open(self.path(container_id, RECORD), "rb") as f:
                return _fastjson.loads(f.read())
        except FileNotFoundError:
            raise NotFound(f"No such container: {container_id}") from None

    def records(self) -> list[dict]:
        out = []
        for container_id in self.ids():
            try:
                out.append(self.read(container_id))
            except NotFound:
                continue  # removed meanwhile
        return out

    def write(self, record: dict) -> None:
        write_durably(self.path(record["Id"], RECORD), _fastjson.dumps(record).encode())

    def add(self, record: dict, name: str | None) -> dict:
        """Give `record` an id and a unique name and store it; returns it."""
        with self.locked():
            existing = self.records()
            taken = {r["Name"].lstrip("/"): r["Id"] for r in existing}
            if name:
                name = check_name(name)
                if name in taken:
                    raise Conflict(f'Conflict. The container name "/{name}" is already in use by container '
                                   f'"{taken[name]}". You have to remove (or rename) that container to be able '
                                   f'to reuse that name.')
            else:
                name = generate_name(taken)
            while True:
                container_id = secrets.token_hex(32)
                if not container_id.isdigit() and not any(
                        r["Id"][:STATE_KEY] == container_id[:STATE_KEY] for r in existing):
                    break
            record = {**record, "Id": container_id, "Name": "/" + name}
            os.makedirs(self.path(container_id), mode=0o700)
            self.write(record)
        return record

    def delete(self, container_id: str) -> None:
        """Remove the record first (the container is gone from then on), then its files."""
        import shutil

        with self.locked():
            try:
                os.unlink(self.path(container_id, RECORD))
            except FileNotFoundError:
                pass
        shutil.rmtree(self.path(container_id), ignore_errors=True)

    # --- lookups -----------------------------------------------------------------
    def lookup(self, text: str) -> dict:
        """By full id, name, or unique id prefix."""
        if not text:
            raise NotFound("No such container: ")
        ids = self.ids()
        if text in ids:
            return self.read(text)
        records = self.records()
        bare = text[1:] if text.startswith("/") else text
        for record in records:
            if record["Name"] == "/" + bare:
                return record
        if _HEX.fullmatch(text):
            matches = [r for r in records if r["Id"].startswith(text)]
            if len(matches) > 1:
                raise InvalidArgument(f"multiple IDs found with provided prefix: {text}")
            if matches:
                return matches[0]
        raise NotFound(f"No such container: {text}")


# --- the life cycle ------------------------------------------------------------------

ZERO_TIME = "0001-01-01T00:00:00Z"
LOG_SUFFIX = "-json.log"


def _rfc3339(seconds: float | None) -> str:
    if not seconds:
        return ZERO_TIME
    from hakobune.monitor.spec import rfc3339nano

    return rfc3339nano(int(seconds * 1e9))


def unix_time_of(text: str) -> float:
    """An RFC 3339 UTC time as written by rfc3339nano, in Unix seconds."""
    import calendar
    import time as _time

    if not text or text.startswith("0001-"):
        return 0.0
    base, _, fraction = text.rstrip("Z").partition(".")
    seconds = calendar.timegm(_time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return seconds + (float("0." + fraction) if fraction else 0.0)


class ContainerUsers:
    """The engine's answer to the image store (hakobune.image.model.ImageUsers):
    which containers use an image, and which layers they stand on.  Reads
    container records and monitor state only, never the image store."""

    def __init__(self, lifecycle: "Lifecycle"):
        self.lifecycle = lifecycle

    def containers_using(self, image_id: str):
        from hakobune.image.model import ContainerUse

        uses = []
        for record in self.lifecycle.store.records():
            if record.get("Image") == image_id:
                running = self.lifecycle.state(record)["Running"]
                uses.append(ContainerUse(record["Id"], running))
        return uses

    def chain_ids_in_use(self) -> set[str]:
        return {r["ImageChainId"] for r in self.lifecycle.store.records() if r.get("ImageChainId")}


class Lifecycle:
    """Create, start, stop, remove, list and inspect containers."""

    def __init__(self, root: str, runroot: str, image_store_of):
        self.root = root
        self.runroot = runroot
        self.store = ContainerStore(root)
        self._image_store_of = image_store_of  # a callable: the engine's image store, opened on use

    # --- paths ----------------------------------------------------------------------
    def state_dir(self, container_id: str) -> str:
        # The id's first half: the control socket's path must fit in sun_path
        # (108 bytes); ContainerStore.add keeps these halves unique.
        return os.path.join(self.runroot, "containers", container_id[:STATE_KEY])

    @property
    def runtime_root(self) -> str:
        return os.path.join(self.runroot, "runtime")

    def log_path(self, container_id: str) -> str:
        return self.store.path(container_id, container_id + LOG_SUFFIX)

    @contextlib.contextmanager
    def _container_lock(self, container_id: str, blocking: bool = True):
        """Held while a container's rootfs is mounted and its monitor started,
        or while it is torn down; yields False when not blocking and busy."""
        try:
            fd = os.open(self.store.path(container_id, ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except FileNotFoundError:
            raise NotFound(f"No such container: {container_id}") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)

    # --- create --------------------------------------------------------------------------
    def create(self, body: dict, name: str | None = None) -> dict:
        """POST /containers/create: `body` is Docker's create body (Config
        fields, HostConfig, NetworkingConfig); returns the new record."""
        from hakobune.engine import create as C, specgen
        from hakobune.monitor.spec import rfc3339nano
        import time

        image_ref = body.get("Image") or ""
        if not image_ref:
            raise InvalidArgument("no image specified")
        image = self._image_store_of().resolve(image_ref)
        config = C.container_config(body, image.config.config, image_ref)
        host_config = C.host_config(body)
        args = specgen.command_of(config["Entrypoint"], config["Cmd"])
        if not args:
            raise InvalidArgument("no command specified")
        if config["Hostname"]:
            check_hostname(config["Hostname"])
        record = {
            "Created": rfc3339nano(time.time_ns()),
            "Path": args[0], "Args": args[1:],
            "Image": image.id, "ImageChainId": image.top_chain_id,
            "Config": config, "HostConfig": host_config,
            "NetworkingConfig": body.get("NetworkingConfig") or {},
            "Driver": "overlay", "Platform": "linux",
        }
        image_env = list(image.config.config.env)
        record = self.store.add(record, name)
        container_id = record["Id"]
        if not config["Hostname"]:
            config["Hostname"] = container_id[:12]
        config["Env"] = specgen.container_env(image_env, config["Env"], config["Hostname"])
        from hakobune.engine import rootfs

        try:
            rootfs.prepare(self.store.path(container_id))
            record.update({"LogPath": self.log_path(container_id),
                           "HostnamePath": self.store.path(container_id, "hostname"),
                           "HostsPath": self.store.path(container_id, "hosts"),
                           "ResolvConfPath": self.store.path(container_id, "resolv.conf")})
            self.store.write(record)
        except BaseException:
            self.store.delete(container_id)
            raise
        return record

    # --- state ---------------------------------------------------------------------------
    def _monitor_state(self, container_id: str) -> dict | None:
        from hakobune.monitor import read_state

        try:
            return read_state(self.state_dir(container_id))
        except NotFound:
            return None

    def state(self, record: dict) -> dict:
        """Docker's State object, from the monitor's volatile state."""
        state = {"Status": "created", "Running": False, "Paused": False, "Restarting": False,
                 "OOMKilled": False, "Dead": False, "Pid": 0, "ExitCode": 0, "Error": "",
                 "StartedAt": ZERO_TIME, "FinishedAt": ZERO_TIME}
        monitor = self._monitor_state(record["Id"])
        if monitor is None:
            return state
        status = monitor.get("status")
        state["StartedAt"] = _rfc3339(monitor.get("started_at"))
        state["FinishedAt"] = _rfc3339(monitor.get("finished_at"))
        state["Error"] = monitor.get("error") or ""
        if status == "failed":
            state["ExitCode"] = start_failure_status(state["Error"])
            return state
        if monitor.get("monitor_lost"):
            pid = monitor.get("pid") or 0
            if pid and _alive(pid):
                state.update(Status="running", Running=True, Pid=pid,
                             Error="the container's monitor was lost: its exit code cannot be known")
            else:
                state.update(Status="exited", ExitCode=255 if monitor.get("exit_code") is None
                             else monitor["exit_code"], Error="the container's monitor was lost")
            return state
        if status in ("running", "created") and monitor.get("monitor_alive"):
            state.update(Status="running", Running=True, Pid=monitor.get("pid") or 0)
        elif status == "restarting":
            state.update(Status="restarting", Restarting=True, ExitCode=monitor.get("exit_code") or 0)
        else:
            state.update(Status="exited", ExitCode=monitor.get("exit_code") or 0)
        return state

    def reconcile(self, record: dict, state: dict | None = None) -> dict:
        """What must follow a container's exit, done by whichever command
        sees it first: unmount its rootfs; remove it if it was run with --rm.
        Returns its state (Status "removed" once gone)."""
        from hakobune.engine import rootfs

        state = state or self.state(record)
        if state["Running"] or state["Restarting"]:
            return state
        container_dir = self.store.path(record["Id"])
        try:
            with self._container_lock(record["Id"], blocking=False) as held:
                if not held:
                    return state
                state = self.state(record)  # again, now that nobody starts it
                if state["Running"] or state["Restarting"]:
                    return state
                rootfs.unmount(container_dir)
                if record["HostConfig"].get("AutoRemove") and state["Status"] == "exited":
                    self._teardown(record["Id"])
                    self.store.delete(record["Id"])
                    return {**state, "Status": "removed"}
        except NotFound:
            return {**state, "Status": "removed"}
        return state

    # --- start, stop, remove ------------------------------------------------------------
    def start(self, text: str) -> tuple[dict, bool]:
        """Start the container `text` names; returns (its record, whether it
        was started now: False when it was running already)."""
        from hakobune.engine import rootfs, specgen
        from hakobune.monitor import MonitorSpec, start_monitor

        record = self.store.lookup(text)
        container_id = record["Id"]
        container_dir = self.store.path(container_id)
        with self._container_lock(container_id):
            state = self.state(record)
            if state["Running"] or state["Restarting"]:
                return record, False
            if not os.path.exists(self.store.path(container_id, RECORD)):
                raise NotFound(f"No such container: {text}")
            layers = self._image_store_of().layers
            lower = layers.lower_dirs(record["ImageChainId"]) if record.get("ImageChainId") else []
            merged = rootfs.mount(container_dir, lower)
            try:
                spec = specgen.generate(record, merged, container_dir)
                bundle = specgen.write_bundle(self.store.path(container_id, "bundle"), spec)
                config = record["Config"]
                start_monitor(MonitorSpec(container_id, bundle, self.state_dir(container_id),
                                          self.log_path(container_id), runtime_root=self.runtime_root,
                                          tty=bool(config.get("Tty")), stdin_open=bool(config.get("OpenStdin"))))
            except BaseException:
                rootfs.unmount(container_dir)
                self._remove_cgroups(container_id)
                raise
        return record, True

    def handle(self, container_id: str):
        from hakobune.monitor import MonitorHandle

        return MonitorHandle.open(self.state_dir(container_id))

    def stop(self, text: str, timeout: float | None = None, signal: str = "TERM") -> dict:
        record = self.store.lookup(text)
        state = self.state(record)
        if state["Running"] or state["Restarting"]:
            monitor = self._monitor_state(record["Id"])
            if monitor and monitor.get("monitor_alive"):
                from hakobune.errors import SystemFailure

                try:
                    handle = self.handle(record["Id"])
                    handle.stop(timeout=10 if timeout is None else timeout, signal=signal)
                    handle.wait(timeout=30)  # the monitor records the exit after answering
                except SystemFailure:
                    if self._monitor_state(record["Id"]).get("monitor_alive"):
                        raise
            else:
                self._runtime("delete", "--force", record["Id"])
        self.reconcile(record)
        return record

    def remove(self, text: str, force: bool = False) -> dict:
        record = self.store.lookup(text)
        state = self.state(record)
        if state["Running"] or state["Restarting"]:
            if not force:
                raise Conflict(f"You cannot remove a running container {record['Id']}. Stop the container "
                               f"before attempting removal or force remove")
            self.stop(record["Id"], timeout=0, signal="KILL")
        from hakobune.engine import rootfs

        with self._container_lock(record["Id"]):
            state = self.state(record)
            if state["Running"] and not force:
                raise Conflict(f"You cannot remove a running container {record['Id']}. Stop the container "
                               f"before attempting removal or force remove")
            self._teardown(record["Id"])
            rootfs.unmount(self.store.path(record["Id"]))
            self.store.delete(record["Id"])
        return record

    def _teardown(self, container_id: str) -> None:
        """Forget the runtime's and the monitor's state of a stopped container."""
        import shutil

        from hakobune.engine import rootfs

        monitor = self._monitor_state(container_id)
        if monitor and monitor.get("monitor_alive"):
            os.kill(monitor["monitor_pid"], 9)
        self._runtime("delete", "--force", container_id)
        rootfs.unmount(self.store.path(container_id))
        self._remove_cgroups(container_id)
        shutil.rmtree(self.state_dir(container_id), ignore_errors=True)

    def _runtime(self, *args) -> int:
        import subprocess

        from hakobune.monitor.spec import default_runtime

        if not os.path.isdir(self.runtime_root):
            return 0
        return subprocess.run([default_runtime(), "--root", self.runtime_root, *args],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode

    @staticmethod
    def _remove_cgroups(container_id: str) -> None:
        import glob

        for path in glob.glob(f"/sys/fs/cgroup/*/hakobune/{container_id}") + \
                glob.glob(f"/sys/fs/cgroup/hakobune/{container_id}"):
            try:
                os.rmdir(path)
            except OSError:
                pass

    # --- listing and inspecting -----------------------------------------------------
    def list(self, all: bool = False) -> list[tuple[dict, dict]]:  # noqa: A002
        """(record, state) pairs, newest first; exited --rm containers are removed on the way."""
        out = []
        for record in self.store.records():
            state = self.reconcile(record)
            if state["Status"] == "removed":
                continue
            if all or state["Running"] or state["Restarting"]:
                out.append((record, state))
        out.sort(key=lambda pair: pair[0]["Created"], reverse=True)
        return out

    def inspect(self, text: str) -> dict:
        record = self.store.lookup(text)
        state = self.reconcile(record)
        if state["Status"] == "removed":
            raise NotFound(f"No such container: {text}")
        config = dict(record["Config"])
        result = {
            "Id": record["Id"], "Created": record["Created"], "Path": record["Path"], "Args": record["Args"],
            "State": state, "Image": record["Image"], "ResolvConfPath": record.get("ResolvConfPath", ""),
            "HostnamePath": record.get("HostnamePath", ""), "HostsPath": record.get("HostsPath", ""),
            "LogPath": record.get("LogPath", ""), "Name": record["Name"], "RestartCount": 0,
            "Driver": record.get("Driver", "overlay"), "Platform": "linux", "MountLabel": "", "ProcessLabel": "",
            "AppArmorProfile": "", "ExecIDs": None, "HostConfig": record["HostConfig"],
            "GraphDriver": {"Data": {"UpperDir": self.store.path(record["Id"], "upper"),
                                     "WorkDir": self.store.path(record["Id"], "work"),
                                     "MergedDir": self.store.path(record["Id"], "merged")},
                            "Name": "overlay"},
            "Mounts": [], "Config": config,
            "NetworkSettings": {"Networks": {"none": {}}, "Ports": {}},
        }
        monitor = self._monitor_state(record["Id"])
        if monitor:
            result["RestartCount"] = monitor.get("restart_count", 0)
        return result

    def logs(self, text: str):
        """The json-file log's entries: dicts with "log", "stream", "time"."""
        record = self.store.lookup(text)
        return read_log(self.log_path(record["Id"]))


def read_log(path: str, offset: int = 0):
    """Entries of a json-file log from `offset`; yields (entry, offset after it)."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return
    with f:
        f.seek(offset)
        while True:
            line = f.readline()
            if not line.endswith(b"\n"):
                return
            offset += len(line)
            try:
                yield _fastjson.loads(line), offset
            except ValueError:
                continue


def start_failure_status(message: str) -> int:
    """docker run's status for a container that could not start: 127 when the
    program is not found, 126 when it cannot be invoked, 125 otherwise."""
    low = message.lower()
    if "executable file not found" in low or "no such file or directory" in low:
        return 127
    if "permission denied" in low or "exec format error" in low or "is a directory" in low:
        return 126
    return 125


def check_hostname(hostname: str) -> None:
    if len(hostname) > 253 or not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?", hostname):
        raise InvalidArgument(f"invalid hostname format: {hostname}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
