"""hakobune's own runtime, called by the monitor through its library
(`hakobune.runtime.container`) in a fork of the monitor instead of as
`hakobune-runtime` processes: a `create` + `start` spares two interpreter
starts (some 40-80 ms).

The monitor's runtime calls keep the command line's shape (`create --bundle
B --pid-file P [--console-socket S] ID`, `start ID`, `kill ID SIG`, `delete
--force ID`): `call` parses them with the runtime's own parser and answers
as the command would, (exit status, stderr text), so the monitor treats both
ways alike.  Other runtimes (runc, crun, a path) keep the command line.

What keeps the monitor as it was: each call runs in a forked copy of the
monitor (`call`), which is the runtime's process as `hakobune-runtime`
would be: the container's stdio on its 0-2, its own allocations, imports
and children, gone when it exits.  The modules are imported by the zygote
(`zygote._preload`), so that the fork finds them loaded and their pages
stay shared.
"""

import os

from hakobune.monitor import spec as Sp


_PATHS_ADDED: list = []  # by the zygote's preload, else in each forked call


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
    from hakobune.runtime import cgroups, cli, container, seccomp_cache  # noqa: F401

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
        import _signal
        import gc

        gc.disable()  # short-lived: spare the copy-on-write of the shared objects
        os.close(read_end)
        _signal.set_wakeup_fd(-1)  # the monitor's wake-up pipe is not ours
        for number in (_signal.SIGCHLD, _signal.SIGHUP):
            _signal.signal(number, _signal.SIG_DFL)
        if stdio is not None:
            for target, fd in enumerate(stdio):
                if fd != target:
                    os.dup2(fd, target)
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


def _call_here(root: str, args: list) -> tuple[int, str]:
    if not _PATHS_ADDED:
        _PATHS_ADDED.append(True)
        add_venv_paths()
    from hakobune.errors import HakobuneError
    from hakobune.runtime import cli, init

    if os.environ.get("HAKOBUNE_RUNTIME_DEBUG") and not init._DEBUG:
        # read when the zygote imported the runtime: this caller's wish counts
        import traceback

        init.traceback = traceback
        init._DEBUG = True

    try:
        _, command, parsed = cli.parse(args)
        _VERBS[command](root, parsed)
        return 0, ""
    except HakobuneError as e:
        return 1, f"hakobune-runtime: {e}"
    except OSError as e:
        return 1, f"hakobune-runtime: {e.strerror}{': ' + str(e.filename) if e.filename else ''}"


def _create(root: str, args) -> None:
    from hakobune.runtime import container as C

    options = C.CreateOptions(bundle=args.get("bundle", "."), pid_file=args.get("pid_file"),
                              console_socket=args.get("console_socket"))
    C.create(root, args.positional[0], options)


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


_VERBS = {"create": _create, "start": _start, "kill": _kill, "delete": _delete}
