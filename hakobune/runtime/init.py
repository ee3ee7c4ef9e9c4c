"""The forked side of `create`: stage one enters and creates the namespaces,
then forks the container's init (PID 1 of a new PID namespace), which builds
the root filesystem, waits on the exec fifo for `start`, and execs the program.

Everything here runs in a child process that must never return into the
caller's code: each entry point ends in os._exit or os.execve.
"""

import os

from hakobune import _sys as S
from hakobune.runtime import process as P, rootfs

# HAKOBUNE_RUNTIME_DEBUG=1: a child prints its traceback (the module is
# imported here: a child cannot import once its root has moved).
_DEBUG = bool(os.environ.get("HAKOBUNE_RUNTIME_DEBUG"))
if _DEBUG:
    import traceback

NAMESPACE_FLAGS = {
    "user": S.CLONE_NEWUSER, "pid": S.CLONE_NEWPID, "network": S.CLONE_NEWNET,
    "mount": S.CLONE_NEWNS, "ipc": S.CLONE_NEWIPC, "uts": S.CLONE_NEWUTS,
    "cgroup": S.CLONE_NEWCGROUP, "time": S.CLONE_NEWTIME,
}
# setns order: the user namespace first (it owns the others), mount last.
JOIN_ORDER = ("user", "ipc", "uts", "network", "pid", "cgroup", "time", "mount")


class InitPlan:
    """Everything the children need, computed by the parent before forking."""

    def __init__(self, container_id, config, bundle, rootfs_path, fifo, channel, console_fd, seccomp_filter,
                 cgroup_dirs, preserve_fds):
        self.container_id = container_id
        self.config = config
        self.bundle = bundle
        self.rootfs = rootfs_path
        # opened by the runtime: a mapped root may not be able to reach the state dir
        self.fifo_fd = os.open(fifo, os.O_PATH | os.O_CLOEXEC)
        self.channel = channel
        self.console_fd = console_fd
        self.seccomp_filter = seccomp_filter
        self.cgroup_dirs = cgroup_dirs
        self.preserve_fds = preserve_fds
        linux = config.get("linux", {})
        self.namespaces = {ns["type"]: ns.get("path") for ns in linux.get("namespaces", [])}
        self.new_userns = "user" in self.namespaces and not self.namespaces["user"]
        self.host_pid = 0  # the init's pid as the host sees it, learnt by stage one


def child_main(body, *args) -> None:
    """Run a child's body; report any failure to the parent; never return."""
    channel = args[0].channel
    try:
        body(*args)
    except BaseException as e:  # noqa: BLE001 - everything must reach the parent
        try:
            if _DEBUG:
                traceback.print_exc()
            channel.send_error(e)
        except OSError:
            # the channel is gone once init reported ready: tell the container's stderr
            os.write(2, f"hakobune-runtime: {e}\n".encode())
        finally:
            os._exit(1)
    os._exit(0)


def stage_one(plan: InitPlan) -> None:
    """Enter and create the namespaces, then fork the init.

    The parent moves this process into the container's cgroup meanwhile (the
    first move into a v1 cgroup waits for an RCU grace period, some 10 ms):
    every namespace but the cgroup one is made while it waits, and the cgroup
    namespace once "go" says the move is done, so that its root is the
    container's cgroup."""
    channel = plan.channel
    if plan.new_userns:
        S.unshare(S.CLONE_NEWUSER)
        channel.send("userns")
        channel.expect("mapped")
        os.setresgid(0, 0, 0)
        os.setresuid(0, 0, 0)
    S.prctl(S.PR_SET_DUMPABLE, 0)
    join_namespaces(plan.namespaces)
    flags = _flags_to_create(plan.namespaces)
    S.unshare(flags & ~S.CLONE_NEWCGROUP)
    channel.expect("go")
    if flags & S.CLONE_NEWCGROUP:
        S.unshare(S.CLONE_NEWCGROUP)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(write_fd)
        plan.host_pid = int(os.read(read_fd, 32) or 0)
        os.close(read_fd)
        child_main(init_main, plan)
    # "init" goes on the shared channel before the init may go on (it waits
    # for its pid on the pipe): else its "ready" could come first
    channel.send(f"init {pid}")
    os.write(write_fd, str(pid).encode())
    os.close(write_fd)
    os.close(read_fd)


def join_namespaces(namespaces: dict) -> None:
    for kind in JOIN_ORDER:
        path = namespaces.get(kind)
        if not path:
            continue
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            S.setns(fd, NAMESPACE_FLAGS[kind])
        finally:
            os.close(fd)


def _flags_to_create(namespaces: dict) -> int:
    flags = 0
    for kind, path in namespaces.items():
        if not path and kind != "user":
            flags |= NAMESPACE_FLAGS[kind]
    return flags


def init_main(plan: InitPlan) -> None:
    config, channel = plan.config, plan.channel
    process = config["process"]
    hooks = config.get("hooks", {})
    os.setsid()
    _set_names(config, plan.namespaces)
    host_mounts = "mount" not in plan.namespaces
    rootfs.prepare(config, plan.rootfs, plan.bundle, plan.cgroup_dirs, "user" in plan.namespaces, host_mounts)
    if hooks.get("prestart") or hooks.get("createRuntime") or hooks.get("createContainer"):
        channel.send("hooks")
        channel.expect("go")
        _run_container_hooks(hooks.get("createContainer"), plan, "createContainer")
    fifo = plan.fifo_fd
    rootfs.pivot(plan.rootfs, host_mounts)
    rootfs.finish(config)
    if process.get("terminal"):
        _setup_terminal(plan, process)
    P.set_oom_score_adj(process)
    env = P.environment(process)
    env.setdefault("HOME", P.home_for(process.get("user", {}).get("uid", 0)))
    program = P.find_program(process["args"][0], env)
    late = bool(hooks.get("startContainer"))
    P.close_fds_except(plan.preserve_fds, (channel.read_fd, channel.write_fd, fifo))
    P.enter_cwd(process.get("cwd", "/"))  # before seccomp, which may deny the getcwd(2) of the check
    if not late:
        P.become(process, plan.seccomp_filter)
    channel.send("ready")
    channel.close()
    _wait_for_start(fifo)
    if late:
        _run_container_hooks(hooks["startContainer"], plan, "startContainer")
        P.become(process, plan.seccomp_filter)
    exec_program(program, process, env)


def exec_program(program: str, process: dict, env: dict) -> None:
    """Replace this process; by now only 0-2 and preserved fds are open."""
    P.reset_signal_dispositions()
    try:
        os.execve(program, process["args"], env)
    except OSError as e:
        os.write(2, f"hakobune-runtime: exec {program}: {e.strerror}\n".encode())
        os._exit(126 if e.errno in (13, 8) else 127)


def _set_names(config: dict, namespaces: dict) -> None:
    if config.get("hostname"):
        S.sethostname(config["hostname"])
    if config.get("domainname"):
        S.setdomainname(config["domainname"])


def _setup_terminal(plan: InitPlan, process: dict) -> None:
    from hakobune.runtime import console

    master, slave, name = console.make_pty(process.get("user", {}).get("uid", 0))
    if not os.path.lexists("/dev/console"):
        os.close(os.open("/dev/console", os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))
    S.mount(name, "/dev/console", None, S.MS_BIND)
    console.send_master(plan.console_fd, master)
    os.close(master)
    console.become_controlling_terminal(slave)
    os.close(slave)


def _wait_for_start(fifo: int) -> None:
    fd = os.open(f"/proc/self/fd/{fifo}", os.O_WRONLY | os.O_CLOEXEC)
    os.write(fd, b"0")
    os.close(fd)
    os.close(fifo)


def _run_container_hooks(hooks, plan: InitPlan, kind: str) -> None:
    if not hooks:
        return
    from hakobune.runtime.hooks import run_hooks

    status = "creating" if kind == "createContainer" else "created"
    state = {"ociVersion": plan.config["ociVersion"], "id": plan.container_id, "status": status,
             "pid": plan.host_pid, "bundle": plan.bundle, "annotations": plan.config.get("annotations", {})}
    run_hooks(hooks, state, kind)
