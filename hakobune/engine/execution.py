"""`exec`: another process in a running container, as Docker's exec does.

The process is the container's own (its OCI process: capabilities,
seccomp, AppArmor profile, rlimits, no_new_privs, user, cwd) with
Docker's changes: the command, the container's Config.Env with TERM=xterm
under -t and the -e values on top, -w, -u (looked up in the container's
/etc/passwd and /etc/group at exec time), --privileged (every capability).

For containers of hakobune's own runtime the exec happens in this process
through the runtime's library (hakobune.runtime.execute): no second
interpreter is started, which is most of what makes exec fast.  Other OCI
runtimes (runc, crun, a path) get `RUNTIME --root ROOT exec --process
FILE ID`.

Who reaps the process: in the foreground the caller is made a child
subreaper, so the program becomes its child once the runtime's stage one
has exited, and `ExecProcess.wait` collects its status (forwarding SIGINT,
SIGTERM, SIGHUP, SIGQUIT, SIGUSR1/2 and SIGWINCH to it, as `runc exec`
does).  Detached (-d), nobody in hakobune waits: the program is reparented
to the nearest subreaper above the CLI, else the host's init, which reaps
it as any daemonized process; it stays in the container's cgroup and PID
namespace, so `top`/`stats` count it and the container's end kills it.
Its stdio is /dev/null, as Docker discards a detached exec's output; with
-t too it gets no pty (no process would hold the master, whose closing
would hang the program up).

This module is on the exec fast path: it imports nothing heavy at module
level and finds the container without hakobune.engine.containers (whose
imports cost ~8 ms), following the same on-disk layout and lookup rules
(tests/unit/test_exec_lookup.py holds the two to the same answers).
"""

import os

from hakobune import _fastjson
from hakobune.errors import Conflict, InvalidArgument, NotFound

RECORD = "config.json"
STATE_KEY = 32  # as hakobune.engine.containers: the monitor's state directory is named by the id's first half
OWN_RUNTIMES = ("", "hakobune-runtime", "hakobune")
_HEX = frozenset("0123456789abcdef")


# --- finding the container ------------------------------------------------------

def _is_hex(text: str) -> bool:
    return bool(text) and _HEX.issuperset(text)


def _read_record(directory: str, container_id: str) -> dict | None:
    try:
        with open(os.path.join(directory, container_id, RECORD), "rb") as f:
            return _fastjson.loads(f.read())
    except FileNotFoundError:
        return None


def find_record(root: str, text: str) -> dict:
    """The record `text` names: full id, name, or unique id prefix, in that
    order (ContainerStore.lookup's rules and messages)."""
    if not text:
        raise NotFound("No such container: ")
    directory = os.path.join(root, "containers")
    if len(text) == 64 and _is_hex(text):
        record = _read_record(directory, text)
        if record is not None:
            return record
    try:
        ids = [n for n in os.listdir(directory) if len(n) == 64 and _is_hex(n)]
    except FileNotFoundError:
        ids = []
    bare = text[1:] if text.startswith("/") else text
    records = []
    for container_id in ids:
        record = _read_record(directory, container_id)
        if record is None:
            continue
        if record.get("Name") == "/" + bare:
            return record
        records.append(record)
    if _is_hex(text):
        matches = [r for r in records if r["Id"].startswith(text)]
        if len(matches) > 1:
            raise InvalidArgument(f"multiple IDs found with provided prefix: {text}")
        if matches:
            return matches[0]
    raise NotFound(f"No such container: {text}")


def monitor_dir(runroot: str, container_id: str) -> str:
    return os.path.join(runroot, "containers", container_id[:STATE_KEY])


def monitor_status(runroot: str, container_id: str) -> dict:
    """The monitor's spec and state files (empty dicts when absent)."""
    from hakobune.monitor.spec import SPEC_FILE, STATE_FILE, read_json

    directory = monitor_dir(runroot, container_id)
    return {"spec": read_json(os.path.join(directory, SPEC_FILE)) or {},
            "state": read_json(os.path.join(directory, STATE_FILE)) or {}}


class Target:
    """A running container as exec sees it: record, runtime, state, config."""

    def __init__(self, record: dict, runtime: str | None, runtime_root: str, pid: int, config: dict, state=None):
        self.record = record
        self.id = record["Id"]
        self.runtime = runtime  # None: hakobune's own, in this process
        self.runtime_root = runtime_root
        self.pid = pid
        self.config = config
        self.state = state  # the runtime library's ContainerState (own runtime only)


def not_running(container_id: str) -> Conflict:
    return Conflict(f"Container {container_id} is not running")


def running_target(root: str, runroot: str, name: str) -> Target:
    """The container `name` names, which must be running (Docker's 409s otherwise)."""
    record = find_record(root, name)
    container_id = record["Id"]
    monitor = monitor_status(runroot, container_id)
    if monitor["state"].get("status") == "restarting":
        raise Conflict(f"Container {container_id} is restarting, wait until the container is running")
    runtime_root = monitor["spec"].get("runtime_root") or os.path.join(runroot, "runtime")
    runtime = _other_runtime(record, monitor["spec"])
    if runtime is None:
        return _own_runtime_target(record, runtime_root)
    return _other_runtime_target(record, runtime, runtime_root, monitor)


def _other_runtime(record: dict, spec: dict) -> str | None:
    """The binary of a runtime other than hakobune's own, or None."""
    name = (record.get("HostConfig") or {}).get("Runtime") or ""
    used = spec.get("runtime") or ""
    if name in OWN_RUNTIMES and (not used or os.path.basename(used) == "hakobune-runtime"):
        return None
    if used:
        return used
    import shutil

    found = name if "/" in name else shutil.which(name)
    if not found:
        raise InvalidArgument(f"unknown or invalid runtime name: {name}")
    return found


def _own_runtime_target(record: dict, runtime_root: str) -> Target:
    from hakobune.runtime import container as C, state as St

    container_id = record["Id"]
    try:
        state = St.load(runtime_root, container_id)
    except NotFound:
        raise not_running(container_id) from None
    status = C.container_status(state)
    if status == "paused":
        raise Conflict(f"Container {container_id} is paused, unpause the container before exec")
    if status != "running":
        raise not_running(container_id)
    return Target(record, None, runtime_root, state.pid, state.config(), state)


def _other_runtime_target(record: dict, runtime: str, runtime_root: str, monitor: dict) -> Target:
    from hakobune.runtime.state import process_start_time

    container_id = record["Id"]
    pid = monitor["state"].get("pid") or 0
    if monitor["state"].get("status") not in ("running", "created") or not pid or process_start_time(pid) is None:
        raise not_running(container_id)
    config = _bundle_config(os.path.join(runtime_root, container_id), monitor["spec"].get("bundle"), record)
    return Target(record, runtime, runtime_root, pid, config)


def _bundle_config(state_directory: str, bundle: str | None, record: dict) -> dict:
    """The OCI config the container was created with: the runtime's copy if it
    keeps one (runc does not), else the bundle's."""
    candidates = [os.path.join(state_directory, "config.json")]
    if bundle:
        candidates.append(os.path.join(bundle, "config.json"))
    for path in candidates:
        try:
            with open(path, "rb") as f:
                return _fastjson.loads(f.read())
        except FileNotFoundError:
            continue
    raise NotFound(f"container {record['Id']}: its OCI config is missing")


# --- the process -------------------------------------------------------------------

class ExecOptions:
    def __init__(self, command, env=(), workdir: str | None = None, user: str | None = None,
                 privileged: bool = False, tty: bool = False, interactive: bool = False, detach: bool = False,
                 console_size: tuple[int, int] | None = None):
        if not command:
            raise InvalidArgument("No exec command specified")
        self.command = list(command)
        self.env = list(env or ())
        self.workdir = workdir or None
        self.user = user or None
        self.privileged = privileged
        self.tty = tty
        self.interactive = interactive
        self.detach = detach
        self.console_size = console_size


def build_process(target: Target, options: ExecOptions) -> dict:
    """The OCI process of the exec: the container's, with Docker's changes."""
    base = target.config.get("process") or {}
    process = {key: value for key, value in base.items() if key not in ("consoleSize",)}
    process["args"] = options.command
    # detached, nobody would hold the pty's master, and its closing would
    # hang the program up (SIGHUP): a detached -t gets no terminal
    process["terminal"] = options.tty and not options.detach
    process["env"] = exec_env(target.record, base.get("env") or [], options)
    if options.workdir:
        if not options.workdir.startswith("/"):
            raise InvalidArgument(f"the working directory '{options.workdir}' is invalid, "
                                  "it needs to be an absolute path")
        process["cwd"] = options.workdir
    if options.user:
        from hakobune.engine.specgen import resolve_user

        process["user"] = resolve_user(f"/proc/{target.pid}/root", options.user)["user"]
    process["user"] = _with_primary_group(process.get("user") or {})
    if options.privileged:
        process["capabilities"] = _all_capabilities()
        if process.get("apparmorProfile"):
            process["apparmorProfile"] = "unconfined"
    if process["terminal"] and options.console_size:
        # the OCI field: runc sizes the pty before the program starts
        process["consoleSize"] = {"height": options.console_size[0], "width": options.console_size[1]}
    return process


def exec_env(record: dict, init_env: list[str], options: ExecOptions) -> list[str]:
    """Docker's: the container's Config.Env (PATH and HOSTNAME included),
    TERM=xterm with -t, then -e (a bare NAME removes NAME).  HOME is left to
    the runtime, which takes it from the exec user's passwd entry."""
    config_env = (record.get("Config") or {}).get("Env")
    if config_env is None:
        config_env = [e for e in init_env if not e.startswith("HOME=")]
    order: list[str] = []
    values: dict[str, str] = {}

    def put(entry: str) -> None:
        key, eq, _ = entry.partition("=")
        if not eq:
            if key in values:
                del values[key]
                order.remove(key)
            return
        if key not in values:
            order.append(key)
        values[key] = entry

    for entry in config_env:
        put(entry)
    if options.tty:
        put("TERM=xterm")
    for entry in options.env:
        put(entry)
    return [values[key] for key in order]


def _with_primary_group(user: dict) -> dict:
    """Docker's exec user has its primary group among its groups (`id`
    shows groups=GID), as libcontainer's user lookup gives it."""
    gid = user.get("gid", 0)
    groups = list(user.get("additionalGids") or [])
    if gid not in groups:
        groups.insert(0, gid)
    return {**user, "additionalGids": groups}


def _all_capabilities() -> dict:
    """Every capability we hold ourselves (Docker's "all" is the host's
    every capability; a root without some of them cannot grant those)."""
    from hakobune.oci.capabilities import NAMES

    bounding = 0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapBnd:"):
                bounding = int(line.split()[1], 16)
                break
    names = [name for number, name in enumerate(NAMES) if bounding >> number & 1]
    return {kind: list(names) for kind in ("bounding", "effective", "permitted")}


# --- errors as Docker words them ----------------------------------------------------

class ExecFailed(Exception):
    """The runtime could not start the program: Docker's message and status
    (127: not found, 126: cannot be invoked)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.message = message
        self.status = status


def exec_failure(error: Exception, program: str) -> ExecFailed:
    reason = str(error)
    low = reason.lower()
    if reason.startswith("exec: "):
        pass  # the runtime's own lookup words it as runc does
    elif "permission denied" in low:
        reason = f'exec: "{program}": permission denied'
    elif "exec format error" in low:
        reason = f'exec: "{program}": exec format error'
    elif low.startswith("exec ") and "no such file or directory" in low:
        reason = f'exec: "{program}": no such file or directory'
    elif low.startswith("process.cwd "):
        cwd, _, why = reason[len("process.cwd "):].partition(": ")
        reason = f'chdir to cwd ("{cwd}") set in config.json failed: {why.lower()}'
    if "executable file not found" in reason or "no such file or directory" in reason:
        status = 127
    else:
        status = 126
    return ExecFailed(f"OCI runtime exec failed: exec failed: unable to start container process: {reason}: unknown",
                      status)


# --- starting and waiting --------------------------------------------------------------

class ExecProcess:
    """A started exec: its pid (0 when detached), the pty master under -t."""

    def __init__(self, pid: int, master_fd: int = -1, status: int | None = None):
        self.pid = pid
        self.master_fd = master_fd
        self.status = status  # known already (the foreground path without -t waits inside start)

    def wait(self) -> int:
        """The program's exit status (128+N when killed by signal N),
        forwarding the signals `runc exec` forwards meanwhile."""
        if self.status is None:
            self.status = _wait_forwarding_signals(self.pid)
        return self.status


_FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")


def _wait_forwarding_signals(pid: int) -> int:
    import _signal  # not `signal`: that imports enum

    def forward(number, _frame):
        try:
            os.kill(pid, number)
        except ProcessLookupError:
            pass

    previous = {name: _signal.signal(getattr(_signal, name), forward) for name in _FORWARDED}
    try:
        while True:
            try:
                _, status = os.waitpid(pid, 0)
            except ChildProcessError:
                return 255  # reaped by someone else: the status is lost
            if os.WIFEXITED(status):
                return os.WEXITSTATUS(status)
            if os.WIFSIGNALED(status):
                return 128 + os.WTERMSIG(status)
    finally:
        for name, handler in previous.items():
            _signal.signal(getattr(_signal, name), handler)


def start(target: Target, process: dict, options: ExecOptions, stdio: tuple[int, int, int]) -> ExecProcess:
    """Run `process` in the container.  Without -t or -d this waits for the
    program (its status is in the result); with -t it returns once the program
    runs, with the pty master to relay; with -d at once."""
    program = process["args"][0]
    with _stdio(stdio):
        try:
            if target.runtime is None:
                return _start_in_process(target, process, options)
            return _start_with_command(target, process, options)
        except ExecFailed:
            raise
        except (InvalidArgument, NotFound) as e:
            raise exec_failure(e, program) from None
        except Conflict as e:
            if "cannot exec in container" in str(e):  # it stopped since running_target looked
                raise not_running(target.id) from None
            raise
        except Exception as e:  # noqa: BLE001 - a stage one failure comes back as SystemFailure/OSError
            from hakobune.errors import HakobuneError

            if isinstance(e, (HakobuneError, OSError)):
                raise exec_failure(e, program) from None
            raise


class _stdio:
    """Give the program these descriptors as 0, 1, 2 (the runtime's stage one
    inherits ours), and put ours back afterwards."""

    def __init__(self, fds: tuple[int, int, int]):
        self.fds = fds
        self.saved: list[tuple[int, int]] = []

    def __enter__(self):
        if tuple(self.fds) == (0, 1, 2):
            return self
        for target, fd in enumerate(self.fds):
            if fd != target:
                self.saved.append((target, os.dup(target)))
                os.dup2(fd, target)
        return self

    def __exit__(self, *exc):
        for target, saved in self.saved:
            os.dup2(saved, target)
            os.close(saved)
        return False


def _start_in_process(target: Target, process: dict, options: ExecOptions) -> ExecProcess:
    from hakobune import _sys as S
    from hakobune.runtime import execute

    if not process["terminal"]:
        if options.detach:
            execute.exec_process(target.state, target.config, process, {"detach": True})
            return ExecProcess(0, status=0)
        status = execute.exec_process(target.state, target.config, process, {})
        return ExecProcess(0, status=status)
    listener, address = _console_listener()
    pid_file = _pid_file_path(target)
    # the master is taken, and the pty sized, by a thread as soon as stage one
    # sends it: before the program has started, most of the time
    receiver = _MasterReceiver(listener, options.console_size)
    try:
        S.prctl(S.PR_SET_CHILD_SUBREAPER, 1)  # the program is ours to reap once stage one exits
        execute.exec_process(target.state, target.config, process,
                             {"detach": True, "console_socket": address, "pid_file": pid_file})
        master = receiver.result()
        pid = _read_pid(pid_file)
    finally:
        listener.close()
        _unlink(pid_file)
    return ExecProcess(pid, master)


def _start_with_command(target: Target, process: dict, options: ExecOptions) -> ExecProcess:
    """`RUNTIME exec --detach --pid-file`: the program gets our stdio (as
    redirected by `start`) and, unless detached, becomes our child once the
    runtime exits (we are a subreaper), so `wait` works as for our own
    runtime.  The runtime's error is read from its JSON log (`--log`); runc
    also prints it, plain, on the stderr it shares with the program."""
    import subprocess
    import tempfile

    from hakobune import _sys as S

    work = tempfile.mkdtemp(prefix="hakobune-exec-")
    try:
        paths = {name: os.path.join(work, name) for name in ("process.json", "exec.pid", "log.json", "console.sock")}
        with open(paths["process.json"], "w") as f:
            f.write(_fastjson.dumps(process))
        argv = [target.runtime, "--root", target.runtime_root, "--log", paths["log.json"], "--log-format", "json",
                "exec", "--process", paths["process.json"], "--detach", "--pid-file", paths["exec.pid"]]
        listener = None
        if process["terminal"]:
            import socket

            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(paths["console.sock"])
            listener.listen(1)
            argv += ["--console-socket", paths["console.sock"]]
        if not options.detach:
            S.prctl(S.PR_SET_CHILD_SUBREAPER, 1)
        argv.append(target.id)
        try:
            result = subprocess.run(argv)
            if result.returncode != 0:
                raise exec_failure(Exception(_runtime_error(paths["log.json"])), process["args"][0])
            master = -1
            if listener is not None:
                master = _receive_master(listener)
                size_terminal(master, options.console_size)
        finally:
            if listener is not None:
                listener.close()
        if options.detach:
            if master >= 0:
                os.close(master)
            return ExecProcess(0, status=0)
        return ExecProcess(_read_pid(paths["exec.pid"]), master)
    finally:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


def _runtime_error(log_path: str) -> str:
    """The last error of a runc-style JSON log, without runc's own prefixes."""
    reason = "exec failed"
    try:
        with open(log_path, "rb") as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            entry = _fastjson.loads(line)
        except ValueError:
            continue
        if entry.get("level") in ("error", "fatal") and entry.get("msg"):
            reason = entry["msg"]
    for marker in ("unable to start container process: ", "exec failed: "):
        if marker in reason:
            return reason.split(marker, 1)[1]
    return reason


def _console_listener():
    """A listening socket in the abstract namespace (no file to clean up);
    the runtime connects to it before forking and sends the pty master."""
    import socket

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    address = f"\0hakobune-exec-{os.getpid()}-{os.urandom(6).hex()}"
    listener.bind(address)
    listener.listen(1)
    return listener, address


class _MasterReceiver:
    def __init__(self, listener, size):
        import threading

        self.listener, self.size = listener, size
        self.master, self.error = -1, None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            self.master = _receive_master(self.listener)
            size_terminal(self.master, self.size)
        except Exception as e:  # noqa: BLE001 - re-raised by result()
            self.error = e

    def result(self) -> int:
        self.thread.join(15)
        if self.error is not None:
            raise self.error
        if self.master < 0:
            raise InvalidArgument("exec: the runtime sent no terminal")
        return self.master


def _receive_master(listener) -> int:
    import socket

    listener.settimeout(10)
    connection, _ = listener.accept()
    try:
        connection.settimeout(10)
        _, fds, _, _ = socket.recv_fds(connection, 1024, 1)
    finally:
        connection.close()
    if not fds:
        raise InvalidArgument("exec: the runtime sent no terminal")
    return fds[0]


def size_terminal(master: int, size: tuple[int, int] | None) -> None:
    if not size:
        return
    import fcntl
    import struct
    import termios

    rows, cols = size
    try:
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    except OSError:
        pass


def _pid_file_path(target: Target) -> str:
    return os.path.join(target.state.directory, f"exec-{os.getpid()}-{os.urandom(4).hex()}.pid")


def _read_pid(path: str) -> int:
    with open(path) as f:
        return int(f.read().strip())


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
