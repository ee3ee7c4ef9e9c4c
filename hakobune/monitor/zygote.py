"""The monitors' common parent: one warm interpreter per runroot that forks
a monitor for each container, so that monitors share the interpreter's
pages (measured: about 0.5 MB PSS per idle container, against 3.5 MB for a
monitor started as an interpreter of its own) and a start does not pay for
a new interpreter.

    <runroot>/monitors/zygote-<key>.sock   its socket (0600); <key> names the
                                           code, so a changed hakobune never
                                           forks monitors from an old parent

A request is one JSON line `{"state_dir": ..., "env": {...}}` with four
descriptors attached (SCM_RIGHTS): the monitor's stdin, stdout, stderr and
report pipe.  The zygote forks; the child puts the descriptors on 0-3,
starts a session and runs `process.main(state_dir)`, which forks once more,
so the monitor is nobody's child (it is reparented to init or the nearest
subreaper) and outlives the zygote; the zygote reaps the intermediate.
The answer comes on the report pipe, as for a monitor started on its own.

Failures: the zygote is a convenience, never a dependency.  If it cannot be
reached or started, `launcher.start_monitor` starts the monitor as an
interpreter of its own.  Killing the zygote affects no monitor and no
container (they are not its children); the next start makes a new one.  It
exits after `IDLE_SECONDS` without a request.  Its own imports are the
monitor's (C modules, no `socket`, `json` or `threading`).
"""

import _socket
import gc
import os
import select
import sys

IDLE_SECONDS = 300
DESCRIPTORS = 4  # stdin, stdout, stderr, report


def serve(socket_path: str, on_listening=None) -> None:
    """Accept requests until idle for IDLE_SECONDS."""
    from hakobune import _fastjson
    from hakobune.monitor import process  # what every monitor needs: loaded once, here

    _preload()

    listener = _listen(socket_path)
    if on_listening:
        on_listening()
    gc.collect()
    gc.freeze()  # the children's collector leaves the shared objects (and their pages) alone
    poller = select.poll()
    poller.register(listener.fileno(), select.POLLIN)
    try:
        while poller.poll(IDLE_SECONDS * 1000):
            try:
                fd, _ = listener._accept()
            except OSError:
                continue
            connection = _socket.socket(fileno=fd)
            try:
                _fork_monitor(connection, process.main, _fastjson.loads)
            except (OSError, ValueError, KeyError):
                pass  # a bad request: its caller falls back to a monitor of its own
            finally:
                connection.close()
            _reap()
    finally:
        try:
            os.unlink(socket_path)
        except FileNotFoundError:
            pass
        listener.close()


def _preload() -> None:
    """Whatever a monitor imports later (ctypes through _sys, the health
    checker, the pty's ioctls): imported in a child, a module's pages would
    be private to that child."""
    import fcntl  # noqa: F401
    import termios  # noqa: F401

    from hakobune import _sys  # noqa: F401
    for name in ("hakobune.monitor.health", "hakobune.monitor.logfile", "hakobune.monitor.inprocess"):
        try:
            __import__(name)
        except ImportError:
            pass
    try:  # hakobune's own runtime, run in forks of the monitors (`inprocess`)
        from hakobune.monitor import inprocess

        inprocess.preload()
    except ImportError:
        pass


def _listen(socket_path: str):
    """Bind under a temporary name and rename: the socket appears only once
    it accepts, and never with a mode others could use."""
    listener = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    temporary = f"{socket_path}.{os.getpid()}"
    old_mask = os.umask(0o177)
    try:
        listener.bind(temporary)
    finally:
        os.umask(old_mask)
    listener.listen(64)
    os.rename(temporary, socket_path)
    return listener


def _fork_monitor(connection, monitor_main, loads) -> None:
    connection.settimeout(10)
    message, fds = _receive(connection)
    if len(fds) != DESCRIPTORS or not message.endswith(b"\n"):
        for fd in fds:
            os.close(fd)
        return
    request = loads(message)
    state_dir = request["state_dir"]
    if os.fork():
        for fd in fds:
            os.close(fd)
        return
    try:  # the child: never back into the zygote's loop
        connection.close()
        for target, fd in enumerate(fds):
            if fd != target:
                os.dup2(fd, target)
        os.closerange(DESCRIPTORS, 65536)
        os.setsid()
        _name("hk-monitor")
        os.environ.clear()
        os.environ.update(request.get("env") or {})
        monitor_main(state_dir)
    except BaseException as e:  # noqa: BLE001
        try:
            os.write(2, f"monitor (forked): {type(e).__name__}: {e}\n".encode())
        except OSError:
            pass
    os._exit(0)


def _receive(connection) -> tuple[bytes, list[int]]:
    message, ancillary, _, _ = connection.recvmsg(65536, _socket.CMSG_SPACE(DESCRIPTORS * 4))
    fds = []
    for level, kind, data in ancillary:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            usable = len(data) - len(data) % 4
            fds.extend(int.from_bytes(data[i:i + 4], sys.byteorder) for i in range(0, usable, 4))
    return message, fds


def _name(name: str) -> None:
    """The process's name in ps and /proc/PID/comm."""
    try:
        with open("/proc/self/comm", "w") as f:
            f.write(name)
    except OSError:
        pass


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main(socket_path: str) -> None:
    """Entry point of the interpreter `launcher` spawns (in a new session;
    fd 3 is a pipe, closed once the socket accepts or at a failure)."""
    ready = 3
    os.set_inheritable(ready, False)
    if os.fork():
        os._exit(0)  # the spawner reaps this; the zygote is orphaned
    os.umask(0o022)
    os.chdir("/")
    _name("hk-zygote")  # launcher.ZYGOTE_NAME
    try:
        serve(socket_path, on_listening=lambda: os.close(ready))
    finally:
        os._exit(0)
