"""The events journal: what `hakobune events` shows, written by whichever
process caused the event (there is no daemon to hear them all).

    <root>/events/journal.jsonl     one JSON object per line, oldest first
    <root>/events/journal.1.jsonl   the previous journal, once it grew past the cap
    <root>/events/.lock             flock'd only while the journal is rotated

Each line is an event in the Engine API's shape (GET /events):
``{"Type", "Action", "Actor": {"ID", "Attributes"}, "scope", "time",
"timeNano"}``; readers add the legacy ``status``/``id``/``from`` fields of
container and image events.  A line is written with one write(2) on an
O_APPEND descriptor and kept below PIPE_BUF-like sizes (attributes are cut
to fit), so concurrent writers never interleave.  The journal is capped at
JOURNAL_CAP bytes: the writer that sees it past the cap renames it to
journal.1.jsonl (replacing the older one), so at most twice the cap is kept.

Lines from concurrent writers can land slightly out of time order; readers
that replay a window sort by timeNano.  Volatile events that no process saw
happen (a container's exit while nobody looked) are recorded when the engine
learns of them: see `Lifecycle.note_exits` ("die" carries the monitor's
finish time, so it sorts where it happened).  The monitor records no events
(it stays small and knows nothing of the journal); any command that looks at
a container reports its exits, and `events` itself looks for unreported
exits before it replays and twice a second while it follows.  Restarts done
by a monitor's restart policy show as "die" events only (no "start").

    record_event(root, "volume", "create", "myvol", {"driver": "local"})
"""

from __future__ import annotations

import os
import time

from hakobune import _fastjson

JOURNAL = "journal.jsonl"
PREVIOUS = "journal.1.jsonl"
JOURNAL_CAP = 4 << 20
LINE_LIMIT = 4000  # below PIPE_BUF-sized writes: one write(2) is one line
TYPES = ("container", "image", "volume", "network", "daemon", "plugin", "node", "service", "secret", "config")


def directory_of(root: str) -> str:
    return os.path.join(root, "events")


def make_event(event_type: str, action: str, actor_id: str, attributes: dict | None = None,
               time_ns: int | None = None) -> dict:
    time_ns = time.time_ns() if time_ns is None else int(time_ns)
    return {"Type": event_type, "Action": action,
            "Actor": {"ID": actor_id, "Attributes": {str(k): str(v) for k, v in (attributes or {}).items()}},
            "scope": "local", "time": time_ns // 1_000_000_000, "timeNano": time_ns}


def _line(event: dict) -> bytes:
    line = (_fastjson.dumps(event) + "\n").encode()
    if len(line) <= LINE_LIMIT:
        return line
    attributes = event["Actor"]["Attributes"]
    for key in sorted(attributes, key=lambda k: -len(attributes[k])):
        attributes[key] = attributes[key][:64]
        line = (_fastjson.dumps(event) + "\n").encode()
        if len(line) <= LINE_LIMIT:
            return line
    event["Actor"]["Attributes"] = {}
    return (_fastjson.dumps(event) + "\n").encode()


def record_event(root: str, event_type: str, action: str, actor_id: str, attributes: dict | None = None,
                 time_ns: int | None = None) -> None:
    """Append one event to the journal under `root`; never raises (an event
    that cannot be recorded must not fail the operation that caused it)."""
    try:
        append(root, make_event(event_type, action, actor_id, attributes, time_ns))
    except OSError:
        pass


def append(root: str, event: dict) -> None:
    directory = directory_of(root)
    path = os.path.join(directory, JOURNAL)
    line = _line(event)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except FileNotFoundError:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, line)
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    if size > JOURNAL_CAP:
        _rotate(directory, size)


def _rotate(directory: str, seen_size: int) -> None:
    import fcntl

    fd = os.open(os.path.join(directory, ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        path = os.path.join(directory, JOURNAL)
        try:
            if os.path.getsize(path) < seen_size:
                return  # another writer rotated it meanwhile
        except FileNotFoundError:
            return
        os.replace(path, os.path.join(directory, PREVIOUS))
    finally:
        os.close(fd)


# --- reading ---------------------------------------------------------------------

def _parse(line: bytes) -> dict | None:
    try:
        event = _fastjson.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) and "timeNano" in event else None


def read_all(root: str) -> list[dict]:
    """Every event kept, in time order."""
    directory = directory_of(root)
    events = []
    for name in (PREVIOUS, JOURNAL):
        try:
            with open(os.path.join(directory, name), "rb") as f:
                for line in f:
                    event = _parse(line)
                    if event is not None:
                        events.append(event)
        except FileNotFoundError:
            continue
    events.sort(key=lambda e: e["timeNano"])
    return events


class Follower:
    """New journal lines as they are appended (across a rotation)."""

    def __init__(self, root: str):
        self.path = os.path.join(directory_of(root), JOURNAL)
        self.inode, self.offset = self._position()

    def _position(self) -> tuple[int | None, int]:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None, 0
        return st.st_ino, st.st_size

    def poll(self) -> list[dict]:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return []
        events = []
        if st.st_ino != self.inode:
            if self.inode is not None:  # rotated: finish the previous journal first
                events += self._read(os.path.join(os.path.dirname(self.path), PREVIOUS), self.offset,
                                     expect_inode=self.inode)
            self.inode, self.offset = st.st_ino, 0
        if st.st_size > self.offset:
            events += self._read(self.path, self.offset)
        return events

    def _read(self, path: str, offset: int, expect_inode: int | None = None) -> list[dict]:
        events = []
        try:
            with open(path, "rb") as f:
                if expect_inode is not None and os.fstat(f.fileno()).st_ino != expect_inode:
                    return []
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1
        if expect_inode is None:
            self.offset = offset + end
        for line in data[:end].splitlines():
            event = _parse(line)
            if event is not None:
                events.append(event)
        return events


# --- the API's view -------------------------------------------------------------------

def legacy_view(event: dict) -> dict:
    """The event as GET /events answers API 1.41 clients: container and
    image events also carry status, id and from."""
    actor = event.get("Actor") or {}
    if event.get("Type") == "container":
        out = {"status": event["Action"], "id": actor.get("ID", "")}
        image = (actor.get("Attributes") or {}).get("image")
        if image is not None:
            out["from"] = image
        return {**out, **event}
    if event.get("Type") == "image":
        return {"status": event["Action"], "id": actor.get("ID", ""), **event}
    return dict(event)


EVENT_FILTERS = ("container", "event", "image", "label", "type", "volume", "network", "daemon", "scope")


def check_filters(filters: dict) -> dict:
    from hakobune.errors import InvalidArgument

    for name in filters:
        if name not in EVENT_FILTERS:
            raise InvalidArgument(f"invalid filter '{name}'")
    for value in filters.get("type", []):
        if value not in TYPES:
            raise InvalidArgument(f"Unknown type: {value}")
    return filters


def matches(event: dict, filters: dict, container_names: dict | None = None) -> bool:
    """Docker's events filter: every filter name given must match (values of
    one name are alternatives)."""
    if not filters:
        return True
    actor = event.get("Actor") or {}
    attributes = actor.get("Attributes") or {}
    actor_id = actor.get("ID", "")
    kind = event.get("Type")

    def one_of(name, candidates) -> bool:
        wanted = filters.get(name)
        return not wanted or any(w in candidates for w in wanted)

    if not one_of("type", (kind,)):
        return False
    if filters.get("event"):
        action = event.get("Action", "")
        bare = action.split(":", 1)[0]
        if action not in filters["event"] and bare not in filters["event"]:
            return False
    if filters.get("scope") and event.get("scope", "local") not in filters["scope"]:
        return False
    if filters.get("container"):
        if kind != "container":
            return False
        name = attributes.get("name", "")
        if not any(w == name or (len(w) >= 1 and actor_id.startswith(w)) for w in filters["container"]):
            return False
    if filters.get("image"):
        image = attributes.get("image", "") if kind == "container" else actor_id
        names = {image, attributes.get("name", "") if kind == "image" else ""}
        if not any(_image_matches(w, names) for w in filters["image"]):
            return False
    for name in ("volume", "network"):
        if filters.get(name):
            if kind != name:
                return False
            candidates = (actor_id, attributes.get("name", ""))
            if not any(w in candidates or actor_id.startswith(w) for w in filters[name]):
                return False
    if filters.get("daemon") and kind != "daemon":
        return False
    for label in filters.get("label", []):
        key, eq, value = label.partition("=")
        if key not in attributes or (eq and attributes[key] != value):
            return False
    return True


def _image_matches(wanted: str, names) -> bool:
    for name in names:
        if not name:
            continue
        if name == wanted or name.split(":", 1)[0] == wanted or name.startswith(wanted + "@"):
            return True
        if wanted.endswith(":latest") and name == wanted[:-len(":latest")]:
            return True
        if ":" not in wanted and name == wanted + ":latest":
            return True
    return False


def default_line(event: dict) -> str:
    """docker events' line: `<time> <type> <action> <id> (k=v, ...)`."""
    from hakobune.monitor.spec import rfc3339nano

    seconds, nanos = divmod(event["timeNano"], 1_000_000_000)
    stamp = rfc3339nano(seconds * 1_000_000_000)[:-1] + f".{nanos:09d}Z"
    actor = event.get("Actor") or {}
    attributes = actor.get("Attributes") or {}
    text = f"{stamp} {event['Type']} {event['Action']} {actor.get('ID', '')}"
    if attributes:
        text += " (" + ", ".join(f"{k}={attributes[k]}" for k in sorted(attributes)) + ")"
    return text
