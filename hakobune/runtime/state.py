"""A container's state directory under the runtime's --root.

    <root>/<id>/state.json   the OCI state plus what the runtime needs later
    <root>/<id>/config.json  the config as it was at create
    <root>/<id>/exec.fifo    present from create until start

The root lives on a tmpfs (/run) by default: this state is volatile by design
(a reboot ends every container), so it is written atomically but not fsynced.
The status is derived, never stored: a live init with an exec fifo is
"created", without one "running" (or "paused" when frozen), a dead one "stopped".
"""

import os

from hakobune import _fastjson
from hakobune.errors import AlreadyExists, InvalidArgument, NotFound

OCI_VERSION = "1.2.0"
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+.-")


class ContainerState:
    """What `state.json` holds, with the derived status."""

    def __init__(self, directory: str, data: dict):
        self.directory = directory
        self.data = data

    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def pid(self) -> int:
        return self.data["pid"]

    @property
    def fifo(self) -> str:
        return os.path.join(self.directory, "exec.fifo")

    def config(self) -> dict:
        with open(os.path.join(self.directory, "config.json")) as f:
            return _fastjson.loads(f.read())

    def init_alive(self) -> bool:
        return process_start_time(self.pid) == self.data.get("pidStartTime")

    def status(self, frozen: bool = False) -> str:
        if not self.pid or not self.init_alive():
            return "stopped"
        if os.path.exists(self.fifo):
            return "created"
        return "paused" if frozen else "running"

    def oci_state(self, status: str) -> dict:
        state = {
            "ociVersion": OCI_VERSION,
            "id": self.id,
            "status": status,
            "bundle": self.data["bundle"],
            "annotations": self.data.get("annotations") or {},
        }
        if status != "stopped":
            state["pid"] = self.pid
        return state

    def save(self) -> None:
        write_atomically(os.path.join(self.directory, "state.json"), _fastjson.dumps(self.data))


def check_id(container_id: str) -> None:
    if not container_id or not container_id[0].isalnum() or not _ID_CHARS.issuperset(container_id) or len(container_id) > 1024:
        raise InvalidArgument(f"invalid container id {container_id!r}: use letters, digits, '_', '+', '-' and '.'")


def make_directory(root: str, container_id: str) -> str:
    check_id(container_id)
    os.makedirs(root, 0o711, exist_ok=True)
    directory = os.path.join(root, container_id)
    try:
        os.mkdir(directory, 0o711)
    except FileExistsError:
        raise AlreadyExists(f"container with id {container_id} already exists") from None
    return directory


def load(root: str, container_id: str) -> ContainerState:
    check_id(container_id)
    directory = os.path.join(root, container_id)
    try:
        with open(os.path.join(directory, "state.json")) as f:
            return ContainerState(directory, _fastjson.loads(f.read()))
    except FileNotFoundError:
        raise NotFound(f"container {container_id} does not exist") from None
    except ValueError:
        raise NotFound(f"container {container_id} has no readable state (it may still be being created)") from None


def list_ids(root: str) -> list[str]:
    try:
        return sorted(n for n in os.listdir(root) if os.path.exists(os.path.join(root, n, "state.json")))
    except FileNotFoundError:
        return []


def write_atomically(path: str, text: str) -> None:
    temporary = f"{path}.tmp{os.getpid()}"
    with open(temporary, "w") as f:
        f.write(text)
    os.rename(temporary, path)


def process_start_time(pid: int) -> int | None:
    """The start time (field 22 of /proc/PID/stat), None for a dead or zombie process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])
