"""The OCI lifecycle verbs on a container: create, start, run, kill, delete,
pause, resume, update, state.  This is the runtime's library API; `cli` only
parses arguments and calls these functions.
"""

import _signal  # not `signal`: that module imports enum, a cost on every start
import os
import time

from hakobune import _fastjson, _sys as S
from hakobune.errors import Conflict, InvalidArgument, NotFound, SystemFailure
from hakobune.oci.runtime_config import load_config
from hakobune.runtime import init as I, state as St
from hakobune.runtime.channel import Channel
from hakobune.runtime.process import compile_seccomp

DEFAULT_ROOT = "/run/hakobune-runtime"


def seccomp_cache_dir(root: str) -> str:
    return os.path.join(root, ".seccomp-cache")


class CreateOptions:
    def __init__(self, bundle: str = ".", pid_file: str | None = None, console_socket: str | None = None,
                 preserve_fds: int = 0, foreground_terminal: bool = False):
        self.bundle = os.path.abspath(bundle)
        self.pid_file = pid_file
        self.console_socket = console_socket
        self.preserve_fds = preserve_fds
        self.foreground_terminal = foreground_terminal


def _new_cgroup(config: dict, container_id: str):
    from hakobune.runtime.cgroups import open_manager

    return open_manager(config.get("linux", {}).get("cgroupsPath"), container_id)


def cgroup_of(state: St.ContainerState):
    """The manager of the very cgroup directories that `create` made."""
    from hakobune.runtime.cgroups import load_manager

    return load_manager(state.data["cgroup"])


def create(root: str, container_id: str, options: CreateOptions) -> St.ContainerState:
    config = load_config(os.path.join(options.bundle, "config.json"))
    rootfs_path = _check_bundle(config, options)
    seccomp_filter = compile_seccomp(config.get("linux", {}), seccomp_cache_dir(root))
    directory = St.make_directory(root, container_id)
    cgroup = init_pid = None
    try:
        St.write_atomically(os.path.join(directory, "config.json"), _fastjson.dumps(config))
        fifo = os.path.join(directory, "exec.fifo")
        os.mkfifo(fifo, 0o622)
        os.chmod(fifo, 0o622)  # writable by the container's user, whatever the umask
        cgroup = _new_cgroup(config, container_id)
        cgroup.create()
        cgroup.apply(_with_default_devices(config.get("linux", {})))
        state = St.ContainerState(directory, {
            "id": container_id, "pid": 0, "bundle": options.bundle, "rootfs": rootfs_path,
            "created": time.time(), "annotations": config.get("annotations", {}), "owner": "root",
            "cgroup": cgroup.describe(),
        })
        init_pid = _spawn_init(state, config, options, rootfs_path, seccomp_filter, cgroup)
        state.data["pid"] = init_pid
        state.data["pidStartTime"] = St.process_start_time(init_pid)
        state.save()
        if options.pid_file:
            St.write_atomically(os.path.abspath(options.pid_file), str(init_pid))
        return state
    except BaseException:
        _undo_create(directory, init_pid, cgroup)
        I.rootfs.detach_host_mounts(config, rootfs_path)
        raise


# Devices every container may use whatever its rules say, as runc allows them:
# mknod of anything, the default /dev nodes, ptys, the console and tun.
_ALWAYS_ALLOWED_DEVICES = [
    {"allow": True, "type": "c", "access": "m"}, {"allow": True, "type": "b", "access": "m"},
    *({"allow": True, "type": "c", "major": 1, "minor": minor, "access": "rwm"} for minor in (3, 5, 7, 8, 9)),
    *({"allow": True, "type": "c", "major": 5, "minor": minor, "access": "rwm"} for minor in (0, 1, 2)),
    {"allow": True, "type": "c", "major": 136, "access": "rwm"},
    {"allow": True, "type": "c", "major": 10, "minor": 200, "access": "rwm"},
]


def _with_default_devices(linux: dict) -> dict:
    """linux.resources with the device rules the cgroup gets: the config's own,
    then full access to each linux.devices node that no rule of the config
    names (a config that names one, e.g. `c 1:11 r` for `--device X:X:r`,
    gets exactly the access it asked for), then the always-allowed ones."""
    resources = dict(linux.get("resources", {}))
    rules = list(resources.get("devices", []))
    named = {_device_key(rule) for rule in rules if isinstance(rule, dict)}
    for device in linux.get("devices", []):
        if device["type"] not in ("c", "u", "b"):
            continue  # a fifo ("p") is no device: the devices cgroup has no rule for it
        implicit = {"allow": True, "type": "b" if device["type"] == "b" else "c", "major": device.get("major"),
                    "minor": device.get("minor"), "access": "rwm"}
        if _device_key(implicit) not in named:
            rules.append(implicit)
    resources["devices"] = rules + _ALWAYS_ALLOWED_DEVICES
    return resources


def _device_key(rule: dict) -> tuple:
    """The device a rule names exactly (type, major, minor); -1 and None are the same wildcard."""
    major, minor = rule.get("major"), rule.get("minor")
    return (rule.get("type") or "a", None if major == -1 else major, None if minor == -1 else minor)


def _check_bundle(config: dict, options: CreateOptions) -> str:
    if "process" not in config:
        raise InvalidArgument("process: a container needs a process to run")
    rootfs_path = os.path.join(options.bundle, config["root"]["path"])
    if not os.path.isdir(rootfs_path):
        raise NotFound(f"root.path: rootfs {rootfs_path} does not exist or is not a directory")
    kinds = {ns["type"] for ns in config.get("linux", {}).get("namespaces", [])}
    if config.get("hostname") and "uts" not in kinds:
        raise InvalidArgument("hostname: setting a hostname needs a uts namespace")
    if config["process"].get("terminal") and not options.console_socket:
        raise InvalidArgument("process.terminal: a terminal needs --console-socket")
    return os.path.realpath(rootfs_path)


def _spawn_init(state, config, options, rootfs_path, seccomp_filter, cgroup) -> int:
    # Modules the init needs after pivot_root must be imported before the fork.
    console_fd = -1
    if config["process"].get("terminal"):
        from hakobune.runtime import console

        console_fd = console.connect(options.console_socket)
    if config.get("hooks"):
        from hakobune.runtime import hooks  # noqa: F401
    parent, child = Channel.pair()
    plan = I.InitPlan(state.id, config, options.bundle, rootfs_path, state.fifo, child, console_fd,
                      seccomp_filter, _cgroup_mounts(cgroup), options.preserve_fds)
    stage_one = os.fork()
    if stage_one == 0:
        parent.close()
        I.child_main(I.stage_one, plan)
    child.close()
    os.close(plan.fifo_fd)
    if console_fd >= 0:
        os.close(console_fd)
    init_pid = 0
    try:
        if plan.new_userns:
            parent.expect("userns")
            _write_id_maps(stage_one, config["linux"])
            parent.send("mapped")
        cgroup.add(stage_one)
        parent.send("go")
        init_pid = int(parent.expect("init"))
        os.waitpid(stage_one, 0)
        stage_one = 0
        message = parent.receive()
        if message == "hooks":
            _run_runtime_hooks(config, state, init_pid)
            parent.send("go")
            message = parent.receive()
        if message != "ready":
            raise SystemFailure(f"runtime protocol: unexpected {message!r} from init")
        return init_pid
    except BaseException:
        for pid in (stage_one, init_pid):
            _kill_and_reap(pid)
        raise
    finally:
        parent.close()


def _cgroup_mounts(cgroup) -> list[tuple[str, str]]:
    """What the container's /sys/fs/cgroup shows: its own cgroup directories,
    and symlinks for co-mounted controllers."""
    return cgroup.mount_sources() + [(name, "->" + target) for name, target in cgroup.mount_symlinks()]


def _write_id_maps(pid: int, linux: dict) -> None:
    for kind, key in (("uid", "uidMappings"), ("gid", "gidMappings")):
        lines = "".join(f"{m['containerID']} {m['hostID']} {m['size']}\n" for m in linux.get(key, []))
        if lines:
            with open(f"/proc/{pid}/{kind}_map", "w") as f:
                f.write(lines)


def _run_runtime_hooks(config: dict, state: St.ContainerState, init_pid: int) -> None:
    from hakobune.runtime.hooks import run_hooks

    hooks = config.get("hooks", {})
    state.data["pid"] = init_pid
    oci = state.oci_state("created")  # these hooks run after step 2 of the lifecycle
    oci["pid"] = init_pid
    run_hooks(hooks.get("prestart", []), oci, "prestart")
    run_hooks(hooks.get("createRuntime", []), oci, "createRuntime")


def _kill_and_reap(pid) -> None:
    if not pid:
        return
    try:
        os.kill(pid, _signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def _undo_create(directory: str, init_pid, cgroup) -> None:
    if init_pid:
        _kill_and_reap(init_pid)
    if cgroup is not None:
        _destroy_cgroup(cgroup)
    _remove_directory(directory)


def _remove_directory(directory: str) -> None:
    """A state directory holds only flat files: no need for shutil."""
    try:
        for name in os.listdir(directory):
            os.unlink(os.path.join(directory, name))
        os.rmdir(directory)
    except FileNotFoundError:
        pass


def _destroy_cgroup(cgroup) -> None:
    for pid in cgroup.pids():
        try:
            os.kill(pid, _signal.SIGKILL)
        except ProcessLookupError:
            pass
    cgroup.destroy()


def start(root: str, container_id: str) -> St.ContainerState:
    state = St.load(root, container_id)
    status = state.status()
    if status != "created":
        raise Conflict(f"cannot start container {container_id}: it is {status}, not created")
    _release_init(state)
    os.unlink(state.fifo)
    hooks = state.config().get("hooks", {}).get("poststart")
    if hooks:
        from hakobune.runtime.hooks import run_hooks

        run_hooks(hooks, state.oci_state("running"), "poststart", warn_only=True)
    return state


def _release_init(state: St.ContainerState) -> None:
    """Open the exec fifo: the init, blocked opening its other end, writes a
    byte and goes on to exec.  poll() wakes on that byte; its timeout only
    serves to notice an init that died before it opened the fifo."""
    import select

    fd = os.open(state.fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        deadline = time.monotonic() + 10
        while True:
            if poller.poll(100) and os.read(fd, 1):
                return
            if not state.init_alive() or time.monotonic() > deadline:
                raise SystemFailure(f"container {state.id}: init exited before start")
    finally:
        os.close(fd)


def container_status(state: St.ContainerState) -> str:
    status = state.status()
    if status == "running":
        cgroup = cgroup_of(state)
        if cgroup.state() == "frozen":
            return "paused"
    return status


def oci_state(root: str, container_id: str) -> dict:
    state = St.load(root, container_id)
    result = state.oci_state(container_status(state))
    result["rootfs"] = state.data.get("rootfs", "")
    result["created"] = _rfc3339(state.data.get("created", 0))
    result["owner"] = state.data.get("owner", "")
    return result


def _rfc3339(seconds: float) -> str:
    whole = int(seconds)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{int((seconds - whole) * 1e9):09d}Z"


def parse_signal(name: str) -> int:
    text = name.upper()
    if text.isdigit():
        return int(text)
    if not text.startswith("SIG"):
        text = "SIG" + text
    number = getattr(_signal, text, None)
    if not isinstance(number, int) or text.startswith("SIG_"):
        raise InvalidArgument(f"unknown signal {name!r}")
    return int(number)


def kill(root: str, container_id: str, sig: int, all_processes: bool = False) -> None:
    state = St.load(root, container_id)
    status = container_status(state)
    if status == "stopped":
        raise Conflict(f"cannot kill container {container_id}: it is not running")
    pids = [state.pid]
    if all_processes:
        pids = cgroup_of(state).pids() or pids
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def delete(root: str, container_id: str, force: bool = False) -> None:
    try:
        state = St.load(root, container_id)
    except NotFound:
        if force:
            return
        raise
    config = state.config()
    status = container_status(state)
    if status != "stopped" and not force:
        raise Conflict(f"cannot delete container {container_id} that is not stopped: it is {status}")
    cgroup = cgroup_of(state)
    if status != "stopped":
        _stop_forcibly(state, cgroup, status)
    _destroy_cgroup(cgroup)
    I.rootfs.detach_host_mounts(config, state.data["rootfs"])
    _remove_directory(state.directory)
    hooks = config.get("hooks", {}).get("poststop")
    if hooks:
        from hakobune.runtime.hooks import run_hooks

        run_hooks(hooks, state.oci_state("stopped"), "poststop", warn_only=True)


def _stop_forcibly(state: St.ContainerState, cgroup, status: str) -> None:
    if status == "paused":
        cgroup.thaw()
    try:
        os.kill(state.pid, _signal.SIGKILL)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 10
    while state.init_alive() and time.monotonic() < deadline:
        _reap_if_child(state.pid)
        time.sleep(0.002)


def _reap_if_child(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def pause(root: str, container_id: str) -> None:
    state = St.load(root, container_id)
    status = container_status(state)
    if status != "running":
        raise Conflict(f"cannot pause container {container_id}: it is {status}, not running")
    cgroup_of(state).freeze()


def resume(root: str, container_id: str) -> None:
    state = St.load(root, container_id)
    status = container_status(state)
    if status != "paused":
        raise Conflict(f"cannot resume container {container_id}: it is {status}, not paused")
    cgroup_of(state).thaw()


def update(root: str, container_id: str, resources: dict) -> None:
    state = St.load(root, container_id)
    if container_status(state) == "stopped":
        raise Conflict(f"cannot update container {container_id}: it is stopped")
    config = state.config()
    cgroup = cgroup_of(state)
    cgroup.update(resources)
    merged = config.setdefault("linux", {}).setdefault("resources", {})
    for key, value in resources.items():
        if isinstance(value, dict):
            merged.setdefault(key, {}).update(value)
        else:
            merged[key] = value
    St.write_atomically(os.path.join(state.directory, "config.json"), _fastjson.dumps(config))


def processes(root: str, container_id: str) -> list[int]:
    state = St.load(root, container_id)
    return cgroup_of(state).pids()


def run(root: str, container_id: str, options: CreateOptions, detach: bool = False) -> int:
    """create + start; in the foreground, wait for the init and delete."""
    if not detach:
        S.prctl(S.PR_SET_CHILD_SUBREAPER, 1)
    state = create(root, container_id, options)
    try:
        start(root, container_id)
    except BaseException:
        delete(root, container_id, force=True)
        raise
    if detach:
        return 0
    status = _wait_forwarding_signals(state.pid)
    delete(root, container_id, force=True)
    return status


_FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH")


def _wait_forwarding_signals(pid: int) -> int:
    def forward(number, _frame):
        try:
            os.kill(pid, number)
        except ProcessLookupError:
            pass

    for name in _FORWARDED:
        _signal.signal(getattr(_signal, name), forward)
    while True:
        try:
            reaped, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 255
        if reaped == pid:
            return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
