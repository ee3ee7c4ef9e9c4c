"""hakobune's own runtime, called by the monitor through its library
(`hakobune.runtime.container`) in a fork of the monitor instead of as
`hakobune-runtime` processes: a `create` + `start` spares two interpreter
starts (some 40-80 ms).

The monitor's runtime calls keep the command line's shape (`create --bundle
B --pid-file P [--console-socket S] ID`, `start ID`, `kill ID SIG`, `delete
--force ID`, `exec --pid-file P ID CMD...`, and `create-start`, create's
arguments, which creates and starts in one fork, exiting with START_FAILED
when the start failed after the create): `call` parses them with the
runtime's own parser and answers as the command would, (exit status, stderr
text), so the monitor treats both ways alike; `spawn` starts one (a health
check's `exec`) and returns its pid, which the monitor reaps as it would
reap the command's.  Other runtimes (runc, crun, a path) keep the command
line.

What keeps the monitor as it was: each call runs in a forked copy of the
monitor (`call`), which is the runtime's process as `hakobune-runtime`
would be: the container's stdio on its 0-2, its own allocations, imports
and children, gone when it exits.  The modules are imported by the zygote
(`zygote._preload`), so that the fork finds them loaded and their pages
stay shared.
"""

import os

from hakobune.errors import HakobuneError, InvalidArgument
from hakobune.monitor import spec as Sp


_PATHS_ADDED: list = []  # by the zygote's preload, else in each forked call
START_FAILED = 2  # the exit status of `create-start` when the start failed (the container was created)


class _StartFailed(Exception):
    """`create-start`'s start failed: the caller deletes the created container."""


def is_own_runtime(runtime: str) -> bool:
    """Whether the spec's runtime is this installation's hakobune-runtime
    (HAKOBUNE_RUNTIME_IN_MONITOR=0 in the caller's environment keeps the
    command line, for comparisons and diagnosis)."""
    if os.environ.get("HAKOBUNE_RUNTIME_IN_MONITOR") == "0":
        return False
    own = Sp.default_runtime()
    return runtime == own or os.path.realpath(runtime) == os.path.realpath(own)


def preload() -> None:
    """What `call` needs: imported once, by the monitors' common parent."""
    from hakobune.runtime import cgroups, cli, container, execute, seccomp_cache  # noqa: F401

    _PATHS_ADDED.append(True)
    add_venv_paths()


def add_venv_paths() -> None:
    """The venv's (and, when it includes them, the system's) site-packages,
    as the `hakobune-runtime` launcher adds them: the monitor runs with -I
    -S, and a seccomp profile not in the cache needs libseccomp's module."""
    import sys

    venv = os.path.dirname(os.path.dirname(sys.executable))
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    paths = [os.path.join(venv, "lib", version, "site-packages")]
    try:
        with open(os.path.join(venv, "pyvenv.cfg")) as f:
            if "include-system-site-packages = true" in f.read():
                paths += [f"/usr/local/lib/{version}/dist-packages", "/usr/lib/python3/dist-packages"]
    except OSError:
        pass
    sys.path.extend(path for path in paths if path not in sys.path and os.path.isdir(path))


def call(root: str, args: list, stdio=None) -> tuple[int, str]:
    """Run one runtime verb in a forked copy of this process; (exit status,
    message) as the `hakobune-runtime` command would give them.

    The copy is the runtime's process, as `hakobune-runtime` would be, but
    without an interpreter's start: whatever the runtime does to its
    process (stdio on 0-2, its allocations and imports, reaping its stage
    one) stays out of the monitor, whose memory stays shared with the
    zygote's.  The container's init is reparented to the monitor (a child
    subreaper) when stage one exits, as with the command line."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        _run_forked(root, args, stdio, read_end, write_end)
    os.close(write_end)
    try:
        message = _read_all(read_end)
    finally:
        os.close(read_end)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    return os.waitstatus_to_exitcode(status), message


def spawn(root: str, args: list, stdio) -> int:
    """Start one runtime verb in a forked copy of this process and return
    its pid at once: the copy is the runtime's process as the command would
    be (stdio on 0-2, its messages on stderr, the verb's exit status as its
    own), holding no other descriptor of the monitor's, so that no client
    or pipe of the monitor's is kept open by it.  The caller reaps it."""
    pid = os.fork()
    if pid == 0:
        _run_spawned(root, args, stdio)
    return pid


def _run_spawned(root: str, args: list, stdio) -> None:
    """The spawned runtime process: never returns."""
    code = 1
    try:
        _become_runtime_process(stdio)
        os.closerange(3, _max_fd())
        code, message = _call_here(root, args)
        if message:
            os.write(2, (message + "\n").encode(errors="replace"))
    except BaseException as e:  # noqa: BLE001 - say why on stderr, as the command would
        try:
            os.write(2, f"hakobune-runtime: {type(e).__name__}: {e}\n".encode(errors="replace"))
        except OSError:
            pass
    finally:
        os._exit(code)


def _max_fd() -> int:
    try:
        return os.sysconf("SC_OPEN_MAX")
    except (OSError, ValueError):
        return 65536


def _become_runtime_process(stdio) -> None:
    """What a fork of the monitor drops to be the runtime's process: the
    collector (short-lived: spare the copy-on-write of the shared objects),
    the monitor's signal handlers and wake-up pipe; and the stdio it gets."""
    import _signal
    import gc

    gc.disable()
    _signal.set_wakeup_fd(-1)  # the monitor's wake-up pipe is not ours
    for number in (_signal.SIGCHLD, _signal.SIGHUP):
        _signal.signal(number, _signal.SIG_DFL)
    if stdio is not None:
        for target, fd in enumerate(stdio):
            if fd != target:
                os.dup2(fd, target)


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except InterruptedError:
            continue
        if not chunk:
            return b"".join(chunks).decode(errors="replace").strip()
        chunks.append(chunk)


def _run_forked(root: str, args: list, stdio, read_end: int, write_end: int) -> None:
    """The forked runtime process: never returns."""
    code = 1
    try:
        os.close(read_end)
        _become_runtime_process(stdio)
        code, message = _call_here(root, args)
        if message:
            os.write(write_end, message.encode(errors="replace"))
    except BaseException as e:  # noqa: BLE001 - everything must reach the monitor
        try:
            os.write(write_end, f"hakobune-runtime: {type(e).__name__}: {e}".encode(errors="replace"))
        except OSError:
            pass
    finally:
        os._exit(code)


def call_here(root: str, args: list) -> tuple[int, str]:
    """Run one runtime verb in this very process (a monitor's last call,
    just before it exits); (exit status, message) as `call` gives them."""
    try:
        return _call_here(root, args)
    except Exception as e:  # noqa: BLE001 - reported as the command line would
        return 1, f"hakobune-runtime: {type(e).__name__}: {e}"


def _call_here(root: str, args: list) -> tuple[int, str]:
    if not _PATHS_ADDED:
        _PATHS_ADDED.append(True)
        add_venv_paths()
    from hakobune.runtime import cli, init

    if os.environ.get("HAKOBUNE_RUNTIME_DEBUG") and not init._DEBUG:
        # read when the zygote imported the runtime: this caller's wish counts
        import traceback

        init.traceback = traceback
        init._DEBUG = True

    together = bool(args) and args[0] == "create-start"  # create's command line, both verbs
    try:
        _, command, parsed = cli.parse(["create", *args[1:]] if together else args)
        return _VERBS["create-start" if together else command](root, parsed) or 0, ""
    except _StartFailed as e:
        return START_FAILED, f"hakobune-runtime: {e}"
    except HakobuneError as e:
        return 1, f"hakobune-runtime: {e}"
    except OSError as e:
        return 1, f"hakobune-runtime: {e.strerror}{': ' + str(e.filename) if e.filename else ''}"


def _create(root: str, args) -> None:
    from hakobune.runtime import container as C

    options = C.CreateOptions(bundle=args.get("bundle", "."), pid_file=args.get("pid_file"),
                              console_socket=args.get("console_socket"))
    C.create(root, args.positional[0], options)


def _create_start(root: str, args) -> None:
    """create, then start at once: one fork of the monitor for both."""
    from hakobune.runtime import container as C

    _create(root, args)
    try:
        C.start(root, args.positional[0])
    except HakobuneError as e:
        raise _StartFailed(str(e)) from None
    except OSError as e:
        raise _StartFailed(f"{e.strerror}{': ' + str(e.filename) if e.filename else ''}") from None


def _start(root: str, args) -> None:
    from hakobune.runtime import container as C

    C.start(root, args.positional[0])


def _kill(root: str, args) -> None:
    from hakobune.runtime import container as C

    name = args.positional[1] if len(args.positional) > 1 else "SIGTERM"
    C.kill(root, args.positional[0], C.parse_signal(name), all_processes=args.get("all", False))


def _delete(root: str, args) -> None:
    from hakobune.runtime import container as C

    C.delete(root, args.positional[0], force=args.get("force", False))


def _exec(root: str, args) -> int:
    """The program's exit status, as `hakobune-runtime exec` exits with it."""
    from hakobune.runtime import execute

    if not args.positional:
        raise InvalidArgument("exec: expects a container id")
    return execute.exec_from_cli(root, args.positional[0], args.positional[1:], args.values)


_VERBS = {"create": _create, "create-start": _create_start, "start": _start, "kill": _kill, "delete": _delete,
          "exec": _exec}
