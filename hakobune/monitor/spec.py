"""What a monitor is asked to do (MonitorSpec), the restart policy, and the
small helpers both the monitor and its callers share: atomic volatile writes,
process identity by start time, RFC 3339 times.

Imported by the long-lived monitor process, so it imports nothing but `os`,
`sys`, `time` and the json accelerator.
"""

import os
import sys
import time

from hakobune import _fastjson
from hakobune.runtime.state import process_start_time, write_atomically  # noqa: F401 - shared with the monitor

SPEC_FILE = "spec.json"
STATE_FILE = "state.json"
EXIT_FILE = "exit.json"
CONTROL_SOCKET = "control.sock"
CONSOLE_SOCKET = "console.sock"
PID_FILE = "container.pid"
MONITOR_LOG = "monitor.log"

# Docker's restart manager: the first delay, its ceiling, and how long a run
# must last for the delay to start again from the first.
BACKOFF_FIRST = 0.1
BACKOFF_MAX = 60.0
BACKOFF_RESET_AFTER = 10.0


def default_runtime() -> str:
    return os.path.join(os.path.dirname(sys.executable), "hakobune-runtime")


class RestartPolicy:
    """Docker's restart policies: no, always, unless-stopped, on-failure[:max]
    (max 0 = no limit)."""

    NAMES = ("no", "always", "unless-stopped", "on-failure")

    def __init__(self, name: str = "no", maximum: int = 0):
        if name not in self.NAMES:
            raise ValueError(f"invalid restart policy {name!r}")
        if maximum < 0 or (maximum and name != "on-failure"):
            raise ValueError(f"maximum retry count cannot be used with restart policy {name!r}")
        self.name = name
        self.maximum = maximum

    @classmethod
    def parse(cls, text: str) -> "RestartPolicy":
        name, _, count = (text or "no").partition(":")
        if count:
            if not count.isdigit():
                raise ValueError(f"invalid restart policy {text!r}: maximum retry count must be an integer")
            return cls(name, int(count))
        return cls(name)

    def __str__(self) -> str:
        return f"{self.name}:{self.maximum}" if self.maximum else self.name

    def should_restart(self, exit_code: int, restart_count: int, stopped_by_user: bool) -> bool:
        if stopped_by_user or self.name == "no":
            return False
        if self.name == "on-failure":
            return exit_code != 0 and (self.maximum == 0 or restart_count < self.maximum)
        return True


class MonitorSpec:
    """What a monitor is asked to do.  `log_path` "" means no log (Docker's
    `none` driver); log_max_size 0 means the log never rotates.  `health`
    is the container's health check, or None:
    {"test": ["CMD-SHELL", "..."] or ["CMD", ...], "interval", "timeout",
    "start_period", "start_interval" (seconds), "retries"}."""

    def __init__(self, container_id: str, bundle: str, state_dir: str, log_path: str,
                 runtime: str | None = None, runtime_root: str = "/run/hakobune-runtime",
                 tty: bool = False, stdin_open: bool = False, restart: "RestartPolicy | str" = "no",
                 log_max_size: int = 0, log_max_file: int = 1, health: dict | None = None):
        self.container_id = container_id
        self.bundle = os.path.abspath(bundle)
        self.state_dir = os.path.abspath(state_dir)
        self.log_path = os.path.abspath(log_path) if log_path else ""
        self.runtime = runtime or default_runtime()
        self.runtime_root = os.path.abspath(runtime_root)
        self.tty = tty
        self.stdin_open = stdin_open
        self.restart = restart if isinstance(restart, RestartPolicy) else RestartPolicy.parse(restart)
        self.log_max_size = log_max_size
        self.log_max_file = log_max_file
        self.health = health

    def to_dict(self) -> dict:
        return {"container_id": self.container_id, "bundle": self.bundle, "state_dir": self.state_dir,
                "log_path": self.log_path, "runtime": self.runtime, "runtime_root": self.runtime_root,
                "tty": self.tty, "stdin_open": self.stdin_open, "restart": str(self.restart),
                "log_max_size": self.log_max_size, "log_max_file": self.log_max_file, "health": self.health}

    @classmethod
    def from_dict(cls, data: dict) -> "MonitorSpec":
        return cls(**data)

    def path(self, name: str) -> str:
        return os.path.join(self.state_dir, name)


def read_json(path: str) -> dict | None:
    try:
        with open(path, "rb") as f:
            return _fastjson.loads(f.read())
    except FileNotFoundError:
        return None


def rfc3339nano(seconds_ns: int) -> str:
    """Go's time.RFC3339Nano in UTC (trailing zeros of the fraction dropped)."""
    seconds, nanos = divmod(seconds_ns, 1_000_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    if nanos:
        text += "." + f"{nanos:09d}".rstrip("0")
    return text + "Z"
