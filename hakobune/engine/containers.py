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

The record also keeps, durably, whether the user stopped the container
(`StoppedByUser`, set by stop, cleared by start): the monitor's own flag is
volatile, and `system restore` must know it after a reboot.  Every change
records an event in the journal (hakobune.engine.events); a container's
"die" is recorded by whichever command first sees the exit the monitor
recorded (`note_exits`), with the monitor's finish time.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time

from hakobune import _fastjson
from hakobune._files import write_durably, write_volatile
from hakobune.errors import Conflict, InvalidArgument, NotFound

RECORD = "config.json"
REMOVING = ".removing-"  # a container directory being removed
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
        name = f"{_random_choice(_ADJECTIVES)}_{_random_choice(_SURNAMES)}"
        if attempt >= 10:
            name += str(_random_below(10))
        if name not in taken:
            return name
    raise Conflict("could not generate a unique container name")


def _random_below(bound: int) -> int:
    """A uniform random integer in [0, bound) from os.urandom (as `secrets`
    does, without importing `random`, hmac or hashlib on the start path)."""
    limit = (1 << 32) - (1 << 32) % bound  # reject the uneven tail
    while True:
        value = int.from_bytes(os.urandom(4), "little")
        if value < limit:
            return value % bound


def _random_choice(items):
    return items[_random_below(len(items))]


def remove_tree(path: str) -> None:
    """shutil.rmtree(path, ignore_errors=True), without importing shutil
    (with bz2 and lzma: some 1.5 ms of every `run --rm`): descriptor-relative,
    never following a symbolic link."""
    try:
        for _, directories, files, directory_fd in os.fwalk(path, topdown=False):  # fds valid per step only
            for name in files:
                _quietly_unlink(name, directory_fd)
            for name in directories:
                try:
                    os.rmdir(name, dir_fd=directory_fd)
                except NotADirectoryError:  # a symbolic link to a directory
                    _quietly_unlink(name, directory_fd)
                except OSError:
                    pass
    except OSError:  # the top is gone or unreadable: whatever can be removed below
        pass
    try:
        os.rmdir(path)
    except NotADirectoryError:
        _quietly_unlink(path, None)
    except OSError:
        pass


_REMOVERS: list = []  # pids of `rm` processes started by remove_tree_soon, reaped on later calls
_RM = next((path for path in ("/usr/bin/rm", "/bin/rm") if os.access(path, os.X_OK)), None)


def remove_tree_soon(path: str) -> None:
    """remove_tree(path), done by an `rm -rf --one-file-system` of its own
    (posix_spawn: a vfork, whatever this process's size), so that the
    caller (a `run --rm` or an `rm` with nothing left to do) need not wait
    for the unlinks (some 3-5 ms of a container's files on this disk).
    Only for a path already renamed out of the store (`.removing-<id>`):
    the container is gone from then on.  The remover holds a flock on the
    directory while it lives; whatever a killed or failed one leaves is
    collected by the next listing (`collect_removed`).  Without rm, here."""
    _reap_removers()
    if _RM is None:
        remove_tree(path)
        return
    try:
        held = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return  # gone already
    null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    try:
        # the remover inherits this flock'd descriptor: `collect_removed` leaves the directory to it while it lives
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.set_inheritable(held, True)
        _REMOVERS.append(os.posix_spawn(_RM, [_RM, "-rf", "--one-file-system", "--", path], {"LC_ALL": "C"},
                                        file_actions=[(os.POSIX_SPAWN_DUP2, null, fd) for fd in (0, 1, 2)],
                                        setsid=True))
    except OSError:
        remove_tree(path)
    finally:
        os.close(null)
        os.close(held)


def _reap_removers() -> None:
    for pid in list(_REMOVERS):
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == 0:
                continue
        except ChildProcessError:
            pass
        try:
            _REMOVERS.remove(pid)
        except ValueError:
            pass  # reaped meanwhile by another thread (the API server's)


DEFAULT_CGROUP_PARENT = "hakobune"  # where containers' cgroups are made, without --cgroup-parent
RELEASED = "released"  # in a container's directory: the end whose cleanup (unmount, volumes, network) is done


def _end_stamp(state: dict) -> str:
    """What tells one end of a container from the next (a restart by its
    monitor starts it anew without the engine: its StartedAt changes)."""
    return f"{state['Status']}|{state['StartedAt']}|{state['FinishedAt']}|{state['ExitCode']}|{state['Error']}"


def _released_as(container_dir: str) -> str | None:
    try:
        fd = os.open(os.path.join(container_dir, RELEASED), os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return os.read(fd, 4096).decode("utf-8", "replace")
    finally:
        os.close(fd)


def _mark_released(container_dir: str, stamp: str) -> None:
    """Let later listings skip the cleanup of this end (a volatile hint: if
    lost, the next listing does the cleanup again, which finds nothing)."""
    try:
        write_volatile(os.path.join(container_dir, RELEASED), stamp.encode())
    except OSError:
        pass


def _forget_released(container_dir: str) -> None:
    """Before a start mounts anything: the next end must be cleaned up."""
    try:
        os.unlink(os.path.join(container_dir, RELEASED))
    except FileNotFoundError:
        pass


def _quietly_unlink(name: str, directory_fd) -> None:
    try:
        os.unlink(name, dir_fd=directory_fd)
    except OSError:
        pass


def check_name(name: str) -> str:
    bare = name[1:] if name.startswith("/") else name
    if not _NAME.fullmatch(bare):
        raise InvalidArgument(f'Invalid container name ({bare}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed')
    return bare


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
        if any(n.startswith(REMOVING) for n in names):
            self.collect_removed(names)
        return [n for n in names if len(n) == 64 and _HEX.fullmatch(n)
                and os.path.exists(os.path.join(self.directory, n, RECORD))]

    def read(self, container_id: str) -> dict:
        try:
            with open(self.path(container_id, RECORD), "rb") as f:
                return _fastjson.loads(f.read())
        except FileNotFoundError:
            raise NotFound(f"No such container: {container_id}") from None
        except ValueError:  # a --rm record cut short by a host crash (see `write`): that container is gone
            self._discard(container_id)
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
        """The record, whole, under its final name.  A --rm container's is
        written atomically but not fsynced: it lives no longer than its
        container, which a host crash ends anyway (the fsyncs were some
        1-2 ms of every `run --rm`, more on a busy disk).  A record that
        such a crash left empty or cut short is discarded by the next
        listing; a process killed at any point leaves the old record or the
        new one, whole (the page cache outlives it)."""
        data = _fastjson.dumps(record).encode()
        if record.get("HostConfig", {}).get("AutoRemove"):
            write_volatile(self.path(record["Id"], RECORD), data)  # 0600: a record holds the environment
        else:
            write_durably(self.path(record["Id"], RECORD), data)

    def _discard(self, container_id: str) -> None:
        """Remove a container whose record cannot be read (only a --rm
        container's, after a host crash, can be): moved aside in one rename
        as `delete` does (without its lock: callers may hold it), then removed."""
        try:
            with open(self.path(container_id, RECORD), "rb") as f:
                _fastjson.loads(f.read())
            return  # whole after all (rewritten meanwhile)
        except FileNotFoundError:
            return
        except ValueError:
            pass
        doomed = os.path.join(self.directory, REMOVING + container_id)
        try:
            os.rename(self.path(container_id), doomed)
        except OSError:
            return  # discarded by another process meanwhile
        remove_tree(doomed)

    def add(self, record: dict, name: str | None, complete=None) -> dict:
        """Give `record` an id and a unique name and store it; returns it.
        `complete(record, directory)`, when given, finishes the record (and
        the container's directory) before its one durable write; a failure
        there leaves nothing behind."""
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
                container_id = os.urandom(32).hex()  # secrets.token_hex(32)
                if not container_id.isdigit() and not any(
                        r["Id"][:STATE_KEY] == container_id[:STATE_KEY] for r in existing):
                    break
            record = {**record, "Id": container_id, "Name": "/" + name}
            os.makedirs(self.path(container_id), mode=0o700)
            try:
                if complete is not None:
                    complete(record, self.path(container_id))
                self.write(record)
            except BaseException:
                remove_tree(self.path(container_id))
                raise
        return record

    def delete(self, container_id: str) -> None:
        """Move the container's directory aside in one rename (the container
        is gone from then on), then remove its files.  A removal killed
        midway leaves only a `.removing-<id>` directory, which the next
        listing removes (`collect_removed`)."""
        doomed = os.path.join(self.directory, REMOVING + container_id)
        with self.locked():
            try:
                os.rename(self.path(container_id), doomed)
            except FileNotFoundError:
                return
            except OSError:  # e.g. a leftover of the same name: remove the record at least
                try:
                    os.unlink(self.path(container_id, RECORD))
                except FileNotFoundError:
                    pass
                doomed = self.path(container_id)
        remove_tree_soon(doomed)

    def collect_removed(self, names) -> None:
        """Finish removals that a killed process left (`.removing-<id>`
        directories), leaving alone those a remover (`remove_tree_soon`)
        still works on: it holds a flock on the directory while it lives."""
        for name in names:
            if name.startswith(REMOVING):
                path = os.path.join(self.directory, name)
                try:
                    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                except OSError:
                    continue
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # a remover is at work
                finally:
                    os.close(fd)
                remove_tree(path)

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
    try:  # the fixed layout by slices: strptime costs ~30 µs a call, and ps calls it per container
        fields = (int(base[0:4]), int(base[5:7]), int(base[8:10]), int(base[11:13]), int(base[14:16]),
                  int(base[17:19]))
        seconds = calendar.timegm(fields + (0, 0, 0)) if len(base) == 19 else None
    except ValueError:
        seconds = None
    if seconds is None:
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
        from hakobune.runtime import cgroup_warmup
        import time

        cgroup_warmup.begin()  # a start usually follows: see there

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
        from hakobune.engine import rootfs, volsetup

        mounts = volsetup.parse(self, config, host_config)  # bad input: refused before anything is made
        from hakobune.engine import netsetup  # networks (issue 6): unknown networks refused as Docker does
        netsetup.check_create(self, record)

        def complete(record: dict, container_dir: str) -> None:
            """Everything known from the id on: the record is written once
            (one fsync), whole, with its rootfs directories made."""
            container_id = record["Id"]
            if not config["Hostname"]:
                config["Hostname"] = container_id[:12]
            config["Env"] = specgen.container_env(image_env, config["Env"], config["Hostname"])
            rootfs.prepare(container_dir)
            record.update({"LogPath": self.log_path(container_id),
                           "HostnamePath": os.path.join(container_dir, "hostname"),
                           "HostsPath": os.path.join(container_dir, "hosts"),
                           "ResolvConfPath": os.path.join(container_dir, "resolv.conf")})

        with volsetup.locked(self, mounts):
            record = self.store.add(record, name, complete)
            if mounts:  # volumes are made once the container has its id: a second write
                try:
                    record[volsetup.VOLUME_MOUNTS_KEY] = volsetup.prepare(self, record, mounts)
                    self.store.write(record)
                except BaseException:
                    volsetup.forget_failed(self, record)
                    self.store.delete(record["Id"])
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
        if monitor.get("health"):
            state["Health"] = monitor["health"]
        if status in ("running", "created") and monitor.get("monitor_alive"):
            state.update(Status="running", Running=True, Pid=monitor.get("pid") or 0)
            if _frozen(record["Id"], cgroup_parent_of(record)):
                state.update(Status="paused", Paused=True)
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
        if _released_as(container_dir) == _end_stamp(state):
            return state  # this end was reconciled (and its exits noted) already: nothing is mounted or wired since
        self.note_exits(record)
        try:
            with self._container_lock(record["Id"], blocking=False) as held:
                if not held:
                    return state
                state = self.state(record)  # again, now that nobody starts it
                if state["Running"] or state["Restarting"]:
                    return state
                rootfs.unmount(container_dir)
                from hakobune.engine import volsetup
                volsetup.release(self, record)
                from hakobune.engine import netsetup  # networks (issue 6)
                netsetup.release(self, record["Id"])
                if record["HostConfig"].get("AutoRemove") and state["Status"] == "exited":
                    self._remember_exit(record["Id"], state["ExitCode"])
                    self._teardown(record["Id"], cgroup_parent_of(record))
                    self.store.delete(record["Id"])
                    volsetup.remove_anonymous(self, record, True)
                    self._event(record, "destroy")
                    return {**state, "Status": "removed"}
                _mark_released(container_dir, _end_stamp(state))
        except NotFound:
            return {**state, "Status": "removed"}
        return state

    # --- start, stop, remove ------------------------------------------------------------
    def start(self, text: str) -> tuple[dict, bool]:
        """Start the container `text` names; returns (its record, whether it
        was started now: False when it was running already)."""
        from hakobune.engine import rootfs, specgen
        from hakobune.monitor import start_monitor
        from hakobune.runtime import cgroup_warmup

        cgroup_warmup.begin()  # the kernel's wait for the first cgroup move (create's), begun or kept up now
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
            _forget_released(container_dir)
            merged = rootfs.mount(container_dir, lower)
            try:
                spec = specgen.generate(record, merged, container_dir)
                from hakobune.engine import volsetup
                volsetup.add_mounts(self, record, spec, merged)
                from hakobune.engine import netsetup  # networks (issue 6): netns, veths, ports, DNS, hosts
                netsetup.wire(self, record, spec, container_dir)
                bundle = specgen.write_bundle(self.store.path(container_id, "bundle"), spec)
                start_monitor(specgen.monitor_spec_of(record, bundle, self.state_dir(container_id),
                                                      self.log_path(container_id), self.runroot))
                cgroup_warmup.end()  # the container's own move is done
            except BaseException:
                rootfs.unmount(container_dir)
                self._remove_cgroups(container_id, cgroup_parent_of(record))
                from hakobune.engine import netsetup  # networks (issue 6)
                netsetup.release(self, container_id)
                raise
        if record.get("StoppedByUser"):
            record = self.update_record(container_id, StoppedByUser=False)
        started_at = (self._monitor_state(container_id) or {}).get("started_at")
        self._event(record, "start", _time_ns=int(started_at * 1e9) if started_at else None)
        return record, True

    def handle(self, container_id: str):
        from hakobune.monitor import MonitorHandle

        return MonitorHandle.open(self.state_dir(container_id))

    def stop(self, text: str, timeout: float | None = None, signal: str | None = None) -> dict:
        """Docker's stop: the container's StopSignal (SIGTERM by default),
        then SIGKILL after `timeout` seconds (its StopTimeout, else 10).  The
        record remembers durably that the user stopped it (no restart policy
        and no `system restore` brings it back)."""
        record = self.store.lookup(text)
        config = record.get("Config") or {}
        if signal is None:
            signal = config.get("StopSignal") or "TERM"
        if timeout is None:
            timeout = config.get("StopTimeout")
            timeout = 10 if timeout is None else timeout
        if timeout is not None and timeout < 0:
            timeout = 10 ** 6  # docker: -1 waits for ever
        state = self.state(record)
        if not record.get("StoppedByUser"):
            record = self.update_record(record["Id"], StoppedByUser=True)
        if state["Running"] or state["Restarting"]:
            self._event(record, "kill", signal=str(signal_number(signal)))
            self._stop_through_monitor(record, state, timeout, signal)
        self.reconcile(record)
        self._event(record, "stop")
        return record

    def _stop_through_monitor(self, record: dict, state: dict, timeout: float, signal: str) -> None:
        from hakobune.errors import SystemFailure

        container_id = record["Id"]
        monitor = self._monitor_state(container_id)
        if not (monitor and monitor.get("monitor_alive")):
            self._runtime("delete", "--force", container_id)
            return
        handle = self.handle(container_id)
        signal_name = signal.upper().removeprefix("SIG")
        try:
            if state["Paused"]:
                self._stop_paused(handle, timeout, signal_name)
            else:
                handle.stop(timeout=timeout, signal=signal_name)
            self._wait_monitor_gone(container_id, 30)  # the monitor records the exit after answering
        except (SystemFailure, OSError):  # e.g. reset: the monitor ended while answering
            self._await_monitor_end(container_id)

    def _wait_monitor_gone(self, container_id: str, timeout: float) -> None:
        """Until the monitor has ended (it answers a stop just before it
        records the exit and ends): polled closely, it takes milliseconds."""
        from hakobune.errors import SystemFailure

        deadline = time.monotonic() + timeout
        delay = 0.001
        while (self._monitor_state(container_id) or {}).get("monitor_alive"):
            if time.monotonic() > deadline:
                raise SystemFailure(f"timed out waiting for container {container_id}")
            time.sleep(delay)
            delay = min(delay * 2, 0.02)

    def _await_monitor_end(self, container_id: str, timeout: float = 5) -> None:
        """The monitor did not answer: it may be ending (the container exited
        meanwhile: its socket is gone before its process).  Fine once it is
        gone or its state no longer active; SystemFailure if it stays so."""
        from hakobune.errors import SystemFailure

        deadline = time.monotonic() + timeout
        while True:
            monitor = self._monitor_state(container_id) or {}
            if not monitor.get("monitor_alive") or monitor.get("status") not in ("running", "created",
                                                                                 "restarting"):
                return
            if time.monotonic() > deadline:
                raise SystemFailure(f"the monitor of {container_id} does not answer and does not end")
            time.sleep(0.02)

    def _stop_paused(self, handle, timeout: float, signal_name: str) -> None:
        """A frozen container gets the signal once thawed (as Docker does):
        ask the monitor to stop, wait until it has marked the stop, thaw."""
        import threading

        failure = []

        def ask():
            try:
                handle.stop(timeout=timeout, signal=signal_name)
            except Exception as e:  # noqa: BLE001 - re-raised below
                failure.append(e)

        asker = threading.Thread(target=ask, daemon=True)
        asker.start()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and asker.is_alive():
            state = self._monitor_state(handle.container_id) or {}
            if state.get("stopped_by_user"):
                break
            time.sleep(0.005)
        self._runtime("resume", handle.container_id)
        asker.join(timeout + 35)
        if failure:
            raise failure[0]

    def remove(self, text: str, force: bool = False, volumes: bool = False) -> dict:
        record = self.store.lookup(text)
        state = self.state(record)
        if state["Running"] or state["Restarting"]:
            if not force:
                raise Conflict(f"You cannot remove a running container {record['Id']}. Stop the container "
                               f"before attempting removal or force remove")
            self._event(record, "kill", signal="9")
            self._kill_now(record, state)
        from hakobune.engine import rootfs

        with self._container_lock(record["Id"]):
            state = self.state(record)
            if state["Running"] and not force:
                raise Conflict(f"You cannot remove a running container {record['Id']}. Stop the container "
                               f"before attempting removal or force remove")
            self.note_exits(record)
            self._teardown(record["Id"], cgroup_parent_of(record))
            rootfs.unmount(self.store.path(record["Id"]))
            self.store.delete(record["Id"])
        from hakobune.engine import volsetup
        volsetup.remove_anonymous(self, record, volumes)  # rm -v, --rm
        self._event(record, "destroy")
        return record

    # --- kill, pause, restart, wait, rename, prune -----------------------------------
    def kill(self, text: str, signal: str = "KILL") -> dict:
        """Docker's kill: send `signal` (a name with or without SIG, or a
        number) to the container's init, straight through a pidfd where it
        can be (`_signal_init`), else through the runtime.  SIGKILL to a
        container with a restart policy goes through the monitor's stop, so
        that the policy does not bring it back (Docker's ExitOnNext); a
        paused container is thawed after the signal."""
        number = signal_number(signal)
        record = self.store.lookup(text)
        state = self.state(record)
        if not state["Running"]:
            raise Conflict(f"Cannot kill container: {text}: Container {record['Id']} is not running")
        self._event(record, "kill", signal=str(number))
        if number == 9:
            self._kill_now(record, state)
            self.reconcile(record)
            return record
        if not self._signal_init(record, number) and self._runtime("kill", record["Id"], str(number)) != 0:
            state = self.state(record)
            if not state["Running"]:
                raise Conflict(f"Cannot kill container: {text}: Container {record['Id']} is not running")
            from hakobune.errors import SystemFailure

            raise SystemFailure(f"Cannot kill container: {text}: the runtime could not signal it")
        if state["Paused"]:
            self._runtime("resume", record["Id"])
        return record

    def _kill_now(self, record: dict, state: dict) -> None:
        """SIGKILL the container and wait until its monitor has recorded the
        exit.  Without a restart policy, directly (`_signal_init`: no runtime
        process to start); else through the monitor's stop, so that the
        policy does not bring it back."""
        from hakobune.errors import SystemFailure

        policy = (record.get("HostConfig") or {}).get("RestartPolicy") or {}
        if policy.get("Name") in (None, "", "no") and self._signal_init(record, 9):
            if state["Paused"]:
                self._runtime("resume", record["Id"])
            try:
                self._wait_monitor_gone(record["Id"], 30)
            except SystemFailure:
                self._await_monitor_end(record["Id"])
            return
        self._stop_through_monitor(record, state, 0, "KILL")

    def _signal_init(self, record: dict, number: int) -> bool:
        """Send signal `number` to the container's init without a runtime
        process: through a pidfd, once the pid is known to be the live
        monitor's child (not reaped yet, so not reused).  False when that
        cannot be made sure; the caller then asks the runtime."""
        monitor = self._monitor_state(record["Id"]) or {}
        pid, monitor_pid = monitor.get("pid"), monitor.get("monitor_pid")
        if not (pid and monitor_pid and monitor.get("monitor_alive") and monitor.get("status") == "running"):
            return False
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            return False
        try:
            if _parent_pid(pid) != monitor_pid:
                return False
            import signal as signal_module

            signal_module.pidfd_send_signal(pidfd, number)
            return True
        except OSError:
            return False
        finally:
            os.close(pidfd)

    def pause(self, text: str) -> dict:
        record = self.store.lookup(text)
        state = self.state(record)
        if not state["Running"]:
            raise Conflict(f"Container {record['Id']} is not running")
        if state["Paused"]:
            raise Conflict(f"Container {record['Id']} is already paused")
        if self._runtime("pause", record["Id"]) != 0:
            from hakobune.errors import SystemFailure

            raise SystemFailure(f"Cannot pause container {record['Id']}: the freezer cgroup did not freeze")
        self._event(record, "pause")
        return record

    def unpause(self, text: str) -> dict:
        record = self.store.lookup(text)
        state = self.state(record)
        if not state["Paused"]:
            raise Conflict(f"Container {record['Id']} is not paused")
        if self._runtime("resume", record["Id"]) != 0:
            from hakobune.errors import SystemFailure

            raise SystemFailure(f"Cannot unpause container {record['Id']}: the freezer cgroup did not thaw")
        self._event(record, "unpause")
        return record

    def restart(self, text: str, timeout: float | None = None, signal: str | None = None) -> dict:
        record = self.store.lookup(text)
        if self.state(record)["Running"]:
            self.stop(record["Id"], timeout, signal)
        record, _ = self.start(record["Id"])
        self._event(record, "restart")
        return record

    def wait(self, text: str, condition: str = "not-running") -> int:
        """Block until the container is not running (or removed, with
        condition "removed"; "next-exit" waits for the next exit); its exit
        code.  Works for containers any process started: it polls what the
        monitor records."""
        if condition not in ("not-running", "next-exit", "removed"):
            raise InvalidArgument(f"invalid condition: {condition!r}")
        record = self.store.lookup(text)
        container_id = record["Id"]
        code = 0
        seen_running = False
        delay = 0.005
        while True:
            try:
                current = self.store.read(container_id)
            except NotFound:
                return self._remembered_exit(container_id, code)
            state = self.reconcile(current)
            if state["Status"] == "removed":
                return state["ExitCode"]
            active = state["Running"] or state["Restarting"]
            seen_running = seen_running or active
            code = state["ExitCode"]
            if not active and (condition == "not-running" or (condition == "next-exit" and seen_running)):
                return code
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    # A --rm container's exit code outlives it a while, for whoever waits on
    # it (`wait --condition removed`, `docker run --rm` through the API):
    # whichever command removes it first keeps the code here (volatile).
    def _remember_exit(self, container_id: str, code: int) -> None:
        directory = os.path.join(self.runroot, "removed")
        os.makedirs(directory, exist_ok=True)
        temporary = os.path.join(directory, f".{container_id}.{os.getpid()}")
        with open(temporary, "w") as f:
            f.write(str(code))
        os.replace(temporary, os.path.join(directory, container_id))
        cutoff = time.time() - 600
        for name in os.listdir(directory):
            try:
                if os.stat(os.path.join(directory, name)).st_mtime < cutoff:
                    os.unlink(os.path.join(directory, name))
            except OSError:
                pass

    def _remembered_exit(self, container_id: str, default: int) -> int:
        try:
            with open(os.path.join(self.runroot, "removed", container_id)) as f:
                return int(f.read().strip() or default)
        except (OSError, ValueError):
            return default

    def rename(self, text: str, new_name: str) -> dict:
        record = self.store.lookup(text)
        if not new_name:
            raise InvalidArgument("Neither old nor new names may be empty")
        bare = check_name(new_name)
        if record["Name"] == "/" + bare:
            raise InvalidArgument("Renaming a container with the same name as its current name")
        old_name = record["Name"]
        with self.store.locked():
            for other in self.store.records():
                if other["Name"] == "/" + bare:
                    raise Conflict(f'Error when allocating new name: Conflict. The container name "/{bare}" is '
                                   f'already in use by container "{other["Id"]}". You have to remove (or rename) '
                                   f'that container to be able to reuse that name.')
            record = self.store.read(record["Id"])
            record["Name"] = "/" + bare
            self.store.write(record)
        from hakobune.engine import netsetup  # networks (issue 6): endpoints and DNS names follow the name

        netsetup.renamed(self, record)
        self._event(record, "rename", oldName=old_name)
        return record

    def update_record(self, container_id: str, **fields) -> dict:
        """Change fields of a record durably, under the store's lock."""
        with self.store.locked():
            record = self.store.read(container_id)
            record.update(fields)
            self.store.write(record)
        return record

    def prune(self, filters: dict | None = None) -> dict:
        """POST /containers/prune: remove every container that is not running
        (filters: until, label, label!); {"ContainersDeleted", "SpaceReclaimed"}."""
        from hakobune.errors import HakobuneError

        filters = {k: list(v) for k, v in (filters or {}).items() if v}
        for name in filters:
            if name not in ("until", "label", "label!"):
                raise InvalidArgument(f"Invalid filter '{name}'")
        until = None
        if filters.get("until"):
            from hakobune.engine.engine import _until

            until = min(_until(value) for value in filters["until"])
        deleted, reclaimed = [], 0
        for record in self.store.records():
            labels = record["Config"].get("Labels") or {}
            if not _labels_match(labels, filters.get("label", [])):
                continue
            if any(_labels_match(labels, [label]) for label in filters.get("label!", [])):
                continue
            if until is not None and not (int(unix_time_of(record["Created"])), 0) < until:
                continue
            state = self.reconcile(record)
            if state["Running"] or state["Restarting"] or state["Status"] == "removed":
                continue
            size = self.size_rw(record["Id"])
            try:
                self.remove(record["Id"])
            except HakobuneError:
                continue
            deleted.append(record["Id"])
            reclaimed += size
        from hakobune.engine.events import record_event

        record_event(self.root, "container", "prune", "", {"reclaimed": str(reclaimed)})
        return {"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed}

    # --- sizes -----------------------------------------------------------------------------
    def size_rw(self, container_id: str) -> int:
        """The read-write layer's size as Docker counts it (directory.Size):
        files' apparent sizes, directories and empty files left out, hard
        links once."""
        return directory_size(self.store.path(container_id, "upper"))

    def size_root_fs(self, record: dict, size_rw: int | None = None) -> int:
        size_rw = self.size_rw(record["Id"]) if size_rw is None else size_rw
        try:
            image_size = self._image_store_of().inspect(record["Image"]).get("Size", 0)
        except Exception:  # noqa: BLE001 - the image may be gone (rmi -f)
            image_size = 0
        return size_rw + image_size

    # --- events ----------------------------------------------------------------------------
    def _event(self, record: dict, action: str, _time_ns: int | None = None, **extra) -> None:
        """Record a container event with Docker's attributes: the labels, image and name."""
        from hakobune.engine.events import record_event

        attributes = dict(record.get("Config", {}).get("Labels") or {})
        attributes["image"] = record.get("Config", {}).get("Image") or record.get("Image", "")
        attributes["name"] = record.get("Name", "").lstrip("/")
        attributes.update(extra)
        record_event(self.root, "container", action, record["Id"], attributes, _time_ns)

    def note_exits(self, record: dict) -> None:
        """Record a "die" event for each run of the container whose end the
        monitor recorded and no process has reported yet (the monitor itself
        writes no events: it must stay small and knows nothing of the
        journal).  A marker file per run in the volatile state directory,
        created with O_EXCL, makes sure only one process reports it."""
        monitor = self._monitor_state(record["Id"])
        if not monitor:
            return
        runs = list(monitor.get("history") or [])
        directory = self.state_dir(record["Id"])
        for run in runs[-5:]:
            finished = run.get("finished_at")
            if not finished:
                continue
            finished_ns = int(finished * 1e9)
            marker = os.path.join(directory, f"die.{finished_ns}")
            try:
                os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
            except FileExistsError:
                continue
            except OSError:
                return
            from hakobune.engine.events import record_event

            attributes = dict(record.get("Config", {}).get("Labels") or {})
            attributes["exitCode"] = str(run.get("exit_code", 0))
            attributes["image"] = record.get("Config", {}).get("Image") or record.get("Image", "")
            attributes["name"] = record.get("Name", "").lstrip("/")
            record_event(self.root, "container", "die", record["Id"], attributes, finished_ns)

    # --- after a reboot ---------------------------------------------------------------------
    def restore(self) -> list[tuple[str, str | None]]:
        """`system restore`: start every container whose restart policy is
        always or unless-stopped and that the user did not stop (the record
        says so durably), if it is not running.  Returns (id, error or None)."""
        from hakobune.errors import HakobuneError

        self._reclaim_after_reboot()
        results = []
        for record in sorted(self.store.records(), key=lambda r: r["Created"]):
            policy = (record.get("HostConfig") or {}).get("RestartPolicy") or {}
            if policy.get("Name") not in ("always", "unless-stopped") or record.get("StoppedByUser"):
                continue
            state = self.state(record)
            if state["Running"] or state["Restarting"]:
                continue
            try:
                self.start(record["Id"])
                results.append((record["Id"], None))
            except HakobuneError as e:
                results.append((record["Id"], str(e)))
        return results

    def _reclaim_after_reboot(self) -> None:
        """Free what the durable stores still hold for containers that no
        longer run (network addresses and endpoints), where the engine has
        such a step."""
        try:
            from hakobune.engine import netsetup
        except ImportError:
            return
        reclaim = getattr(netsetup, "reclaim", None)
        if reclaim is not None:
            reclaim(self)

    def _teardown(self, container_id: str, cgroup_parent: str = DEFAULT_CGROUP_PARENT) -> None:
        """Forget the runtime's and the monitor's state of a stopped container."""
        from hakobune.engine import rootfs

        monitor = self._monitor_state(container_id)
        if monitor and monitor.get("monitor_alive"):
            os.kill(monitor["monitor_pid"], 9)
        self._runtime("delete", "--force", container_id)
        rootfs.unmount(self.store.path(container_id))
        self._remove_cgroups(container_id, cgroup_parent)
        from hakobune.engine import netsetup  # networks (issue 6)
        netsetup.release(self, container_id)
        remove_tree(self.state_dir(container_id))

    def _runtime(self, *args) -> int:
        if not os.path.isdir(self.runtime_root):
            return 0
        if args[0] == "delete" and not os.path.exists(os.path.join(self.runtime_root, args[-1])):
            return 0  # nothing to delete (the monitor deletes after each exit): spare a runtime's start
        import subprocess  # only now: its import costs every `run --rm`

        from hakobune.monitor.spec import default_runtime

        return subprocess.run([default_runtime(), "--root", self.runtime_root, *args],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode

    @staticmethod
    def _remove_cgroups(container_id: str, parent: str = DEFAULT_CGROUP_PARENT) -> None:
        """The container's cgroup in every hierarchy (/sys/fs/cgroup/*/<parent>/<id>, and the
        unified /sys/fs/cgroup/<parent>/<id>), if the runtime left any."""
        try:
            hierarchies = os.listdir("/sys/fs/cgroup")
        except OSError:
            hierarchies = []
        for path in [f"/sys/fs/cgroup/{name}/{parent}/{container_id}" for name in hierarchies] + \
                [f"/sys/fs/cgroup/{parent}/{container_id}"]:
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

    def inspect(self, text: str, size: bool = False) -> dict:
        record = self.store.lookup(text)
        state = self.reconcile(record)
        if state["Status"] == "removed":
            raise NotFound(f"No such container: {text}")
        config = dict(record["Config"])
        from hakobune.engine.volsetup import mount_points
        from hakobune.engine import netsetup  # networks (issue 6)
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
            "Mounts": mount_points(self, record), "Config": config,
            "NetworkSettings": netsetup.network_settings(self, record, state),  # networks (issue 6)
        }
        monitor = self._monitor_state(record["Id"])
        if monitor:
            result["RestartCount"] = monitor.get("restart_count", 0)
        if size:
            size_rw = self.size_rw(record["Id"])
            sizes = {"SizeRw": size_rw, "SizeRootFs": self.size_root_fs(record, size_rw)}
            ordered = {}
            for key, value in result.items():
                ordered[key] = value
                if key == "GraphDriver":
                    ordered.update(sizes)
            result = ordered
        return result

    def logs(self, text: str):
        """The json-file log's entries: dicts with "log", "stream", "time"."""
        record = self.store.lookup(text)
        return read_log(self.log_path(record["Id"]))


def read_log(path: str, offset: int = 0):
    """Entries of a json-file log from logical `offset`, across rotated
    files (hakobune.monitor.logfile); yields (entry, offset after it).
    A container logging to Docker's `none` driver has no log to read."""
    from hakobune.monitor.logfile import read_entries

    if not os.path.exists(path):
        try:
            with open(os.path.join(os.path.dirname(path), RECORD), "rb") as f:
                driver = _fastjson.loads(f.read())["HostConfig"]["LogConfig"]["Type"]
        except (OSError, ValueError, KeyError, TypeError):
            driver = ""
        if driver == "none":
            raise InvalidArgument("configured logging driver does not support reading")
    return read_entries(path, offset)


def start_failure_status(message: str) -> int:
    """docker run's status for a container that could not start: 127 when the
    program is not found, 126 when it cannot be invoked, 125 otherwise."""
    low = message.lower()
    if "executable file not found" in low or "no such file or directory" in low:
        return 127
    if "permission denied" in low or "exec format error" in low or "is a directory" in low:
        return 126
    return 125


PS_FILTERS = ("id", "name", "label", "label!", "status", "exited", "ancestor", "before", "since", "health",
              "network", "volume", "publish", "expose", "isolation", "is-task")
PS_STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")
HEALTH_STATUSES = ("starting", "healthy", "unhealthy", "none")


def check_ps_filters(filters: dict) -> dict:
    filters = {name: list(values) for name, values in (filters or {}).items() if values}
    for name, values in filters.items():
        if name not in PS_FILTERS:
            raise InvalidArgument(f"Invalid filter '{name}'")
        for value in values:
            if name == "status" and value not in PS_STATUSES:
                raise InvalidArgument(f"Invalid filter 'status={value}'")  # dockerd 20.10's words
            if name == "health" and value not in HEALTH_STATUSES:
                raise InvalidArgument(f"Unrecognised filter value for health: {value}")
            if name == "exited":
                try:
                    int(value)
                except ValueError:
                    raise InvalidArgument(f'strconv.Atoi: parsing "{value}": invalid syntax') from None
    return filters


def _go_regex_match(pattern: str, text: str) -> bool:
    if pattern == text:
        return True
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False


def filter_pairs(pairs, filters: dict, image_id_of, lookup) -> list:
    """Docker's ps filters over (record, state) pairs (newest first).
    `image_id_of(name)` resolves an ancestor (None when unknown), `lookup`
    finds a before/since container's record."""
    if not filters:
        return list(pairs)
    ancestors = None
    if filters.get("ancestor"):
        ancestors = set()
        for name in filters["ancestor"]:
            image_id = image_id_of(name)
            if image_id:
                ancestors.add(image_id)
    before = since = None
    if filters.get("before"):
        before = min(unix_time_of(lookup(v)["Created"]) for v in filters["before"])
    if filters.get("since"):
        since = max(unix_time_of(lookup(v)["Created"]) for v in filters["since"])
    out = []
    for record, state in pairs:
        name = record["Name"].lstrip("/")
        labels = record["Config"].get("Labels") or {}
        if filters.get("id") and not any(_go_regex_match(v, record["Id"]) for v in filters["id"]):
            continue
        if filters.get("name") and not any(_go_regex_match(v, name) for v in filters["name"]):
            continue
        if not _labels_match(labels, filters.get("label", [])):
            continue
        if any(_labels_match(labels, [label]) for label in filters.get("label!", [])):
            continue
        if filters.get("status") and state["Status"] not in filters["status"]:
            continue
        if filters.get("exited"):
            codes = {int(v) for v in filters["exited"]}
            if state["Running"] or state["StartedAt"] == ZERO_TIME or state["ExitCode"] not in codes:
                continue
        if ancestors is not None and record.get("Image") not in ancestors:
            continue
        created = unix_time_of(record["Created"])
        if before is not None and not created < before:
            continue
        if since is not None and not created > since:
            continue
        if filters.get("health"):
            health = ((state.get("Health") or {}).get("Status")) or "none"
            if health not in filters["health"]:
                continue
        if filters.get("network"):
            networks = set((record.get("NetworkingConfig") or {}).get("EndpointsConfig") or {})
            networks.add(record["HostConfig"].get("NetworkMode") or "default")
            if not networks & set(filters["network"]):
                continue
        out.append((record, state))
    return out


def signal_number(text: str) -> int:
    """Docker's signal.ParseSignal: a number, or a name with or without SIG."""
    import signal as _signal_module

    raw = str(text)
    if raw.isdigit():
        number = int(raw)
        if number == 0 or number > 64:
            raise InvalidArgument(f"Invalid signal: {raw}")
        return number
    name = raw.upper().removeprefix("SIG")
    if name.startswith("RTMIN+") or name.startswith("RTMAX-"):
        base, _, offset = name.partition("+" if "+" in name else "-")
        if offset.isdigit():
            number = (_signal_module.SIGRTMIN + int(offset)) if base == "RTMIN" else \
                (_signal_module.SIGRTMAX - int(offset))
            if _signal_module.SIGRTMIN <= number <= _signal_module.SIGRTMAX:
                return int(number)
    number = getattr(_signal_module, "SIG" + name, None)
    if not isinstance(number, int) or name.startswith("_") or "_" in name:
        raise InvalidArgument(f"Invalid signal: {raw}")
    return int(number)


def directory_size(path: str) -> int:
    total = 0
    seen = set()
    stack = [path]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    continue
                if st.st_size == 0 or st.st_ino in seen:
                    continue
                seen.add(st.st_ino)
                total += st.st_size
    return total


def _labels_match(labels: dict, wanted) -> bool:
    for item in wanted:
        key, eq, value = item.partition("=")
        if key not in labels or (eq and labels[key] != value):
            return False
    return True


def _parent_pid(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return 0
    return int(data[data.rindex(b")") + 2:].split()[1])


def cgroup_parent_of(record: dict) -> str:
    """The cgroup a container's own cgroup is made in, relative to each
    hierarchy's root: HostConfig.CgroupParent (`--cgroup-parent`; a relative
    one is taken from the root, as Docker's cgroupfs driver does), else
    "hakobune"."""
    parent = (record.get("HostConfig") or {}).get("CgroupParent") or ""
    parts = [part for part in parent.split("/") if part and part != "."]
    return "/".join(parts) or DEFAULT_CGROUP_PARENT


def _frozen(container_id: str, parent: str = DEFAULT_CGROUP_PARENT) -> bool:
    """Whether the container's cgroup is frozen (paused): the v1 freezer, or cgroup2's cgroup.freeze."""
    for path, frozen in ((f"/sys/fs/cgroup/freezer/{parent}/{container_id}/freezer.state", b"FROZEN"),
                         (f"/sys/fs/cgroup/{parent}/{container_id}/cgroup.freeze", b"1")):
        try:
            with open(path, "rb") as f:
                return f.read().strip() == frozen
        except OSError:
            continue
    return False


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
