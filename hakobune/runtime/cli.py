"""`hakobune-runtime`: the runc-compatible command line of hakobune's OCI runtime.

Only argument parsing and printing live here; each verb calls one function of
`hakobune.runtime.container` (or `exec`).  The parser is hand-written because
argparse alone would cost more start-up time than the rest of `create`.
"""

import os
import sys

from hakobune.errors import HakobuneError, InvalidArgument

GLOBAL_OPTIONS = {
    "--root": "root", "--log": "log", "--log-format": "log_format",
    "--debug": None, "--systemd-cgroup": None, "--rootless": "rootless", "--criu": "criu",
}
GLOBAL_FLAGS = {"--debug", "--systemd-cgroup"}

# command -> {option: (dest, takes_value)}
COMMANDS = {
    "create": {"--bundle": ("bundle", True), "-b": ("bundle", True), "--pid-file": ("pid_file", True),
               "--console-socket": ("console_socket", True), "--preserve-fds": ("preserve_fds", True),
               "--no-pivot": ("no_pivot", False), "--no-new-keyring": ("no_new_keyring", False)},
    "run": {"--bundle": ("bundle", True), "-b": ("bundle", True), "--pid-file": ("pid_file", True),
            "--console-socket": ("console_socket", True), "--preserve-fds": ("preserve_fds", True),
            "--detach": ("detach", False), "-d": ("detach", False), "--no-pivot": ("no_pivot", False),
            "--no-new-keyring": ("no_new_keyring", False), "--keep": ("keep", False)},
    "start": {},
    "state": {},
    "kill": {"--all": ("all", False), "-a": ("all", False)},
    "delete": {"--force": ("force", False), "-f": ("force", False)},
    "exec": {"--process": ("process", True), "-p": ("process", True), "--tty": ("tty", False),
             "-t": ("tty", False), "--detach": ("detach", False), "-d": ("detach", False),
             "--pid-file": ("pid_file", True), "--console-socket": ("console_socket", True),
             "--cwd": ("cwd", True), "--env": ("env", "list"), "-e": ("env", "list"),
             "--user": ("user", True), "-u": ("user", True), "--additional-gids": ("gids", "list"),
             "-g": ("gids", "list"), "--cap": ("cap", "list"), "-c": ("cap", "list"),
             "--no-new-privs": ("no_new_privs", False), "--preserve-fds": ("preserve_fds", True)},
    "pause": {},
    "resume": {},
    "ps": {"--format": ("format", True), "-f": ("format", True)},
    "list": {"--format": ("format", True), "-f": ("format", True), "--quiet": ("quiet", False),
             "-q": ("quiet", False)},
    "update": {"--resources": ("resources", True), "-r": ("resources", True), "--memory": ("memory", True),
               "--memory-swap": ("memory_swap", True), "--memory-reservation": ("memory_reservation", True),
               "--cpu-shares": ("cpu_shares", True), "--cpu-quota": ("cpu_quota", True),
               "--cpu-period": ("cpu_period", True), "--cpuset-cpus": ("cpuset_cpus", True),
               "--cpuset-mems": ("cpuset_mems", True), "--pids-limit": ("pids_limit", True)},
    "features": {},
    "spec": {"--bundle": ("bundle", True), "-b": ("bundle", True), "--rootless": ("rootless", False)},
    "version": {},
}


class Args:
    def __init__(self):
        self.values: dict = {}
        self.positional: list[str] = []

    def get(self, key, default=None):
        return self.values.get(key, default)


def parse(argv: list[str]) -> tuple[dict, str, Args]:
    glob: dict = {}
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        name, eq, value = argv[i].partition("=")
        if name in ("--version", "-v"):
            return glob, "version", Args()
        if name in ("--help", "-h"):
            return glob, "help", Args()
        if name not in GLOBAL_OPTIONS:
            raise InvalidArgument(f"unknown global option {name}")
        if name in GLOBAL_FLAGS:
            i += 1
            continue
        if not eq:
            i += 1
            if i >= len(argv):
                raise InvalidArgument(f"option {name} needs a value")
            value = argv[i]
        glob[GLOBAL_OPTIONS[name]] = value
        i += 1
    if i >= len(argv):
        return glob, "help", Args()
    command = argv[i]
    if command not in COMMANDS:
        raise InvalidArgument(f"unknown command {command!r}")
    return glob, command, _parse_command(COMMANDS[command], argv[i + 1:], command)


def _parse_command(spec: dict, argv: list[str], command: str) -> Args:
    args = Args()
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            args.positional.extend(argv[i + 1:])
            break
        if not word.startswith("-") or word == "-" or args.positional:
            args.positional.append(word)
            i += 1
            continue
        name, eq, value = word.partition("=")
        if name not in spec:
            raise InvalidArgument(f"{command}: unknown option {name}")
        dest, kind = spec[name]
        if kind is False:
            args.values[dest] = value.lower() not in ("false", "0") if eq else True
        else:
            if not eq:
                i += 1
                if i >= len(argv):
                    raise InvalidArgument(f"{command}: option {name} needs a value")
                value = argv[i]
            if kind == "list":
                args.values.setdefault(dest, []).append(value)
            else:
                args.values[dest] = value
        i += 1
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    glob: dict = {}
    try:
        glob, command, args = parse(argv)
        from hakobune.runtime import commands

        return commands.dispatch(command, glob, args)
    except HakobuneError as e:
        _report(glob, str(e))
        return 1
    except OSError as e:
        _report(glob, f"{e.strerror}{': ' + str(e.filename) if e.filename else ''}")
        return 1
    except KeyboardInterrupt:
        return 130


def _report(glob: dict, message: str) -> None:
    os.write(2, f"hakobune-runtime: {message}\n".encode())
    log = glob.get("log")
    if not log:
        return
    import json
    import time

    if glob.get("log_format") == "json":
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        line = json.dumps({"level": "error", "msg": message, "time": stamp})
    else:
        line = f"error: {message}"
    with open(log, "a") as f:
        f.write(line + "\n")


if __name__ == "__main__":
    sys.exit(main())
