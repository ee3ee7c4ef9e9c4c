"""One exec, run by `hakobune serve` in a process of its own:

    python -m hakobune.api.exec_runner '<json spec>'

The engine's exec gives the program the caller's stdio, reaps it as a
child subreaper and forwards signals from the main thread: none of that
can happen in a thread of the server, so each exec start runs here, with
the server's pipes as stdio (without a TTY) or, with a TTY, the pty's
master sent back to the server on the inherited socket `master_channel`
(SCM_RIGHTS) for the server to relay and resize.  The exit status of this process is the program's;
a program that cannot be started is reported on stderr with Docker's
message and 126/127.

The spec: {"root", "runroot", "container", "cmd", "env", "workdir", "user",
"privileged", "tty", "interactive", "detach", "console_size", "master_channel"}.
"""

import json
import os
import socket
import sys

def run(spec: dict) -> int:
    from hakobune.engine.engine import Engine
    from hakobune.engine.execution import ExecFailed
    from hakobune.errors import HakobuneError

    engine = Engine(spec["root"], spec["runroot"])
    size = spec.get("console_size")
    try:
        process = engine.exec_container(
            spec["container"], spec["cmd"], env=spec.get("env") or (), workdir=spec.get("workdir") or None,
            user=spec.get("user") or None, privileged=bool(spec.get("privileged")), tty=bool(spec.get("tty")),
            interactive=bool(spec.get("interactive")), detach=bool(spec.get("detach")),
            console_size=tuple(size) if size else None, stdio=(0, 1, 2))
    except ExecFailed as e:
        os.write(2, (e.message + "\r\n").encode())
        return e.status
    except HakobuneError as e:
        os.write(2, (e.message + "\r\n").encode())
        return 126
    if spec.get("detach"):
        return 0
    if process.master_fd >= 0:
        _send_master(spec["master_channel"], process.master_fd, process.pid)
        os.close(process.master_fd)
    return process.wait()


def _send_master(channel_fd: int, master: int, pid: int) -> None:
    channel = socket.socket(fileno=channel_fd)
    try:
        socket.send_fds(channel, [str(pid).encode()], [master])
    finally:
        channel.close()


def main() -> None:
    spec = json.loads(sys.argv[1])
    try:
        status = run(spec)
    except KeyboardInterrupt:
        status = 130
    sys.stdout.flush()
    os._exit(status)


if __name__ == "__main__":
    main()
